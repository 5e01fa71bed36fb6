// Package netengine is a networked engine: a Client (a logstream.Sender)
// streams to Servers (logstream.Receivers) in other processes over TCP,
// secured by mutual TLS.
//
//	srvTLS, _ := netengine.LoadTLS("server.pem", "server-key.pem", "ca.pem")
//	srv, _ := netengine.Listen("127.0.0.1:7070", netengine.Options{TLS: srvTLS})
//	defer srv.Shutdown()
//	logstream.RegisterStreamProcessing(srv, "log_streaming", "live_log", chunk, done, logstream.ReceiveOptions{})
//
//	cliTLS, _ := netengine.LoadTLS("site-1.pem", "site-1-key.pem", "ca.pem")
//	cli, _ := netengine.Dial(ctx, map[string]string{"server": "127.0.0.1:7070"}, netengine.Options{TLS: cliTLS})
//	defer cli.Close()
//	stream, _ := logstream.StreamLog(ctx, logstream.StreamConfig{Sender: cli, Channel: "log_streaming",
//		Topic: "live_log", Targets: []string{"server"}, FileName: path})
//	// ... when the writer is done:
//	stream.Stop()
//	res, err := stream.Wait()
//
// # Transport
//
// The transport is the standard library's TCP with a small length-prefixed
// binary protocol of its own (see wire.go for the layout): a versioned magic,
// a frame type, a request ID and a body length, then the message fields and
// the chunk bytes. gRPC (what FLARE uses) was considered: it would add
// google.golang.org/grpc and its dependency tree, a hand-written codec to
// avoid code generation, HTTP/2 framing with flow-control windows and a
// copy of every chunk through its buffers, for no feature this engine
// needs. The engine contract is one request and one reply per message, with
// a window of messages of a stream in flight, so the protocol needs only
// request IDs to match replies on a shared connection; a chunk goes out with
// one writev (header and data, no copy) and is read into a frame buffer
// that becomes Message.Data. The server reuses its frame buffers (one per
// request in flight, the most recently freed first), so a chunk callback's
// data is valid only until it returns.
//
// One connection per target carries every stream to it; requests carry IDs
// and replies are matched by ID, so concurrent streams share it. The client
// follows the asynchronous driver contract (logstream.RunProducer): each
// stream has a queue per target, drained by a goroutine of its own while it
// is not empty, so a target that is slow to dial or to take bytes delays no
// other target, and each target gets the stream's messages in order. A reply
// that does not come within the producer's timeout is TIMEOUT; a broken or
// unreachable connection is COMMUNICATION_ERROR at once (the producer backs
// off and retries; the next message redials). The server handles each
// request on its own goroutine, at most MaxInFlight per connection, so a
// window's chunks may be consumed out of order: the LogConsumer holds a
// chunk that overtook an earlier one until the gap fills. A
// chunk callback that blocks holds its own request's goroutine only:
// Server.Shutdown and the idle watchdog end the stream without waiting for
// it, and requests waiting behind it give up (answered TIMEOUT) when their
// stream ends, after MaxWait, or when the connection closes.
//
// # Security
//
// Options.TLS selects mutual TLS 1.3 (crypto/tls): the Server presents its
// certificate and requires a client certificate issued by the operator's CA
// (ClientCAs); the Client verifies the server against RootCAs. The Server
// maps the client certificate to a site name (Options.Identity, default the
// subject common name, as FLARE's provisioning names sites). Refused, each
// counted by reason in Server.Rejections and logged:
//
//   - a client that does not speak TLS, presents no certificate, or one from
//     another CA, expired or otherwise invalid (the handshake fails);
//   - a certificate without an acceptable site name (RejectIdentity);
//   - a stream whose context claims another site (KeySite) than the
//     certificate's: the message is answered BAD_REQUEST_DATA and creates
//     nothing (RejectClaim).
//
// The Server prefixes every stream ID with the authenticated site
// ("site:ID"), so one site cannot reach another's streams by naming their
// IDs (SiteOf reads it back). After the
// handshake the Server sends a one-byte verdict (or a refusal with a reason
// line): in TLS 1.3 the client's handshake completes before the server has
// checked the client certificate, and the verdict lets Dial fail with
// ErrRefused and the server's reason instead of the first send. The TLS
// code sits at connection setup (tls.go): the frame protocol is the same
// over TLS and over TCP.
//
// Plain TCP needs Options.Insecure: Listen and Dial refuse Options that
// choose neither (ErrNoTransport). DevCA makes a development CA and site
// certificates (simrun certs).
//
// # Bad input
//
// The decoder checks a frame's declared length against MaxFrame before it
// allocates the body, bounds every string (MaxString) and the stream context
// (MaxContext), and accepts exactly one encoding of each value, so decoded
// frames re-encode to the same bytes (FuzzDecode checks this). A bad header
// (magic, version, type, length) closes the connection, since the stream of
// frames cannot be resynchronized; a bad body is answered BAD_REQUEST_DATA
// and the connection goes on.
//
// A Server accepts streams only on registered channel/topic pairs (or the
// wildcards registered); others get NOT_READY and create nothing. DirSink
// stores streams in a directory through an os.Root and refuses file names
// that are not plain base names (SafeFileName), so a name such as
// ../../etc/passwd cannot write outside it.
//
// # Performance
//
// BenchmarkThroughput64K and BenchmarkThroughput1M stream a file that a
// writer appends to as fast as it can; BenchmarkBacklog* stream a file
// written beforehand; BenchmarkLatency measures append-to-delivery latency
// (dominated by the poll interval); BenchmarkServerReceive* measure the
// receiving side alone (B/op: what the Server allocates per chunk).
// NETENGINE_BENCH_BYTES=10GiB streams a
// fixed amount and reports RSS. scripts/throughput.sh runs them next to GNU
// tail -F on the same file system, with the default window and W=1, and
// next to BenchmarkRaw*, a raw stop-and-wait streamer (one reused buffer per
// side, an 8-byte length and an 8-byte acknowledgement per chunk). With
// W=1 a stream's throughput is one chunk per round trip: file read, socket
// write, socket read, consume, reply; a window overlaps them.
//
// TLS costs throughput: scripts/throughput.sh --tls runs the 1 MiB
// benchmark over plain TCP and over mutual TLS in one run
// (NETENGINE_TLS=1 selects TLS in the benchmarks).
//
// It depends on logstream, benbjohnson/clock (the default Clock) and the
// standard library.
package netengine

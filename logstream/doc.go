// Package logstream tails a growing log file and streams it, chunk by chunk,
// to one or more receivers through an engine (a Sender on the sending side,
// a Receiver on each receiving side); receivers forward each byte exactly
// once and fire a done callback exactly once per stream.
//
// It is a Go port of NVIDIA FLARE's LogStreamer that keeps its behaviour
// (tail, rotation, truncation, heartbeats, idle watchdog, done callback) and
// fixes the places where the original loses, duplicates or hangs: the old
// handle is drained on rename rotation, generations rotated away before the
// tailer looked (or while it lags) are found under their rotated names and
// read in order, the copy of a copytruncate supplies what was unread, file
// identity is taken from the open handle, truncate-then-regrow is caught by
// a head fingerprint, file-system events wake the tailer, stop drains for
// a bounded window, requests and replies are retried with the same stream
// offset and deduplicated by the receiver, a receiver that is not ready yet
// is retried until it registers, one failing target neither ends nor delays
// the stream for the others, a window of chunks per target lifts FLARE's
// one-chunk-per-round-trip cap, and the watchdog and consume never overlap.
//
// # Layers
//
// The decisions live in a sans-I/O core that takes the current time as an
// argument and never sleeps or reads a clock:
//
//   - Tailer: what the file shows (through an afero.Fs) turned into data
//     chunks, waits and EOF.
//   - LogProducer: a Tailer, a bounded read-ahead buffer and per-target
//     delivery state (offset, window, retries, backoff, heartbeats,
//     outcomes, Stats); it implements Producer.
//   - LogConsumer: offset dedupe, a bounded hold for chunks that arrive
//     out of order, chunk validation and the idle deadline; it implements
//     Consumer.
//   - Dispatcher: the receiving half of an engine (registry, one consumer
//     per stream, END_STREAM, done exactly once, shutdown).
//
// A driver runs the core: StreamLog and RegisterStreamProcessing run it for
// real with a Clock; package sim runs the same core in virtual time from one
// goroutine. A Sender moves a stream's Messages to its receivers and their
// Replies back; a Receiver takes streams in and runs their consumers; an
// Engine is both, as io.ReadWriter is an io.Reader and an io.Writer. A
// network client need only be a Sender (logstream/netengine.Client), a
// server only a Receiver (netengine.Server); logstream/inproc is a small
// in-process Engine.
//
// # Using it
//
// The sending side:
//
//	stream, err := logstream.StreamLog(ctx, logstream.StreamConfig{
//		Sender: client, Channel: "log_streaming", Topic: "live_log",
//		Targets: []string{"server"}, FileName: "/var/log/app.log",
//	})
//	if err != nil { ... }        // a bad config; nothing was sent
//	...                          // stream.Stats() while it runs
//	stream.Stop()                // the writer is done: drain, then EOF
//	res, err := stream.Wait()    // err is a *StreamError unless res.RC is OK
//
// StreamLog starts the stream and returns; the stream ends after Stop (what
// was written before it, and during the drain window, is sent, then EOF),
// when every target failed, or when ctx is done (an abort: receivers end
// with TASK_ABORTED, and Wait's error wraps the context's). Wait returns the
// Result with one entry per target; whenever the stream did not end OK its
// error is a *StreamError carrying that Result (errors.As), so a failure is
// never an error-free return.
//
// The receiving side:
//
//	err := logstream.RegisterStreamProcessing(server, "log_streaming", "live_log",
//		func(b []byte, info *logstream.StreamInfo) error { ... }, // each byte once, in order
//		func(info *logstream.StreamInfo) { ... },                 // once per stream, info.RC set
//		logstream.ReceiveOptions{})                               // a 30 s idle watchdog
//
// Options: in TailOptions and ReceiveOptions the zero value of every field
// is its default. Where a user needs to say "none" and zero is taken by the
// default, a field of its own says it: TailOptions.NoRetries (give a target
// up on its first lost attempt), ReceiveOptions.NoIdleTimeout (no
// watchdog), RotatedNames.Off (watch the path only). Each field's doc says
// why the others have no such switch. Invalid values are an *OptionError
// naming the field.
//
// # Coming from FLARE
//
// The names follow FLARE's where they help; its calls map to ours so:
//
//   - LogStreamer.stream_log(channel, topic, stream_ctx, targets, file_name,
//     fl_ctx, stop_event, poll_interval, liveness_interval, idle_timeout,
//     chunk_size, chunk_timeout): StreamLog(ctx, StreamConfig{Sender,
//     Channel, Topic, Context, Targets, FileName, Options: TailOptions{
//     PollInterval, LivenessInterval, IdleTimeout, ChunkSize,
//     ChunkTimeout}}). stop_event.set() is LogStream.Stop, the run's abort
//     signal is ctx's cancellation, and the returned (rc, replies) is
//     LogStream.Wait's Result (RC, and Targets per target); FLARE's
//     (ERROR, False) or (ERROR, {}) is a *StreamError here. secure and
//     optional belong to the engine (netengine's mutual TLS).
//   - LogStreamer.register_stream_processing(fl_ctx, channel, topic,
//     chunk_received_cb, stream_done_cb, idle_timeout, **cb_kwargs):
//     RegisterStreamProcessing(receiver, channel, topic, ChunkFunc,
//     DoneFunc, ReceiveOptions{IdleTimeout}). FLARE's idle_timeout=0 is
//     NoIdleTimeout (our zero is FLARE's default, 30 s); cb_kwargs are
//     closures; the callbacks get the StreamInfo (stream context in Ctx,
//     return code in RC) instead of (stream_ctx, fl_ctx).
//   - StreamableEngine.stream_objects (ObjectStreamer.stream):
//     Sender.StreamObjects with a Producer, whose Next and Reply stand for
//     ObjectProducer.produce and process_replies (asynchronous here: a
//     window of messages in flight, see below).
//   - StreamableEngine.register_stream_processing(channel, topic, factory,
//     stream_done_cb): Receiver.RegisterStreamProcessing with a
//     ConsumerFactory (get_consumer is NewConsumer; ObjectConsumer.consume
//     and finalize are Consumer.Consume and Finalize) and a DoneFunc; the
//     END_STREAM hook is StreamInfo.EndStream; consumed_cb has no
//     counterpart (wrap the Consumer). ObjectStreamer.shutdown is the
//     engine's Shutdown, which here ends open streams with a done callback
//     (H16).
//   - Return codes keep FLARE's strings (OK, TIMEOUT, TASK_ABORTED, ...),
//     plus NOT_READY for a receiver that has not registered yet (H8).
//
// # Driver contract for a Sender's StreamObjects
//
// The contract is asynchronous: the core emits sends and accepts replies
// whenever they come.
//
//  1. Call Producer.Next with the current time.
//  2. For StepSend, stamp the message (stream ID, channel, topic, sequence
//     number), start delivering it to every target listed, and go to 1
//     without waiting for replies. For each target, hand exactly one reply
//     to Producer.Reply with the step's ID when it comes: replies of
//     different sends may come in any order, and a target that did not
//     answer within the step's Timeout gets a TIMEOUT reply. An Abort
//     message expects no reply.
//  3. For StepWait, wait until the given time, or until a reply comes (hand
//     it over, then go to 1), or until the context ends; then go to 1.
//  4. For StepDone, return the step's Result; replies still outstanding are
//     dropped.
//  5. When the context ends, send an Abort to every target and return
//     Producer.Abort.
//
// Call the Producer from one goroutine at a time. Deliver each target's
// messages in the order Next emitted them where the transport allows: a
// LogConsumer holds a chunk that arrives before an earlier one (up to a
// bound; past it, it refuses it with BAD_REQUEST_DATA and its Next and the
// LogProducer sends it again once the earlier ones are acknowledged), so
// reordering costs time or memory, not bytes. A
// message's Data may be used until the target's reply is handed over; after
// a TIMEOUT or COMMUNICATION_ERROR reply the producer never reuses the
// buffer, so an engine may still hold it then. An engine that waits for a
// send's replies before calling Next again is correct too; it just keeps
// one message in flight (stop-and-wait).
//
// RunProducer implements this loop for engines with a SendFunc.
//
// # Windows and pace
//
// LogProducer keeps up to TailOptions.Window chunks awaiting each target's
// reply (1 is FLARE's stop-and-wait; within it, 8 chunks, or more where a
// long round trip needs them: what keeps that target's pipe full twice
// over, as measured from round trips and the time between
// acknowledgements, grown by one chunk per acknowledgement) and reads
// ahead at most
// TailOptions.ReadAhead bytes that some live target has not acknowledged.
// Each target has its own offset, window, retries and heartbeats. Only the
// read-ahead bound ties them: when the slowest live target is ReadAhead
// behind and others want to read on, it is passed, whatever holds it back
// (slow, not ready, retrying or dead): the
// buffer goes on without it, keeping a 40-byte record (file, offsets,
// size, CRC-64) of each chunk released that it still needs, and those
// chunks are read again from the handles the Tailer holds (Rereader: the
// file being read, and finished generations and copies, at most
// MaxQueuedFiles, closed once every target is past them; bytes a
// copytruncate took from a file are read in its copy) and checked when
// the target can take them. So a slow, not-ready, retrying or dead target
// never delays a healthy one and still gets every byte while it is
// retried; it is given up on, with ERROR, when bytes it needs are gone
// (truncated, their file no longer held, or changed: never sent unchecked)
// or when it falls more than TailOptions.MaxLag behind. (A Source that is
// no Rereader gives a retrying one up instead, and a slow one that still
// acknowledges sets the pace until it catches up.) A target that
// lost or had refused an attempt gets one chunk at a time until it
// acknowledges one again. Heartbeats go to any target that was sent nothing for
// LivenessInterval, whatever it has in flight.
//
// # Receiving side: user code never holds up the end of a stream
//
// A chunk callback (or any Consumer) may block. The idle watchdog, the
// END_STREAM hook, an Abort message and an engine's shutdown end such a
// stream at once: done runs exactly once, the late callback's return is
// ignored, Finalize runs when it returns, and no callback is admitted after
// the end (H15). A blocked stream's idle deadline counts from the message it
// blocks on; messages for it wait (Dispatcher.HandleContext bounds the wait
// by the delivery). The data a callback gets is valid only until it returns:
// engines reuse their buffers, so a callback that keeps bytes copies them.
// A Dispatcher remembers ended streams (by time, see DefaultEndedMemory), so
// a late retry or duplicate never starts an ended stream again.
//
// # Dependencies
//
// This package depends on the standard library, afero, a Clock interface
// satisfied by github.com/benbjohnson/clock, and, in the real driver only
// (events.go), github.com/fsnotify/fsnotify: the core takes "something
// changed" as an input (Tailer.Changed) and imports no event library. It
// must not import sim, faults, scenarios or any test library.
package logstream

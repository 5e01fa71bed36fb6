package netengine

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// testCA is a development CA for tests with helpers that build TLS
// configurations from it.
type testCA struct {
	*DevCA
	pool *x509.CertPool
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	now := time.Now()
	ca, err := NewDevCA(name, now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return &testCA{ca, pool}
}

// issue returns a certificate for site valid from notBefore to notAfter
// (zero: an hour ago to a day ahead), a server certificate for 127.0.0.1
// too.
func (ca *testCA) issue(t testing.TB, site string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	if notBefore.IsZero() {
		notBefore, notAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	}
	is, err := ca.Issue(site, []string{"127.0.0.1"}, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// server returns a Server configuration: a certificate from ca, client
// certificates verified against ca.
func (ca *testCA) server(t testing.TB) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "server", time.Time{}, time.Time{})}, ClientCAs: ca.pool}
}

// client returns a Client configuration presenting certs and trusting
// the server certificates of ca.
func (ca *testCA) client(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: certs, RootCAs: ca.pool}
}

// forced returns a client configuration that presents cert even when the
// server asks for certificates of another CA (a well-behaved Go client then
// sends none; an attacker sends it anyway).
func forced(ca *testCA, cert tls.Certificate) *tls.Config {
	cfg := ca.client()
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	return cfg
}

// tlsFast are tail options for TLS tests: short polls, a small retry budget.
var tlsFast = logstream.TailOptions{PollInterval: 5 * time.Millisecond, LivenessInterval: 200 * time.Millisecond,
	ChunkTimeout: 2 * time.Second, DrainWindow: time.Second, RetryBackoff: 5 * time.Millisecond,
	MaxRetryBackoff: 20 * time.Millisecond, RetryLimit: 3}

// received records what a Server delivered: bytes and done callbacks.
type received struct {
	mu    sync.Mutex
	data  bytes.Buffer
	infos []*logstream.StreamInfo
}

func (r *received) register(t *testing.T, srv *Server) {
	t.Helper()
	err := logstream.RegisterStreamProcessing(srv, ch, tp, func(b []byte, _ *logstream.StreamInfo) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.data.Write(b)
		return nil
	}, func(info *logstream.StreamInfo) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.infos = append(r.infos, info)
	}, logstream.ReceiveOptions{IdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
}

func (r *received) snapshot() (string, []*logstream.StreamInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.data.String(), append([]*logstream.StreamInfo(nil), r.infos...)
}

// logBuf collects a Server's or Client's log lines.
type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// streamFile streams a small file with sctx through cli to target "server"
// and returns the result.
func streamFile(t *testing.T, cli *Client, sctx logstream.StreamContext, content string) logstream.Result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	close(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := streamLog(t, ctx, logstream.StreamConfig{Sender: cli, Channel: ch, Topic: tp, Context: sctx, Targets: []string{"server"}, FileName: path, Options: tlsFast}, stop)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestTLSStreamsWithSiteIdentity: a site with a certificate from the
// operator's CA streams every byte, claiming its site or not; the stream ID
// is scoped to the certificate's site (SiteOf).
func TestTLSStreamsWithSiteIdentity(t *testing.T) {
	ca := newTestCA(t, "operator")
	srv, err := Listen("127.0.0.1:0", Options{TLS: ca.server(t), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	var got received
	got.register(t, srv)
	for _, claim := range []string{"site-a", ""} {
		cli, err := Dial(context.Background(), map[string]string{"server": srv.Addr().String()},
			Options{TLS: ca.client(ca.issue(t, "site-a", time.Time{}, time.Time{})), Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		sctx := logstream.StreamContext{}
		if claim != "" {
			sctx[KeySite] = claim
		}
		res := streamFile(t, cli, sctx, "hello over TLS\n")
		cli.Close()
		if res.RC != logstream.OK {
			t.Fatalf("claim %q: result %+v", claim, res)
		}
	}
	data, infos := got.snapshot()
	if data != strings.Repeat("hello over TLS\n", 2) || len(infos) != 2 {
		t.Fatalf("delivered %q, %d streams", data, len(infos))
	}
	for _, info := range infos {
		if info.RC != logstream.OK || SiteOf(info) != "site-a" || !strings.HasPrefix(info.ID, "site-a:") {
			t.Fatalf("stream %s: rc %s, site %q", info.ID, info.RC, SiteOf(info))
		}
	}
	if r := srv.Rejections(); len(r) != 0 {
		t.Fatalf("rejections %v", r)
	}
}

// TestTLSRefusals is the refusal table: each client is refused with a clear
// error on both sides and a counted rejection, and nothing is delivered.
// TestMain's goleak check covers goroutines left behind.
func TestTLSRefusals(t *testing.T) {
	ca := newTestCA(t, "operator")
	other := newTestCA(t, "someone else")
	past := time.Now().Add(-48 * time.Hour)
	cases := []struct {
		name string
		// client options; Insecure for the plain-TCP client
		opt Options
		// identity, if set, replaces the server's Identity
		identity func(*x509.Certificate) (string, error)
		// sctx is the stream context; claim cases stream, others fail at Dial
		sctx       logstream.StreamContext
		reason     string
		clientErr  string // in Dial's error, or in the stream's RC for stream cases
		serverLog  string
		streamCase bool
	}{
		{name: "no client certificate", opt: Options{TLS: ca.client()},
			reason: RejectNoCertificate, clientErr: "certificate required", serverLog: "didn't provide a certificate"},
		{name: "certificate from another CA", opt: Options{TLS: forced(ca, other.issue(t, "site-a", time.Time{}, time.Time{}))},
			reason: RejectUnknownAuthority, clientErr: "server refused the connection: remote error: tls:", serverLog: "unknown authority"},
		{name: "expired certificate", opt: Options{TLS: ca.client(ca.issue(t, "site-a", past, past.Add(time.Hour)))},
			reason: RejectExpired, clientErr: "server refused the connection: remote error: tls:", serverLog: "expired"},
		{name: "no site identity", opt: Options{TLS: ca.client(ca.issue(t, "site-a", time.Time{}, time.Time{}))},
			identity: func(*x509.Certificate) (string, error) { return "", errors.New("no SPIFFE URI") },
			reason:   RejectIdentity, clientErr: "server refused the connection: no site identity in the client certificate: no SPIFFE URI", serverLog: "no SPIFFE URI"},
		{name: "site A claims to be site B", opt: Options{TLS: ca.client(ca.issue(t, "site-a", time.Time{}, time.Time{}))},
			sctx: logstream.StreamContext{KeySite: "site-b"}, streamCase: true,
			reason: RejectClaim, clientErr: string(logstream.BadRequestData), serverLog: `certificate of site "site-a", stream`},
		{name: "plain TCP client", opt: Options{Insecure: true}, streamCase: true,
			reason: RejectNotTLS, clientErr: string(logstream.CommunicationError), serverLog: "does not look like a TLS handshake"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var slog, clog logBuf
			sopt := Options{TLS: ca.server(t), Logf: slog.logf, Identity: c.identity}
			srv, err := Listen("127.0.0.1:0", sopt)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Shutdown()
			var got received
			got.register(t, srv)
			c.opt.Logf = clog.logf
			cli, err := Dial(context.Background(), map[string]string{"server": srv.Addr().String()}, c.opt)
			if !c.streamCase {
				if err == nil {
					cli.Close()
					t.Fatal("Dial succeeded")
				}
				if !strings.Contains(err.Error(), c.clientErr) {
					t.Fatalf("Dial error %q lacks %q", err, c.clientErr)
				}
				t.Logf("client: %v", err)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				res := streamFile(t, cli, c.sctx, "must not arrive\n")
				cli.Close()
				if res.RC == logstream.OK || !strings.Contains(fmt.Sprint(res), c.clientErr) {
					t.Fatalf("stream result %+v, want %s", res, c.clientErr)
				}
				t.Logf("client: stream result %+v", res)
			}
			srv.Shutdown() // every connection's goroutine is done: the counts are final
			rej := srv.Rejections()
			if rej[c.reason] == 0 || len(rej) != 1 {
				t.Fatalf("rejections %v, want %s\n%s", rej, c.reason, slog.String())
			}
			if c.reason != RejectNotTLS && rej[c.reason] != 1 { // a plain client redials on every retry
				t.Fatalf("rejections %v, want one %s", rej, c.reason)
			}
			if !strings.Contains(slog.String(), "refused ("+c.reason+")") || !strings.Contains(slog.String(), c.serverLog) {
				t.Fatalf("server log lacks %q:\n%s", c.serverLog, slog.String())
			}
			t.Logf("server: %s", slog.String())
			if data, infos := got.snapshot(); data != "" || len(infos) != 0 {
				t.Fatalf("delivered %q, %d streams", data, len(infos))
			}
		})
	}
}

// TestTLSClientRefusesUnknownServer: a server whose certificate comes from
// another CA is refused by the client.
func TestTLSClientRefusesUnknownServer(t *testing.T) {
	ca := newTestCA(t, "operator")
	other := newTestCA(t, "impostor")
	srv, err := Listen("127.0.0.1:0", Options{TLS: &tls.Config{Certificates: []tls.Certificate{other.issue(t, "server", time.Time{}, time.Time{})},
		ClientCAs: ca.pool}, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	_, err = Dial(context.Background(), map[string]string{"server": srv.Addr().String()},
		Options{TLS: ca.client(ca.issue(t, "site-a", time.Time{}, time.Time{}))})
	if err == nil || !strings.Contains(err.Error(), "TLS handshake") || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("Dial: %v", err)
	}
	// The server may see the client's alert (a failed handshake, counted)
	// or be shut down first (not counted): its count is not checked.
}

// TestTransportMustBeChosen: plain TCP is never a default.
func TestTransportMustBeChosen(t *testing.T) {
	if _, err := Listen("127.0.0.1:0", Options{}); !errors.Is(err, ErrNoTransport) {
		t.Fatalf("Listen: %v", err)
	}
	if _, err := Dial(context.Background(), map[string]string{"s": "127.0.0.1:1"}, Options{}); !errors.Is(err, ErrNoTransport) {
		t.Fatalf("Dial: %v", err)
	}
	ca := newTestCA(t, "operator")
	if _, err := Listen("127.0.0.1:0", Options{TLS: ca.server(t), Insecure: true}); err == nil {
		t.Fatal("Listen accepted TLS and Insecure together")
	}
	if _, err := Listen("127.0.0.1:0", Options{TLS: &tls.Config{Certificates: ca.server(t).Certificates}}); err == nil ||
		!strings.Contains(err.Error(), "ClientCAs") {
		t.Fatalf("Listen without ClientCAs: %v", err)
	}
}

// TestURIIdentity maps a SAN URI to the site and refuses certificates
// without one.
func TestURIIdentity(t *testing.T) {
	id := URIIdentity("spiffe://example.org/site/")
	for _, c := range []struct {
		uri, site, err string
	}{
		{"spiffe://example.org/site/hospital-3", "hospital-3", ""},
		{"spiffe://example.org/site/a/b", "", "bad site name"},
		{"spiffe://other.org/site/x", "", "no URI beginning with"},
	} {
		u, err := url.Parse(c.uri)
		if err != nil {
			t.Fatal(err)
		}
		site, err := id(&x509.Certificate{URIs: []*url.URL{u}})
		if site != c.site || (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %q, %v; want %q, %q", c.uri, site, err, c.site, c.err)
		}
	}
}

// TestLoadTLS writes a CA and a site certificate as PEM files and loads
// them; bad files are named in the error.
func TestLoadTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "operator")
	is, err := ca.Issue("site-a", []string{"127.0.0.1", "localhost"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caf, cf, kf := write("ca.pem", ca.CertPEM), write("site-a.pem", is.CertPEM), write("site-a-key.pem", is.KeyPEM)
	cfg, err := LoadTLS(cf, kf, caf)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS13 || cfg.ClientAuth != tls.RequireAndVerifyClientCert || len(cfg.Certificates) != 1 {
		t.Fatalf("config %+v", cfg)
	}
	bad := write("bad.pem", []byte("not PEM"))
	for _, files := range [][3]string{{cf, kf, bad}, {bad, kf, caf}, {cf, kf, filepath.Join(dir, "missing.pem")}, {cf, "", caf}} {
		_, err := LoadTLS(files[0], files[1], files[2])
		if err == nil {
			t.Fatalf("LoadTLS%v: no error", files)
		}
		named := false
		for _, f := range files {
			named = named || f != "" && strings.Contains(err.Error(), f)
		}
		if !named && files[1] != "" {
			t.Fatalf("LoadTLS%v: error %q names no file", files, err)
		}
	}
	if _, err := ca.Issue("../etc", nil, time.Now(), time.Now().Add(time.Hour)); !errors.Is(err, ErrBadSite) {
		t.Fatalf("Issue(../etc): %v", err)
	}
}

// TestDecodeOverTLS runs the frame decoder behind TLS: each sample frame
// and each of FuzzDecode's seed inputs goes over its own TLS connection, and
// ReadFrame reading straight from the connection returns what it returns
// reading the same bytes from memory (the same frame, or the same error).
func TestDecodeOverTLS(t *testing.T) {
	ca := newTestCA(t, "operator")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: ca.server(t).Certificates, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var inputs [][]byte
	for _, b := range sampleFrames(t) {
		inputs = append(inputs, b, b[:len(b)/2])
	}
	inputs = append(inputs, []byte("LSN\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff"))
	for i, in := range inputs {
		errc := make(chan error, 1)
		go func() {
			c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS13})
			if err == nil {
				_, err = c.Write(in)
				c.Close()
			}
			errc <- err
		}()
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		overTLS, err1 := ReadFrame(c, new([HeaderSize]byte), 1<<20)
		c.Close()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		inMemory, err2 := ReadFrame(bytes.NewReader(in), new([HeaderSize]byte), 1<<20)
		if fmt.Sprint(err1) != fmt.Sprint(err2) || !reflect.DeepEqual(overTLS, inMemory) {
			t.Fatalf("input %d: over TLS %+v, %v; in memory %+v, %v", i, overTLS, err1, inMemory, err2)
		}
	}
}

// benchTLS is the TLS configuration of the throughput benchmarks with
// NETENGINE_TLS=1: one certificate that serves as server and client.
var benchTLS = sync.OnceValue(func() *tls.Config {
	now := time.Now()
	ca, err := NewDevCA("bench", now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		panic(err)
	}
	is, err := ca.Issue("bench", []string{"127.0.0.1"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		panic(err)
	}
	cert, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ClientCAs: pool}
})

var _ net.Conn = tlsConn{}

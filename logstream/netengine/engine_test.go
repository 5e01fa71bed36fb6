package netengine

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/spf13/afero"
	"go.uber.org/goleak"

	"github.com/logstream-sim/logstream-sim/logstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	ch = "log_streaming"
	tp = "live_log"
)

// fast are tail options for tests: short polls and timeouts.
var fast = logstream.TailOptions{PollInterval: 5 * time.Millisecond, LivenessInterval: 200 * time.Millisecond,
	ChunkTimeout: 2 * time.Second, DrainWindow: time.Second, RetryBackoff: 5 * time.Millisecond,
	MaxRetryBackoff: 50 * time.Millisecond}

func listen(t *testing.T) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", Options{Insecure: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func dial(t *testing.T, targets map[string]string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), targets, Options{Insecure: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// collector is a chunk and done callback pair that records what arrives.
type collector struct {
	mu    sync.Mutex
	got   bytes.Buffer
	done  chan logstream.ReturnCode
	first chan struct{} // closed at the first chunk
}

func newCollector() *collector {
	return &collector{done: make(chan logstream.ReturnCode, 8), first: make(chan struct{})}
}

func (c *collector) chunk(b []byte, _ *logstream.StreamInfo) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got.Len() == 0 {
		close(c.first)
	}
	c.got.Write(b)
	return nil
}

// waitFirst waits for the first chunk: the stream is open on the receiver.
func (c *collector) waitFirst(t *testing.T) {
	t.Helper()
	select {
	case <-c.first:
	case <-time.After(10 * time.Second):
		t.Fatal("no chunk arrived")
	}
}

func (c *collector) doneFn(info *logstream.StreamInfo) { c.done <- info.RC }

func (c *collector) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.got.Bytes())
}

func (c *collector) waitDone(t *testing.T) logstream.ReturnCode {
	t.Helper()
	select {
	case rc := <-c.done:
		return rc
	case <-time.After(10 * time.Second):
		t.Fatal("no done callback")
		return ""
	}
}

// TestStreamFileEndToEnd streams a real file, appended while it is streamed,
// to a DirSink over loopback and checks every byte and both outcomes.
func TestStreamFileEndToEnd(t *testing.T) {
	srv := listen(t)
	out := t.TempDir()
	sink, err := NewDirSink(out, logstream.ReceiveOptions{IdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	dones := make(chan logstream.ReturnCode, 1)
	sink.OnDone = func(info *logstream.StreamInfo, _ string, _ int64) { dones <- info.RC }
	if err := srv.RegisterStreamProcessing(ch, tp, sink, sink.Done); err != nil {
		t.Fatal(err)
	}
	cli := dial(t, map[string]string{"server": srv.Addr().String()})

	path := filepath.Join(t.TempDir(), "app.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := make(chan struct{})
	res := make(chan logstream.Result, 1)
	go func() {
		opt := fast
		opt.ChunkSize = 1000
		r, err := streamLog(t, context.Background(), logstream.StreamConfig{Sender: cli, Channel: ch, Topic: tp, Targets: []string{"server"}, FileName: path, Options: opt}, stop)
		if err != nil {
			t.Error(err)
		}
		res <- r
	}()
	var want bytes.Buffer
	for i := range 200 {
		line := bytes.Repeat([]byte{byte('a' + i%26)}, i*37%500)
		line = append(line, '\n')
		f.Write(line)
		want.Write(line)
		if i%50 == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	close(stop)
	r := <-res
	if r.RC != logstream.OK {
		t.Fatalf("result %+v", r)
	}
	if rc := <-dones; rc != logstream.OK {
		t.Fatalf("done %s", rc)
	}
	got, err := os.ReadFile(filepath.Join(out, "app.log"))
	if err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("output differs (%v): %d vs %d bytes", err, len(got), want.Len())
	}
}

// producerFor returns a LogProducer over path with sctx.
func producerFor(t *testing.T, path string, sctx logstream.StreamContext, opt logstream.TailOptions, targets ...string) *logstream.LogProducer {
	opt, err := opt.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	tail := logstream.NewTailer(afero.NewOsFs(), path, opt, nil)
	p := logstream.NewLogProducer(tail, opt, sctx, targets, time.Now())
	p.Stop(time.Now())
	return p
}

func writeFile(t *testing.T, data string) string {
	path := filepath.Join(t.TempDir(), "in.log")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTimeoutWhenReceiverStalls: a consumer that never returns makes every
// attempt TIMEOUT, and the target is given up on with TIMEOUT.
func TestTimeoutWhenReceiverStalls(t *testing.T) {
	srv := listen(t)
	release := make(chan struct{})
	defer close(release)
	logstream.RegisterStreamProcessing(srv, ch, tp, func([]byte, *logstream.StreamInfo) error {
		<-release
		return nil
	}, nil, logstream.ReceiveOptions{NoIdleTimeout: true})
	cli := dial(t, map[string]string{"server": srv.Addr().String()})
	opt := fast
	opt.ChunkTimeout, opt.RetryLimit = 100*time.Millisecond, 2
	p := producerFor(t, writeFile(t, "stalled bytes"), logstream.StreamContext{logstream.KeyFileName: "x"}, opt, "server")
	start := time.Now()
	r, err := cli.StreamObjects(context.Background(), ch, tp, nil, []string{"server"}, p)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := r.Target("server")
	if tr.RC != logstream.Timeout {
		t.Fatalf("result %+v", r)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

// countingFactory counts the consumers it makes.
type countingFactory struct {
	n atomic.Int32
	logstream.LogConsumerFactory
}

func (f *countingFactory) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	f.n.Add(1)
	return f.LogConsumerFactory.NewConsumer(now, info)
}

func dataMsg(id, channel, topic string) *logstream.Message {
	return &logstream.Message{StreamID: id, Channel: channel, Topic: topic, Kind: logstream.KindData,
		Size: 3, Data: []byte("abc"), Ctx: logstream.StreamContext{logstream.KeyFileName: "f"}}
}

// TestNotReadyAndUnregistered: before registration every message gets
// NOT_READY; afterwards, other channel/topic pairs still do, and neither
// creates a stream.
func TestNotReadyAndUnregistered(t *testing.T) {
	srv := listen(t)
	cli := dial(t, map[string]string{"server": srv.Addr().String()})
	send := func(m *logstream.Message) logstream.Reply {
		return sendSync(cli, m, "server", 2*time.Second)
	}
	if r := send(dataMsg("a", ch, tp)); r.RC != logstream.NotReady {
		t.Fatalf("before registration: %+v", r)
	}
	f := &countingFactory{}
	if err := srv.RegisterStreamProcessing(ch, tp, f, nil); err != nil {
		t.Fatal(err)
	}
	for _, ct := range [][2]string{{ch, "other"}, {"other", tp}, {"evil", "*"}} {
		if r := send(dataMsg("b", ct[0], ct[1])); r.RC != logstream.NotReady {
			t.Fatalf("%v: %+v", ct, r)
		}
	}
	if f.n.Load() != 0 || srv.Open() != 0 {
		t.Fatalf("streams created: %d, open %d", f.n.Load(), srv.Open())
	}
	if r := send(dataMsg("c", ch, tp)); r.RC != logstream.OK || r.Next != 3 {
		t.Fatalf("registered: %+v", r)
	}
	if f.n.Load() != 1 || srv.Open() != 1 {
		t.Fatalf("streams: %d, open %d", f.n.Load(), srv.Open())
	}
	// Unknown target names fail at once.
	if r := sendSync(cli, dataMsg("d", ch, tp), "nobody", time.Second); r.RC != logstream.CommunicationError {
		t.Fatalf("unknown target: %+v", r)
	}
}

// TestLateRegistration: a stream started before the receiver registered
// starts correctly once it does.
func TestLateRegistration(t *testing.T) {
	srv := listen(t)
	cli := dial(t, map[string]string{"server": srv.Addr().String()})
	col := newCollector()
	p := producerFor(t, writeFile(t, "early bytes\n"), logstream.StreamContext{}, fast, "server")
	// Register when the sender has seen its first NOT_READY: the first
	// message certainly found no handler.
	late := &registerOnMiss{Producer: p, register: func() {
		logstream.RegisterStreamProcessing(srv, ch, tp, col.chunk, col.doneFn, logstream.ReceiveOptions{IdleTimeout: 5 * time.Second})
	}}
	r, err := cli.StreamObjects(context.Background(), ch, tp, nil, []string{"server"}, late)
	if err != nil || r.RC != logstream.OK {
		t.Fatalf("%+v %v", r, err)
	}
	if late.misses == 0 {
		t.Fatal("no NOT_READY seen: the receiver was not registered late")
	}
	if rc := col.waitDone(t); rc != logstream.OK || string(col.bytes()) != "early bytes\n" {
		t.Fatalf("done %s, got %q", rc, col.bytes())
	}
}

// registerOnMiss registers the receiver the first time a reply says
// NOT_READY.
type registerOnMiss struct {
	logstream.Producer
	register func()
	done     bool
	misses   int
}

func (r *registerOnMiss) Reply(now time.Time, id uint64, target string, rep logstream.Reply) {
	if rep.RC == logstream.NotReady {
		r.misses++
		if !r.done {
			r.done = true
			r.register()
		}
	}
	r.Producer.Reply(now, id, target, rep)
}

// sendSync sends m to one target through a stream of cli and waits for the
// reply (TIMEOUT after timeout).
func sendSync(cli *Client, m *logstream.Message, target string, timeout time.Duration) logstream.Reply {
	s := &stream{c: cli, lanes: map[string]*lane{}}
	defer s.wait()
	ch := make(chan logstream.Reply, 1)
	s.send(context.Background(), m, []string{target}, timeout, func(_ string, r logstream.Reply) { ch <- r })
	select {
	case r := <-ch:
		return r
	case <-time.After(timeout):
		return logstream.Reply{RC: logstream.Timeout}
	}
}

// streaming starts StreamLog of a file holding content to a registered
// receiver over loopback (no stop: it streams until something ends it) and
// returns once the first chunk arrived, with the stream's result channel.
func streaming(t *testing.T, content string) (*Server, *Client, *collector, <-chan logstream.Result) {
	t.Helper()
	srv := listen(t)
	col := newCollector()
	logstream.RegisterStreamProcessing(srv, ch, tp, col.chunk, col.doneFn, logstream.ReceiveOptions{NoIdleTimeout: true})
	cli := dial(t, map[string]string{"server": srv.Addr().String()})
	path := writeFile(t, content)
	res := make(chan logstream.Result, 1)
	go func() {
		r, _ := streamLog(t, context.Background(), logstream.StreamConfig{Sender: cli, Channel: ch, Topic: tp, Targets: []string{"server"}, FileName: path, Options: fast}, nil)
		res <- r
	}()
	col.waitFirst(t)
	return srv, cli, col, res
}

// TestServerShutdownEndsStreams: shutting the receiver down ends its open
// stream with TASK_ABORTED, and the sender's target fails.
func TestServerShutdownEndsStreams(t *testing.T) {
	srv, _, col, res := streaming(t, "some bytes\n")
	srv.Shutdown()
	if rc := col.waitDone(t); rc != logstream.TaskAborted {
		t.Fatalf("done %s", rc)
	}
	select {
	case r := <-res:
		if tr, _ := r.Target("server"); tr.RC == logstream.OK {
			t.Fatalf("result %+v", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("sender did not end")
	}
}

// TestClientCloseAbortsStreams: closing the sending engine ends its streams;
// the receiver gets an Abort and ends with TASK_ABORTED.
func TestClientCloseAbortsStreams(t *testing.T) {
	_, cli, col, res := streaming(t, "bytes\n")
	cli.Close()
	if r := <-res; r.RC != logstream.TaskAborted {
		t.Fatalf("result %+v", r)
	}
	if rc := col.waitDone(t); rc != logstream.TaskAborted {
		t.Fatalf("done %s", rc)
	}
	if _, err := cli.StreamObjects(context.Background(), ch, tp, nil, []string{"server"}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// TestIdleWatchdog: a stream whose sender goes silent ends with TIMEOUT.
func TestIdleWatchdog(t *testing.T) {
	srv := listen(t)
	col := newCollector()
	logstream.RegisterStreamProcessing(srv, ch, tp, col.chunk, col.doneFn, logstream.ReceiveOptions{IdleTimeout: 100 * time.Millisecond})
	cli := dial(t, map[string]string{"server": srv.Addr().String()})
	if r := sendSync(cli, dataMsg("w", ch, tp), "server", time.Second); r.RC != logstream.OK {
		t.Fatalf("%+v", r)
	}
	start := time.Now()
	if rc := col.waitDone(t); rc != logstream.Timeout {
		t.Fatalf("done %s", rc)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("watchdog took %v", d)
	}
}

// TestPathTraversalRejected: a stream whose file name would leave the
// output directory is refused, and nothing is written anywhere.
func TestPathTraversalRejected(t *testing.T) {
	srv := listen(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	os.Mkdir(out, 0o755)
	sink, err := NewDirSink(out, logstream.ReceiveOptions{NoIdleTimeout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	srv.RegisterStreamProcessing(ch, tp, sink, sink.Done)
	cli := dial(t, map[string]string{"server": srv.Addr().String()})
	for _, name := range []string{"../../etc/passwd", "../escape", "..", ".", "", "a/b", `a\b`, "/abs"} {
		opt := fast
		p := producerFor(t, writeFile(t, "evil\n"), logstream.StreamContext{logstream.KeyFileName: name}, opt, "server")
		r, err := cli.StreamObjects(context.Background(), ch, tp, nil, []string{"server"}, p)
		if err != nil {
			t.Fatal(err)
		}
		if tr, _ := r.Target("server"); tr.RC != logstream.ExecutionException {
			t.Fatalf("%q: %+v", name, r)
		}
	}
	for _, d := range []string{out, parent} {
		ents, _ := os.ReadDir(d)
		if d == out && len(ents) != 0 || d == parent && len(ents) != 1 {
			t.Fatalf("%s holds %v", d, ents)
		}
	}
}

// TestReconnect: a broken connection costs at most one failed send; the
// next one redials.
func TestReconnect(t *testing.T) {
	srv := listen(t)
	logstream.RegisterStreamProcessing(srv, ch, tp, nil, nil, logstream.ReceiveOptions{NoIdleTimeout: true})
	cli := dial(t, map[string]string{"server": srv.Addr().String()})
	m := dataMsg("r", ch, tp)
	if r := sendSync(cli, m, "server", time.Second); r.RC != logstream.OK {
		t.Fatalf("%+v", r)
	}
	cli.peers["server"].cur.nc.Close()
	ok := false
	for range 3 {
		m.Ctx = nil
		m.Kind = logstream.KindHeartbeat
		r := sendSync(cli, m, "server", time.Second)
		if r.RC == logstream.OK {
			ok = true
			break
		}
		if r.RC != logstream.CommunicationError {
			t.Fatalf("%+v", r)
		}
	}
	if !ok {
		t.Fatal("no reconnect")
	}
	// A receiver that is gone fails fast with COMMUNICATION_ERROR.
	srv.Shutdown()
	start := time.Now()
	for range 2 {
		if r := sendSync(cli, m, "server", 5*time.Second); r.RC != logstream.CommunicationError && r.RC != logstream.TaskAborted {
			t.Fatalf("after shutdown: %+v", r)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("failing took %v", d)
	}
}

// TestGarbageConnections: garbage, oversized and truncated frames close
// only their own connection; a bad body is answered BAD_REQUEST_DATA.
func TestGarbageConnections(t *testing.T) {
	srv, err := Listen("127.0.0.1:0", Options{Insecure: true, MaxFrame: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	logstream.RegisterStreamProcessing(srv, ch, tp, nil, nil, logstream.ReceiveOptions{NoIdleTimeout: true})
	addr := srv.Addr().String()
	big := make([]byte, HeaderSize)
	putHeader(big, FrameRequest, 1, 1<<30)
	good, _ := AppendRequest(nil, 5, dataMsg("g", ch, tp))
	for _, b := range [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n"), big, good[:len(good)-2]} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(b)
		if cw, ok := c.(*net.TCPConn); ok {
			cw.CloseWrite()
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 100))
		if n != 0 || err == nil {
			t.Fatalf("%q: read %d %v", b[:min(len(b), 10)], n, err)
		}
		c.Close()
	}
	// A bad body with a good header: BAD_REQUEST_DATA, connection stays.
	bad := bytes.Clone(good)
	bad[HeaderSize] = 0xff
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(bad)
	c.Write(good)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [HeaderSize]byte
	for _, want := range []logstream.ReturnCode{logstream.BadRequestData, logstream.OK} {
		f, err := ReadFrame(c, &hdr, 0)
		if err != nil || f.Reply.RC != want {
			t.Fatalf("want %s: %+v %v", want, f.Reply, err)
		}
	}
}

// TestDialFails: Dial reports an unreachable target and bad arguments.
func TestDialFails(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Dial(context.Background(), map[string]string{"x": addr}, Options{Insecure: true, DialTimeout: time.Second}); err == nil {
		t.Fatal("dialled a closed port")
	}
	if _, err := Dial(context.Background(), map[string]string{"x": "nohostport"}, Options{Insecure: true}); err == nil {
		t.Fatal("bad address accepted")
	}
	if _, err := Dial(context.Background(), nil, Options{Insecure: true}); err == nil {
		t.Fatal("no targets accepted")
	}
	_ = clock.New
}

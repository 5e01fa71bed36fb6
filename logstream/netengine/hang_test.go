package netengine

import (
	"bytes"
	"context"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// hangBound only detects hangs (real time).
const hangBound = 10 * time.Second

// TestShutdownWithBlockedCallback: Server.Shutdown returns while a chunk
// callback blocks; the stream ends with TASK_ABORTED at once, StreamLog
// returns, and once the callback returns no goroutine is left (TestMain's
// goleak). The old Server waited for the callback's handler.
func TestShutdownWithBlockedCallback(t *testing.T) {
	srv := listen(t)
	gate, entered := make(chan struct{}), make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	defer release()
	done := make(chan logstream.ReturnCode, 2)
	logstream.RegisterStreamProcessing(srv, ch, tp, func([]byte, *logstream.StreamInfo) error {
		select {
		case <-entered:
		default:
			close(entered)
			<-gate
		}
		return nil
	}, func(info *logstream.StreamInfo) { done <- info.RC }, logstream.ReceiveOptions{NoIdleTimeout: true})
	cli := dial(t, map[string]string{"server": srv.Addr().String()})
	res := make(chan logstream.Result, 1)
	go func() {
		r, _ := streamLog(t, context.Background(), logstream.StreamConfig{Sender: cli, Channel: ch, Topic: tp,
			Targets: []string{"server"}, FileName: writeFile(t, "blocked bytes\n"), Options: fast}, nil)
		res <- r
	}()
	select {
	case <-entered:
	case <-time.After(hangBound):
		t.Fatal("no chunk arrived")
	}
	shut := make(chan struct{})
	go func() { srv.Shutdown(); close(shut) }()
	select {
	case <-shut:
	case <-time.After(hangBound):
		t.Fatal("Server.Shutdown waited for the blocked chunk callback")
	}
	select {
	case rc := <-done:
		if rc != logstream.TaskAborted {
			t.Fatalf("done %s", rc)
		}
	case <-time.After(hangBound):
		t.Fatal("no done callback while the chunk callback blocks")
	}
	select {
	case r := <-res:
		if r.RC == logstream.OK {
			t.Fatalf("result %+v", r)
		}
	case <-time.After(hangBound):
		t.Fatal("StreamLog did not return")
	}
	release()
}

// TestWatchdogWithBlockedCallback: a callback that blocks longer than the
// idle timeout does not keep its stream open: done fires with TIMEOUT while
// it blocks, once.
func TestWatchdogWithBlockedCallback(t *testing.T) {
	srv := listen(t)
	gate := make(chan struct{})
	defer close(gate)
	col := newCollector()
	logstream.RegisterStreamProcessing(srv, ch, tp, func([]byte, *logstream.StreamInfo) error {
		<-gate
		return nil
	}, col.doneFn, logstream.ReceiveOptions{IdleTimeout: 100 * time.Millisecond})
	cli := dial(t, map[string]string{"server": srv.Addr().String()})
	if r := sendSync(cli, dataMsg("w", ch, tp), "server", 50*time.Millisecond); r.RC != logstream.Timeout {
		t.Fatalf("reply to the blocked message %+v, want TIMEOUT", r)
	}
	if rc := col.waitDone(t); rc != logstream.Timeout {
		t.Fatalf("done %s", rc)
	}
	if r := sendSync(cli, dataMsg("w", ch, tp), "server", time.Second); r.RC != logstream.Timeout || !r.Closed {
		t.Fatalf("reply after the end %+v, want TIMEOUT closed", r)
	}
}

// TestFrameBuffersReused: the Server reads request bodies into reused
// buffers, so receiving data allocates far fewer bytes than it receives
// (before: one new buffer per frame). The chunk callback sees each chunk's
// own bytes.
func TestFrameBuffersReused(t *testing.T) {
	srv := listen(t)
	const chunk, n = 64 << 10, 64
	var mu sync.Mutex
	bad := 0
	logstream.RegisterStreamProcessing(srv, ch, tp, func(b []byte, _ *logstream.StreamInfo) error {
		mu.Lock()
		defer mu.Unlock()
		if len(b) != chunk || b[0] != b[len(b)-1] {
			bad++
		}
		return nil
	}, nil, logstream.ReceiveOptions{NoIdleTimeout: true})
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(hangBound))
	var hdr [HeaderSize]byte
	frames := make([][]byte, n)
	for i := range frames {
		m := dataMsg("reuse", ch, tp)
		m.Offset, m.Size, m.Data = int64(i*chunk), chunk, bytes.Repeat([]byte{byte('a' + i%26)}, chunk)
		if i > 0 {
			m.Ctx = nil
		}
		if frames[i], err = AppendRequest(nil, uint64(i+1), m); err != nil {
			t.Fatal(err)
		}
	}
	send := func(i int) {
		if _, err := c.Write(frames[i]); err != nil {
			t.Fatal(err)
		}
		f, err := ReadFrame(c, &hdr, 0)
		if err != nil || f.Reply.RC != logstream.OK || f.Reply.Next != int64((i+1)*chunk) {
			t.Fatalf("frame %d: reply %+v %v", i, f.Reply, err)
		}
	}
	send(0) // warm up: the connection's first buffer
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 1; i < n; i++ {
		send(i)
	}
	runtime.ReadMemStats(&after)
	received := uint64((n - 1) * chunk)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > received/4 {
		t.Errorf("allocated %d bytes to receive %d", alloc, received)
	}
	if bad != 0 {
		t.Errorf("%d chunks arrived wrong", bad)
	}
}

// TestWaitingRequestGivesUp: a request for a stream whose chunk callback
// blocks waits at most MaxWait, then is answered TIMEOUT (unconsumed) and
// its goroutine ends; the old Server kept it waiting as long as the
// callback blocked.
func TestWaitingRequestGivesUp(t *testing.T) {
	srv, err := Listen("127.0.0.1:0", Options{Insecure: true, MaxWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	gate, entered := make(chan struct{}), make(chan struct{})
	defer close(gate)
	logstream.RegisterStreamProcessing(srv, ch, tp, func(b []byte, _ *logstream.StreamInfo) error {
		if string(b) == "abc" {
			close(entered)
			<-gate
		}
		return nil
	}, nil, logstream.ReceiveOptions{NoIdleTimeout: true})
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first, _ := AppendRequest(nil, 1, dataMsg("wait", ch, tp))
	next := dataMsg("wait", ch, tp)
	next.Offset, next.Ctx = 3, nil
	second, _ := AppendRequest(nil, 2, next)
	c.Write(first)
	select {
	case <-entered:
	case <-time.After(hangBound):
		t.Fatal("the first request never reached the callback")
	}
	c.Write(second)
	c.SetReadDeadline(time.Now().Add(hangBound))
	var hdr [HeaderSize]byte
	f, err := ReadFrame(c, &hdr, 0)
	if err != nil {
		t.Fatalf("no reply to the request waiting behind the blocked callback: %v", err)
	}
	if f.ID != 2 || f.Reply.RC != logstream.Timeout || f.Reply.Closed {
		t.Fatalf("reply %d %+v, want request 2 answered TIMEOUT", f.ID, f.Reply)
	}
}

// TestBlockedCallbackHoldsNoOtherStream: the connection's reader handles
// requests itself (serve); when one stream's chunk callback blocks, another
// goroutine reads on after orderGrace, so a second stream over the same
// connection is received whole while the first callback still blocks.
func TestBlockedCallbackHoldsNoOtherStream(t *testing.T) {
	srv := listen(t)
	gate, entered := make(chan struct{}), make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	defer release()
	var mu sync.Mutex
	got := map[string]string{}
	done := make(chan string, 2)
	logstream.RegisterStreamProcessing(srv, ch, tp, func(p []byte, info *logstream.StreamInfo) error {
		if bytes.HasPrefix(p, []byte("blocked")) {
			close(entered)
			<-gate
		}
		mu.Lock()
		got[info.ID] += string(p)
		mu.Unlock()
		return nil
	}, func(info *logstream.StreamInfo) {
		mu.Lock()
		defer mu.Unlock()
		done <- string(info.RC) + " " + got[info.ID]
	}, logstream.ReceiveOptions{NoIdleTimeout: true})
	cli := dial(t, map[string]string{"server": srv.Addr().String()})
	// Each stream is told to stop at once: it sends what the file holds,
	// then its EOF.
	stop := make(chan struct{})
	close(stop)
	stream := func(file string, res chan<- logstream.Result) {
		r, _ := streamLog(t, context.Background(), logstream.StreamConfig{Sender: cli, Channel: ch, Topic: tp,
			Targets: []string{"server"}, FileName: file, Options: fast}, stop)
		res <- r
	}
	first, second := make(chan logstream.Result, 1), make(chan logstream.Result, 1)
	go stream(writeFile(t, "blocked bytes\n"), first)
	select {
	case <-entered:
	case <-time.After(hangBound):
		t.Fatal("no chunk of the first stream arrived")
	}
	go stream(writeFile(t, "free bytes\n"), second)
	select {
	case r := <-second:
		if r.RC != logstream.OK {
			t.Fatalf("second stream: %+v", r)
		}
	case <-time.After(hangBound):
		t.Fatal("the second stream waited for the first stream's blocked callback")
	}
	if d := <-done; d != "OK free bytes\n" {
		t.Fatalf("done %q, want the second stream's, whole", d)
	}
	release()
	if r := <-first; r.RC != logstream.OK {
		t.Fatalf("first stream: %+v", r)
	}
	if d := <-done; d != "OK blocked bytes\n" {
		t.Fatalf("done %q", d)
	}
}

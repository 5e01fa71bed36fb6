package inproc_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// A chunk callback that blocks (a full disk, a slow downstream) holds up
// nothing but itself: StreamLog returns promptly after its context is
// cancelled, the sending and receiving engines shut down, the watchdog ends
// the stream with TIMEOUT on time, done fires once, and no goroutine is left
// waiting behind the callback once its delivery timed out. In a synctest
// bubble: if something waited on a mutex for the callback, the bubble's
// clock would stop and the test would hang (caught by go test -timeout); a
// wait on a channel makes the bound below fail.

// blocker is a receiving application whose chunk callback blocks on gate.
type blocker struct {
	mu        sync.Mutex
	gate      chan struct{}
	entered   chan struct{}
	enteredAt time.Time
	dones     []logstream.ReturnCode
	doneAt    time.Time
	chunks    int
	afterDone int
}

func newBlocker() *blocker {
	return &blocker{gate: make(chan struct{}), entered: make(chan struct{})}
}

func (b *blocker) chunk(data []byte, _ *logstream.StreamInfo) error {
	b.mu.Lock()
	b.chunks++
	if len(b.dones) > 0 {
		b.afterDone++
	}
	first := b.chunks == 1
	if first {
		b.enteredAt = time.Now()
	}
	b.mu.Unlock()
	if first {
		close(b.entered)
		<-b.gate
	}
	return nil
}

func (b *blocker) done(info *logstream.StreamInfo) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dones = append(b.dones, info.RC)
	b.doneAt = time.Now()
}

func (b *blocker) check(t *testing.T, want logstream.ReturnCode) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dones) != 1 || b.dones[0] != want || b.afterDone != 0 {
		t.Fatalf("done %v (want exactly one %s), %d chunk callbacks after done", b.dones, want, b.afterDone)
	}
}

// waitersBehindCallback counts goroutines inside the Dispatcher that are not
// the blocked callback's own.
func waitersBehindCallback() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "logstream.(*Dispatcher).Handle") && !strings.Contains(g, "(*blocker).chunk") {
			n++
		}
	}
	return n
}

// within fails the test unless ch yields within d of (bubble) time.
func within[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: nothing within %v while a chunk callback blocks", what, d)
		panic("unreachable")
	}
}

func TestBlockedCallback(t *testing.T) {
	for _, tc := range []struct {
		name string
		rc   logstream.ReturnCode
	}{
		{"cancel", logstream.TaskAborted},
		{"sender shutdown", logstream.TaskAborted},
		{"receiver shutdown", logstream.TaskAborted},
		{"watchdog", logstream.Timeout},
		{"no watchdog", logstream.TaskAborted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				r := newRig(t)
				recv := r.net.Engine("server")
				b := newBlocker()
				defer func() {
					recv.Shutdown()
					r.send.Shutdown()
				}()
				defer func() {
					select {
					case <-b.gate:
					default:
						close(b.gate)
					}
				}()
				ro := logstream.ReceiveOptions{IdleTimeout: dopts.IdleTimeout}
				if tc.name == "no watchdog" {
					ro = logstream.ReceiveOptions{NoIdleTimeout: true}
				}
				if err := logstream.RegisterStreamProcessing(recv, dch, dtopic, b.chunk, b.done, ro); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				r.write("hello")
				r.start(ctx, nil, "server")
				within(t, b.entered, time.Minute, "the first chunk callback")
				switch tc.name {
				case "cancel":
					cancel()
				case "sender shutdown":
					shut := make(chan struct{})
					go func() { r.send.Shutdown(); close(shut) }()
					within(t, shut, time.Minute, "the sending engine's Shutdown")
					cancel()
				case "receiver shutdown":
					shut := make(chan struct{})
					go func() { recv.Shutdown(); close(shut) }()
					within(t, shut, time.Minute, "the receiving engine's Shutdown")
					cancel()
				case "watchdog":
					// The sender's chunk times out and is retried; the
					// stream ends IdleTimeout after the blocked message.
					time.Sleep(dopts.IdleTimeout + time.Second)
					synctest.Wait()
					b.mu.Lock()
					late := b.doneAt.Sub(b.enteredAt)
					b.mu.Unlock()
					if late != dopts.IdleTimeout {
						t.Errorf("done %v after the blocked message arrived, want the idle timeout %v", late, dopts.IdleTimeout)
					}
					cancel()
				case "no watchdog":
					// The sender gives up after its retries; each timed-out
					// delivery must leave nothing waiting behind the callback.
				}
				res := within(t, r.res, time.Minute, "StreamLog's return")
				if res.RC == logstream.OK {
					t.Errorf("result %+v", res)
				}
				synctest.Wait()
				if tc.name == "no watchdog" {
					if n := waitersBehindCallback(); n != 0 {
						t.Errorf("%d goroutines still wait in the Dispatcher behind the blocked callback after the sender gave up", n)
					}
					recv.Shutdown()
					synctest.Wait()
				}
				b.check(t, tc.rc)
				if n := waitersBehindCallback(); n != 0 {
					t.Errorf("%d goroutines still wait in the Dispatcher behind the blocked callback", n)
				}
				close(b.gate)
				synctest.Wait()
				b.check(t, tc.rc)
				if recv.Open() != 0 {
					t.Errorf("%d streams open", recv.Open())
				}
			})
		})
	}
}

// scripted is a Producer that sends msgs one after the other (each with
// timeout, the next once the last one's reply came), then waits for an
// hour, then ends.
type scripted struct {
	msgs    []logstream.Message
	timeout time.Duration
	waited  bool
	lastID  uint64
	pending bool // the last send's reply is due
	replies []map[string]logstream.Reply
}

func (p *scripted) Next(now time.Time) logstream.Step {
	if p.pending {
		return logstream.Step{Kind: logstream.StepWait, Until: now.Add(time.Hour)}
	}
	if len(p.msgs) > 0 {
		m := p.msgs[0]
		p.msgs = p.msgs[1:]
		p.lastID++
		p.pending = true
		return logstream.Step{Kind: logstream.StepSend, ID: p.lastID, Msg: m, Targets: []string{"server"}, Timeout: p.timeout}
	}
	if !p.waited {
		p.waited = true
		return logstream.Step{Kind: logstream.StepWait, Until: now.Add(time.Hour)}
	}
	return logstream.Step{Kind: logstream.StepDone, Result: logstream.Result{RC: logstream.Error}}
}

func (p *scripted) Reply(_ time.Time, id uint64, target string, r logstream.Reply) {
	if id == p.lastID {
		p.pending = false
	}
	p.replies = append(p.replies, map[string]logstream.Reply{target: r})
}

func (p *scripted) Abort(time.Time) logstream.Result {
	return logstream.Result{RC: logstream.TaskAborted}
}

// A message that waits behind a blocked chunk callback gives up when its
// delivery times out: no goroutine outlives it (the old engine left it
// waiting until the callback returned).
func TestTimedOutDeliveryLeavesNoWaiter(t *testing.T) {
	bubble(t, func(t *testing.T) {
		r := newRig(t)
		recv := r.net.Engine("server")
		b := newBlocker()
		defer func() {
			recv.Shutdown()
			r.send.Shutdown()
		}()
		defer close(b.gate)
		if err := logstream.RegisterStreamProcessing(recv, dch, dtopic, b.chunk, b.done, logstream.ReceiveOptions{NoIdleTimeout: true}); err != nil {
			t.Fatal(err)
		}
		first := logstream.Message{Kind: logstream.KindData, Size: 5, Data: []byte("hello"), Ctx: logstream.StreamContext{"job": "j1"}}
		p := &scripted{msgs: []logstream.Message{first, first}, timeout: 100 * time.Millisecond}
		res := make(chan logstream.Result, 1)
		go func() {
			out, _ := r.send.StreamObjects(context.Background(), dch, dtopic, nil, []string{"server"}, p)
			res <- out
		}()
		within(t, b.entered, time.Minute, "the first chunk callback")
		time.Sleep(time.Minute) // both deliveries timed out; the producer waits
		synctest.Wait()
		if len(p.replies) != 2 || p.replies[0]["server"].RC != logstream.Timeout || p.replies[1]["server"].RC != logstream.Timeout {
			t.Fatalf("replies %v, want two TIMEOUTs", p.replies)
		}
		if n := waitersBehindCallback(); n != 0 {
			t.Errorf("%d goroutines still wait in the Dispatcher after their delivery timed out", n)
		}
		within(t, res, 2*time.Hour, "StreamObjects' return")
	})
}

package logstream_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Tests of the receiving side's guarantees when user code blocks or a
// message comes very late: ending a stream never waits for a chunk callback,
// and an ended stream is never started again.

// hangBound only detects hangs: an end that should not wait for a blocked
// callback gets this long (real time) before the test says it hung.
const hangBound = 10 * time.Second

// blockingApp is a receiving application whose chunk callback blocks on a
// gate for data at offset 3, and which records Finalize and done.
type blockingApp struct {
	mu       sync.Mutex
	gate     chan struct{}
	entered  chan struct{} // closed when the blocking callback started
	returned chan struct{} // closed when it returned
	chunks   []string
	dones    []logstream.ReturnCode
	finals   []logstream.ReturnCode
	info     *logstream.StreamInfo
	inChunk  bool
	started  int // chunk callbacks started after done
}

func newBlockingApp() *blockingApp {
	return &blockingApp{gate: make(chan struct{}), entered: make(chan struct{}), returned: make(chan struct{})}
}

type finalizing struct {
	*logstream.LogConsumer
	app *blockingApp
}

func (f finalizing) Finalize(rc logstream.ReturnCode) {
	f.app.mu.Lock()
	f.app.finals = append(f.app.finals, rc)
	f.app.mu.Unlock()
}

func (a *blockingApp) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	a.mu.Lock()
	a.info = info
	a.mu.Unlock()
	return finalizing{logstream.NewLogConsumer(now, info, a.chunk, idle), a}, nil
}

func (a *blockingApp) chunk(data []byte, _ *logstream.StreamInfo) error {
	a.mu.Lock()
	if len(a.dones) > 0 {
		a.started++
	}
	a.chunks = append(a.chunks, string(data))
	a.inChunk = true
	a.mu.Unlock()
	if string(data) == "block" {
		close(a.entered)
		<-a.gate
		defer close(a.returned)
	}
	a.mu.Lock()
	a.inChunk = false
	a.mu.Unlock()
	return nil
}

func (a *blockingApp) done(info *logstream.StreamInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dones = append(a.dones, info.RC)
}

func (a *blockingApp) snapshot() (dones, finals []logstream.ReturnCode, chunks []string, after int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]logstream.ReturnCode(nil), a.dones...), append([]logstream.ReturnCode(nil), a.finals...),
		append([]string(nil), a.chunks...), a.started
}

// within runs f on its own goroutine and reports whether it returned within
// hangBound.
func within(f func()) bool {
	ch := make(chan struct{})
	go func() { defer close(ch); f() }()
	select {
	case <-ch:
		return true
	case <-time.After(hangBound):
		return false
	}
}

// A chunk callback that blocks does not hold up the end of its stream: the
// watchdog (at the idle deadline counted from the blocked message), the
// END_STREAM hook, Shutdown and an Abort message each end it at once, done
// fires once with their RC, the late callback's return is ignored (its
// message gets the Closed reply), Finalize runs once, after the callback
// returned, and no callback starts after done. Messages that arrive while
// the callback blocks wait and get the Closed reply when the stream ends.
// Before the fix, Expire skipped the busy stream, END_STREAM was deferred
// until the callback returned, and Shutdown and Abort waited for it.
func TestDispatcherBlockedCallbackDoesNotHoldEnd(t *testing.T) {
	for _, tc := range []struct {
		ender string
		rc    logstream.ReturnCode
	}{
		{"expire", logstream.Timeout},
		{"endstream", logstream.BadRequestData},
		{"shutdown", logstream.TaskAborted},
		{"abort", logstream.TaskAborted},
	} {
		t.Run(tc.ender, func(t *testing.T) {
			d := logstream.NewDispatcher()
			app := newBlockingApp()
			d.Register("ch", "topic", app, app.done)
			defer func() {
				select {
				case <-app.gate:
				default:
					close(app.gate)
				}
			}()
			expectReply(t, d.Handle(at(0), data("s", 0, "abc")), ok(3))
			blocked := make(chan logstream.Reply, 1)
			go func() { blocked <- d.Handle(at(500*time.Millisecond), noCtx(data("s", 3, "block"))) }()
			<-app.entered
			// A heartbeat arriving meanwhile waits; it does not reset the idle
			// clock, which counts from the blocked message.
			waiting := make(chan logstream.Reply, 1)
			go func() { waiting <- d.Handle(at(600*time.Millisecond), ctl("s", logstream.KindHeartbeat, 8)) }()
			if dl, ok := d.NextDeadline(); !ok || !dl.Equal(at(500*time.Millisecond+idle)) {
				t.Errorf("deadline while the callback blocks: %v %v, want %v", dl, ok, at(500*time.Millisecond+idle))
			}
			var abortReply logstream.Reply
			ended := within(func() {
				switch tc.ender {
				case "expire":
					if n := d.Expire(at(500*time.Millisecond + idle - 1)); n != 0 {
						t.Errorf("expired %d streams before the deadline", n)
					}
					if n := d.Expire(at(500*time.Millisecond + idle)); n != 1 {
						t.Errorf("Expire ended %d streams at the deadline, want 1", n)
					}
				case "endstream":
					app.mu.Lock()
					info := app.info
					app.mu.Unlock()
					info.EndStream(logstream.BadRequestData)
				case "shutdown":
					d.Shutdown()
				case "abort":
					abortReply = d.Handle(at(time.Second), ctl("s", logstream.KindAbort, 8))
				}
			})
			if !ended {
				t.Fatalf("%s waited for the blocked chunk callback", tc.ender)
			}
			if tc.ender == "abort" {
				expectReply(t, abortReply, ok(3))
			}
			dones, finals, _, _ := app.snapshot()
			if len(dones) != 1 || dones[0] != tc.rc {
				t.Fatalf("done %v while the callback blocks, want [%s]", dones, tc.rc)
			}
			if len(finals) != 0 {
				t.Fatalf("Finalize %v ran while Consume runs", finals)
			}
			closed := logstream.Reply{RC: tc.rc, Next: 3, Closed: true}
			var got logstream.Reply
			if !within(func() { got = <-waiting }) {
				t.Fatal("the message waiting behind the blocked callback was not released when the stream ended")
			}
			expectReply(t, got, closed)
			expectReply(t, d.Handle(at(2*time.Second), noCtx(data("s", 3, "late"))), closed)
			close(app.gate)
			expectReply(t, <-blocked, closed)
			<-app.returned
			dones, finals, chunks, after := app.snapshot()
			if len(dones) != 1 || len(finals) != 1 || finals[0] != tc.rc {
				t.Fatalf("after the callback returned: done %v Finalize %v, want one each with %s", dones, finals, tc.rc)
			}
			if after != 0 || fmt.Sprint(chunks) != "[abc block]" {
				t.Fatalf("chunks %q (%d started after done)", chunks, after)
			}
			if d.Open() != 0 {
				t.Fatalf("%d streams open", d.Open())
			}
		})
	}
}

// A factory that blocks does not hold up Shutdown either; the stream ends
// with TASK_ABORTED when the factory returns.
func TestDispatcherShutdownDuringFactory(t *testing.T) {
	d := logstream.NewDispatcher()
	rec := newRecorder()
	gate, entered := make(chan struct{}), make(chan struct{})
	d.Register("ch", "topic", factoryFunc(func(now time.Time, i *logstream.StreamInfo) (logstream.Consumer, error) {
		close(entered)
		<-gate
		return rec.NewConsumer(now, i)
	}), rec.done)
	first := make(chan logstream.Reply, 1)
	go func() { first <- d.Handle(at(0), data("s", 0, "abc")) }()
	<-entered
	if !within(d.Shutdown) {
		close(gate)
		t.Fatal("Shutdown waited for a blocked factory")
	}
	close(gate)
	expectReply(t, <-first, logstream.Reply{RC: logstream.TaskAborted, Closed: true})
	if rcs := rec.doneRCs("s"); len(rcs) != 1 || rcs[0] != logstream.TaskAborted || rec.got("s") != "" {
		t.Fatalf("done %v got %q", rcs, rec.got("s"))
	}
}

// endStreams starts and ends n streams named by id(i) at time tm.
func endStreams(t *testing.T, d *logstream.Dispatcher, n int, tm time.Time, id func(int) string) {
	t.Helper()
	for i := range n {
		expectReply(t, d.Handle(tm, data(id(i), 0, "x")), ok(1))
		expectReply(t, d.Handle(tm, ctl(id(i), logstream.KindEOF, 1)), ok(1))
	}
}

// A very late copy of an ended stream's first message never starts the
// stream again, however many streams ended since (the Dispatcher used to
// forget all but the last 4096) and however long ago it ended (after
// EndedMemory, IDs from NewStreamID are refused by their sequence number).
func TestDispatcherLateFirstMessageAfterManyEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   func(i int) string
	}{
		{"plain IDs", func(i int) string { return fmt.Sprintf("s%d", i) }},
		{"NewStreamID", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, rec := newDisp(t)
			id := tc.id
			if id == nil {
				ids := map[int]string{}
				id = func(i int) string {
					if ids[i] == "" {
						ids[i] = logstream.NewStreamID("sender")
					}
					return ids[i]
				}
			}
			endStreams(t, d, 5000, at(0), id)
			expectReply(t, d.Handle(at(time.Minute), data(id(0), 0, "x")), logstream.Reply{RC: logstream.OK, Next: 1, Closed: true})
			if n := len(rec.doneRCs(id(0))); n != 1 || rec.factory.Load() != 5000 || d.Open() != 0 {
				t.Fatalf("the late first message restarted an ended stream: %d dones, %d consumers for 5000 streams, %d open",
					n, rec.factory.Load(), d.Open())
			}
		})
	}
}

func TestDispatcherEndedMemoryByTime(t *testing.T) {
	d, rec := newDisp(t)
	d.SetEndedMemory(time.Hour)
	old := logstream.NewStreamID("sender")
	endStreams(t, d, 1, at(0), func(int) string { return old })
	// A later stream of the same sender, ended after the memory passed.
	newer := logstream.NewStreamID("sender")
	endStreams(t, d, 1, at(2*time.Hour), func(int) string { return newer })
	if n := d.Remembered(); n != 1 {
		t.Fatalf("remembers %d ended streams, want 1 (the one within the last hour)", n)
	}
	// The old stream was forgotten, yet its first message is refused: its
	// sequence number is not newer than a forgotten one.
	r := d.Handle(at(3*time.Hour), data(old, 0, "x"))
	if !r.Closed || r.RC != logstream.BadRequestData || rec.factory.Load() != 2 || len(rec.doneRCs(old)) != 1 {
		t.Fatalf("late first message of a forgotten stream: reply %+v, %d consumers, done %v", r, rec.factory.Load(), rec.doneRCs(old))
	}
	// A new stream of the same sender still starts.
	newest := logstream.NewStreamID("sender")
	expectReply(t, d.Handle(at(3*time.Hour), data(newest, 0, "y")), ok(1))
	// So does a stream of another sender process with the same name.
	expectReply(t, d.Handle(at(3*time.Hour), data("sender-00000000000000ff-1", 0, "z")), ok(1))
}

// A message waiting behind a running Consume gives up when its context ends:
// TIMEOUT, not consumed; Notify tells the engine of each new stream before
// its first Consume (whose callback may block).
func TestDispatcherHandleContextAndNotify(t *testing.T) {
	d := logstream.NewDispatcher()
	app := newBlockingApp()
	d.Register("ch", "topic", app, app.done)
	notified := make(chan struct{}, 4)
	d.Notify(func() { notified <- struct{}{} })
	defer func() {
		select {
		case <-app.gate:
		default:
			close(app.gate)
		}
	}()
	go d.Handle(at(0), data("s", 0, "block"))
	<-app.entered
	select {
	case <-notified:
	default:
		t.Fatal("no Notify for the new stream before its first Consume returned")
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan logstream.Reply, 1)
	go func() { got <- d.HandleContext(ctx, at(time.Millisecond), noCtx(data("s", 5, "more"))) }()
	cancel()
	var r logstream.Reply
	if !within(func() { r = <-got }) {
		t.Fatal("HandleContext kept waiting after its context ended")
	}
	expectReply(t, r, logstream.Reply{RC: logstream.Timeout})
	close(app.gate)
	<-app.returned
	if _, _, chunks, _ := app.snapshot(); fmt.Sprint(chunks) != "[block]" {
		t.Fatalf("chunks %q: the message that gave up was consumed", chunks)
	}
}

// deadlineConsumer takes every message; its deadline is the next of dls
// after each Consume (none once dls runs out).
type deadlineConsumer struct{ dls []time.Time }

func (c *deadlineConsumer) Consume(_ time.Time, m *logstream.Message) (bool, logstream.Reply) {
	c.dls = c.dls[1:]
	return true, logstream.Reply{RC: logstream.OK, Next: m.Offset + int64(len(m.Data))}
}

func (c *deadlineConsumer) Deadline() (time.Time, bool) {
	if len(c.dls) == 0 {
		return time.Time{}, false
	}
	return c.dls[0], true
}

func (c *deadlineConsumer) Finalize(logstream.ReturnCode) {}

type deadlineFactory struct{ c *deadlineConsumer }

func (f deadlineFactory) NewConsumer(time.Time, *logstream.StreamInfo) (logstream.Consumer, error) {
	return f.c, nil
}

// Notify is called when a message moves its stream's deadline earlier than
// a watchdog may have seen it, and only then: a watchdog reads NextDeadline
// again on Notify or when its timer fires, not after every message (a
// wake-up per chunk costs a context switch on the receiving side).
func TestDispatcherNotifiesOnlyAnEarlierDeadline(t *testing.T) {
	idle := 30 * time.Second
	c := &deadlineConsumer{dls: []time.Time{
		at(idle),                     // after the factory
		at(idle),                     // after the message at 0: unchanged
		at(time.Second + idle),       // at 1s: later, as a LogConsumer's
		at(2*time.Second + idle - 1), // at 2s: 1ns before busySince+idle: earlier
		at(3*time.Second + 2*idle),   // at 3s: later again
	}}
	d := logstream.NewDispatcher()
	d.Register("ch", "topic", deadlineFactory{c}, nil)
	n := 0
	var seen time.Time // NextDeadline when Notify ran
	d.Notify(func() { n++; seen, _ = d.NextDeadline() })
	expectReply(t, d.Handle(at(0), data("s", 0, "a")), ok(1))
	if n != 1 {
		t.Fatalf("new stream: %d notifications, want 1", n)
	}
	expectReply(t, d.Handle(at(time.Second), noCtx(data("s", 1, "b"))), ok(2))
	if n != 1 {
		t.Fatalf("deadline moved later: %d notifications, want none more", n-1)
	}
	// Handled at 2s after the last message at 1s: while Consume ran the
	// stream's deadline showed as 2s+idle, so a deadline 1ns before it is
	// earlier than what a watchdog may have armed for.
	expectReply(t, d.Handle(at(2*time.Second), noCtx(data("s", 2, "c"))), ok(3))
	if n != 2 {
		t.Fatalf("deadline moved earlier: %d notifications, want 1 more", n-1)
	}
	if !seen.Equal(at(2*time.Second + idle - 1)) {
		t.Fatalf("NextDeadline was %v when Notify ran, want the new deadline", seen.Sub(t0))
	}
	expectReply(t, d.Handle(at(3*time.Second), noCtx(data("s", 3, "d"))), ok(4))
	if n != 2 {
		t.Fatalf("deadline moved later: %d notifications, want none more", n-2)
	}
}

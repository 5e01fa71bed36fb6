package logstream_test

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// LogConsumer and Dispatcher tests: messages are handed to Dispatcher.Handle
// with explicit times; concurrent tests use goroutines and rely on -race.

// recorder is a receiving application: chunk and done callbacks that check
// the Dispatcher's guarantees.
type recorder struct {
	mu        sync.Mutex
	data      map[string][]byte
	chunks    int
	dones     map[string][]logstream.ReturnCode
	ended     map[string]bool
	afterDone int             // chunk callbacks started after done that no correct Dispatcher admits (see chunk)
	lateOK    map[string]bool // a callback admitted before done may still start
	running   int             // chunk callbacks running (guarded by mu)
	inChunk   atomic.Int32
	overlap   atomic.Int32 // chunk callbacks overlapping
	factory   atomic.Int32
	onChunk   func(data []byte, info *logstream.StreamInfo) error
}

func newRecorder() *recorder {
	return &recorder{data: map[string][]byte{}, dones: map[string][]logstream.ReturnCode{}, ended: map[string]bool{}, lateOK: map[string]bool{}}
}

func (r *recorder) chunk(data []byte, info *logstream.StreamInfo) error {
	if r.inChunk.Add(1) > 1 {
		r.overlap.Add(1)
	}
	defer r.inChunk.Add(-1)
	r.mu.Lock()
	r.running++
	defer func() { r.mu.Lock(); r.running--; r.mu.Unlock() }()
	if r.ended[info.ID] {
		// Callbacks of a stream never overlap, so at most one was admitted
		// before the end without having started when done ran; and none
		// when one was running then.
		if r.lateOK[info.ID] {
			r.lateOK[info.ID] = false
		} else {
			r.afterDone++
		}
	}
	r.data[info.ID] = append(r.data[info.ID], data...)
	r.chunks++
	r.mu.Unlock()
	if r.onChunk != nil {
		return r.onChunk(data, info)
	}
	return nil
}

func (r *recorder) done(info *logstream.StreamInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended[info.ID] {
		r.lateOK[info.ID] = r.running == 0
	}
	r.ended[info.ID] = true
	r.dones[info.ID] = append(r.dones[info.ID], info.RC)
}

func (r *recorder) got(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.data[id])
}

func (r *recorder) doneRCs(id string) []logstream.ReturnCode {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]logstream.ReturnCode(nil), r.dones[id]...)
}

// NewConsumer counts the consumers made.
func (r *recorder) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	r.factory.Add(1)
	return logstream.NewLogConsumer(now, info, r.chunk, idle), nil
}

const idle = time.Second

func newDisp(t *testing.T) (*logstream.Dispatcher, *recorder) {
	t.Helper()
	d := logstream.NewDispatcher()
	rec := newRecorder()
	if err := d.Register("ch", "topic", rec, rec.done); err != nil {
		t.Fatal(err)
	}
	return d, rec
}

func data(id string, off int64, s string) *logstream.Message {
	return &logstream.Message{StreamID: id, Channel: "ch", Topic: "topic", Ctx: testCtx, Kind: logstream.KindData, Offset: off, Size: len(s), Data: []byte(s)}
}

func ctl(id string, k logstream.Kind, off int64) *logstream.Message {
	return &logstream.Message{StreamID: id, Channel: "ch", Topic: "topic", Ctx: testCtx, Kind: k, Offset: off}
}

func noCtx(m *logstream.Message) *logstream.Message { m.Ctx = nil; return m }

func expectReply(t *testing.T, got, want logstream.Reply) {
	t.Helper()
	if got != want {
		t.Fatalf("reply %+v, want %+v", got, want)
	}
}

// Heartbeats reset the idle deadline and are never forwarded; the watchdog
// ends an idle stream with TIMEOUT (idle counts from the last message of any
// kind).
func TestConsumerHeartbeatResetsIdle(t *testing.T) {
	d, rec := newDisp(t)
	expectReply(t, d.Handle(at(0), data("s", 0, "abc")), ok(3))
	if dl, ok := d.NextDeadline(); !ok || !dl.Equal(at(idle)) {
		t.Fatalf("deadline %v %v", dl, ok)
	}
	for i := 1; i <= 5; i++ {
		tm := time.Duration(i) * 900 * time.Millisecond
		if n := d.Expire(at(tm)); n != 0 {
			t.Fatalf("expired at %v although a heartbeat came", tm)
		}
		expectReply(t, d.Handle(at(tm), ctl("s", logstream.KindHeartbeat, 3)), ok(3))
	}
	if rec.chunks != 1 || rec.got("s") != "abc" {
		t.Fatalf("heartbeat forwarded: %d chunks %q", rec.chunks, rec.got("s"))
	}
	dl, _ := d.NextDeadline()
	if want := at(4500*time.Millisecond + idle); !dl.Equal(want) {
		t.Fatalf("deadline %v want %v", dl, want)
	}
	if n := d.Expire(dl.Add(-1)); n != 0 {
		t.Fatal("expired before the deadline")
	}
	if n := d.Expire(dl); n != 1 {
		t.Fatal("not expired at the deadline")
	}
	if rcs := rec.doneRCs("s"); len(rcs) != 1 || rcs[0] != logstream.Timeout {
		t.Fatalf("done %v", rcs)
	}
	// H15: nothing is consumed after done; the late message learns the RC.
	expectReply(t, d.Handle(dl, data("s", 3, "late")), logstream.Reply{RC: logstream.Timeout, Next: 3, Closed: true})
	if rec.got("s") != "abc" || rec.afterDone != 0 || d.Open() != 0 {
		t.Fatalf("late chunk consumed: %q", rec.got("s"))
	}
	if _, ok := d.NextDeadline(); ok {
		t.Fatal("deadline of an ended stream")
	}
}

// NoIdleTimeout disables the watchdog (the zero ReceiveOptions have the
// default one).
func TestConsumerNoWatchdog(t *testing.T) {
	d := logstream.NewDispatcher()
	rec := newRecorder()
	d.Register("ch", "topic", &logstream.LogConsumerFactory{Chunk: rec.chunk, ReceiveOptions: logstream.ReceiveOptions{NoIdleTimeout: true}}, rec.done)
	d.Handle(at(0), data("s", 0, "x"))
	if _, ok := d.NextDeadline(); ok {
		t.Fatal("deadline with the watchdog off")
	}
	if d.Expire(at(1000*time.Hour)) != 0 || d.Open() != 1 {
		t.Fatal("expired with the watchdog off")
	}
}

// A chunk whose declared size does not match its data ends the stream with
// EXECUTION_EXCEPTION and is not forwarded; so does a failing chunk callback.
func TestConsumerExecutionException(t *testing.T) {
	t.Run("size mismatch", func(t *testing.T) {
		d, rec := newDisp(t)
		d.Handle(at(0), data("s", 0, "ok"))
		bad := data("s", 2, "liar")
		bad.Size = 3
		expectReply(t, d.Handle(at(0), bad), logstream.Reply{RC: logstream.ExecutionException, Next: 2})
		if rec.got("s") != "ok" {
			t.Fatalf("bad chunk forwarded: %q", rec.got("s"))
		}
		if rcs := rec.doneRCs("s"); len(rcs) != 1 || rcs[0] != logstream.ExecutionException {
			t.Fatalf("done %v", rcs)
		}
	})
	t.Run("callback error", func(t *testing.T) {
		d, rec := newDisp(t)
		rec.onChunk = func([]byte, *logstream.StreamInfo) error { return errors.New("disk full") }
		expectReply(t, d.Handle(at(0), data("s", 0, "abc")), logstream.Reply{RC: logstream.ExecutionException, Next: 0})
		// A retry is not a new stream: no second consumer, no second done.
		expectReply(t, d.Handle(at(0), data("s", 0, "abc")), logstream.Reply{RC: logstream.ExecutionException, Next: 0, Closed: true})
		if rec.chunks != 1 || rec.factory.Load() != 1 || len(rec.doneRCs("s")) != 1 {
			t.Fatalf("chunks %d factory %d done %v", rec.chunks, rec.factory.Load(), rec.doneRCs("s"))
		}
	})
}

// Offset dedupe: duplicated and overlapping chunks forward each byte once, in
// order (the reference consumed a duplicate twice); a chunk past a gap is
// held (OK with the receiver's Next) and forwarded once the gap is filled.
// A lost reply (H6) makes the sender resend a chunk already consumed: it is
// absorbed.
func TestConsumerOffsetDedupe(t *testing.T) {
	type in struct {
		off  int64
		s    string
		want logstream.Reply
	}
	for _, tc := range []struct {
		name string
		msgs []in
		got  string
	}{
		{"in order", []in{{0, "abc", ok(3)}, {3, "def", ok(6)}}, "abcdef"},
		{"H6 duplicate", []in{{0, "abc", ok(3)}, {0, "abc", ok(3)}, {3, "d", ok(4)}}, "abcd"},
		{"overlap", []in{{0, "abc", ok(3)}, {1, "bcde", ok(5)}, {4, "ef", ok(6)}}, "abcdef"},
		{"older than next", []in{{0, "abcdef", ok(6)}, {2, "cd", ok(6)}}, "abcdef"},
		{"gap held", []in{{0, "abc", ok(3)}, {5, "fg", ok(3)}, {3, "de", ok(7)}}, "abcdefg"},
		{"gap at start", []in{{2, "cd", ok(0)}, {0, "ab", ok(4)}}, "abcd"},
		{"held twice", []in{{4, "ef", ok(0)}, {2, "cd", ok(0)}, {4, "ef", ok(0)}, {0, "ab", ok(6)}, {4, "ef", ok(6)}}, "abcdef"},
		{"empty chunk", []in{{0, "", ok(0)}, {0, "a", ok(1)}}, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, rec := newDisp(t)
			for i, m := range tc.msgs {
				if r := d.Handle(at(0), data("s", m.off, m.s)); r != m.want {
					t.Fatalf("message %d: reply %+v, want %+v", i, r, m.want)
				}
			}
			if rec.got("s") != tc.got {
				t.Fatalf("forwarded %q, want %q", rec.got("s"), tc.got)
			}
			if d.Open() != 1 || len(rec.doneRCs("s")) != 0 {
				t.Fatal("stream ended")
			}
		})
	}
}

// EOF ends the stream with OK only at the receiver's offset; EOF at another
// offset is refused and the stream stays open. A late retry of the EOF (its
// reply lost) gets the final RC with Closed, and no second done.
func TestConsumerEOFAndLateRetry(t *testing.T) {
	d, rec := newDisp(t)
	d.Handle(at(0), data("s", 0, "abc"))
	expectReply(t, d.Handle(at(0), ctl("s", logstream.KindEOF, 5)), logstream.Reply{RC: logstream.BadRequestData, Next: 3})
	if d.Open() != 1 {
		t.Fatal("refused EOF ended the stream")
	}
	expectReply(t, d.Handle(at(0), ctl("s", logstream.KindEOF, 3)), ok(3))
	expectReply(t, d.Handle(at(0), ctl("s", logstream.KindEOF, 3)), logstream.Reply{RC: logstream.OK, Next: 3, Closed: true})
	expectReply(t, d.Handle(at(0), data("s", 0, "abc")), logstream.Reply{RC: logstream.OK, Next: 3, Closed: true})
	if rcs := rec.doneRCs("s"); len(rcs) != 1 || rcs[0] != logstream.OK || rec.got("s") != "abc" || rec.factory.Load() != 1 {
		t.Fatalf("done %v got %q factory %d", rcs, rec.got("s"), rec.factory.Load())
	}
}

// H20: a duplicated first message (the reference re-took a non-reentrant
// lock and hung) neither deadlocks nor duplicates bytes; nor does an
// out-of-order first message.
func TestDispatcherDuplicateFirstMessage(t *testing.T) {
	d, rec := newDisp(t)
	first := data("s", 0, "abc")
	expectReply(t, d.Handle(at(0), first), ok(3))
	expectReply(t, d.Handle(at(0), first), ok(3))
	expectReply(t, d.Handle(at(0), data("s", 3, "d")), ok(4))
	expectReply(t, d.Handle(at(0), first), ok(4))
	if rec.got("s") != "abc"+"d" || rec.factory.Load() != 1 || d.Open() != 1 {
		t.Fatalf("got %q factory %d open %d", rec.got("s"), rec.factory.Load(), d.Open())
	}
	// Out of order first message: held, then the real first starts it.
	expectReply(t, d.Handle(at(0), data("t", 3, "def")), ok(0))
	expectReply(t, d.Handle(at(0), data("t", 0, "abc")), ok(6))
	expectReply(t, d.Handle(at(0), data("t", 3, "def")), ok(6))
	if rec.got("t") != "abcdef" {
		t.Fatalf("got %q", rec.got("t"))
	}
}

// H20, concurrently: many copies of the first message at once, then the rest
// of the stream duplicated across goroutines. Bytes are forwarded once, in
// order, chunk callbacks never overlap, and done runs once.
func TestDispatcherConcurrentDuplicates(t *testing.T) {
	for range 50 {
		d, rec := newDisp(t)
		const n = 8
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for off, s := range []string{"ab", "cd", "ef"} {
					for {
						r := d.Handle(at(0), data("s", int64(2*off), s))
						if r.RC == logstream.OK {
							break
						}
						if r.RC != logstream.BadRequestData {
							t.Errorf("reply %+v", r)
							return
						}
					}
				}
				d.Handle(at(0), ctl("s", logstream.KindEOF, 6))
			}()
		}
		close(start)
		wg.Wait()
		if rec.got("s") != "abcdef" || rec.overlap.Load() != 0 {
			t.Fatalf("got %q overlap %d", rec.got("s"), rec.overlap.Load())
		}
		if rcs := rec.doneRCs("s"); len(rcs) != 1 || rcs[0] != logstream.OK {
			t.Fatalf("done %v", rcs)
		}
		// A duplicate first message waits for the stream being created: the
		// factory (which may truncate the destination file) runs once.
		if f := rec.factory.Load(); f != 1 {
			t.Fatalf("factory called %d times", f)
		}
	}
}

// Routing: unknown stream without a context is BAD_REQUEST_DATA; with no
// registration at all the answer is NOT_READY and nothing is created (H8:
// the reference answered EXECUTION_EXCEPTION and then BAD_REQUEST_DATA to the
// retry); malformed messages are BAD_REQUEST_DATA; an Abort for an unknown
// stream creates nothing.
func TestDispatcherRouting(t *testing.T) {
	d := logstream.NewDispatcher()
	rec := newRecorder()
	expectReply(t, d.Handle(at(0), data("s", 0, "abc")), rc(logstream.NotReady))
	expectReply(t, d.Handle(at(0), noCtx(data("s", 0, "abc"))), rc(logstream.NotReady))
	expectReply(t, d.Handle(at(0), ctl("s", logstream.KindHeartbeat, 0)), rc(logstream.NotReady))
	if d.Open() != 0 {
		t.Fatal("stream created without a registration")
	}
	if err := d.Register("ch", "topic", rec, rec.done); err != nil {
		t.Fatal(err)
	}
	expectReply(t, d.Handle(at(0), noCtx(data("s", 0, "abc"))), rc(logstream.BadRequestData))
	expectReply(t, d.Handle(at(0), ctl("x", logstream.KindAbort, 0)), rc(logstream.OK))
	if d.Open() != 0 || rec.factory.Load() != 0 {
		t.Fatal("stream created from a message without context or an abort")
	}
	// The retry with the context starts the stream (H8).
	expectReply(t, d.Handle(at(0), data("s", 0, "abc")), ok(3))
	// Later messages need no context.
	expectReply(t, d.Handle(at(0), noCtx(data("s", 3, "d"))), ok(4))
	bad := []*logstream.Message{
		{Channel: "ch", Topic: "topic", Kind: logstream.KindData, Ctx: testCtx},
		{StreamID: "s", Channel: "ch", Topic: "topic", Ctx: testCtx},
		{StreamID: "s", Channel: "ch", Topic: "topic", Kind: logstream.KindAbort + 1, Ctx: testCtx},
	}
	for _, m := range bad {
		expectReply(t, d.Handle(at(0), m), rc(logstream.BadRequestData))
	}
	if rec.got("s") != "abcd" {
		t.Fatalf("%q", rec.got("s"))
	}
	if err := d.Register("", "t", rec, nil); !errors.Is(err, logstream.ErrBadRegistration) {
		t.Fatal(err)
	}
	if err := d.Register("c", "", rec, nil); !errors.Is(err, logstream.ErrBadRegistration) {
		t.Fatal(err)
	}
	if err := d.Register("c", "t", nil, nil); !errors.Is(err, logstream.ErrBadRegistration) {
		t.Fatal(err)
	}
}

type namedFactory struct {
	name string
	got  *[]string
}

func (f namedFactory) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	*f.got = append(*f.got, f.name+"<-"+info.Channel+":"+info.Topic)
	return logstream.NewLogConsumer(now, info, nil, 0), nil
}

// Registry lookups: channel:topic, then channel:*, then *:*; registering
// again replaces the entry for new streams only.
func TestDispatcherFallbacks(t *testing.T) {
	d := logstream.NewDispatcher()
	var got []string
	reg := func(ch, tp, name string) {
		if err := d.Register(ch, tp, namedFactory{name, &got}, nil); err != nil {
			t.Fatal(err)
		}
	}
	msg := func(id, ch, tp string) logstream.Reply {
		m := data(id, 0, "x")
		m.Channel, m.Topic = ch, tp
		return d.Handle(at(0), m)
	}
	reg("*", "*", "any")
	reg("log", "*", "log-any")
	reg("log", "live", "exact")
	for i, c := range [][2]string{{"log", "live"}, {"log", "other"}, {"metrics", "live"}} {
		expectReply(t, msg(string(rune('a'+i)), c[0], c[1]), ok(1))
	}
	reg("log", "live", "exact2")
	msg("a", "log", "live") // existing stream keeps its consumer
	msg("d", "log", "live")
	want := []string{"exact<-log:live", "log-any<-log:other", "any<-metrics:live", "exact2<-log:live"}
	if len(got) != len(want) {
		t.Fatalf("got %v want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
}

type failingFactory struct{}

func (failingFactory) NewConsumer(time.Time, *logstream.StreamInfo) (logstream.Consumer, error) {
	return nil, errors.New("no")
}

// A factory that fails answers EXECUTION_EXCEPTION and creates nothing.
func TestDispatcherFactoryError(t *testing.T) {
	d := logstream.NewDispatcher()
	d.Register("ch", "topic", failingFactory{}, func(*logstream.StreamInfo) { t.Error("done for a stream never created") })
	expectReply(t, d.Handle(at(0), data("s", 0, "x")), rc(logstream.ExecutionException))
	if d.Open() != 0 {
		t.Fatal("created")
	}
}

// Abort from the sender ends the stream with TASK_ABORTED, once.
func TestDispatcherAbort(t *testing.T) {
	d, rec := newDisp(t)
	d.Handle(at(0), data("s", 0, "abc"))
	expectReply(t, d.Handle(at(0), ctl("s", logstream.KindAbort, 3)), ok(3))
	expectReply(t, d.Handle(at(0), ctl("s", logstream.KindAbort, 3)), logstream.Reply{RC: logstream.TaskAborted, Next: 3, Closed: true})
	if rcs := rec.doneRCs("s"); len(rcs) != 1 || rcs[0] != logstream.TaskAborted {
		t.Fatalf("%v", rcs)
	}
}

// H16: Shutdown ends every open stream with TASK_ABORTED (the reference left
// them open, the log was never stored); later messages get TASK_ABORTED and
// create nothing.
func TestDispatcherShutdown(t *testing.T) {
	d, rec := newDisp(t)
	d.Handle(at(0), data("a", 0, "1"))
	d.Handle(at(0), data("b", 0, "2"))
	d.Handle(at(0), ctl("b", logstream.KindEOF, 1))
	d.Shutdown()
	for id, want := range map[string]logstream.ReturnCode{"a": logstream.TaskAborted, "b": logstream.OK} {
		if rcs := rec.doneRCs(id); len(rcs) != 1 || rcs[0] != want {
			t.Fatalf("%s: done %v want %s", id, rcs, want)
		}
	}
	expectReply(t, d.Handle(at(0), data("a", 1, "x")), logstream.Reply{RC: logstream.TaskAborted, Next: 1, Closed: true})
	expectReply(t, d.Handle(at(0), data("c", 0, "x")), logstream.Reply{RC: logstream.TaskAborted, Closed: true})
	if d.Open() != 0 || rec.factory.Load() != 2 {
		t.Fatal("stream after shutdown")
	}
	d.Shutdown() // idempotent
	if len(rec.doneRCs("a")) != 1 {
		t.Fatal("second done")
	}
}

// EndStream ends the stream at once, even from inside Consume (the chunk
// callback; outside the contract, but it must not deadlock): done runs there,
// once, and the Consume's result is ignored (the reply says Closed, with the
// Next from before the message). EndStream from outside ends the stream;
// later calls do nothing.
func TestDispatcherEndStream(t *testing.T) {
	t.Run("inside consume", func(t *testing.T) {
		d, rec := newDisp(t)
		rec.onChunk = func(_ []byte, info *logstream.StreamInfo) error {
			info.EndStream(logstream.TaskAborted)
			info.EndStream(logstream.Timeout) // ignored: the first wins
			if rcs := rec.doneRCs(info.ID); len(rcs) != 1 {
				t.Errorf("done %v after EndStream inside the chunk callback, want it once", rcs)
			}
			return nil
		}
		expectReply(t, d.Handle(at(0), data("s", 0, "abc")), logstream.Reply{RC: logstream.TaskAborted, Next: 0, Closed: true})
		if rcs := rec.doneRCs("s"); len(rcs) != 1 || rcs[0] != logstream.TaskAborted || rec.overlap.Load() != 0 {
			t.Fatalf("%v", rcs)
		}
	})
	t.Run("outside", func(t *testing.T) {
		d := logstream.NewDispatcher()
		rec := newRecorder()
		var info *logstream.StreamInfo
		d.Register("ch", "topic", factoryFunc(func(now time.Time, i *logstream.StreamInfo) (logstream.Consumer, error) {
			info = i
			return rec.NewConsumer(now, i)
		}), rec.done)
		d.Handle(at(0), data("s", 0, "abc"))
		info.EndStream(logstream.OK)
		info.EndStream(logstream.Error)
		if rcs := rec.doneRCs("s"); len(rcs) != 1 || rcs[0] != logstream.OK || info.RC != logstream.OK {
			t.Fatalf("%v", rcs)
		}
		expectReply(t, d.Handle(at(0), data("s", 3, "d")), logstream.Reply{RC: logstream.OK, Next: 3, Closed: true})
		if rec.got("s") != "abc" {
			t.Fatal("consumed after EndStream")
		}
	})
}

type factoryFunc func(time.Time, *logstream.StreamInfo) (logstream.Consumer, error)

func (f factoryFunc) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	return f(now, info)
}

// H15, concurrently: Handle races Expire, EndStream, Shutdown and an Abort
// message. Done runs
// exactly once per stream, chunk callbacks never overlap, and no chunk
// callback starts after done (one running when the stream ends may finish).
func TestDispatcherEndRacesHandle(t *testing.T) {
	for _, ender := range []string{"expire", "endstream", "shutdown", "abort"} {
		t.Run(ender, func(t *testing.T) {
			for iter := range 100 {
				d := logstream.NewDispatcher()
				rec := newRecorder()
				infos := make(chan *logstream.StreamInfo, 1)
				d.Register("ch", "topic", factoryFunc(func(now time.Time, i *logstream.StreamInfo) (logstream.Consumer, error) {
					infos <- i
					return rec.NewConsumer(now, i)
				}), rec.done)
				d.Handle(at(0), data("s", 0, "a"))
				info := <-infos
				var wg sync.WaitGroup
				wg.Add(3)
				for range 2 {
					go func() {
						defer wg.Done()
						for k := range 50 {
							// Handle at a time past the idle deadline.
							d.Handle(at(2*idle), data("s", int64(1+k), "b"))
						}
					}()
				}
				go func() {
					defer wg.Done()
					if iter%2 == 0 {
						runtime.Gosched() // let the handlers start
					}
					switch ender {
					case "expire":
						d.Expire(at(idle))
					case "endstream":
						info.EndStream(logstream.Timeout)
					case "shutdown":
						d.Shutdown()
					case "abort":
						d.Handle(at(idle), ctl("s", logstream.KindAbort, 0))
					}
				}()
				wg.Wait()
				// End it for sure (no-op if already ended).
				d.Shutdown()
				rec.mu.Lock()
				dones, after := rec.dones["s"], rec.afterDone
				rec.mu.Unlock()
				if len(dones) != 1 || after != 0 || rec.overlap.Load() != 0 {
					t.Fatalf("iteration %d: done %v, %d chunk callbacks after done, %d overlaps", iter, dones, after, rec.overlap.Load())
				}
			}
		})
	}
}

// The zero ReceiveOptions arm FLARE's default watchdog, DefaultIdleTimeout.
func TestConsumerDefaultWatchdog(t *testing.T) {
	d := logstream.NewDispatcher()
	rec := newRecorder()
	d.Register("ch", "topic", &logstream.LogConsumerFactory{Chunk: rec.chunk}, rec.done)
	d.Handle(at(0), data("s", 0, "x"))
	if dl, ok := d.NextDeadline(); !ok || !dl.Equal(at(logstream.DefaultIdleTimeout)) {
		t.Fatalf("deadline %v %v, want %v", dl, ok, at(logstream.DefaultIdleTimeout))
	}
}

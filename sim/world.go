package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/simfs"
)

// Epoch is virtual time zero of every run.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// World is one simulated run: a file system, a writer and rotators, one
// sender, N receivers and a network between them, all driven by one event
// queue in virtual time from one goroutine, with one seeded PRNG.
type World struct {
	cfg   Config
	rng   *rand.Rand
	now   time.Time
	step  int64
	q     queue
	fs    *simfs.FS
	tr    *tracer
	hist  *History
	limit time.Time

	sender    *sender
	receivers []*receiver
	writer    writer

	// counters of timed count faults, consumed in order
	counts []*countFault
	// slowDelay is the network delay from which a delivery is recorded in
	// History.Net: delays that can matter for the idle watchdog.
	slowDelay time.Duration
	// pathFile is the identity of the file at the path (pathOK: one is).
	pathFile logstream.FileID
	pathOK   bool
	// extents maps each file to where its bytes' content comes from.
	extents map[logstream.FileID][]extent
	// inos maps a file's serial (the record's Ino) to the inode number
	// the file system gave it, where the two differ (Config.ReuseInodes).
	inos map[uint64]uint64
	// copies are the files copytruncate made: no writer has them open.
	copies map[logstream.FileID]bool
	// evPending: a file-system event is on its way to the sender;
	// evChanged: it is more than a write to the log (Config.Events).
	evPending, evChanged bool
	// fsRun counts file-system errors injected since the source last
	// handed out data (History.FSFaults' Run).
	fsRun int
	// reads are the latest reads the file system served the streamer.
	reads []served
	odd   []served // late writes (guess)
	// replays are the replayed heads' writes: their contents (guess)
	// and the content positions never written (writtenRun).
	replays []replay
	// starts are the stretches of files whose content does not continue
	// the bytes before them (a new or truncated file, a write after a late
	// one went elsewhere, a replayed head), each at its first write with
	// its length since (guess; one per jump, all kept); lastStart indexes
	// each file's last one.
	starts    []served
	lastStart map[logstream.FileID]int
	// onStep, if set, is called with the time of every event before it
	// runs (the clock.Mock comparison benchmark uses it).
	onStep func(time.Time)
	// sameInstant counts the events run at the current instant.
	sameInstant int
	// writesHint is the capacity History.Writes gets with the first write
	// (see scheduleWriter).
	writesHint int
	// adv is the state of the adversarial faults (adversary.go).
	adv adversary
	// inTail is set while the sender's source runs, so that file faults
	// hit only the tailer's operations.
	inTail bool
	// linkFree is when each link (by target; "<" for the way back) has
	// sent what it was given (Config.Bandwidth).
	linkFree map[string]time.Time
	// blocking: deliveries run as coroutines (AllowBlocking); parked are
	// those suspended in Engine.Block, in the order they blocked; running
	// is the one running now; noWait is a done context, so that the
	// Dispatcher answers without waiting for a suspended Consume.
	blocking bool
	parked   []*blockedCall
	running  *blockedCall
	noWait   context.Context
}

// Livelock limits (see History.Livelock).
const (
	// SameInstantLimit is how many events one virtual instant may run.
	SameInstantLimit = 200_000
	// StepCallLimit is how many file-system calls the sender's source may
	// make in one step.
	StepCallLimit = 100_000
)

// livelockPanic unwinds a step that exceeded StepCallLimit.
type livelockPanic struct{ why string }

// livelock records that the run stopped making progress; the first reason
// wins.
func (w *World) livelock(why string) {
	if w.hist.Livelock == "" {
		w.hist.Livelock = why
		w.trace("world", "livelock", str("why", why))
	}
}

type countFault struct {
	f    faults.Fault
	left int
}

// New builds a world for cfg.
func New(cfg Config) (*World, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &World{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)), now: Epoch,
		extents: map[logstream.FileID][]extent{}}
	w.fs = simfs.New(func() time.Time { return w.now })
	w.fs.SetInodeReuse(cfg.ReuseInodes)
	w.fs.SetInjector(w.injectFS)
	w.fs.SetReadLimit(w.limitRead)
	w.tr = newTracer(cfg.Trace, Epoch)
	w.limit = Epoch.Add(cfg.Horizon + cfg.Limit)
	w.slowDelay = time.Second
	if cfg.IdleTimeout > 0 {
		w.slowDelay = min(w.slowDelay, max(cfg.IdleTimeout-cfg.Tail.LivenessInterval-cfg.Tail.PollInterval, time.Millisecond))
	}
	w.hist = &History{Key: w.rng.Uint64(), Start: Epoch, AckRecord: true,
		Params: Params{Tail: cfg.Tail, IdleTimeout: cfg.IdleTimeout}}
	for _, f := range cfg.Plan.Faults {
		w.hist.Faults = append(w.hist.Faults, f)
		if f.Kind == faults.DropRequest || f.Kind == faults.DropReply || f.Kind == faults.Duplicate || f.Kind == faults.Stale ||
			f.Kind == faults.OpenError || f.Kind == faults.ReadError || f.Kind == faults.ShortRead || f.Kind == faults.StatError ||
			f.Kind == faults.MissingReply {
			w.counts = append(w.counts, &countFault{f: f, left: max(1, f.Count())})
		}
		if f.Kind == faults.StepRotate || f.Kind == faults.StepTruncate {
			w.adv.steps = append(w.adv.steps, f)
		}
	}
	for _, name := range cfg.Targets {
		w.receivers = append(w.receivers, w.newReceiver(name))
	}
	if err := w.fs.MkdirAll(dirOf(cfg.Path), 0o755); err != nil {
		return nil, err
	}
	return w, nil
}

func dirOf(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}

// Now returns the current virtual time.
func (w *World) Now() time.Time { return w.now }

// History returns what the run recorded so far.
func (w *World) History() *History { return w.hist }

// FS returns the world's file system.
func (w *World) FS() *simfs.FS { return w.fs }

// at schedules fn at virtual offset d from now (never in the past).
func (w *World) after(d time.Duration, fn func()) { w.q.push(w.now.Add(max(d, 0)), fn) }

// atTime schedules fn at absolute virtual time t.
func (w *World) atTime(t time.Time, fn func()) {
	if t.Before(w.now) {
		t = w.now
	}
	w.q.push(t, fn)
}

func (w *World) trace(actor, ev string, fields ...field) {
	if w.tr != nil {
		w.tr.line(w.step, w.now, actor, ev, fields...)
	}
}

// runUntil processes events until done returns true, the queue is empty, or
// the time limit is passed. It returns false when it stopped without done.
//
// A run that stops making progress (the step budget Config.MaxSteps spent,
// SameInstantLimit events at one instant, StepCallLimit file-system calls
// in one step of the source) is cut: History.Livelock says why, and runUntil
// returns false at once, then and on every later call.
func (w *World) runUntil(done func() bool) bool {
	for !done() {
		if w.hist.Livelock != "" {
			return false
		}
		if len(w.parked) > 0 && w.resumeReleased() {
			continue
		}
		ev, ok := w.q.pop()
		if !ok {
			return false
		}
		if ev.at.After(w.limit) {
			w.q.push(ev.at, ev.fn) // keep it: the run is over anyway
			return false
		}
		if ev.at.Equal(w.now) {
			w.sameInstant++
		} else {
			w.sameInstant = 0
		}
		w.now = ev.at
		w.step++
		switch {
		case w.step > w.cfg.MaxSteps:
			w.livelock(fmt.Sprintf("step budget of %d events exceeded at %v", w.cfg.MaxSteps, w.now.Sub(Epoch)))
			return false
		case w.sameInstant > SameInstantLimit:
			w.livelock(fmt.Sprintf("more than %d events at the instant %v", SameInstantLimit, w.now.Sub(Epoch)))
			return false
		}
		if w.onStep != nil {
			w.onStep(ev.at)
		}
		w.runEvent(ev.fn)
	}
	return true
}

// runEvent runs fn, turning a livelockPanic (a source step that made too
// many file-system calls) into History.Livelock.
func (w *World) runEvent(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			lp, ok := r.(livelockPanic)
			if !ok {
				panic(r)
			}
			w.inTail = false
			w.livelock(lp.why)
		}
	}()
	fn()
}

// Simulate runs cfg to the end and returns its history. The error is for a
// bad config or a failed trace write; property violations are the oracle's
// business.
func Simulate(cfg Config) (*History, error) {
	w, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return w.Run()
}

// Run runs the world: the writer, rotators and faults are scheduled, the
// receivers register, and the sender streams the file through the world's
// Engine until it ends; then the remaining events run (watchdogs, late
// deliveries) until none is left or the time limit passes.
func (w *World) Run() (*History, error) {
	cfg := w.cfg
	w.scheduleWriter()
	w.scheduleFaults()
	for _, r := range w.receivers {
		r := r
		at := time.Duration(0)
		for _, f := range cfg.Plan.Faults {
			if f.Kind == faults.NotRegistered && (f.Target == "" || f.Target == r.name) {
				at = f.At
			}
		}
		w.after(at, func() { w.register(r) })
	}
	w.after(cfg.StopAt, func() { w.stopSender() })

	src := w.newSource()
	sctx := logstream.StreamContext{logstream.KeyFileName: "app.log"}
	popt := cfg.Tail
	if cfg.Variants.Tail != nil {
		popt = cfg.Variants.Tail(popt)
	}
	lp := logstream.NewLogProducer(src, popt, sctx, cfg.Targets, w.now)
	var p logstream.Producer = lp
	if cfg.Variants.Producer != nil {
		p = cfg.Variants.Producer(lp)
	}
	_, err := w.Engine("sender").StreamObjects(context.Background(), Channel, Topic, sctx, cfg.Targets, p)
	if err != nil && !errors.Is(err, ErrCrashed) && !errors.Is(err, ErrStuck) {
		return nil, err
	}
	w.runUntil(func() bool { return false })
	w.Close()
	w.hist.Steps, w.hist.End, w.hist.LastEvent = w.step, w.limit, w.now
	w.hist.Written = w.writer.pos
	for _, r := range w.receivers {
		r.log.Runs = r.dec.flush(r.log.Runs)
	}
	if w.tr != nil {
		w.trace("world", "end", num("written", w.writer.pos))
		if err := w.tr.flush(); err != nil {
			return w.hist, fmt.Errorf("sim: trace: %w", err)
		}
	}
	return w.hist, nil
}

func (w *World) newSource() logstream.Source {
	obs := func(ev logstream.TailEvent) {
		switch ev.Kind {
		case logstream.TailChecked:
			w.hist.Checks = append(w.hist.Checks, ev.At)
			return
		case logstream.TailOpened:
			w.hist.Checks = append(w.hist.Checks, ev.At)
		}
		w.hist.Tail = append(w.hist.Tail, ev)
		if w.tr != nil {
			fields := []field{str("file", ev.File.String()), num("gen", int64(ev.Gen)), num("foff", ev.FileOffset), num("off", ev.Offset)}
			if ev.Err != nil {
				fields = append(fields, str("err", ev.Err.Error()))
			}
			w.trace("tail", ev.Kind.String(), fields...)
		}
	}
	var src logstream.Source
	if w.cfg.Variants.Source != nil {
		src = w.cfg.Variants.Source(&tailFS{Fs: readTap{w.fs, w}, w: w}, w.cfg.Path, w.cfg.Tail, obs)
	} else {
		src = logstream.NewTailer(&tailFS{Fs: readTap{w.fs, w}, w: w}, w.cfg.Path, w.cfg.Tail, obs)
	}
	rs := &readingSource{Source: src, w: w}
	if rr, ok := src.(logstream.Rereader); ok {
		return &rereadingSource{readingSource: rs, rr: rr}
	}
	return rs
}

// rereadingSource is a readingSource whose source reads bytes again
// (logstream.Rereader); the re-reads go through the world's file system
// like every read.
type rereadingSource struct {
	*readingSource
	rr logstream.Rereader
}

// Reread passes a re-read on to the source.
func (s *rereadingSource) Reread(p []byte, file logstream.FileID, off int64, want func([]byte) bool) (int, error) {
	return s.rr.Reread(p, file, off, want)
}

// Release passes a release of held handles on to the source.
func (s *rereadingSource) Release(off int64) { s.rr.Release(off) }

// HeldBytes passes the size of the source's held finished files on, if it
// tells (logstream.Tailer.HeldBytes).
func (s *rereadingSource) HeldBytes() int64 {
	if h, ok := s.rr.(interface{ HeldBytes() int64 }); ok {
		return h.HeldBytes()
	}
	return 0
}

// Held passes the source's count of held finished files on, if it keeps
// one (logstream.Tailer.Held).
func (s *rereadingSource) Held() (held, dropped int) {
	if h, ok := s.rr.(interface{ Held() (int, int) }); ok {
		return h.Held()
	}
	return 0, 0
}

// readingSource notes when the source hands out data: the bytes are real
// (the oracle checks every one), so they end a run of file-system errors.
type readingSource struct {
	logstream.Source
	w *World
}

func (s *readingSource) Next(now time.Time) logstream.TailAction {
	a := s.Source.Next(now)
	if a.Kind == logstream.TailData && len(a.Data) > 0 {
		s.w.fsRun = 0
	}
	return a
}

// Stop passes the stop on to the source.
func (s *readingSource) Stop(now time.Time) { s.Source.Stop(now) }

// Recycle passes a buffer back to the source if it reuses buffers
// (logstream.Recycler).
func (s *readingSource) Recycle(buf []byte) {
	if r, ok := s.Source.(logstream.Recycler); ok {
		r.Recycle(buf)
	}
}

// Watch passes a producer's look during a round in flight on to the
// source, if it takes them.
func (s *readingSource) Watch(now time.Time) {
	if w, ok := s.Source.(logstream.Watcher); ok {
		w.Watch(now)
	}
}

// Unread passes the source's count of bytes known to be unread on, if it
// keeps one (logstream.Tailer.Unread).
func (s *readingSource) Unread() int64 {
	if u, ok := s.Source.(interface{ Unread() int64 }); ok {
		return u.Unread()
	}
	return 0
}

// HoldEOF passes the producer's hold of the quiet end on to the source, if
// it takes it (logstream.EOFHolder).
func (s *readingSource) HoldEOF(hold bool) {
	if h, ok := s.Source.(logstream.EOFHolder); ok {
		h.HoldEOF(hold)
	}
}

// Changed passes a file-system event on to the source, if it takes them.
func (s *readingSource) Changed(now time.Time) {
	if c, ok := s.Source.(interface{ Changed(time.Time) }); ok {
		c.Changed(now)
	}
}

// Errors StreamObjects returns when the simulated sender did not finish.
var (
	// ErrCrashed: the sender crashed (a crash fault).
	ErrCrashed = errors.New("sim: sender crashed")
	// ErrStuck: no event was left, or the time limit passed, before the
	// sender finished.
	ErrStuck = errors.New("sim: run stuck")
)

// drawFault reports whether a count fault of kind k applies now to target
// (consuming one count), or else whether the plan's probability for k fires.
func (w *World) drawFault(k faults.Kind, target string) bool {
	for _, c := range w.counts {
		if c.f.Kind == k && c.left > 0 && !w.now.Before(Epoch.Add(c.f.At)) &&
			(c.f.Target == "" || c.f.Target == target) {
			c.left--
			return true
		}
	}
	if p := w.cfg.Plan.Prob[k]; p > 0 {
		return w.rng.Float64() < p
	}
	return false
}

// window reports whether a timed window fault of kind k covers target now,
// and returns it.
func (w *World) window(k faults.Kind, target string) (faults.Fault, bool) {
	for _, f := range w.cfg.Plan.Faults {
		start := Epoch.Add(f.At)
		if f.Kind == k && (f.Target == "" || f.Target == target) && !w.now.Before(start) && w.now.Before(start.Add(f.For)) {
			return f, true
		}
	}
	return faults.Fault{}, false
}

// injectFS fails the tailer's file operations as the plan says.
func (w *World) injectFS(op simfs.Op, name string) error {
	if !w.inTail {
		return nil
	}
	var k faults.Kind
	switch op {
	case simfs.OpOpen:
		k = faults.OpenError
	case simfs.OpRead:
		k = faults.ReadError
	case simfs.OpStat:
		k = faults.StatError
	default:
		return nil
	}
	if w.drawFault(k, "") {
		w.fsRun++
		w.hist.FSFaults = append(w.hist.FSFaults, FSFault{Step: w.step, At: w.now, Op: op.String(), Path: name, Run: w.fsRun})
		w.trace("fs", "inject", str("op", op.String()), str("path", name))
		return simfs.ErrInjected
	}
	return nil
}

// limitRead makes the tailer's reads short as the plan says.
func (w *World) limitRead(name string, n int) int {
	if !w.inTail || n <= 1 {
		return n
	}
	if w.drawFault(faults.ShortRead, "") {
		k := 1 + w.rng.IntN(n-1)
		w.hist.ShortReads = append(w.hist.ShortReads, w.now)
		w.trace("fs", "short-read", str("path", name), num("want", int64(n)), num("got", int64(k)))
		return k
	}
	return n
}

package subject

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// Config is one black-box run.
type Config struct {
	// Command starts one site (run by /bin/sh -c). Every site runs the same
	// command; the init line tells it its role.
	Command string
	// Env is added to each site's environment.
	Env []string
	// Sim is the scenario's run: seed, targets, options, writer and plan, in
	// scenario (virtual) time.
	Sim sim.Config
	// Factor divides every scenario time (default DefaultFactor).
	Factor float64
	// Dir is where the run's log directory is made (default os.TempDir()).
	Dir string
	// Stderr, if set, gets every site's stderr, each line prefixed by the
	// site's name.
	Stderr io.Writer
	// Trace, if set, gets the run's JSON-lines trace.
	Trace io.Writer
	// InitTimeout bounds each site's answer to init (default 30s real).
	InitTimeout time.Duration
	// MaxWall bounds the whole run in real time (default 3m).
	MaxWall time.Duration
}

// DefaultFactor is the default time scale: scenario time runs 25 times
// faster (the default 500 ms poll becomes 20 ms, a 30 s idle timeout 1.2 s).
const DefaultFactor = 25

// jitterFloor is the least jitter allowance, in real time: a line's trip
// through a pipe and a scheduler wake-up on a loaded machine.
const jitterFloor = 20 * time.Millisecond

// faultPrecision is the least real time between two file faults at
// different times.
const faultPrecision = time.Millisecond

// maxRealHorizon is the longest scenario (horizon plus tail) that runs in
// real time; longer ones are skipped.
const maxRealHorizon = 15 * time.Second

// SkipReason says why cfg cannot run in real time, or "" when it can.
func SkipReason(cfg sim.Config, factor float64) string {
	if factor <= 0 {
		factor = DefaultFactor
	}
	c, err := cfg.WithDefaults()
	if err != nil {
		return ""
	}
	for _, f := range c.Plan.Faults {
		switch f.Kind {
		case faults.OpenError, faults.ReadError, faults.ShortRead, faults.StatError:
			return fmt.Sprintf("fault %s acts on the tailer's own system calls, which a black-box process does not expose", f.Kind)
		}
	}
	for _, k := range []faults.Kind{faults.ReadError, faults.ShortRead} {
		if c.Plan.Prob[k] > 0 {
			return fmt.Sprintf("fault %s acts on the tailer's own system calls, which a black-box process does not expose", k)
		}
	}
	// The harness keeps its own actions in order, but the gap between two
	// file faults stretches by its timer lateness: below faultPrecision the
	// scenario's premise (what a poll can see in between) cannot hold.
	var prev *faults.Fault
	for i := range c.Plan.Faults {
		f := &c.Plan.Faults[i]
		if f.Kind.Class() != faults.ClassFile {
			continue
		}
		if prev != nil && f.At != prev.At && scale(f.At-prev.At, factor) < faultPrecision {
			return fmt.Sprintf("faults at %v and %v are %v apart in real time at factor %g, below the harness's timing precision (%v)",
				prev.At, f.At, scale(f.At-prev.At, factor), factor, faultPrecision)
		}
		prev = f
	}
	if real := scale(c.Horizon, factor); real > maxRealHorizon {
		return fmt.Sprintf("horizon %v is %v in real time at factor %g (limit %v)", c.Horizon, real.Round(time.Second), factor, maxRealHorizon)
	}
	return ""
}

func scale(d time.Duration, factor float64) time.Duration {
	return time.Duration(float64(d) / factor)
}

func ms(d time.Duration, factor float64) float64 {
	return math.Round(float64(d)/factor/float64(time.Microsecond)) / 1000
}

// Result is what one run produced.
type Result struct {
	// History is the world's record, in scenario time (real time multiplied
	// by the factor, from the harness's monotonic clock).
	History *sim.History
	// Problems are findings of the harness itself: a site that never
	// answered a delivery, a run that had to be cut off.
	Problems []string
	// Jitter is the record's jitter allowance, in scenario time: twice the
	// largest lateness of the harness's own timers, at least 20 ms of real
	// time (History.Jitter; the oracle adds it to its deadlines).
	Jitter time.Duration
	// Wall is the run's real duration.
	Wall time.Duration
	// Attempts are the sender's messages as the network saw them, in the
	// order they were sent, with their outcome.
	Attempts []Attempt
}

// Attempt is one message the sender put on the network to one target.
type Attempt struct {
	Target string
	// Kind is the message's meta kind (data, heartbeat, eof, abort, other).
	Kind string
	// At is when it was sent (scenario time).
	At time.Time
	// Answered is set when a reply reached the sender, at AnsweredAt, with
	// the receiver's code RC ("" if the adapter gave none).
	Answered   bool
	AnsweredAt time.Time
	RC         string
	// Reply is false for fire-and-forget messages (aborts).
	Reply bool
}

// Outcomes returns, for target, the runs of consecutive attempts that got
// no answer within timeout (lost: To is when the sender learnt of the last
// loss, its send plus timeout) and the runs of NOT_READY answers (From and
// To are when the first and the last came). A NOT_READY answer neither
// counts in nor ends a run of losses, nor a loss a run of NOT_READY answers;
// any other answer ends both.
func Outcomes(attempts []Attempt, target string, timeout time.Duration) (lost, notReady []sim.Span) {
	var l, nr *sim.Span
	for _, a := range attempts {
		if a.Target != target || !a.Reply {
			continue
		}
		switch {
		case !a.Answered || a.AnsweredAt.Sub(a.At) > timeout:
			end := a.At.Add(timeout)
			if l == nil {
				lost = append(lost, sim.Span{From: a.At, To: end})
				l = &lost[len(lost)-1]
			}
			l.To, l.N = end, l.N+1
		case a.RC == string(logstream.NotReady):
			if nr == nil {
				notReady = append(notReady, sim.Span{From: a.AnsweredAt})
				nr = &notReady[len(notReady)-1]
			}
			nr.To, nr.N = a.AnsweredAt, nr.N+1
		default:
			l, nr = nil, nil
		}
	}
	return lost, notReady
}

// timer is a scheduled harness action.
type timer struct {
	at  time.Time // real
	seq int64
	fn  func()
}

type timers []*timer

func (t timers) Len() int { return len(t) }
func (t timers) Less(i, j int) bool {
	if !t[i].at.Equal(t[j].at) {
		return t[i].at.Before(t[j].at)
	}
	return t[i].seq < t[j].seq
}
func (t timers) Swap(i, j int) { t[i], t[j] = t[j], t[i] }
func (t *timers) Push(x any)   { *t = append(*t, x.(*timer)) }
func (t *timers) Pop() any {
	old := *t
	x := old[len(old)-1]
	*t = old[:len(old)-1]
	return x
}

// pending is a delivery awaiting its reply.
type pending struct {
	target  string
	sendID  uint64
	copy    bool // a duplicate or stale copy: its reply is not forwarded
	want    bool
	replied bool
	at      time.Time
	line    string
	meta    Meta
}

type targetState struct {
	log  *sim.TargetLog
	dec  *sim.Decoder
	site *site
}

// run is one harness run in progress. Everything but the site goroutines
// runs on the goroutine that called Run.
type run struct {
	cfg    Config
	sc     sim.Config
	factor float64
	t0     time.Time
	h      *sim.History
	writes *sim.Writes // the writes so far, by their boundaries (the decoders')
	rng    *rand.Rand  // the writer's
	netRng *rand.Rand  // the network's: the k-th message's draws do not depend on timing
	step   int64
	tr     io.Writer

	events chan event
	quit   chan struct{}
	timers timers
	tseq   int64
	sender *site
	sites  []*site
	tg     map[string]*targetState
	order  []string

	dir      string
	path     string
	w        fileWriter
	nextDel  uint64
	pend     map[uint64]*pending
	sends    map[uint64]bool
	attempts []Attempt
	sendIdx  map[uint64]int // send id -> index in attempts
	counts   []*countFault

	senderInit    bool
	senderEnded   bool
	crashed       bool
	endBy         time.Time // real: cut off here
	quietAt       time.Time // real: when the sender ended (or crashed)
	fatal         error
	problems      []string
	jitter        time.Duration
	lastEvent     time.Time
	registerPlan  map[string]time.Duration
	expectedExits map[*site]bool
}

type countFault struct {
	f    faults.Fault
	left int
}

// Run runs cfg.Sim against cfg.Command in real time and returns the record.
// The error is for a bad config, a site that could not start, broke the
// protocol, crashed or hung; it names the site and the offending line.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	if cfg.Command == "" {
		return nil, errors.New("subject: no command")
	}
	if cfg.Factor <= 0 {
		cfg.Factor = DefaultFactor
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = 30 * time.Second
	}
	if cfg.MaxWall <= 0 {
		cfg.MaxWall = 3 * time.Minute
	}
	sc, err := cfg.Sim.WithDefaults()
	if err != nil {
		return nil, err
	}
	if why := SkipReason(cfg.Sim, cfg.Factor); why != "" {
		return nil, fmt.Errorf("subject: scenario cannot run in real time: %s", why)
	}
	base := cfg.Dir
	if base == "" {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, "subject-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	logDir := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	// Sites get a TMPDIR inside the run's directory, removed with it, so
	// that what a killed site leaves behind goes too.
	tmpDir := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return nil, err
	}
	cfg.Env = append(append([]string(nil), cfg.Env...), "TMPDIR="+tmpDir)
	r := &run{cfg: cfg, sc: sc, factor: cfg.Factor, tr: cfg.Trace,
		rng:    rand.New(rand.NewPCG(sc.Seed, sc.Seed^0x5eed)),
		netRng: rand.New(rand.NewPCG(sc.Seed^0x6e6574, sc.Seed)),
		events: make(chan event, 1024), quit: make(chan struct{}), tg: map[string]*targetState{},
		dir: logDir, path: filepath.Join(logDir, filepath.Base(sc.Path)),
		pend: map[uint64]*pending{}, sends: map[uint64]bool{}, sendIdx: map[uint64]int{}, registerPlan: map[string]time.Duration{},
		expectedExits: map[*site]bool{}}
	r.h = &sim.History{Key: r.rng.Uint64(), Start: sim.Epoch, Params: sim.Params{Tail: sc.Tail, IdleTimeout: sc.IdleTimeout}}
	r.writes = sim.NewWrites(r.h.Key)
	r.w.init(r)
	for _, f := range sc.Plan.Faults {
		r.h.Faults = append(r.h.Faults, f)
		switch f.Kind {
		case faults.DropRequest, faults.DropReply, faults.Duplicate, faults.Stale:
			r.counts = append(r.counts, &countFault{f: f, left: max(1, f.Count())})
		case faults.NotRegistered:
			for _, t := range sc.Targets {
				if f.Target == "" || f.Target == t {
					r.registerPlan[t] = f.At
				}
			}
		}
	}
	start := time.Now()
	defer func() {
		if stopErr := r.stopAll(); err == nil && stopErr != nil {
			err = stopErr
		}
		if res != nil {
			res.Wall = time.Since(start)
		}
	}()
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	if err := r.loop(ctx, start.Add(cfg.MaxWall)); err != nil {
		return nil, err
	}
	r.finish()
	return &Result{History: r.h, Problems: r.problems, Jitter: r.jitter, Attempts: r.attempts}, nil
}

// vt converts a real time to scenario time.
func (r *run) vt(t time.Time) time.Time {
	return sim.Epoch.Add(time.Duration(float64(t.Sub(r.t0)) * r.factor))
}

// now returns the current scenario time.
func (r *run) now() time.Time { return r.vt(time.Now()) }

// at schedules fn at scenario offset d.
func (r *run) at(d time.Duration, fn func()) {
	r.atReal(r.t0.Add(scale(d, r.factor)), fn)
}

func (r *run) atReal(t time.Time, fn func()) {
	r.tseq++
	heap.Push(&r.timers, &timer{at: t, seq: r.tseq, fn: fn})
}

func (r *run) nextStep() int64 { r.step++; return r.step }

// trace writes one trace line in the simulator's format.
func (r *run) trace(actor, ev string, kv ...any) {
	if r.tr == nil {
		return
	}
	b := []byte(`{"step":`)
	b = strconv.AppendInt(b, r.step, 10)
	b = append(b, `,"t":`...)
	b = strconv.AppendQuote(b, r.now().Sub(sim.Epoch).String())
	b = append(b, `,"actor":`...)
	b = strconv.AppendQuote(b, actor)
	b = append(b, `,"ev":`...)
	b = strconv.AppendQuote(b, ev)
	for i := 0; i+1 < len(kv); i += 2 {
		b = append(b, ',')
		b = strconv.AppendQuote(b, fmt.Sprint(kv[i]))
		b = append(b, ':')
		switch v := kv[i+1].(type) {
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		case uint64:
			b = strconv.AppendUint(b, v, 10)
		default:
			b = strconv.AppendQuote(b, fmt.Sprint(v))
		}
	}
	b = append(b, "}\n"...)
	r.tr.Write(b)
}

// start launches the sites and initializes the receivers; the sender is
// initialized once every receiver answered, at scenario time zero.
func (r *run) start(ctx context.Context) error {
	for _, name := range r.sc.Targets {
		s, err := startSite(name, RoleReceiver, r.cfg.Command, r.cfg.Env, r.events, r.quit, r.cfg.Stderr)
		if err != nil {
			return err
		}
		r.sites = append(r.sites, s)
		r.tg[name] = &targetState{log: &sim.TargetLog{Name: name}, dec: sim.NewDecoder(r.h.Key, r.writes), site: s}
		r.h.Targets = append(r.h.Targets, r.tg[name].log)
		r.order = append(r.order, name)
	}
	s, err := startSite("sender", RoleSender, r.cfg.Command, r.cfg.Env, r.events, r.quit, r.cfg.Stderr)
	if err != nil {
		return err
	}
	r.sender = s
	r.sites = append(r.sites, s)
	for _, name := range r.order {
		_, late := r.registerPlan[name]
		reg := !late
		idle := r.sc.IdleTimeout
		err := r.tg[name].site.send(&Line{Type: TInit, Protocol: Version, Site: name, Role: RoleReceiver,
			Channel: sim.Channel, Topic: sim.Topic, Register: &reg,
			Options: &Options{IdleTimeoutMS: ms(idle, r.factor)}})
		if err != nil {
			return err
		}
	}
	waiting := map[*site]bool{}
	for _, name := range r.order {
		waiting[r.tg[name].site] = true
	}
	if err := r.awaitInit(ctx, waiting); err != nil {
		return err
	}
	t := r.sc.Tail
	opt := &Options{PollIntervalMS: ms(t.PollInterval, r.factor), LivenessIntervalMS: ms(t.LivenessInterval, r.factor),
		ChunkSize: t.ChunkSize, ChunkTimeoutMS: ms(t.ChunkTimeout, r.factor), DrainWindowMS: ms(t.DrainWindow, r.factor),
		RetryBackoffMS: ms(t.RetryBackoff, r.factor), MaxRetryBackoffMS: ms(t.MaxRetryBackoff, r.factor),
		RetryLimit: t.RetryLimit, NotReadyTimeoutMS: ms(t.NotReadyTimeout, r.factor), IdleTimeoutMS: ms(t.IdleTimeout, r.factor)}
	if err := r.sender.send(&Line{Type: TInit, Protocol: Version, Site: "sender", Role: RoleSender, Targets: r.order,
		Channel: sim.Channel, Topic: sim.Topic, File: r.path, Options: opt}); err != nil {
		return err
	}
	// Time zero is when the sender says it is streaming: a slow start
	// (an interpreter's imports) shifts nothing of the scenario.
	if err := r.awaitInit(ctx, map[*site]bool{r.sender: true}); err != nil {
		return err
	}
	r.senderInit = true
	r.t0 = time.Now()
	for _, name := range r.order {
		if _, late := r.registerPlan[name]; !late {
			r.tg[name].log.Registered = sim.Epoch // registered at init, before time zero
		}
	}
	r.trace("world", "start", "factor", fmt.Sprint(r.factor), "dir", r.dir)
	r.schedule()
	return nil
}

// awaitInit waits (bounded by InitTimeout) for an init_ok from each site of
// waiting.
func (r *run) awaitInit(ctx context.Context, waiting map[*site]bool) error {
	deadline := time.After(r.cfg.InitTimeout)
	for len(waiting) > 0 {
		select {
		case ev := <-r.events:
			if ev.exit {
				return r.exitError(ev)
			}
			if ev.err != nil {
				return fmt.Errorf("site %s line %d: %w", ev.site.name, ev.site.lines+1, ev.err)
			}
			l, err := ParseLine(ev.raw)
			if err != nil {
				return fmt.Errorf("site %s line %d: %w", ev.site.name, ev.site.lines+1, err)
			}
			ev.site.lines++
			if l.Type == TError {
				return fmt.Errorf("%w: site %s reported an error at init: %s", ErrSite, ev.site.name, l.Text)
			}
			if l.Type != TInitOK {
				return fmt.Errorf("%w: site %s line %d: want init_ok first, got %s", ErrProtocol, ev.site.name, ev.site.lines, Quote(ev.raw))
			}
			delete(waiting, ev.site)
		case <-deadline:
			var names []string
			for s := range waiting {
				names = append(names, s.name)
			}
			sort.Strings(names)
			return fmt.Errorf("%w: site %s did not answer init within %v (stderr: %s)", ErrSite, strings.Join(names, ", "), r.cfg.InitTimeout, tail(waitingSite(waiting).stderrTail()))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func waitingSite(m map[*site]bool) *site {
	var best *site
	for s := range m {
		if best == nil || s.name < best.name {
			best = s
		}
	}
	return best
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	if s == "" {
		return "(empty)"
	}
	return s
}

func (r *run) exitError(ev event) error {
	return fmt.Errorf("%w: site %s exited unexpectedly (%s) after %d lines; stderr: %s", ErrSite, ev.site.name, ev.status, ev.site.lines, tail(ev.site.stderrTail()))
}

// schedule plans the writer, the faults, the registrations and the stop.
func (r *run) schedule() {
	r.w.schedule()
	for _, f := range r.sc.Plan.Faults {
		f := f
		r.at(f.At, func() { r.applyFault(f) })
	}
	for name, at := range r.registerPlan {
		name := name
		r.at(at, func() {
			st := r.tg[name]
			st.log.Registered = r.now()
			r.nextStep()
			r.trace("receiver", "register", "target", name)
			r.must(st.site.send(&Line{Type: TRegister}))
		})
	}
	r.at(r.sc.StopAt, func() {
		if r.crashed {
			return
		}
		r.h.StopAt = r.now()
		r.nextStep()
		for _, name := range r.order {
			r.tg[name].log.DeliveredAtStop = r.tg[name].log.Delivered
		}
		r.trace("sender", "stop")
		r.must(r.sender.send(&Line{Type: TStop}))
	})
	// The run is cut off when the sender has not ended long after stop.
	t := r.sc.Tail
	bound := t.DrainWindow + t.PollInterval + 2*time.Duration(t.RetryLimit+1)*(2*t.ChunkTimeout+t.MaxRetryBackoff) +
		t.NotReadyTimeout + 2*r.sc.IdleTimeout + 30*time.Second
	r.endBy = r.t0.Add(scale(r.sc.StopAt+bound, r.factor))
}

func (r *run) must(err error) {
	if err != nil && r.fatal == nil {
		r.fatal = err
	}
}

func (r *run) applyFault(f faults.Fault) {
	r.nextStep()
	r.trace("fault", f.Kind.String(), "fault", f.String())
	switch f.Kind {
	case faults.Rotate:
		r.w.rotate(f)
	case faults.CopyTruncate:
		r.w.copyTruncate(f)
	case faults.Truncate:
		r.w.truncate(f)
	case faults.Delete:
		r.w.deleteLog(f)
	case faults.LateWrite:
		r.w.lateWrite(f)
	case faults.Shutdown:
		for _, name := range r.order {
			if f.Target == "" || f.Target == name {
				r.tg[name].log.Shutdown = r.now()
				r.must(r.tg[name].site.send(&Line{Type: TShutdown}))
			}
		}
	case faults.Crash:
		if !r.senderEnded {
			r.h.CrashAt = r.now()
			r.crashed = true
			r.expectedExits[r.sender] = true
			r.sender.kill()
			r.quietAt = time.Now()
		}
	case faults.Abort:
		if !r.senderEnded && !r.crashed {
			r.h.AbortAt = r.now()
			r.must(r.sender.send(&Line{Type: TAbort}))
		}
	}
}

// loop runs the run's events until it is over.
func (r *run) loop(ctx context.Context, wallEnd time.Time) error {
	tm := time.NewTimer(time.Hour)
	defer tm.Stop()
	for {
		if r.fatal != nil {
			return r.fatal
		}
		now := time.Now()
		if r.over(now) {
			return nil
		}
		if now.After(wallEnd) {
			r.problems = append(r.problems, fmt.Sprintf("run cut off after %v of real time", r.cfg.MaxWall))
			r.h.Stuck = "run exceeded its real-time bound"
			return nil
		}
		next := now.Add(50 * time.Millisecond)
		if len(r.timers) > 0 && r.timers[0].at.Before(next) {
			next = r.timers[0].at
		}
		tm.Reset(max(time.Until(next), 0))
		select {
		case ev := <-r.events:
			if !tm.Stop() {
				select {
				case <-tm.C:
				default:
				}
			}
			r.handle(ev)
		case <-tm.C:
			// The wake-up's own lateness samples the machine's scheduling
			// delay even when no harness action is due (a quiet log).
			if late := time.Duration(float64(time.Since(next)) * r.factor); late > r.jitter {
				r.jitter = late
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		for len(r.timers) > 0 && !r.timers[0].at.After(time.Now()) {
			t := heap.Pop(&r.timers).(*timer)
			if late := time.Duration(float64(time.Since(t.at)) * r.factor); late > r.jitter {
				r.jitter = late
			}
			t.fn()
		}
	}
}

// over reports whether the run is done: the sender ended (or crashed) and
// every created stream ended, or their watchdogs had time to; or the run
// went on too long after stop.
func (r *run) over(now time.Time) bool {
	if !r.senderEnded && !r.crashed {
		if r.senderInit && now.After(r.endBy) {
			r.h.Stuck = fmt.Sprintf("the sender did not end within %v (scenario time) of stop", time.Duration(float64(r.endBy.Sub(r.t0))*r.factor)-r.sc.StopAt)
			r.problems = append(r.problems, r.h.Stuck)
			return true
		}
		return false
	}
	// Let late writes, faults and watchdogs play out: wait for every open
	// stream's done, at most two idle timeouts plus a little.
	grace := scale(2*r.sc.IdleTimeout+5*time.Second, r.factor)
	if r.sc.IdleTimeout == 0 {
		grace = scale(10*time.Second, r.factor)
	}
	allDone := true
	for _, name := range r.order {
		l := r.tg[name].log
		if !l.Created.IsZero() && len(l.Done) == 0 {
			allDone = false
		}
	}
	settle := scale(2*time.Second, r.factor)
	if allDone {
		return now.After(r.quietAt.Add(settle))
	}
	return now.After(r.quietAt.Add(grace))
}

// handle processes one event from a site.
func (r *run) handle(ev event) {
	s := ev.site
	if ev.exit {
		if r.expectedExits[s] {
			return
		}
		r.fatal = r.exitError(ev)
		return
	}
	if ev.err != nil {
		r.fatal = fmt.Errorf("site %s line %d: %w", s.name, s.lines+1, ev.err)
		return
	}
	s.lines++
	l, err := ParseLine(ev.raw)
	if err != nil {
		r.fatal = fmt.Errorf("site %s line %d: %w", s.name, s.lines, err)
		return
	}
	at := r.vt(ev.at)
	r.lastEvent = ev.at
	bad := func(format string, args ...any) {
		r.fatal = fmt.Errorf("%w: site %s line %d: %s: %s", ErrProtocol, s.name, s.lines, fmt.Sprintf(format, args...), Quote(ev.raw))
	}
	if l.Type == TError {
		r.fatal = fmt.Errorf("%w: site %s reported an error: %s", ErrSite, s.name, l.Text)
		return
	}
	if s == r.sender {
		switch l.Type {
		case TInitOK:
			if r.senderInit {
				bad("second init_ok")
				return
			}
			r.senderInit = true
		case TSend:
			if !r.senderInit {
				bad("send before init_ok")
				return
			}
			if r.senderEnded {
				bad("send after result")
				return
			}
			if r.sends[l.ID] {
				bad("send id %d used twice", l.ID)
				return
			}
			r.sends[l.ID] = true
			if r.tg[l.To] == nil {
				bad("send to unknown site %q (targets: %s)", l.To, strings.Join(r.order, ", "))
				return
			}
			kind := ""
			if l.Meta != nil {
				kind = l.Meta.Kind
			}
			r.sendIdx[l.ID] = len(r.attempts)
			r.attempts = append(r.attempts, Attempt{Target: l.To, Kind: kind, At: at, Reply: l.wantsReply()})
			r.route(l, at, string(ev.raw))
		case TResult:
			if r.senderEnded {
				bad("second result")
				return
			}
			r.senderEnded = true
			r.quietAt = ev.at
			r.h.SenderEnd = at
			res := logstream.Result{RC: logstream.ReturnCode(l.RC)}
			for _, name := range r.order {
				rc, ok := l.Results[name]
				if !ok {
					continue
				}
				res.Targets = append(res.Targets, logstream.TargetResult{Target: name, RC: logstream.ReturnCode(rc)})
			}
			r.h.Result = res
			r.step++
			r.trace("sender", "result", "rc", l.RC)
		default:
			bad("a sender may not write %s lines", l.Type)
		}
		return
	}
	st := r.tg[s.name]
	switch l.Type {
	case TInitOK:
		bad("second init_ok")
	case TReply:
		p := r.pend[l.ID]
		switch {
		case p == nil || p.target != s.name:
			bad("reply to unknown deliver id %d", l.ID)
			return
		case p.replied:
			bad("second reply to deliver id %d", l.ID)
			return
		case !p.want:
			bad("reply to deliver id %d, which wants no reply", l.ID)
			return
		}
		p.replied = true // kept, to tell a second reply from an unknown id
		r.replyBack(p, l, at)
	case TOpen:
		if st.log.Created.IsZero() {
			st.log.Created = at
		}
		r.nextStep()
		r.trace("receiver", "open", "target", s.name, "stream", l.Stream)
	case TChunk:
		step := r.nextStep()
		if st.log.Created.IsZero() {
			st.log.Created = at
		}
		if len(st.log.Done) > 0 {
			st.log.AfterDone++
		}
		st.log.Runs = st.dec.Add(st.log.Runs, at, step, l.Data)
		st.log.Delivered += int64(len(l.Data))
		r.trace("receiver", "chunk", "target", s.name, "off", l.Offset, "len", len(l.Data))
	case TDone:
		step := r.nextStep()
		if st.log.Created.IsZero() {
			st.log.Created = at
		}
		st.log.Done = append(st.log.Done, sim.Done{Step: step, At: at, RC: logstream.ReturnCode(l.RC)})
		r.trace("receiver", "done", "target", s.name, "rc", l.RC)
	default:
		bad("a receiver may not write %s lines", l.Type)
	}
}

// draw reports whether a count fault of kind k applies now to target, or
// the plan's probability for k fires.
func (r *run) draw(k faults.Kind, target string, now time.Time) bool {
	for _, c := range r.counts {
		if c.f.Kind == k && c.left > 0 && !now.Before(sim.Epoch.Add(c.f.At)) && (c.f.Target == "" || c.f.Target == target) {
			c.left--
			return true
		}
	}
	if p := r.sc.Plan.Prob[k]; p > 0 {
		return r.netRng.Float64() < p
	}
	return false
}

// window returns the timed window fault of kind k covering target at now.
func (r *run) window(k faults.Kind, target string, now time.Time) (faults.Fault, bool) {
	for _, f := range r.sc.Plan.Faults {
		start := sim.Epoch.Add(f.At)
		if f.Kind == k && (f.Target == "" || f.Target == target) && !now.Before(start) && now.Before(start.Add(f.For)) {
			return f, true
		}
	}
	return faults.Fault{}, false
}

func msgKind(m *Meta) logstream.Kind {
	if m == nil {
		return 0
	}
	switch m.Kind {
	case "data":
		return logstream.KindData
	case "heartbeat":
		return logstream.KindHeartbeat
	case "eof":
		return logstream.KindEOF
	case "abort":
		return logstream.KindAbort
	}
	return 0
}

func (r *run) netEvent(k sim.NetKind, target string, m *Meta, delay time.Duration) {
	ne := sim.NetEvent{Step: r.nextStep(), At: r.now(), Kind: k, Target: target, Msg: msgKind(m), Delay: delay}
	if m != nil {
		ne.Seq, ne.Offset, ne.Len = m.Seq, m.Offset, m.Len
	}
	r.h.Net = append(r.h.Net, ne)
	if delay > r.h.MaxDelay {
		r.h.MaxDelay = delay
	}
	r.trace("net", string(k), "target", target, "msg", ne.Msg.String(), "seq", ne.Seq, "off", ne.Offset, "len", ne.Len)
}

// route applies the plan to a message the sender sent and schedules its
// delivery (or not).
func (r *run) route(l *Line, at time.Time, raw string) {
	to := l.To
	meta := Meta{}
	if l.Meta != nil {
		meta = *l.Meta
	}
	if _, ok := r.window(faults.Unreachable, to, at); ok {
		r.netEvent(sim.NetUnreachable, to, &meta, 0)
		return
	}
	if r.draw(faults.DropRequest, to, at) {
		r.netEvent(sim.NetDropRequest, to, &meta, 0)
		return
	}
	delay := r.sc.Latency
	if f, ok := r.window(faults.Delay, to, at); ok {
		delay += f.Lag
	}
	if f, ok := r.window(faults.Stall, to, at); ok {
		if f.Lag == 0 {
			delay = max(delay, sim.Epoch.Add(f.At+f.For).Sub(at))
		} else {
			delay += f.Lag
		}
	}
	if delay >= time.Second {
		r.netEvent(sim.NetSend, to, &meta, delay)
	}
	r.deliverAfter(l, to, delay, false, meta, raw)
	if r.draw(faults.Duplicate, to, at) {
		r.netEvent(sim.NetDuplicate, to, &meta, delay)
		r.deliverAfter(l, to, delay, true, meta, raw)
	}
	if f, ok := r.staleFault(to, at); ok {
		r.netEvent(sim.NetStale, to, &meta, delay+f.Lag)
		r.deliverAfter(l, to, delay+f.Lag, true, meta, raw)
	}
}

// staleFault returns the stale fault that applies to this message, if any.
func (r *run) staleFault(to string, at time.Time) (faults.Fault, bool) {
	for _, c := range r.counts {
		if c.f.Kind == faults.Stale && c.left > 0 && !at.Before(sim.Epoch.Add(c.f.At)) && (c.f.Target == "" || c.f.Target == to) {
			c.left--
			return c.f, true
		}
	}
	if p := r.sc.Plan.Prob[faults.Stale]; p > 0 && r.netRng.Float64() < p {
		for _, f := range r.sc.Plan.Faults {
			if f.Kind == faults.Stale {
				return f, true
			}
		}
		return faults.Fault{Kind: faults.Stale, Lag: time.Second}, true
	}
	return faults.Fault{}, false
}

func (r *run) deliverAfter(l *Line, to string, delay time.Duration, isCopy bool, meta Meta, raw string) {
	body := l.Body
	want := l.wantsReply()
	sendID := l.ID
	r.atReal(time.Now().Add(scale(delay, r.factor)), func() {
		st := r.tg[to]
		r.nextDel++
		id := r.nextDel
		now := r.now()
		if want {
			r.pend[id] = &pending{target: to, sendID: sendID, copy: isCopy, want: true, at: now, line: raw, meta: meta}
		}
		st.log.Arrivals = append(st.log.Arrivals, now)
		if meta.Kind == "abort" || !want {
			r.netEvent(sim.NetDeliver, to, &meta, delay)
		} else {
			r.nextStep()
			r.trace("net", "deliver", "target", to, "id", id, "msg", meta.Kind, "seq", meta.Seq, "off", meta.Offset, "len", meta.Len)
		}
		f := false
		var rp *bool
		if !want {
			rp = &f
		}
		r.must(st.site.send(&Line{Type: TDeliver, ID: id, From: "sender", Body: body, Reply: rp, Meta: &meta}))
	})
}

// replyBack carries a receiver's reply to the sender, unless the plan loses it.
func (r *run) replyBack(p *pending, l *Line, at time.Time) {
	if p.copy {
		return
	}
	if r.draw(faults.DropReply, p.target, at) {
		r.netEvent(sim.NetDropReply, p.target, &p.meta, 0)
		return
	}
	if _, ok := r.window(faults.Unreachable, p.target, at); ok {
		r.netEvent(sim.NetUnreachable, p.target, &p.meta, 0)
		return
	}
	delay := r.sc.Latency
	if f, ok := r.window(faults.Delay, p.target, at); ok {
		delay += f.Lag
	}
	body := json.RawMessage(l.Body)
	from, id := p.target, p.sendID
	rc := ""
	if l.Meta != nil {
		rc = l.Meta.RC
	}
	r.atReal(time.Now().Add(scale(delay, r.factor)), func() {
		if r.crashed || r.senderEnded {
			return
		}
		r.nextStep()
		r.trace("net", "reply", "target", from, "id", id, "rc", rc)
		if i, ok := r.sendIdx[id]; ok && !r.attempts[i].Answered {
			a := &r.attempts[i]
			a.Answered, a.AnsweredAt, a.RC = true, r.now(), rc
		}
		r.must(r.sender.send(&Line{Type: TReply, ID: id, From: from, Body: body}))
	})
}

// finish completes the record.
func (r *run) finish() {
	now := time.Now()
	r.h.End = r.vt(now)
	r.h.LastEvent = r.vt(now)
	r.h.Steps = r.step
	r.h.Written = r.w.pos
	// The allowance: twice the harness's largest timer lateness (a deadline
	// involves a timer of the subject's, which the same machine delays as
	// much, and one of the harness's), and at least jitterFloor of real
	// time for the pipes between harness and sites.
	r.jitter = max(2*r.jitter, time.Duration(float64(jitterFloor)*r.factor))
	r.h.Jitter = r.jitter
	r.fillAttempts()
	for _, name := range r.order {
		st := r.tg[name]
		st.log.Runs = st.dec.Flush(st.log.Runs)
	}
	// Deliveries a receiver never answered, though the plan did not stall
	// it: the site hung (or deadlocked).
	var ids []uint64
	for id := range r.pend {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	bound := 2*r.sc.Tail.ChunkTimeout + r.jitter
	for _, id := range ids {
		p := r.pend[id]
		if p.replied || r.h.End.Sub(p.at) < bound {
			continue
		}
		if _, stalled := r.window(faults.Stall, p.target, p.at); stalled {
			continue
		}
		if st := r.tg[p.target]; !st.log.Shutdown.IsZero() {
			continue
		}
		r.problems = append(r.problems, fmt.Sprintf("site %s never answered deliver id=%d (%s seq=%d off=%d, delivered at %v), sent as %s",
			p.target, id, p.meta.Kind, p.meta.Seq, p.meta.Offset, p.at.Sub(sim.Epoch), trunc(p.line, 160)))
		break
	}
	r.w.close()
	r.trace("world", "end", "written", r.w.pos)
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// stopAll ends every site: exit line, stdin closed, then the process group
// killed after a grace period, and every child reaped.
func (r *run) stopAll() error {
	for _, s := range r.sites {
		s.send(&Line{Type: TExit})
	}
	close(r.quit)
	var first error
	for _, s := range r.sites {
		if err := s.stop(time.Second); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// fillAttempts fills the record's per-target view of the sender's attempts
// (EOF and abort sends, lost and not-ready runs, heartbeats) and a timeout
// event per lost attempt, from what the network saw.
func (r *run) fillAttempts() {
	// An answer later than ChunkTimeout less the jitter allowance may have
	// come too late for the sender, and its loss may have been learnt that
	// early: both err toward excusing the sender.
	timeout := max(r.sc.Tail.ChunkTimeout-r.jitter, 0)
	for _, name := range r.order {
		log := r.tg[name].log
		var last time.Time
		lastOK := true
		for _, a := range r.attempts {
			if a.Target != name {
				continue
			}
			switch a.Kind {
			case "eof":
				if log.EOFSent.IsZero() {
					log.EOFSent = a.At
				}
			case "abort":
				if log.AbortSent.IsZero() {
					log.AbortSent = a.At
				}
			case "heartbeat":
				hb := sim.HeartbeatSend{At: a.At, Retry: !lastOK}
				if !last.IsZero() {
					hb.Gap = a.At.Sub(last)
				}
				log.Heartbeats = append(log.Heartbeats, hb)
			}
			if a.Reply {
				lastOK = a.Answered && a.AnsweredAt.Sub(a.At) <= timeout && (a.RC == "" || a.RC == string(logstream.OK))
				if !a.Answered || a.AnsweredAt.Sub(a.At) > timeout {
					r.h.Net = append(r.h.Net, sim.NetEvent{At: a.At.Add(r.sc.Tail.ChunkTimeout), Kind: sim.NetTimeout, Target: name, Msg: msgKind(&Meta{Kind: a.Kind})})
				}
			}
			last = a.At
		}
		log.Lost, log.NotReady = Outcomes(r.attempts, name, timeout)
	}
	sort.SliceStable(r.h.Net, func(i, j int) bool { return r.h.Net[i].At.Before(r.h.Net[j].At) })
}

package swarm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// MixStream is the second word of the PCG state Config seeds: changing the
// mixes in a way that changes what a seed means should change it too, so
// that old seed numbers are not silently reinterpreted.
const MixStream = 0x5357_524d_0002 // "SWRM", version 2: weighted adversarial mixes

// MixTargets are the receivers of the runs of the mixes (the receivers and
// edges mixes use only the first in half their runs).
var MixTargets = []string{"r1", "r2"}

// ClassicKinds are the fault kinds of the gentle standard mix: every kind
// but the adversarial ones (pause, no-append, rotate-create, reopen,
// truncate-to, step-rotate, step-truncate, missing-reply, end-stream),
// which the adversarial mixes place on purpose.
var ClassicKinds = []faults.Kind{
	faults.DropRequest, faults.DropReply, faults.Duplicate, faults.Stale, faults.Delay,
	faults.Unreachable, faults.NotRegistered, faults.Stall, faults.Shutdown, faults.Crash,
	faults.Abort, faults.Rotate, faults.CopyTruncate, faults.Truncate, faults.Delete,
	faults.LateWrite, faults.OpenError, faults.ReadError, faults.ShortRead, faults.StatError,
	faults.Stop,
}

// Mix is one family of random runs. A seed picks a mix by weight, then the
// mix draws the run.
type Mix struct {
	// Name is how flags and reports name the mix.
	Name string
	// Weight is the mix's share of the seeds, relative to the other mixes
	// in use.
	Weight int
	// Known, when set, names the issue of a known defect (of the streamer
	// or of the oracle) that this mix exposes today. Such a mix is left out
	// of the default weights, so that CI stays green, and runs only when
	// asked for by name (MixSet.Known, "simrun swarm --known"). Remove the
	// mark when the issue is fixed.
	Known string
	// Doc says what the mix exercises.
	Doc string
	// Classes are the coverage classes (sim/coverage) only this mix
	// reaches: a swarm without the mix does not require them.
	Classes []string
	gen     func(r *rand.Rand, b base) sim.Config
}

// Mixes are every mix, in a fixed order (the order of the weighted draw).
var Mixes = []Mix{
	{Name: "standard", Weight: 30, gen: genStandard,
		Doc: "gentle worlds: every classic fault kind at random times, small lag, a writer that stops right after stop"},
	{Name: "wan", Weight: 14, gen: genWAN,
		Doc: "WAN-like links (10-300ms each way) with writers faster than the link, size rotation every 2-6 s while the tailer lags"},
	{Name: "late-writer", Weight: 10, gen: genLateWriter,
		Doc: "writers that keep writing 10-60 s after stop, and writers that pause and resume"},
	{Name: "interleave", Weight: 14, gen: genInterleave,
		Doc: "renames and truncations inside a tailer step, before its k-th file-system call (a rename between open and fstat, a truncate between fstat and read)"},
	{Name: "receivers", Weight: 14, gen: genReceivers,
		Classes: []string{"reread"},
		Doc:     "chunk callbacks blocked past the idle timeout, engine shutdown while a callback runs, outages that exhaust a target's retry budget, missing and empty reply maps, a small read-ahead that a target out of reach falls behind"},
	{Name: "edges", Weight: 18, gen: genEdges,
		Doc: "faults placed at the edges: at poll instants, at stop and 1ns either side, replies at the chunk deadline and 1ns either side"},
	{Name: "logrotate", Weight: 8, gen: genLogrotate,
		Doc: "logrotate create: a new file at the path at once, the writer reopening it late or only on a signal"},
	{Name: "files", Weight: 10, gen: genFiles,
		Classes: []string{"sparse-hole", "truncate-to-nonzero", "consumer-ended-stream"},
		Doc:     "writers without O_APPEND (sparse files after a copytruncate or truncate), truncation to a non-zero size, a consumer that ends its stream mid-way"},
}

// MixSet selects the mixes a swarm draws from.
type MixSet struct {
	// Only, if non-empty, restricts the draw to the named mixes (known or
	// not).
	Only []string
	// Known adds the mixes marked Known to the default draw and leaves
	// every run unrestricted; without it each run is passed through
	// Restrict, which takes out the shapes of known streamer losses.
	Known bool
}

// Use returns the mixes in the set, in Mixes order; the error names an
// unknown mix.
func (s MixSet) Use() ([]Mix, error) {
	for _, n := range s.Only {
		if !slices.ContainsFunc(Mixes, func(m Mix) bool { return m.Name == n }) {
			return nil, fmt.Errorf("unknown mix %q (want one of %s)", n, MixNames())
		}
	}
	var out []Mix
	for _, m := range Mixes {
		switch {
		case len(s.Only) > 0:
			if slices.Contains(s.Only, m.Name) {
				out = append(out, m)
			}
		case m.Known == "" || s.Known:
			out = append(out, m)
		}
	}
	return out, nil
}

// String is the set as flags would give it: "default", "default+known" or
// the names.
func (s MixSet) String() string {
	switch {
	case len(s.Only) > 0:
		return strings.Join(s.Only, ",")
	case s.Known:
		return "default+known"
	}
	return "default"
}

// MixNames lists every mix name.
func MixNames() string {
	var ns []string
	for _, m := range Mixes {
		ns = append(ns, m.Name)
	}
	return strings.Join(ns, ", ")
}

// Config returns the run of the default mixes for seed, a pure function of
// seed (see ConfigFor).
func Config(seed uint64) sim.Config {
	cfg, _ := ConfigFor(MixSet{})(seed)
	return cfg
}

// ConfigFor returns the function from seed to run for the mixes of set s,
// and the name of the mix each seed drew. From rand.New(rand.NewPCG(seed,
// MixStream)) it draws, in order: the mix (by weight among those in use),
// then the base every mix starts from:
//
//   - horizon: 60 to 180 whole seconds (1 to 3 virtual minutes);
//   - poll interval: 250ms or 500ms; liveness interval: 5s or 10s; the
//     receivers' idle timeout three liveness intervals;
//   - chunk size: 4KiB or 64KiB; drain window: 2s or 5s (other tail
//     options take logstream's defaults);
//   - writer: rate 1KiB/s, 4KiB/s or 16KiB/s; bursts every 200ms, 1s or 5s
//     on average; writes of up to 512 bytes;
//
// then whatever the mix draws (see Mixes and the gen functions), and the
// file-event model and the inode-number policy from streams of their own
// (drawEvents, drawInodes); without
// s.Known the run is then restricted (see Restrict). The simulator's seed is
// seed itself and the targets are MixTargets or its first. An unknown mix name in s gives
// a function that panics; check s.Use first.
func ConfigFor(s MixSet) func(seed uint64) (sim.Config, string) {
	mixes, err := s.Use()
	if err != nil {
		panic(err)
	}
	total := 0
	for _, m := range mixes {
		total += m.Weight
	}
	return func(seed uint64) (sim.Config, string) {
		r := rand.New(rand.NewPCG(seed, MixStream))
		k := r.IntN(total)
		m := mixes[len(mixes)-1]
		for _, x := range mixes {
			if k < x.Weight {
				m = x
				break
			}
			k -= x.Weight
		}
		b := drawBase(r)
		cfg := m.gen(r, b)
		cfg.Seed = seed
		cfg.Events = drawEvents(seed)
		cfg.ReuseInodes = drawInodes(seed)
		if !s.Known {
			cfg, _ = Restrict(cfg)
		}
		return cfg, m.Name
	}
}

// EventStream is the second word of the PCG state from which a seed's
// file-event model is drawn. It is a stream of its own so that turning the
// model on left every other draw of a seed as it was.
const EventStream = 0x5357_524d_4556 // "SWRMEV"

// drawEvents draws the file-event model of a seed's run (sim.FileEvents,
// what fsnotify is in the real driver): off in half the runs, so that the
// polling path stays verified on its own; otherwise on with a delay of 0 to
// 50ms and, in half of those, a probability of 0.1, 0.5 or 1 that an event
// is lost (a queue overflow: the tailer must still find the change by
// polling).
func drawEvents(seed uint64) sim.FileEvents {
	r := rand.New(rand.NewPCG(seed, EventStream))
	if r.IntN(2) == 0 {
		return sim.FileEvents{}
	}
	ev := sim.FileEvents{On: true, Delay: time.Duration(r.IntN(51)) * time.Millisecond}
	if r.IntN(2) == 0 {
		ev.Overflow = pick(r, 0.1, 0.5, 1)
	}
	return ev
}

// InodeStream is the second word of the PCG state from which a seed's
// inode-number policy is drawn (a stream of its own, as EventStream).
const InodeStream = 0x5357_524d_494e // "SWRMIN"

// drawInodes draws whether a seed's file system reuses inode numbers
// (sim.Config.ReuseInodes, as ext4 and xfs do): in half the runs.
func drawInodes(seed uint64) bool {
	return rand.New(rand.NewPCG(seed, InodeStream)).IntN(2) == 0
}

// base is what every mix starts from.
type base struct {
	horizon, poll, live, drain, burst time.Duration
	chunk                             int
	rate                              int64
	// targets are the run's receivers (nil: MixTargets).
	targets []string
}

// tgts returns the run's receivers.
func (b base) tgts() []string {
	if b.targets == nil {
		return MixTargets
	}
	return b.targets
}

func drawBase(r *rand.Rand) base {
	return base{
		horizon: time.Duration(60+r.IntN(121)) * time.Second,
		poll:    pick(r, 250*time.Millisecond, 500*time.Millisecond),
		live:    pick(r, 5*time.Second, 10*time.Second),
		chunk:   pick(r, 4<<10, 64<<10),
		drain:   pick(r, 2*time.Second, 5*time.Second),
		rate:    pick[int64](r, 1<<10, 4<<10, 16<<10),
		burst:   pick(r, 200*time.Millisecond, time.Second, 5*time.Second),
	}
}

// config is the sim.Config of b with plan p.
func (b base) config(p faults.Plan) sim.Config {
	return sim.Config{
		Horizon:     b.horizon,
		IdleTimeout: 3 * b.live,
		Tail: logstream.TailOptions{
			PollInterval:     b.poll,
			LivenessInterval: b.live,
			IdleTimeout:      3 * b.live,
			ChunkSize:        b.chunk,
			DrainWindow:      b.drain,
		},
		Writer:  sim.WriterConfig{Rate: b.rate, MaxWrite: 512, BurstEvery: b.burst},
		Plan:    p,
		Targets: append([]string(nil), b.tgts()...),
	}
}

// classic is a random plan of the classic kinds over the horizon.
func (b base) classic(r *rand.Rand, maxFaults int, maxProb float64) faults.Plan {
	return faults.Random(r, faults.GenOptions{
		Horizon:   b.horizon,
		Targets:   b.tgts(),
		Kinds:     ClassicKinds,
		MaxFaults: maxFaults,
		MaxProb:   maxProb,
		MaxLag:    200 * time.Millisecond,
	})
}

// genStandard: faults.Random over the horizon for targets r1 and r2, the
// classic kinds, at most 6 timed faults, probabilities at most 0.02,
// network lag at most 200ms.
func genStandard(r *rand.Rand, b base) sim.Config {
	return b.config(b.classic(r, 6, 0.02))
}

// genWAN: a horizon of 20 to 45 s; each message delayed 10 to 300ms
// (fixed or uniform); a writer of 32 to 128 KiB/s in writes of up to
// 4KiB, bursts every 100ms, and (3 runs in 4) 4KiB chunks, so faster than
// one chunk per round trip; a
// rotation every 2 to 6 s (keep 2 to 5, sometimes a copytruncate instead),
// plus up to 2 classic faults.
func genWAN(r *rand.Rand, b base) sim.Config {
	b.horizon = time.Duration(20+r.IntN(26)) * time.Second
	b.rate = int64(32+r.IntN(97)) << 10
	if r.IntN(4) != 0 {
		b.chunk = 4 << 10
	}
	b.burst = 100 * time.Millisecond
	p := b.classic(r, 2, 0)
	lo := time.Duration(10+r.IntN(150)) * time.Millisecond
	if r.IntN(2) == 0 {
		p.Delay = faults.Dist{Kind: faults.Fixed, A: lo}
	} else {
		p.Delay = faults.Dist{Kind: faults.Uniform, A: lo, B: lo + time.Duration(r.IntN(151))*time.Millisecond}
	}
	every := time.Duration(2000+r.IntN(4001)) * time.Millisecond
	keep := 2 + r.IntN(4)
	for t := every; t < b.horizon; t += every {
		if r.IntN(5) == 0 {
			p = p.With(faults.Fault{At: t, Kind: faults.CopyTruncate, N: keep})
		} else {
			p = p.With(faults.Fault{At: t, Kind: faults.Rotate, N: keep})
		}
	}
	cfg := b.config(p)
	cfg.Writer.MaxWrite = 4096
	return cfg
}

// genLateWriter: the writer goes on 10 to 60 s after stop (3 runs in 4),
// long past the drain window; one to four
// pauses of 1 to 20 s; up to 3 classic faults.
func genLateWriter(r *rand.Rand, b base) sim.Config {
	p := b.classic(r, 3, 0.01)
	for range 1 + r.IntN(4) {
		p = p.With(faults.Fault{At: time.Duration(r.Int64N(int64(b.horizon))), Kind: faults.Pause,
			For: time.Duration(1+r.IntN(20)) * time.Second})
	}
	cfg := b.config(p)
	if r.IntN(4) != 0 {
		cfg.Writer.Until = b.horizon + time.Duration(10+r.IntN(51))*time.Second
	}
	return cfg
}

// genInterleave: three to eight step-rotate or step-truncate faults with
// k from 1 to 10 (the tailer's open and fstat of a new file come about
// seven calls into the step that finds it), at random times (a quarter of them just after the previous
// one, so that two land in consecutive steps); up to 2 classic faults.
func genInterleave(r *rand.Rand, b base) sim.Config {
	p := b.classic(r, 2, 0.01)
	var at time.Duration
	for range 3 + r.IntN(6) {
		if r.IntN(4) != 0 || at == 0 {
			at = time.Duration(r.Int64N(int64(b.horizon)))
		}
		k := faults.StepRotate
		if r.IntN(3) == 0 {
			k = faults.StepTruncate
		}
		p = p.With(faults.Fault{At: at, Kind: k, N: 1 + r.IntN(10)})
	}
	return b.config(p)
}

// genReceivers: (half the runs with the one target r1) on one target,
// some of: a late registration (NOT_READY) with a rotation before it, a stall whose consume time
// exceeds the idle timeout (a chunk callback blocked past it), a shutdown
// of that engine inside the stall, an outage longer than the retry budget
// (RetryLimit+1 attempts with backoff: 30 to 90 s), missing replies (of
// one target, or the whole map); up to 2 classic faults; and (one run in
// three) a read-ahead of 2, 4 or 8 chunks.
func genReceivers(r *rand.Rand, b base) sim.Config {
	if r.IntN(2) == 0 {
		b.targets = MixTargets[:1]
	}
	p := b.classic(r, 2, 0.01)
	tgt := pick(r, b.tgts()...)
	idle := 3 * b.live
	if r.IntN(2) == 0 {
		at := time.Duration(r.Int64N(int64(b.horizon / 2)))
		f := faults.Fault{At: at, Kind: faults.Stall, Target: tgt, For: idle + time.Duration(r.IntN(20))*time.Second,
			Lag: idle + time.Duration(1+r.IntN(10000))*time.Millisecond}
		p = p.With(f)
		if r.IntN(2) == 0 {
			p = p.With(faults.Fault{At: at + time.Duration(r.Int64N(int64(f.For))), Kind: faults.Shutdown, Target: tgt})
		}
	}
	if r.IntN(2) == 0 {
		p = p.With(faults.Fault{At: time.Duration(r.Int64N(int64(b.horizon / 2))), Kind: faults.Unreachable, Target: tgt,
			For: time.Duration(30+r.IntN(61)) * time.Second})
	}
	if r.IntN(3) == 0 {
		// NOT_READY, then a rotation before the target registers.
		at := time.Duration(10+r.IntN(30)) * time.Second
		p = p.With(faults.Fault{At: at, Kind: faults.NotRegistered, Target: tgt})
		p = p.With(faults.Fault{At: time.Duration(2+r.IntN(int(at/time.Second)-3)) * time.Second, Kind: faults.Rotate, N: 2})
	}
	if r.IntN(2) == 0 {
		f := faults.Fault{At: time.Duration(r.Int64N(int64(b.horizon))), Kind: faults.MissingReply, N: 1 + r.IntN(3)}
		if r.IntN(2) == 0 {
			f.Target = tgt
		}
		p = p.With(f)
	}
	cfg := b.config(p)
	if r.IntN(3) == 0 {
		// A read-ahead of 2 to 8 chunks (drawn last: the draws above are
		// as they were), so that a target out of reach falls behind it
		// and is served by re-reading (coverage class reread).
		cfg.Tail.ReadAhead = int64(b.chunk) * pick[int64](r, 2, 4, 8)
	}
	if i := slices.IndexFunc(cfg.Plan.Faults, func(f faults.Fault) bool { return f.Kind == faults.Unreachable }); i >= 0 && r.IntN(3) == 0 {
		// A copytruncate while a target is out of reach (drawn last, as
		// above): the bytes it needs again are in the copy.
		u := cfg.Plan.Faults[i]
		cfg.Plan = cfg.Plan.With(faults.Fault{At: u.At + time.Duration(r.Int64N(int64(u.For))), Kind: faults.CopyTruncate})
	}
	return cfg
}

// genEdges: (half the runs with the one target r1) two to six classic faults placed exactly at poll instants
// (multiples of the poll interval, where a tailer that started at 0 and
// found nothing looks), a stop at a poll instant, exactly at the
// configured stop or 1ns either side, and (two runs in three) either a
// network delay that brings replies to the chunk deadline (1ns either
// side) or one that brings the EOF to the receivers' idle deadline.
func genEdges(r *rand.Rand, b base) sim.Config {
	if r.IntN(2) == 0 {
		b.targets = MixTargets[:1]
	}
	p := b.classic(r, 1, 0)
	edge := []faults.Kind{faults.Rotate, faults.CopyTruncate, faults.Truncate, faults.Delete,
		faults.DropRequest, faults.Unreachable, faults.Stall, faults.LateWrite}
	polls := int64(b.horizon / b.poll)
	for range 2 + r.IntN(5) {
		f := faults.Fault{At: time.Duration(r.Int64N(polls)) * b.poll, Kind: pick(r, edge...)}
		switch f.Kind {
		case faults.Unreachable, faults.Stall:
			f.For = time.Duration(1+r.IntN(5000)) * time.Millisecond
		case faults.LateWrite:
			f.N = 1 + r.IntN(512)
		case faults.CopyTruncate:
			f.For = pick(r, 0, b.poll, time.Nanosecond)
		}
		p = p.With(f)
	}
	cfg := b.config(p)
	stop := b.horizon - time.Duration(r.IntN(int(polls/2)))*b.poll + pick(r, -time.Nanosecond, 0, time.Nanosecond)
	switch r.IntN(3) {
	case 0:
		cfg.Plan = cfg.Plan.With(faults.Fault{At: stop, Kind: faults.Stop})
	case 1:
		cfg.StopAt = stop
		cfg.Plan = cfg.Plan.With(faults.Fault{At: stop, Kind: pick(r, faults.Rotate, faults.Truncate, faults.CopyTruncate)})
	}
	switch r.IntN(3) {
	case 0:
		// Replies at the chunk deadline: with no delay distribution a
		// message takes Latency (1ms) plus the delay fault's lag each way,
		// a round trip of exactly 5s; the chunk timeout is 5s, 1ns less or
		// 1ns more.
		cfg.Plan.Delay = faults.Dist{}
		cfg.Tail.ChunkTimeout = logstream.DefaultChunkTimeout + pick(r, -time.Nanosecond, 0, time.Nanosecond)
		lag := (logstream.DefaultChunkTimeout - 2*time.Millisecond) / 2
		cfg.Plan = cfg.Plan.With(faults.Fault{At: time.Duration(r.Int64N(int64(b.horizon))), Kind: faults.Delay,
			Target: pick(r, append([]string{""}, b.tgts()...)...), For: time.Duration(6000+r.IntN(6000)) * time.Millisecond, Lag: lag})
	case 1:
		// EOF at the watchdog deadline, 1ns either side: a first stall
		// holds what reaches the target (a heartbeat at least: the writer
		// is quiet by then) until s0, 2s before stop, so its last arrival is
		// s0; a second stall holds everything after, the EOF included,
		// until s0 + the idle timeout (its deadline) -1ns, +0 or +1ns.
		at := b.horizon
		if cfg.StopAt > 0 {
			at = cfg.StopAt
		}
		for _, f := range cfg.Plan.Faults {
			if f.Kind == faults.Stop {
				at = f.At
			}
		}
		idle := 3 * b.live
		s0 := at - 2*time.Second
		tgt := pick(r, b.tgts()...)
		cfg.Writer.Until = max(time.Second, s0-b.live-2*time.Second)
		cfg.Plan = cfg.Plan.With(faults.Fault{At: max(0, s0-b.live-time.Second), Kind: faults.Stall, Target: tgt,
			For: min(s0, b.live+time.Second)})
		cfg.Plan = cfg.Plan.With(faults.Fault{At: s0 + time.Nanosecond, Kind: faults.Stall, Target: tgt,
			For: idle - time.Nanosecond + pick(r, -time.Nanosecond, 0, time.Nanosecond)})
	}
	return cfg
}

// genLogrotate: one to three logrotate create rotations (keep 0 to 2), the
// writer reopening after 1ms to 10s or only at a reopen signal 1ms to 10s
// later; up to 2 classic faults.
func genLogrotate(r *rand.Rand, b base) sim.Config {
	p := b.classic(r, 2, 0)
	for range 1 + r.IntN(3) {
		at := time.Duration(r.Int64N(int64(b.horizon)))
		f := faults.Fault{At: at, Kind: faults.RotateCreate, N: r.IntN(3)}
		if r.IntN(2) == 0 {
			f.Gap = time.Duration(1+r.IntN(10000)) * time.Millisecond
		} else {
			p = p.With(faults.Fault{At: at + time.Duration(1+r.IntN(10000))*time.Millisecond, Kind: faults.Reopen})
		}
		p = p.With(f)
	}
	return b.config(p)
}

// genFiles: a writer without O_APPEND from the start (half the runs) with
// copytruncates; truncations to a non-zero size; a consumer that ends its
// stream; up to 2 classic faults.
func genFiles(r *rand.Rand, b base) sim.Config {
	p := b.classic(r, 2, 0)
	if r.IntN(2) == 0 {
		p = p.With(faults.Fault{At: 0, Kind: faults.NoAppend})
		for range 1 + r.IntN(3) {
			p = p.With(faults.Fault{At: time.Duration(r.Int64N(int64(b.horizon))), Kind: faults.CopyTruncate,
				For: time.Duration(r.IntN(500)) * time.Millisecond})
		}
	}
	for range r.IntN(3) {
		p = p.With(faults.Fault{At: time.Duration(r.Int64N(int64(b.horizon))), Kind: faults.TruncateTo, N: 1 + r.IntN(8192)})
	}
	if r.IntN(3) == 0 {
		p = p.With(faults.Fault{At: time.Duration(r.Int64N(int64(b.horizon))), Kind: faults.EndStream, Target: pick(r, MixTargets...)})
	}
	return b.config(p)
}

func pick[T any](r *rand.Rand, vs ...T) T { return vs[r.IntN(len(vs))] }

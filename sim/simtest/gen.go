package simtest

import (
	"time"

	"pgregory.net/rapid"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// Config generates a simulation config: timing, writer shape, targets, and a
// fault plan built as a timeline of steps, each a fault at the current time
// followed by a time step. Shrinking removes faults, shortens steps and
// zeroes probabilities, so a failure shrinks to a small plan.
var Config = rapid.Custom(func(t *rapid.T) sim.Config {
	targets := rapid.SampledFrom([][]string{{"r1"}, {"r1", "r2"}, {"r1", "r2", "r3"}}).Draw(t, "targets")
	poll := rapid.SampledFrom([]time.Duration{100 * time.Millisecond, 500 * time.Millisecond}).Draw(t, "poll")
	live := rapid.SampledFrom([]time.Duration{2 * time.Second, 5 * time.Second, 10 * time.Second}).Draw(t, "liveness")
	horizon := time.Duration(rapid.IntRange(20, 120).Draw(t, "horizon-s")) * time.Second
	cfg := sim.Config{
		Seed:        rapid.Uint64().Draw(t, "seed"),
		Targets:     targets,
		Horizon:     horizon,
		IdleTimeout: 3 * live,
		Tail: logstream.TailOptions{
			PollInterval:     poll,
			LivenessInterval: live,
			IdleTimeout:      3 * live,
			ChunkSize:        rapid.SampledFrom([]int{512, 4096, 65536}).Draw(t, "chunk"),
			ChunkTimeout:     2 * time.Second,
			DrainWindow:      rapid.SampledFrom([]time.Duration{time.Second, 5 * time.Second}).Draw(t, "drain"),
		},
		Writer: sim.WriterConfig{
			Rate:       int64(rapid.SampledFrom([]int{200, 4096, 65536}).Draw(t, "rate")),
			MaxWrite:   rapid.SampledFrom([]int{64, 512, 8192}).Draw(t, "max-write"),
			BurstEvery: rapid.SampledFrom([]time.Duration{50 * time.Millisecond, time.Second, 7 * time.Second}).Draw(t, "burst-every"),
		},
	}
	cfg.Plan = Plan(targets, horizon).Draw(t, "plan")
	return cfg
})

// kinds are the timed faults the generator uses (stop is the config's).
var kinds = []faults.Kind{
	faults.Rotate, faults.CopyTruncate, faults.Truncate, faults.Delete, faults.LateWrite,
	faults.DropRequest, faults.DropReply, faults.Duplicate, faults.Stale, faults.Delay,
	faults.Unreachable, faults.Stall, faults.NotRegistered, faults.Shutdown, faults.Crash, faults.Abort,
	faults.OpenError, faults.ReadError, faults.ShortRead, faults.StatError, faults.Stop,
}

// Plan generates a fault plan over horizon for targets.
func Plan(targets []string, horizon time.Duration) *rapid.Generator[faults.Plan] {
	return rapid.Custom(func(t *rapid.T) faults.Plan {
		var p faults.Plan
		at := time.Duration(0)
		n := rapid.IntRange(0, 10).Draw(t, "faults")
		for range n {
			at += time.Duration(rapid.IntRange(0, int(horizon/time.Millisecond)/4).Draw(t, "step-ms")) * time.Millisecond
			if at >= horizon {
				break
			}
			f := fault(t, at, targets)
			if f.Validate() == nil && !dup(p.Faults, f) {
				p.Faults = append(p.Faults, f)
			}
		}
		for _, k := range []faults.Kind{faults.DropRequest, faults.DropReply, faults.Duplicate, faults.Stale, faults.ReadError, faults.ShortRead} {
			p.Prob[k] = rapid.SampledFrom([]float64{0, 0, 0.01, 0.05}).Draw(t, "prob-"+k.String())
		}
		if p.Prob[faults.Stale] > 0 {
			p.StaleLag = time.Duration(rapid.IntRange(1, 20).Draw(t, "stale-lag-s")) * time.Second
		}
		switch rapid.IntRange(0, 2).Draw(t, "delay") {
		case 1:
			p.Delay = faults.Dist{Kind: faults.Fixed, A: 5 * time.Millisecond}
		case 2:
			p.Delay = faults.Dist{Kind: faults.Uniform, A: time.Millisecond, B: 200 * time.Millisecond}
		}
		return p
	})
}

// dup reports whether f repeats a once-only fault already in fs.
func dup(fs []faults.Fault, f faults.Fault) bool {
	for _, g := range fs {
		if g.Kind == f.Kind && g.Target == f.Target {
			switch f.Kind {
			case faults.Crash, faults.Abort, faults.Stop, faults.Shutdown, faults.NotRegistered:
				return true
			}
		}
	}
	return false
}

func fault(t *rapid.T, at time.Duration, targets []string) faults.Fault {
	k := rapid.SampledFrom(kinds).Draw(t, "kind")
	f := faults.Fault{At: at, Kind: k}
	target := func() string {
		return rapid.SampledFrom(append([]string{""}, targets...)).Draw(t, "target")
	}
	dur := func(name string, lo, hi int) time.Duration {
		return time.Duration(rapid.IntRange(lo, hi).Draw(t, name)) * time.Millisecond
	}
	switch k {
	case faults.Rotate:
		f.N = rapid.IntRange(1, 3).Draw(t, "keep")
		f.Gap = rapid.SampledFrom([]time.Duration{0, 0, 50 * time.Millisecond, 2 * time.Second}).Draw(t, "gap")
	case faults.CopyTruncate:
		f.N = 1
		f.For = dur("for", 0, 1000)
	case faults.Truncate:
		f.N = rapid.SampledFrom([]int{0, 10, 1000, 100000}).Draw(t, "regrow")
		f.SameHead = f.N > 0 && rapid.Bool().Draw(t, "same-head")
	case faults.Delete:
		f.Gap = rapid.SampledFrom([]time.Duration{0, 100 * time.Millisecond, 3 * time.Second}).Draw(t, "gap")
	case faults.LateWrite:
		f.N = rapid.IntRange(1, 5000).Draw(t, "bytes")
	case faults.DropRequest, faults.DropReply, faults.Duplicate:
		f.Target, f.N = target(), rapid.IntRange(1, 5).Draw(t, "count")
	case faults.Stale:
		f.Target, f.Lag = target(), dur("lag", 100, 20000)
	case faults.Delay:
		f.Target, f.For, f.Lag = target(), dur("for", 100, 10000), dur("lag", 10, 2000)
	case faults.Unreachable:
		f.Target, f.For = target(), dur("for", 100, 20000)
	case faults.Stall:
		f.Target, f.For = target(), dur("for", 100, 20000)
	case faults.NotRegistered, faults.Shutdown:
		f.Target = target()
	case faults.OpenError, faults.ReadError, faults.ShortRead, faults.StatError:
		f.N = rapid.IntRange(1, 5).Draw(t, "count")
	}
	return f
}

package swarm

import (
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/sim"
)

// Restrict takes out of cfg the shapes of run in which the streamer has a
// known loss, each named with the issue whose fix removes it (the same
// shapes sim/simtest's restricted generator keeps out of the property
// tests), and returns the restricted config and the issues of what it took
// out. The default mixes are restricted so that the swarm stays a gate
// while the fixes are pending; MixSet.Known ("simrun swarm --known") runs
// the unrestricted worlds. Remove a restriction when its issue lands.
//
//   - issue 10 (asynchronous engine): no fault that removes a generation
//     (a delete, or a rotation or copytruncate shifting a rotated name past
//     its keep) less than ChunkTimeout + PollInterval after the generation
//     was created. The sending engine blocks the producer for up to a
//     ChunkTimeout while a message waits for its replies, so the tailer
//     cannot look at the path then, and a generation created and removed
//     meanwhile is never opened (swarm seed 1086: a rotation, then a delete
//     0.75 s later while a dropped reply held the send for 5 s). This
//     covers a generation removed within one poll too: the oracle excuses
//     what no polling tailer sees then (issue 8 fixed: sim/oracle's hidden
//     generation at most a poll at the path, and its copy removed within a
//     poll; --known seeds 366 and 1887 of the former draw pass), but the
//     bytes it held were often visible for longer, while the send blocked
//     (seed 12396 with the restriction lifted: dropped replies kept the
//     tailer from looking for 4.2 s before a copytruncate whose copy a
//     rotation removed 250 ms later);
//   - issue 10 (read-ahead): no truncation of any kind; the writer stops
//     when the sender is told to stop;
//   - issue 10 (window): the writer writes at most a quarter of a chunk per
//     round trip of the slowest link;
//   - issue 10 (independent targets): with several targets, no fault or
//     probability that loses or holds an attempt to one of them;
func Restrict(cfg sim.Config) (sim.Config, []string) {
	var why []string
	note := func(s string) {
		for _, w := range why {
			if w == s {
				return
			}
		}
		why = append(why, s)
	}
	stop := stopOf(cfg)
	tail, err := cfg.Tail.Normalize()
	if err != nil {
		tail = cfg.Tail
	}
	p := cfg.Plan.Clone()
	p.Faults = nil
	several := len(cfg.Targets) >= 2
	var gens generations
	for _, f := range cfg.Plan.Faults {
		switch {
		case startsGeneration(f.Kind) || f.Kind == faults.CopyTruncate:
			if born, ok := gens.removes(f); ok && f.At-born < tail.ChunkTimeout+tail.PollInterval {
				note("issue 10: a generation removed while a send may block")
				continue
			}
			gens.apply(f)
		case f.Kind == faults.Truncate || f.Kind == faults.StepTruncate || f.Kind == faults.TruncateTo:
			note("issue 10: truncation")
			continue
		case several && holds(f.Kind):
			note("issue 10: a fault holding one of several targets")
			continue
		}
		p.Faults = append(p.Faults, f)
	}
	if several && (p.Prob[faults.DropRequest] > 0 || p.Prob[faults.DropReply] > 0) {
		p.Prob[faults.DropRequest], p.Prob[faults.DropReply] = 0, 0
		note("issue 10: a fault holding one of several targets")
	}
	cfg.Plan = p
	if cfg.Writer.Until <= 0 || cfg.Writer.Until > stop {
		cfg.Writer.Until = max(stop, time.Nanosecond)
		note("issue 10: a writer outliving stop")
	}
	if limit := linkLimit(cfg); cfg.Writer.Rate > limit || cfg.Writer.Rate <= 0 && limit < 4096 {
		cfg.Writer.Rate = max(limit, 1)
		note("issue 10: a writer faster than the link")
	}
	return cfg, why
}

// RestrictedClasses are the coverage classes (sim/coverage) that the
// restrictions make unreachable or rare, with the issue of the restriction:
// a restricted swarm does not require them ("--known" does).
var RestrictedClasses = map[string]string{
	"truncate-between-fstat-and-read": "issue 10",
	"truncate-during-post-stop-drain": "issue 10",
	"same-head-regrow":                "issue 10",
	"truncate-to-nonzero":             "issue 10",
}

// generations follows when each generation a plan's file faults leave in
// the world was created: born[0] is the file at the path, born[k] the one
// at <name>.k (the simulator's rotator, see sim/oracle's doc). The file at
// the path at the start is created at 0.
type generations struct{ born []time.Duration }

// keep is how many rotated names a fault keeps.
func keep(f faults.Fault) int {
	if f.Kind == faults.StepRotate || f.N < 1 {
		return 1
	}
	return f.N
}

// removes reports whether f removes a generation, and when that one was
// created.
func (g *generations) removes(f faults.Fault) (time.Duration, bool) {
	if g.born == nil {
		g.born = []time.Duration{0}
	}
	if f.Kind == faults.Delete {
		return g.born[0], true
	}
	if k := keep(f); len(g.born) > k {
		return g.born[k], true
	}
	return 0, false
}

// apply moves the generations as f does.
func (g *generations) apply(f faults.Fault) {
	if g.born == nil {
		g.born = []time.Duration{0}
	}
	k := keep(f)
	switch f.Kind {
	case faults.Delete:
		g.born[0] = f.At + f.Gap
	case faults.CopyTruncate:
		g.born = append([]time.Duration{g.born[0], f.At}, g.born[1:min(len(g.born), k)]...)
	default:
		g.born = append([]time.Duration{f.At + f.Gap}, g.born[:min(len(g.born), k)]...)
	}
}

func holds(k faults.Kind) bool {
	switch k {
	case faults.DropRequest, faults.DropReply, faults.Delay, faults.Unreachable, faults.Stall,
		faults.NotRegistered, faults.MissingReply:
		return true
	}
	return false
}

// linkLimit is a quarter of one chunk per round trip of the slowest link
// the plan allows, in bytes per second.
func linkLimit(c sim.Config) int64 {
	maxDelay := c.Latency
	if maxDelay <= 0 {
		maxDelay = time.Millisecond
	}
	switch c.Plan.Delay.Kind {
	case faults.Fixed:
		maxDelay = c.Plan.Delay.A
	case faults.Uniform:
		maxDelay = c.Plan.Delay.B
	case faults.Exp:
		maxDelay = c.Plan.Delay.Cap
	}
	chunk := c.Tail.ChunkSize
	if chunk <= 0 {
		chunk = 64 << 10
	}
	return int64(float64(chunk) / (8 * max(maxDelay, time.Millisecond).Seconds()))
}

func startsGeneration(k faults.Kind) bool {
	switch k {
	case faults.Rotate, faults.RotateCreate, faults.StepRotate, faults.Delete:
		return true
	}
	return false
}

// stopOf is when the run's sender is told to stop.
func stopOf(c sim.Config) time.Duration {
	for _, f := range c.Plan.Faults {
		if f.Kind == faults.Stop {
			return f.At
		}
	}
	if c.StopAt > 0 {
		return c.StopAt
	}
	return c.Horizon
}

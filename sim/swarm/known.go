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
//   - issue 9 (follow the copy): no copytruncate;
//   - issue 9 (retry a failed read within the budget): no open, read or stat
//     errors;
//   - issue 9 (never lose a visible generation while lagging): no delete;
//   - issue 9 (find rotated generations; the stop mark): rotations none in
//     the first second, 30 s apart, none within 5 s of the stop;
//   - issue 10 (read-ahead): no truncation of any kind; the writer stops
//     when the sender is told to stop;
//   - issue 10 (window): the writer writes at most a quarter of a chunk per
//     round trip of the slowest link;
//   - issue 10 (independent targets): with several targets, no fault or
//     probability that loses or holds an attempt to one of them;
//   - issue 8 (oracle): no late write within the drain window (plus 1 s)
//     after a rotation: the tailer may still read the renamed file then,
//     and the record's decoding misplaces a byte (swarm seed 4573 of the
//     edges mix: one byte "reordered", one "lost").
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
	drain := cfg.Tail.DrainWindow
	if drain <= 0 {
		drain = 5 * time.Second
	}
	p := cfg.Plan.Clone()
	p.Faults = nil
	var lastGen time.Duration = -1
	several := len(cfg.Targets) >= 2
	for _, f := range cfg.Plan.Faults {
		switch {
		case f.Kind == faults.CopyTruncate:
			note("issue 9: copytruncate")
			continue
		case f.Kind == faults.OpenError || f.Kind == faults.ReadError || f.Kind == faults.StatError:
			note("issue 9: file errors")
			continue
		case f.Kind == faults.Delete:
			note("issue 9: delete")
			continue
		case startsGeneration(f.Kind):
			if f.At < time.Second || lastGen >= 0 && f.At-lastGen < 30*time.Second ||
				f.At-stop < 5*time.Second && stop-f.At < 5*time.Second {
				note("issue 9: generations close together or at the stop")
				continue
			}
			lastGen = f.At
		case f.Kind == faults.LateWrite && lastGen >= 0 && f.At-lastGen <= drain+time.Second:
			note("issue 8: a late write within the drain window of a rotation")
			continue
		case f.Kind == faults.Truncate || f.Kind == faults.StepTruncate || f.Kind == faults.TruncateTo:
			note("issue 10: truncation")
			continue
		case several && holds(f.Kind):
			note("issue 10: a fault holding one of several targets")
			continue
		}
		p.Faults = append(p.Faults, f)
	}
	if p.Prob[faults.ReadError] > 0 {
		p.Prob[faults.ReadError] = 0
		note("issue 9: file errors")
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
	"copytruncate-during-read":        "issue 9",
	"two-rotations-one-poll":          "issue 9",
	"rename-between-open-and-fstat":   "issue 9",
	"truncate-between-fstat-and-read": "issue 10",
	"truncate-during-post-stop-drain": "issue 10",
	"same-head-regrow":                "issue 10",
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

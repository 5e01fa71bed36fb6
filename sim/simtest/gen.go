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
//
// Config draws only worlds in which the streamer has no known loss: see
// kinds for the restriction (file errors), named with the issue whose
// fix removes it. Issue 8's removesYoung (a generation removed within a
// poll of its creation) is lifted. Issue 9's hidesGeneration, nearStop,
// fileOpWhileNotReady and truncStorm are lifted: rotations and deletes
// near the start, each other and the stop, copytruncates and deletes
// before a late registration (the producer reads ahead and lets the
// tailer look every PollInterval whatever its targets' state), and
// truncates within milliseconds of other changes are drawn (see the
// built-in scenarios generation_written_after_truncation_is_no_copy,
// path_missing_at_start_reads_rotated_files,
// short_piece_read_ahead_long_before_delivery_is_located and
// partly_read_stretch_delivered_late_is_located). Half the draws reuse
// inode numbers (sim.Config.ReuseInodes; the generator draws no file
// operation inside a tailer step, the swarm's restricted shape with
// reuse). Unrestricted
// draws from every fault kind and shape, for tests of the oracle itself
// (the same verdict with or without the tailer's testimony, broken
// variants caught).
var Config = config(true)

// Unrestricted is Config without the known-loss restrictions.
var Unrestricted = config(false)

func config(restrict bool) *rapid.Generator[sim.Config] {
	return rapid.Custom(func(t *rapid.T) sim.Config { return drawConfig(t, restrict) })
}

func drawConfig(t *rapid.T, restrict bool) sim.Config {
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
	cfg.Plan = plan(targets, horizon, restrict).Draw(t, "plan")
	// Drawn last, so that the draws before keep their shrinking.
	cfg.ReuseInodes = rapid.Bool().Draw(t, "reuse-inodes")
	return cfg
}

// kinds are the timed faults the generator uses (stop is the config's).
//
// Known streamer losses keep some faults out until their fix lands (remove
// each restriction with its issue):
//   - open, read and stat errors: issue 9. Injected errors that fail the
//     tailer's few looks lose a generation it would otherwise find (rapid:
//     rotations at 1 and 9 ms, keep=2, 4 open errors at 1 ms: the byte
//     written to the middle generation, still at <name>.1, was lost). With
//     copytruncate drawn, rapid found (and the tailer now passes, see the
//     built-in scenarios read_errors_before_first_read_keep_the_copy_first
//     and copy_queued_before_its_file_is_no_generation) read errors before
//     the first read of a copytruncated file and open errors hiding the
//     file whose copy came first, and a copy check whose read failed
//     (read_error_on_copy_tail_is_no_mismatch), a look whose read of a
//     rotated file failed (failed_look_at_rotated_file_decides_nothing),
//     a failed stat at the end of the drain window
//     (failed_mark_at_drain_window_end_decides_nothing), and a generation
//     every look at which failed (the oracle's bound,
//     generation_behind_failed_looks_is_hidden). Still open (found after
//     2715 checks with file errors lifted): chunk 512, a writer at
//     64 KiB/s, read errors at 1%: nearly every poll's read-ahead stops at
//     a failed read, so the tailer lags; a truncate at 4.21 s removes 16460
//     bytes written at 1.28 s that no chain of failed looks excuses: the
//     look at 1.836 s succeeded but read only the deleted old file's last
//     145 bytes (a partial chunk), and the next read, of the new file,
//     came at 1.971 s and failed (the producer's wait after a partial
//     chunk, or the oracle's assumption that a tailer reads everything at
//     its first look that succeeds, is to blame: not decided yet). The
//     counterexample named here before (a rotation keep=1 and 3 open
//     errors at 5.809 s, the new file copytruncated 1 ms later, read
//     errors at 1%, poll 500 ms: the copy's 1197 bytes lost) was not drawn
//     again; its exact config was not kept, so whether the fixes above
//     cover it is not known. Swarm seeds are not affected: the swarm
//     passes 5000 seeds with its file errors.
//
// Copytruncate is drawn (issue 9: the tailer follows the copy; rapid's
// counterexamples, a copytruncate at 9 ms before the first read, a copy
// shifted by a rotation 1 ms later, a lagging tailer's second copy, are
// fixed: 8000 checks pass).
var kinds = []faults.Kind{
	faults.Rotate, faults.CopyTruncate, faults.Truncate, faults.Delete, faults.LateWrite,
	faults.DropRequest, faults.DropReply, faults.Duplicate, faults.Stale, faults.Delay,
	faults.Unreachable, faults.Stall, faults.NotRegistered, faults.Shutdown, faults.Crash, faults.Abort,
	faults.ShortRead, faults.Stop,
}

// allKinds are the timed faults Unrestricted uses.
var allKinds = []faults.Kind{
	faults.Rotate, faults.CopyTruncate, faults.Truncate, faults.Delete, faults.LateWrite,
	faults.DropRequest, faults.DropReply, faults.Duplicate, faults.Stale, faults.Delay,
	faults.Unreachable, faults.Stall, faults.NotRegistered, faults.Shutdown, faults.Crash, faults.Abort,
	faults.OpenError, faults.ReadError, faults.ShortRead, faults.StatError, faults.Stop,
}

// Plan generates a fault plan over horizon for targets, without the faults
// and shapes of known streamer losses (see Config).
func Plan(targets []string, horizon time.Duration) *rapid.Generator[faults.Plan] {
	return plan(targets, horizon, true)
}

func plan(targets []string, horizon time.Duration, restrict bool) *rapid.Generator[faults.Plan] {
	ks := kinds
	if !restrict {
		ks = allKinds
	}
	return rapid.Custom(func(t *rapid.T) faults.Plan {
		var p faults.Plan
		at := time.Duration(0)
		n := rapid.IntRange(0, 10).Draw(t, "faults")
		for range n {
			at += time.Duration(rapid.IntRange(0, int(horizon/time.Millisecond)/4).Draw(t, "step-ms")) * time.Millisecond
			if at >= horizon {
				break
			}
			f := fault(t, at, targets, ks)
			if f.Validate() == nil && !dup(p.Faults, f) {
				p.Faults = append(p.Faults, f)
			}
		}
		probs := []faults.Kind{faults.DropRequest, faults.DropReply, faults.Duplicate, faults.Stale, faults.ShortRead}
		if !restrict {
			probs = append(probs, faults.ReadError)
		}
		for _, k := range probs {
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

func fault(t *rapid.T, at time.Duration, targets []string, ks []faults.Kind) faults.Fault {
	k := rapid.SampledFrom(ks).Draw(t, "kind")
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

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/logstream-sim/logstream-sim/scenarios"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/coverage"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
	"github.com/logstream-sim/logstream-sim/sim/swarm"
)

// SwarmCommand runs random seeds of the standard mix on every core, then
// shrinks, saves and explains each failure.
type SwarmCommand struct {
	main        *Main
	out         outputFlags
	seeds       uint64
	duration    time.Duration
	start       uint64
	shard       string
	workers     int
	maxFailures int
	save        string
	shrink      int
	verbose     bool
	mixes       string
	known       bool
	require     requireFlag

	// config replaces swarm.Config in tests; replay --seed always uses
	// the standard mix.
	config func(seed uint64) sim.Config
}

// Usage returns the help text of "swarm".
func (c *SwarmCommand) Usage() string {
	return `Usage: simrun swarm [flags]

Runs random cases: seed S maps, by a pure function, to a run drawn from
weighted mixes (two targets; gentle random plans, and adversarial worlds:
WAN links with rotation while the tailer lags, writers that outlive stop or
pause, file operations inside a tailer step, logrotate create, blocked
receivers, exhausted retry budgets, faults at poll instants, stop and
deadlines; see 'go doc ./sim/swarm Mixes'), which the oracle judges. Runs
are spread over --workers goroutines, each run single-threaded and
deterministic; results are reported in seed order.

After the runs, a coverage table says how many seeds hit each hazard class
(see 'go doc ./sim/coverage Classes'); --require-coverage fails the swarm
when a class was hit fewer than k times. Until the known streamer losses
are fixed, the default runs are restricted: the shapes of known losses are
taken out, each named with its issue ('go doc ./sim/swarm Restrict'), and a
mix that exposes a known defect (--mix help prints its issue) is left out;
the classes that leaves unreachable are not required. --known runs every
mix unrestricted.

The seed range is [--start, --start+--seeds); with --duration alone it is
unbounded and the swarm stops handing out seeds when the time is up (and
finishes those already started). --shard i/n keeps the seeds s of the range
with s % n == i, so n machines given the same range split it without
overlap (CI matrix: --shard $INDEX/$TOTAL; Kubernetes indexed Job:
--shard $JOB_COMPLETION_INDEX/N).

On a terminal, a progress line is rewritten in place. Each failing seed is
shrunk (plan items removed, then simplified, targets and horizon reduced,
keeping only candidates whose first violation is the same property), saved
under --save as a scenario file named after the property and the seed, and
printed with its seed, plan, first violation and the command that replays
it. The saved file replays the failure: 'simrun replay FILE' exits 1 until
the bug is fixed.

Flags:

	--seeds N         seeds in the range (default 1000, or unbounded
	                  with --duration)
	--duration D      stop handing out seeds after D (such as 30s, 5m)
	--start S         first seed of the range (default 0)
	--shard i/n       run only the seeds s with s % n == i
	--workers N       runs at a time (default: the number of CPUs)
	--max-failures N  stop after N failing seeds, in seed order (default
	                  1; 0: run the whole range)
	--save DIR        where shrunk failures are saved (default
	                  simrun-failures)
	--shrink N        shrink attempts per failure (default 500, a
	                  livelock at most 20; 0: no shrinking)
	--mix A,B         draw only from the named mixes ('--mix help' lists
	                  them); replay needs the same --mix/--known
	--known           run every mix unrestricted, known defects included
	--require-coverage[=k]
	                  fail (exit 1) if a coverage class was hit by fewer
	                  than k seeds (default k 1)
	-v                print a line for every seed
` + outputUsage
}

// Run runs the command.
func (c *SwarmCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("swarm", flag.ContinueOnError)
	c.out.register(fs)
	fs.Uint64Var(&c.seeds, "seeds", 0, "seeds in the range")
	fs.DurationVar(&c.duration, "duration", 0, "stop after `D`")
	fs.Uint64Var(&c.start, "start", 0, "first seed")
	fs.StringVar(&c.shard, "shard", "0/1", "run the seeds s with s % n == i")
	fs.IntVar(&c.workers, "workers", runtime.NumCPU(), "runs at a time")
	fs.IntVar(&c.maxFailures, "max-failures", 1, "stop after N failures")
	fs.StringVar(&c.save, "save", "simrun-failures", "directory for shrunk failures")
	fs.IntVar(&c.shrink, "shrink", 500, "shrink attempts per failure")
	fs.BoolVar(&c.verbose, "v", false, "print every seed")
	fs.StringVar(&c.mixes, "mix", "", "draw only from the named mixes")
	fs.BoolVar(&c.known, "known", false, "also draw from mixes with known defects")
	fs.Var(&c.require, "require-coverage", "fail if a class was hit fewer than `k` times")
	// --require-coverage alone means k = 1.
	args = slices.Clone(args)
	for i, a := range args {
		if a == "--" {
			break
		}
		if a == "--require-coverage" || a == "-require-coverage" {
			args[i] = a + "=1"
		}
	}
	args, err := c.main.parseFlags(fs, c.Usage(), args)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case len(args) > 0:
		return usagef("swarm: unexpected argument %q", "swarm takes only flags; to run scenario files use 'simrun run FILE'", args[0])
	case set["seeds"] && c.seeds == 0:
		return usagef("swarm: --seeds 0: nothing to run", "give --seeds N with N >= 1, or --duration D alone for an unbounded range")
	case c.duration < 0:
		return usagef("swarm: --duration %v: want a positive duration", "such as --duration 5m", c.duration)
	case c.workers < 1:
		return usagef("swarm: --workers %d: want at least 1", "", c.workers)
	case c.maxFailures < 0:
		return usagef("swarm: --max-failures %d: want 0 (no limit) or more", "", c.maxFailures)
	case c.shrink < 0:
		return usagef("swarm: --shrink %d: want 0 (no shrinking) or more", "", c.shrink)
	case c.save == "":
		return usagef("swarm: --save: empty directory name", "give a directory such as --save simrun-failures")
	}
	if c.mixes == "help" {
		for _, m := range swarm.Mixes {
			fmt.Fprintf(c.main.Stdout, "%-12s weight %2d  %s\n", m.Name, m.Weight, m.Doc)
			if m.Known != "" {
				fmt.Fprintf(c.main.Stdout, "%-12s known defect, left out by default: %s\n", "", m.Known)
			}
		}
		return nil
	}
	mset := swarm.MixSet{Known: c.known}
	if c.mixes != "" {
		mset.Only = strings.Split(c.mixes, ",")
	}
	mixes, err := mset.Use()
	if err != nil {
		return usagef("swarm: --mix: %v", "'--mix help' lists the mixes", err)
	}
	shard, err := swarm.ParseShard(c.shard)
	if err != nil {
		return usagef("swarm: --shard: %v", "for 4 machines: --shard 0/4 on the first, ... --shard 3/4 on the last", err)
	}
	if !set["seeds"] && c.duration == 0 {
		c.seeds = 1000
	}
	if err := c.out.check(); err != nil {
		return err
	}
	var fl files
	defer fl.abort()
	var traceFile, timelineFile, junitFile *pendingFile
	for _, f := range []struct {
		flag, path string
		dst        **pendingFile
	}{{"--trace", c.out.trace, &traceFile}, {"--timeline", c.out.timeline, &timelineFile}, {"--junit", c.out.junit, &junitFile}} {
		if f.path != "" {
			if *f.dst, err = fl.create(f.flag, f.path); err != nil {
				return err
			}
		}
	}

	tuneGC()
	w := c.main.Stdout
	rng := fmt.Sprintf("seeds [%d,%d)", c.start, c.start+c.seeds)
	if c.seeds == 0 {
		rng = fmt.Sprintf("seeds from %d", c.start)
	}
	if c.duration > 0 {
		rng += fmt.Sprintf(" for at most %v", c.duration)
	}
	mix := "mixes " + mset.String()
	if c.config != nil {
		mix = "test mix"
	}
	fmt.Fprintf(w, "swarm: %s, %s, shard %s, %d workers\n", mix, rng, shard, c.workers)

	rctx := ctx
	if c.duration > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	prog := &progress{on: c.main.Terminal, w: w, start: time.Now()}
	jr := newJUnit("simrun swarm", "mix", mix, "shard", shard.String(), "start", fmt.Sprint(c.start), "seeds", fmt.Sprint(c.seeds))
	var fails []*swarm.Result
	cov := coverage.Counts{}
	firstSeed := map[string]uint64{} // the first seed (in seed order) that hit each class
	start := time.Now()
	sum, runErr := swarm.Run(rctx, swarm.Options{
		Start: c.start, Seeds: c.seeds, Shard: shard, Workers: c.workers,
		MaxFailures: c.maxFailures, Config: c.config, Mixes: mset,
	}, func(r *swarm.Result) {
		cov.Add(r.Hits)
		for _, h := range r.Hits {
			if _, ok := firstSeed[h]; !ok {
				firstSeed[h] = r.Seed
			}
		}
		name := fmt.Sprintf("seed %d", r.Seed)
		switch {
		case r.Err != nil:
			prog.clear()
			fmt.Fprintf(w, "ERROR seed %d: %v\n", r.Seed, r.Err)
			jr.add(name, "simrun.swarm", c.out.seconds(r.Wall), "error", r.Err.Error(), r.Err.Error(), true)
			fails = append(fails, r)
		case !r.Report.OK():
			prog.clear()
			v := r.Report.First()
			fmt.Fprintf(w, "FAIL seed %d: %s\n", r.Seed, v)
			jr.add(name, "simrun.swarm", c.out.seconds(r.Wall), string(v.Property), v.String(),
				fmt.Sprintf("SEED %d\nPLAN\n%s\n%s", r.Seed, r.Config.Plan, r.Report), false)
			fails = append(fails, r)
		default:
			if c.verbose {
				prog.clear()
				fmt.Fprintf(w, "ok   seed %d: written=%d virtual=%v steps=%d wall=%s\n", r.Seed, r.Written, r.Virtual.Round(time.Millisecond), r.Steps, c.out.wall(r.Wall))
			}
			jr.add(name, "simrun.swarm", c.out.seconds(r.Wall), "", "", "", false)
		}
		prog.update(len(jr.suite.Cases), len(fails))
	})
	wall := time.Since(start)
	prog.clear()
	interrupted := runErr != nil && ctx.Err() != nil // not just the duration
	if interrupted {
		fmt.Fprintf(w, "swarm: interrupted\n")
	}

	// Shrink, save and explain each failure.
	var saveErr error
	var firstCase *savedCase
	for _, r := range fails {
		sc, err := c.report(ctx, r)
		if err != nil && saveErr == nil {
			saveErr = err
		}
		if firstCase == nil && sc != nil {
			firstCase = sc
		}
	}

	rate := float64(sum.Runs) / wall.Seconds()
	fmt.Fprintf(w, "swarm: %d seeds run, %d failed", sum.Runs, sum.Failed)
	switch {
	case sum.Complete:
	case c.maxFailures > 0 && sum.Failed >= c.maxFailures:
		fmt.Fprintf(w, " (stopped at --max-failures %d; resume with --start %d)", c.maxFailures, sum.Next)
	case c.seeds > 0:
		fmt.Fprintf(w, " (range not finished; resume with --start %d)", sum.Next)
	}
	if c.out.noWall {
		fmt.Fprintf(w, "; wall -\n")
	} else {
		fmt.Fprintf(w, "; wall %s, %.0f seeds/s\n", c.out.wall(wall), rate)
	}

	// Coverage.
	skip := notRequired(mixes)
	if !c.known && c.config == nil {
		for cl, issue := range swarm.RestrictedClasses {
			if _, ok := skip[cl]; !ok {
				skip[cl] = "restricted (" + issue + "; --known runs it)"
			}
		}
	}
	fmt.Fprintf(w, "coverage (seeds that hit each hazard class, and the first one):\n")
	for _, cl := range coverage.Classes {
		note := ""
		if s, ok := firstSeed[cl.Name]; ok {
			note = fmt.Sprintf("  seed %d", s)
		}
		if why, ok := skip[cl.Name]; ok {
			note += "  (not required: " + why + ")"
		}
		fmt.Fprintf(w, "  %-34s %6d%s\n", cl.Name, cov[cl.Name], note)
		jr.prop("coverage."+cl.Name, fmt.Sprint(cov[cl.Name]))
	}
	var short []string
	if c.require.k > 0 {
		for _, n := range cov.Below(c.require.k) {
			if _, ok := skip[n]; !ok {
				short = append(short, n)
			}
		}
		// simrun merge re-judges the verdict from the summed counts: it
		// needs k and the classes that were not required.
		exempt := make([]string, 0, len(skip))
		for n := range skip {
			exempt = append(exempt, n)
		}
		sort.Strings(exempt)
		jr.prop("coverage-required", fmt.Sprint(c.require.k))
		jr.prop("coverage-exempt", strings.Join(exempt, ","))
		jr.add("coverage", "simrun.swarm.coverage", "0", failType(short), coverageMsg(short, c.require.k), "", false)
	}

	// Reports.
	if junitFile != nil {
		if err := jr.write(junitFile, c.out.seconds(wall)); err != nil {
			return fmt.Errorf("--junit %s: %w", c.out.junit, err)
		}
		if err := junitFile.Commit(); err != nil {
			return err
		}
	}
	if traceFile != nil || timelineFile != nil {
		if firstCase == nil {
			fmt.Fprintf(w, "swarm: no failure, so no --trace/--timeline written\n")
		} else if err := firstCase.writeReports(traceFile, timelineFile); err != nil {
			return err
		}
	}
	switch {
	case sum.Failed == 0 && len(short) > 0 && saveErr == nil && !interrupted:
		return &CoverageError{Classes: short, K: c.require.k}
	case sum.Failed > 0:
		if saveErr != nil {
			fmt.Fprintf(c.main.Stderr, "simrun: %v\n", saveErr)
		}
		return &FailedError{Failed: sum.Failed, Total: sum.Runs, What: "seed"}
	case saveErr != nil:
		return saveErr
	case interrupted:
		return fmt.Errorf("swarm interrupted after %d seeds", sum.Runs)
	}
	return nil
}

// savedCase is a shrunk failure saved as a scenario file.
type savedCase struct {
	s    *scenarios.Scenario
	path string
}

// writeReports reruns the saved case with its trace captured.
func (sc *savedCase) writeReports(trace, timeline *pendingFile) error {
	var buf bytes.Buffer
	out, err := scenarios.Run(sc.s, scenarios.RunOptions{Trace: &buf})
	if err != nil {
		return err
	}
	if trace != nil {
		if _, err := trace.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("--trace %s: %w", trace.path, unwrapPath(err))
		}
		if err := trace.Commit(); err != nil {
			return err
		}
	}
	if timeline != nil {
		var step int64
		if v := out.Report.First(); v != nil {
			step = v.Step
		}
		if err := writeTimeline(timeline, &buf, sc.s.Name, step); err != nil {
			return fmt.Errorf("--timeline %s: %w", timeline.path, err)
		}
		if err := timeline.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// report shrinks a failing seed, saves it and prints SEED / PLAN / the
// first violation / the replay command.
func (c *SwarmCommand) report(ctx context.Context, r *swarm.Result) (*savedCase, error) {
	w := c.main.Stdout
	fmt.Fprintf(w, "\nSEED %d\n", r.Seed)
	if r.Err != nil {
		fmt.Fprintf(w, "ERROR %v\nPLAN\n%s", r.Err, r.Config.Plan)
		return nil, nil
	}
	first := r.Report.First()
	fmt.Fprintf(w, "PLAN (%d items)\n%s", r.Config.Plan.Len(), r.Config.Plan)
	fmt.Fprintf(w, "FIRST VIOLATION %s\n", first)
	if r.Hung {
		// Shrinking or saving would run it again: it would hang again.
		fmt.Fprintf(w, "not shrunk or saved: the run never returned\nreplay (hangs until the bug is fixed): go run ./cmd/simrun replay --seed %d%s\n", r.Seed, c.mixFlags())
		return nil, nil
	}
	cfg, rep := r.Config, r.Report
	doc := []string{
		fmt.Sprintf("Found by simrun swarm: seed %d, first violation %s.", r.Seed, first.Property),
	}
	if c.shrink > 0 {
		attempts := c.shrink
		if first.Property == oracle.PropLivelock {
			// Each attempt may run up to the step budget: keep it short.
			attempts = min(attempts, livelockShrink)
		}
		sh := swarm.Shrink(ctx, r.Config, first.Property, r.Report, swarm.ShrinkOptions{MaxAttempts: attempts, Workers: c.workers})
		cfg, rep = sh.Config, sh.Report
		fmt.Fprintf(w, "SHRUNK in %d attempts (%d kept): plan %d -> %d items, targets %d -> %d, horizon %v -> %v\n",
			sh.Attempts, sh.Accepted, r.Config.Plan.Len(), cfg.Plan.Len(), len(r.Config.Targets), len(cfg.Targets), r.Config.Horizon, cfg.Horizon)
		doc = append(doc, fmt.Sprintf("Shrunk in %d attempts from %d to %d plan items.", sh.Attempts, r.Config.Plan.Len(), cfg.Plan.Len()))
	}
	v := rep.First()
	doc = append(doc, "Violation: "+v.String(),
		fmt.Sprintf("Unshrunk: go run ./cmd/simrun replay --seed %d%s (mix %s)", r.Seed, c.mixFlags(), r.Mix))
	if c.config != nil {
		doc[len(doc)-1] = "Unshrunk: not from the standard mix (a test mix)."
	}
	name := strings.ReplaceAll(string(v.Property), "-", "_") + fmt.Sprintf("_seed_%d", r.Seed)
	s := scenarios.FromConfig(name, strings.Join(doc, "\n"), cfg)
	out, err := scenarios.Run(s, scenarios.RunOptions{})
	if err != nil {
		return nil, err
	}
	s = s.WithExpected(out.Output)
	path := filepath.Join(c.save, name+".txt")
	s.File = path
	fmt.Fprintf(w, "CASE\n%s", header(s))
	fmt.Fprintf(w, "FIRST VIOLATION %s\n", v)
	if err := os.MkdirAll(c.save, 0o755); err != nil {
		return nil, fmt.Errorf("--save %s: %w", c.save, unwrapPath(err))
	}
	if err := writeFile("--save", path, []byte(scenarios.Format(s, out))); err != nil {
		return nil, err
	}
	// Replay the saved file, as the printed command will, and say so if it
	// does not reproduce.
	saved, err := scenarios.ReadFile(path)
	if err == nil {
		var again *scenarios.Outcome
		if again, err = scenarios.Run(saved, scenarios.RunOptions{}); err == nil {
			if again.Verdict || again.Report.First() == nil || again.Report.First().String() != v.String() {
				fmt.Fprintf(w, "FLAKY: replaying %s did not reproduce the violation\n", path)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "saved %s\nreplay: go run ./cmd/simrun replay %s\n", path, path)
	if c.config == nil {
		fmt.Fprintf(w, "replay unshrunk: go run ./cmd/simrun replay --seed %d%s\n", r.Seed, c.mixFlags())
	}
	return &savedCase{s: saved, path: path}, nil
}

// progress is the rewritten status line on a terminal.
type progress struct {
	on    bool
	w     interface{ Write([]byte) (int, error) }
	start time.Time
	last  time.Time
	shown bool
}

func (p *progress) update(runs, failed int) {
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	el := now.Sub(p.start)
	fmt.Fprintf(p.w, "\r\033[Kswarm: %d seeds, %d failed, %.0f seeds/s, %v", runs, failed,
		float64(runs)/el.Seconds(), el.Round(time.Second))
	p.shown = true
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

var _ = errors.Is
var _ oracle.Property

// livelockShrink caps the shrink attempts of a livelock: each may run a
// whole step budget.
const livelockShrink = 20

// mixFlags are the replay flags that select the swarm's mixes.
func (c *SwarmCommand) mixFlags() string {
	f := ""
	if c.mixes != "" {
		f += " --mix " + c.mixes
	}
	if c.known {
		f += " --known"
	}
	return f
}

// requireFlag is --require-coverage=k (Run turns a bare
// --require-coverage into k = 1).
type requireFlag struct{ k int }

func (f *requireFlag) String() string { return fmt.Sprint(f.k) }
func (f *requireFlag) Set(s string) error {
	var k int
	if _, err := fmt.Sscanf(s, "%d", &k); err != nil || k < 1 || fmt.Sprint(k) != s {
		return fmt.Errorf("want a count k >= 1, got %q", s)
	}
	f.k = k
	return nil
}

// CoverageError reports coverage classes hit fewer than K times: main
// exits with ExitFailed.
type CoverageError struct {
	Classes []string
	K       int
}

func (e *CoverageError) Error() string { return coverageMsg(e.Classes, e.K) }

func coverageMsg(classes []string, k int) string {
	if len(classes) == 0 {
		return ""
	}
	return fmt.Sprintf("coverage: %d class(es) hit fewer than %d time(s): %s", len(classes), k, strings.Join(classes, ", "))
}

func failType(short []string) string {
	if len(short) == 0 {
		return ""
	}
	return "coverage"
}

// notRequired maps the classes that only mixes not in use reach to the
// mix (and its issue).
func notRequired(use []swarm.Mix) map[string]string {
	out := map[string]string{}
	for _, m := range swarm.Mixes {
		if slices.ContainsFunc(use, func(x swarm.Mix) bool { return x.Name == m.Name }) {
			continue
		}
		for _, c := range m.Classes {
			why := "only mix " + m.Name + " reaches it"
			if m.Known != "" {
				why += ", a known defect (see --mix help)"
			}
			out[c] = why
		}
	}
	return out
}

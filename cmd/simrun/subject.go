package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/logstream-sim/logstream-sim/scenarios"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
	"github.com/logstream-sim/logstream-sim/sim/swarm"
	"github.com/logstream-sim/logstream-sim/subject"
)

// SubjectCommand runs scenarios against an external subject in real time.
type SubjectCommand struct {
	main    *Main
	cmd     string
	also    string
	factor  float64
	workers int
	hazards bool
	seeds   int
	seed    uint64
	known   bool
	retries int
	logs    string
	out     outputFlags
}

// Usage implements Command.
func (c *SubjectCommand) Usage() string {
	return `usage: simrun subject --cmd "COMMAND" [flags] [scenario files, directories or built-in names]

Runs each scenario against an external subject: COMMAND is started once per
site (one sender, one process per receiver) and speaks the JSON-lines
protocol of subject/PROTOCOL.md on stdin/stdout. The harness is the network
(it applies the fault plan to every message) and the writer and rotator of
the log on the real file system. Time is real and scaled: scenario timings
are divided by --factor. The oracle judges the record; the table prints the
jitter allowance (how late the harness's own timers fired, in scenario
time). Scenarios whose faults cannot be placed in real time are SKIPPED with
the reason. With no scenario, the built-in suite runs.

Flags:

	--cmd COMMAND    the command that starts one site (required)
	--factor F       time scale (default 25: a 500ms poll becomes 20ms)
	--workers N      scenarios run at once (default 2)
	--hazards        run the scenarios of the reference's hazards and print
	                 the hazard report (H1...H20: verdict, first violation,
	                 replay command)
	--also COMMAND   with --hazards: a second subject, a second verdict column;
	                 the scenarios' known-failure marks (failures of this
	                 module's streamer whose fix is another issue's) apply
	                 to it
	--known-failures the known-failure marks apply to --cmd too (for this
	                 module's streamer)
	--retries N      rerun a failed scenario of this module's streamer (the
	                 subject the known-failure marks apply to) up to N times:
	                 real time is noisy; one that then passes is reported as
	                 flaky, with its first failure
	--seeds N        run N random swarm configurations (those runnable in
	                 real time) instead of scenarios
	--seed S         first swarm seed (default 1)
	--site-logs FILE append every site's stderr to FILE
` + outputUsage + `
Exit status: 0 every run held, 1 a property failed or a site broke the
protocol, 2 bad usage.
`
}

// subjectRun is one scenario run against one subject.
type subjectRun struct {
	s     *scenarios.Scenario
	cmd   string
	skip  string
	res   *subject.Result
	rep   *oracle.Report
	err   error
	pass  bool
	known bool   // failed, and the scenario is a known failure (Scenario.KnownFailure)
	flaky string // the first run's failure, when a rerun (--retries) passed
	why   string
	trace bytes.Buffer
}

// Run implements Command.
func (c *SubjectCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("subject", flag.ContinueOnError)
	fs.StringVar(&c.cmd, "cmd", "", "site `COMMAND`")
	fs.StringVar(&c.also, "also", "", "second subject `COMMAND` (with --hazards)")
	fs.Float64Var(&c.factor, "factor", subject.DefaultFactor, "time scale `F`")
	fs.IntVar(&c.workers, "workers", 2, "`N` scenarios at once")
	fs.BoolVar(&c.hazards, "hazards", false, "print the hazard report")
	fs.IntVar(&c.seeds, "seeds", 0, "`N` random swarm configurations")
	fs.Uint64Var(&c.seed, "seed", 1, "first swarm seed `S`")
	fs.StringVar(&c.logs, "site-logs", "", "append site stderr to `FILE`")
	fs.BoolVar(&c.known, "known-failures", false, "known-failure marks apply to --cmd")
	fs.IntVar(&c.retries, "retries", 0, "rerun a failed scenario up to `N` times")
	c.out.register(fs)
	args, err := c.main.parseFlags(fs, c.Usage(), args)
	if err != nil {
		return err
	}
	if c.cmd == "" {
		return usagef("subject: --cmd is required", `for example --cmd "go run ./cmd/logstream-subject"`)
	}
	if c.factor <= 0 || c.factor > 1000 {
		return usagef("subject: --factor %g out of range (0, 1000]", "25 is a good start", c.factor)
	}
	if c.workers < 1 {
		return usagef("subject: --workers %d must be >= 1", "", c.workers)
	}
	if c.retries < 0 || c.retries > 10 {
		return usagef("subject: --retries %d out of range [0, 10]", "", c.retries)
	}
	if c.also != "" && !c.hazards {
		return usagef("subject: --also needs --hazards", "")
	}
	if err := c.out.check(); err != nil {
		return err
	}
	var list []*scenarios.Scenario
	switch {
	case c.seeds > 0:
		if len(args) > 0 {
			return usagef("subject: --seeds takes no scenarios", "")
		}
		for i := 0; i < c.seeds; i++ {
			seed := c.seed + uint64(i)
			list = append(list, scenarios.FromConfig(fmt.Sprintf("seed-%d", seed), "swarm seed", swarm.Config(seed)))
		}
	case c.hazards && len(args) == 0:
		seen := map[string]bool{}
		for _, h := range subject.Hazards {
			if !seen[h.Scenario] {
				seen[h.Scenario] = true
				args = append(args, h.Scenario)
			}
		}
		fallthrough
	default:
		if list, err = loadScenarios(args); err != nil {
			return err
		}
	}
	var siteLog io.Writer
	if c.logs != "" {
		f, err := os.OpenFile(c.logs, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return usagef("--site-logs: %v", "", err)
		}
		defer f.Close()
		siteLog = &lockedWriter{w: f}
	}
	cmds := []string{c.cmd}
	if c.also != "" {
		cmds = append(cmds, c.also)
	}
	var runs []*subjectRun
	for _, cmd := range cmds {
		for _, s := range list {
			r := &subjectRun{s: s, cmd: cmd}
			r.skip = subject.SkipReason(s.Config, c.factor)
			runs = append(runs, r)
		}
	}
	start := time.Now()
	tw := tabwriter.NewWriter(c.main.Stdout, 0, 8, 2, ' ', 0)
	if len(cmds) > 1 {
		fmt.Fprintln(tw, "SUBJECT\tSCENARIO\tRESULT\tWRITTEN\tDELIVERED\tDONE\tSENDER\tJITTER\tWALL")
	} else {
		fmt.Fprintln(tw, "SCENARIO\tRESULT\tWRITTEN\tDELIVERED\tDONE\tSENDER\tJITTER\tWALL")
	}
	var failed, skipped, known int
	err = swarm.Ordered(ctx, uint64(len(runs)), true, c.workers,
		func(i uint64) *subjectRun { c.runOne(ctx, runs[i], siteLog); return runs[i] },
		func(i uint64, r *subjectRun) bool {
			prefix := ""
			if len(cmds) > 1 {
				prefix = subjectLabel(r.cmd) + "\t"
			}
			switch {
			case r.skip != "":
				skipped++
				fmt.Fprintf(tw, "%s%s\tSKIP\t-\t-\t-\t-\t-\t-\n", prefix, r.s.Name)
			case r.err != nil:
				failed++
				fmt.Fprintf(tw, "%s%s\tERROR\t-\t-\t-\t-\t-\t%s\n", prefix, r.s.Name, c.out.wall(wallOf(r)))
			default:
				res := "ok"
				switch {
				case r.flaky != "":
					res = "ok (flaky)"
				case r.known:
					res = fmt.Sprintf("known failure (issue %d)", r.s.KnownFailure)
					known++
				case !r.pass:
					res = "FAIL"
					failed++
				}
				fmt.Fprintf(tw, "%s%s\t%s\t%s\n", prefix, r.s.Name, res, c.columns(r))
			}
			return true
		})
	tw.Flush()
	if err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	wall := time.Since(start)
	jr := newJUnit("simrun subject", "cmd", c.cmd, "factor", fmt.Sprint(c.factor))
	for _, r := range runs {
		name := r.s.Name
		if len(cmds) > 1 {
			name = subjectLabel(r.cmd) + "/" + name
		}
		switch {
		case r.skip != "":
			fmt.Fprintf(c.main.Stdout, "\n--- SKIP %s: %s\n", name, r.skip)
			jr.addSkipped(name, "simrun.subject", r.skip)
		case r.err != nil:
			fmt.Fprintf(c.main.Stdout, "\n--- ERROR %s\n%v\nreplay: %s\n", name, r.err, c.replay(r))
			jr.add(name, "simrun.subject", c.out.seconds(wallOf(r)), "error", r.err.Error(), r.err.Error(), true)
		case r.flaky != "":
			fmt.Fprintf(c.main.Stdout, "\n--- FLAKY %s: failed, then passed on a rerun; the first failure:\n%s\nreplay: %s\n", name, r.flaky, c.replay(r))
			jr.add(name, "simrun.subject", c.out.seconds(r.res.Wall), "", "", "", false)
		case r.known:
			fmt.Fprintf(c.main.Stdout, "\n--- known failure (issue %d) %s\n%s\n", r.s.KnownFailure, name, r.why)
			jr.add(name, "simrun.subject", c.out.seconds(r.res.Wall), "", "", "", false)
		case !r.pass:
			fmt.Fprintf(c.main.Stdout, "\n--- FAIL %s (jitter allowance %v)\n%s\nreplay: %s\n", name, r.res.Jitter.Round(time.Millisecond), r.why, c.replay(r))
			jr.add(name, "simrun.subject", c.out.seconds(r.res.Wall), "oracle", firstLine(r.why), r.why+"\n\n"+r.rep.String(), false)
		default:
			jr.add(name, "simrun.subject", c.out.seconds(r.res.Wall), "", "", "", false)
		}
	}
	if c.hazards {
		c.hazardReport(runs, cmds)
	}
	fmt.Fprintf(c.main.Stdout, "\n%d runs: %d ok, %d failed, %d skipped", len(runs), len(runs)-failed-skipped-known, failed, skipped)
	if known > 0 {
		fmt.Fprintf(c.main.Stdout, ", %d known failures", known)
	}
	fmt.Fprintf(c.main.Stdout, "; factor %g; wall %s\n", c.factor, c.out.wall(wall))
	if err := c.writeReports(runs, jr, wall); err != nil {
		return err
	}
	if failed > 0 {
		return &FailedError{Failed: failed, Total: len(runs) - skipped - known, What: "subject run"}
	}
	return nil
}

func wallOf(r *subjectRun) time.Duration {
	if r.res != nil {
		return r.res.Wall
	}
	return 0
}

// subjectLabel names a subject command in tables: its last word that looks
// like a program or script name.
func subjectLabel(cmd string) string {
	f := strings.Fields(cmd)
	for i := len(f) - 1; i >= 0; i-- {
		w := f[i]
		if strings.HasPrefix(w, "-") {
			continue
		}
		if j := strings.LastIndex(w, "/"); j >= 0 {
			w = w[j+1:]
		}
		return w
	}
	return cmd
}

func (c *SubjectCommand) replay(r *subjectRun) string {
	if seed, ok := strings.CutPrefix(r.s.Name, "seed-"); ok && c.seeds > 0 {
		return fmt.Sprintf("simrun subject --cmd %q --factor %g --seeds 1 --seed %s", r.cmd, c.factor, seed)
	}
	return fmt.Sprintf("simrun subject --cmd %q --factor %g %s", r.cmd, c.factor, r.s.Name)
}

// runOne runs one scenario against one subject and judges it.
func (c *SubjectCommand) runOne(ctx context.Context, r *subjectRun, siteLog io.Writer) {
	if r.skip != "" {
		return
	}
	c.runOnce(ctx, r, siteLog)
	for i := 0; i < c.retries && c.ours(r) && r.err == nil && !r.pass && !r.known && ctx.Err() == nil; i++ {
		// Real time is noisy: run a failure again; a pass then is reported
		// as flaky, with the first failure.
		first := r.why
		r.trace.Reset()
		c.runOnce(ctx, r, siteLog)
		if r.err == nil && r.pass {
			r.flaky = first
		}
	}
}

// ours reports whether r's subject is this module's streamer, to which the
// known-failure marks and --retries apply: --cmd with --known-failures, and
// --also.
func (c *SubjectCommand) ours(r *subjectRun) bool {
	return c.known && r.cmd == c.cmd || c.also != "" && r.cmd == c.also
}

// runOnce runs one scenario against one subject once and judges it.
func (c *SubjectCommand) runOnce(ctx context.Context, r *subjectRun, siteLog io.Writer) {
	var tw io.Writer
	if c.out.trace != "" || c.out.timeline != "" {
		tw = &r.trace
	}
	r.res, r.err = subject.Run(ctx, subject.Config{Command: r.cmd, Sim: r.s.Config, Factor: c.factor, Stderr: siteLog, Trace: tw})
	if r.err != nil {
		return
	}
	r.rep = oracle.Check(r.res.History)
	var why []string
	if r.s.ExpectFail == "" {
		r.pass = r.rep.OK()
		if !r.pass {
			why = append(why, fmt.Sprintf("first violation: %s", r.rep.First()))
		}
	} else {
		for _, v := range r.rep.Violations {
			if v.Property == r.s.ExpectFail {
				r.pass = true
			}
		}
		if !r.pass {
			why = append(why, fmt.Sprintf("want a %s violation, got %v", r.s.ExpectFail, r.rep.First()))
		}
	}
	for _, p := range r.res.Problems {
		r.pass = false
		why = append(why, "harness: "+p)
	}
	if len(r.rep.Violations) > 1 {
		why = append(why, fmt.Sprintf("(%d violations in all)", len(r.rep.Violations)))
	}
	r.why = strings.Join(why, "\n")
	// A known failure of our streamer (its fix is another issue's) fails
	// here too; in real time it may also pass by luck of timing.
	if issue := subject.KnownRealTime[r.s.Name]; issue != 0 && r.s.KnownFailure == 0 {
		cp := *r.s // shared with the other subject's run
		cp.KnownFailure = issue
		r.s = &cp
	}
	r.known = !r.pass && r.s.KnownFailure != 0 && c.ours(r)
}

func (c *SubjectCommand) columns(r *subjectRun) string {
	h := r.res.History
	deliv, done := targetColumns(r.rep)
	sender := "none"
	if !h.SenderEnd.IsZero() {
		sender = string(h.Result.RC)
	}
	if !h.CrashAt.IsZero() {
		sender = "crashed"
	}
	return fmt.Sprintf("%d\t%s\t%s\t%s\t%v\t%s", h.Written, deliv, done, sender,
		r.res.Jitter.Round(time.Millisecond), c.out.wall(r.res.Wall))
}

// hazardReport prints one row per hazard: the verdict per subject and the
// first violation of the first subject that failed, with its replay command.
func (c *SubjectCommand) hazardReport(runs []*subjectRun, cmds []string) {
	by := map[string]*subjectRun{}
	for _, r := range runs {
		by[r.cmd+"\x00"+r.s.Name] = r
	}
	w := c.main.Stdout
	fmt.Fprintf(w, "\nHAZARD REPORT (factor %g)\n", c.factor)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	head := "HAZARD\tWHAT\tSCENARIO"
	for _, cmd := range cmds {
		head += "\t" + strings.ToUpper(subjectLabel(cmd))
	}
	fmt.Fprintln(tw, head)
	var details []string
	for _, hz := range subject.Hazards {
		row := hz.ID + "\t" + hz.What + "\t" + hz.Scenario
		var evidence string
		for _, cmd := range cmds {
			r := by[cmd+"\x00"+hz.Scenario]
			v := "-"
			switch {
			case r == nil:
			case r.skip != "":
				v = "skip"
			case r.err != nil:
				v = "ERROR"
				if evidence == "" {
					evidence = fmt.Sprintf("%s %s (%s): %v\n    replay: %s", hz.ID, hz.Scenario, subjectLabel(cmd), firstLine(r.err.Error()), c.replay(r))
				}
			case r.pass:
				v = "pass"
			case r.known:
				v = fmt.Sprintf("known(#%d)", r.s.KnownFailure)
			default:
				v = "FAIL"
				if evidence == "" {
					evidence = fmt.Sprintf("%s %s (%s): %s\n    replay: %s", hz.ID, hz.Scenario, subjectLabel(cmd), strings.ReplaceAll(r.why, "\n", "\n    "), c.replay(r))
				}
			}
			row += "\t" + v
		}
		fmt.Fprintln(tw, row)
		if evidence != "" {
			details = append(details, evidence)
		}
	}
	tw.Flush()
	if len(details) > 0 {
		fmt.Fprintf(w, "\nEVIDENCE (first violation per failing row)\n")
		for _, d := range details {
			fmt.Fprintf(w, "  %s\n", d)
		}
	}
}

// writeReports writes JUnit, traces and timelines.
func (c *SubjectCommand) writeReports(runs []*subjectRun, jr *junitReport, wall time.Duration) error {
	if c.out.junit != "" {
		var b bytes.Buffer
		if err := jr.write(&b, c.out.seconds(wall)); err != nil {
			return err
		}
		if err := writeFile("--junit", c.out.junit, b.Bytes()); err != nil {
			return err
		}
	}
	ran := 0
	for _, r := range runs {
		if r.res != nil {
			ran++
		}
	}
	for _, r := range runs {
		if r.res == nil {
			continue
		}
		name := r.s.Name
		if c.also != "" {
			name = subjectLabel(r.cmd) + "." + name
		}
		if c.out.trace != "" {
			p := c.out.trace
			if ran > 1 {
				p = perName(p, name)
			}
			if err := writeFile("--trace", p, r.trace.Bytes()); err != nil {
				return err
			}
		}
		if c.out.timeline != "" {
			p := c.out.timeline
			if ran > 1 {
				p = perName(p, name)
			}
			var step int64
			if v := r.rep.First(); v != nil {
				step = v.Step
			}
			var b bytes.Buffer
			if err := writeTimeline(&b, bytes.NewReader(r.trace.Bytes()), name, step); err != nil {
				return fmt.Errorf("--timeline %s: %w", p, err)
			}
			if err := writeFile("--timeline", p, b.Bytes()); err != nil {
				return err
			}
		}
	}
	return nil
}

// lockedWriter serializes writes from several runs.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

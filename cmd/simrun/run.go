package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/logstream-sim/logstream-sim/scenarios"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
	"github.com/logstream-sim/logstream-sim/sim/swarm"
)

// RunCommand runs scenarios (the built-in suite when none is named) and
// prints a summary table.
type RunCommand struct {
	main    *Main
	suite   bool // invoked as plain "simrun"
	out     outputFlags
	workers int
}

// Usage returns the help text of "run".
func (c *RunCommand) Usage() string {
	return `Usage: simrun run [flags] [FILE|DIR|NAME...]
       simrun [flags]

Runs scenarios and prints one line per scenario: result, bytes written,
bytes delivered per target, each target's done return code, the virtual
time the run reached and the wall time it took; then what went wrong with
each failing scenario. FILE is a scenario file, DIR contributes its *.txt
files, NAME is a built-in scenario (see 'simrun list'). With none, the
built-in suite runs. A scenario passes when the oracle's verdict is the
declared one and its output matches the file's expected block.

Flags:

	--workers N      scenarios run at a time (default: the number of CPUs)
` + outputUsage
}

// Run runs the command.
func (c *RunCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	c.out.register(fs)
	fs.IntVar(&c.workers, "workers", runtime.NumCPU(), "scenarios run at a time")
	args, err := c.main.parseFlags(fs, c.Usage(), args)
	if err != nil {
		return err
	}
	if c.workers < 1 {
		return usagef("run: --workers %d: want at least 1", "", c.workers)
	}
	if err := c.out.check(); err != nil {
		return err
	}
	list, err := loadScenarios(args)
	if err != nil {
		return err
	}
	title := "simrun run"
	if len(args) == 0 {
		title = "simrun suite"
	}
	return runScenarios(ctx, c.main, list, &c.out, c.workers, title)
}

// loadScenarios loads args (the built-in suite when empty); errors are bad
// input.
func loadScenarios(args []string) ([]*scenarios.Scenario, error) {
	list, err := scenarios.Load(args...)
	switch {
	case errors.Is(err, scenarios.ErrUnknown):
		return nil, &UsageError{Msg: err.Error(), Hint: "run 'simrun list' for the built-in scenario names"}
	case errors.Is(err, scenarios.ErrSyntax):
		return nil, &UsageError{Msg: err.Error(), Hint: "the scenario file format is described in 'go doc ./scenarios'"}
	case err != nil:
		return nil, &UsageError{Msg: err.Error()}
	}
	return list, nil
}

// scenarioRun is one scenario's run and its report files.
type scenarioRun struct {
	s        *scenarios.Scenario
	out      *scenarios.Outcome
	err      error
	trace    *pendingFile
	timeline *pendingFile
}

// openReports creates the pending trace and timeline files of runs.
func openReports(fl *files, o *outputFlags, runs []*scenarioRun) error {
	seen := map[string]string{}
	for _, r := range runs {
		for _, f := range []struct {
			flag, path string
			dst        **pendingFile
		}{{"--trace", o.trace, &r.trace}, {"--timeline", o.timeline, &r.timeline}} {
			if f.path == "" {
				continue
			}
			p := f.path
			if len(runs) > 1 {
				p = perName(p, r.s.Name)
			}
			if other, ok := seen[p]; ok {
				return usagef("%s: scenario %s is given twice (also as %s)", "name each scenario once", f.flag, r.s.Name, other)
			}
			seen[p] = r.s.File
			pf, err := fl.create(f.flag, p)
			if err != nil {
				return err
			}
			*f.dst = pf
		}
	}
	return nil
}

// runOne runs r's scenario, writing its trace and timeline.
func runOne(r *scenarioRun) {
	var buf *bytes.Buffer
	var tw io.Writer
	switch {
	case r.timeline != nil:
		buf = new(bytes.Buffer)
		tw = buf
	case r.trace != nil:
		tw = r.trace
	}
	r.out, r.err = scenarios.Run(r.s, scenarios.RunOptions{Trace: tw})
	if r.err != nil || buf == nil {
		return
	}
	if r.trace != nil {
		if _, err := r.trace.Write(buf.Bytes()); err != nil {
			r.err = fmt.Errorf("--trace %s: %w", r.trace.path, unwrapPath(err))
			return
		}
	}
	var step int64
	if v := r.out.Report.First(); v != nil {
		step = v.Step
	}
	if err := writeTimeline(r.timeline, buf, r.s.Name, step); err != nil {
		r.err = fmt.Errorf("--timeline %s: %w", r.timeline.path, err)
	}
}

// runScenarios runs list on workers goroutines and reports in list order.
func runScenarios(ctx context.Context, m *Main, list []*scenarios.Scenario, o *outputFlags, workers int, title string) error {
	var fl files
	defer fl.abort()
	runs := make([]*scenarioRun, len(list))
	for i, s := range list {
		runs[i] = &scenarioRun{s: s}
	}
	if err := openReports(&fl, o, runs); err != nil {
		return err
	}
	var junitFile *pendingFile
	if o.junit != "" {
		var err error
		if junitFile, err = fl.create("--junit", o.junit); err != nil {
			return err
		}
	}

	tuneGC()
	start := time.Now()
	tw := tabwriter.NewWriter(m.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tRESULT\tWRITTEN\tDELIVERED\tDONE\tVIRTUAL\tWALL")
	var failed, errs, known int
	err := swarm.Ordered(ctx, uint64(len(runs)), true, workers,
		func(i uint64) *scenarioRun { runOne(runs[i]); return runs[i] },
		func(i uint64, r *scenarioRun) bool {
			switch {
			case r.err != nil:
				errs++
				fmt.Fprintf(tw, "%s\tERROR\t-\t-\t-\t-\t-\n", r.s.Name)
			default:
				res := "ok"
				switch {
				case !r.out.Pass:
					res = "FAIL"
					failed++
				case r.out.Known:
					res = fmt.Sprintf("known failure (issue %d)", r.s.KnownFailure)
					known++
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.s.Name, res, summaryColumns(r.out, o))
			}
			return true
		})
	tw.Flush()
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	jr := newJUnit(title)
	for _, r := range runs {
		switch {
		case r.err != nil:
			fmt.Fprintf(m.Stdout, "\n--- ERROR %s\n%v\n", r.s.File, r.err)
			jr.add(r.s.Name, "simrun.scenarios", "0", "error", r.err.Error(), r.err.Error(), true)
		case !r.out.Pass:
			fmt.Fprintf(m.Stdout, "\n--- FAIL %s\n%s\n", r.s.File, strings.TrimRight(r.out.Mismatch, "\n"))
			typ, msg := failureOf(r.out)
			jr.add(r.s.Name, "simrun.scenarios", o.seconds(r.out.Wall), typ, msg, r.out.Mismatch+"\n\n"+r.out.Report.String(), false)
		case r.out.Known:
			fmt.Fprintf(m.Stdout, "\n--- known failure (issue %d) %s\n%s\n", r.s.KnownFailure, r.s.File, r.out.Report.First())
			jr.add(r.s.Name, "simrun.scenarios", o.seconds(r.out.Wall), "", "", "", false)
		default:
			jr.add(r.s.Name, "simrun.scenarios", o.seconds(r.out.Wall), "", "", "", false)
		}
	}
	fmt.Fprintf(m.Stdout, "\n%d scenarios: %d ok, %d failed", len(runs), len(runs)-failed-errs-known, failed)
	if known > 0 {
		fmt.Fprintf(m.Stdout, ", %d known failures", known)
	}
	if errs > 0 {
		fmt.Fprintf(m.Stdout, ", %d errors", errs)
	}
	fmt.Fprintf(m.Stdout, "; wall %s\n", o.wall(wall))

	if junitFile != nil {
		if err := jr.write(junitFile, o.seconds(wall)); err != nil {
			return fmt.Errorf("--junit %s: %w", o.junit, err)
		}
	}
	for _, r := range runs {
		if r.err != nil {
			continue // leave no report of a run that did not happen
		}
		for _, f := range []*pendingFile{r.trace, r.timeline} {
			if err := f.Commit(); err != nil {
				return err
			}
		}
	}
	if err := junitFile.Commit(); err != nil {
		return err
	}
	switch {
	case errs > 0:
		for _, r := range runs {
			if r.err != nil {
				return &UsageError{Msg: r.err.Error()}
			}
		}
	case failed > 0:
		return &FailedError{Failed: failed, Total: len(runs), What: "scenario"}
	}
	return nil
}

// summaryColumns formats the table columns after RESULT.
func summaryColumns(out *scenarios.Outcome, o *outputFlags) string {
	deliv, done := targetColumns(out.Report)
	h := out.History
	return fmt.Sprintf("%d\t%s\t%s\t%v\t%s", h.Written, deliv, done,
		h.LastEvent.Sub(h.Start).Round(time.Millisecond), o.wall(out.Wall))
}

// targetColumns formats, comma-separated per target, the bytes each target
// delivered and its done code ("none", or "RCxN" for N dones).
func targetColumns(rep *oracle.Report) (deliv, done string) {
	var ds, dn []string
	for _, t := range rep.Targets {
		ds = append(ds, fmt.Sprint(t.Delivered))
		d := "none"
		if t.Dones > 0 {
			d = string(t.Done)
			if t.Dones > 1 {
				d += fmt.Sprintf("x%d", t.Dones)
			}
		}
		dn = append(dn, d)
	}
	return strings.Join(ds, ","), strings.Join(dn, ",")
}

// failureOf returns a JUnit failure type and one-line message for a failed
// outcome: the first violation's property, or "mismatch".
func failureOf(out *scenarios.Outcome) (typ, msg string) {
	if !out.Verdict {
		if v := out.Report.First(); v != nil {
			return string(v.Property), v.String()
		}
		return "verdict", firstLine(out.Mismatch)
	}
	return "mismatch", firstLine(out.Mismatch)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/scenarios"
	"github.com/logstream-sim/logstream-sim/sim/coverage"
	"github.com/logstream-sim/logstream-sim/sim/swarm"
)

// ReplayCommand reruns one case exactly and prints everything about it.
type ReplayCommand struct {
	main    *Main
	out     outputFlags
	seed    uint64
	seedSet bool
	plan    string
	mixes   string
	known   bool
	mixName string
}

// Usage returns the help text of "replay".
func (c *ReplayCommand) Usage() string {
	return `Usage: simrun replay [flags] FILE|NAME
       simrun replay [flags] --seed S [--plan FILE]

Reruns one case exactly and prints it: the scenario text (config and fault
plan), the output block, the oracle's report, the hazard classes the run
hit (COVERAGE, see 'go doc ./sim/coverage') and the result.

With FILE or NAME, a scenario file (such as one 'simrun swarm' saved) or a
built-in scenario runs; it passes when the oracle's verdict is the declared
one and the output matches the file's expected block.

With --seed S, the swarm's standard mix for seed S is rebuilt (the mapping
from seed to run is a pure function, see 'go doc ./sim/swarm Config') and
passes when no property is violated. --plan FILE replaces its fault plan
with the plan in FILE (faults text: "at 10s rotate keep=2", "prob
drop-reply 0.01", ...; a scenario file's plan lines also parse).

Flags:

	--seed S         replay seed S of the standard mix
	--plan FILE      with --seed: use the fault plan in FILE
	--mix A,B        with --seed: the mixes the swarm drew from (as swarm's
	                 --mix; default: the default mixes)
	--known          with --seed: the swarm ran with --known
` + outputUsage
}

// Run runs the command.
func (c *ReplayCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	c.out.register(fs)
	fs.Func("seed", "replay seed `S` of the standard mix", func(s string) error {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want a decimal integer in [0, 2^64), got %q", s)
		}
		c.seed, c.seedSet = n, true
		return nil
	})
	fs.StringVar(&c.plan, "plan", "", "with --seed: the fault plan in `FILE`")
	fs.StringVar(&c.mixes, "mix", "", "with --seed: the swarm's --mix")
	fs.BoolVar(&c.known, "known", false, "with --seed: the swarm's --known")
	args, err := c.main.parseFlags(fs, c.Usage(), args)
	if err != nil {
		return err
	}
	if err := c.out.check(); err != nil {
		return err
	}
	var s *scenarios.Scenario
	bySeed := c.seedSet
	switch {
	case c.seedSet && len(args) > 0:
		return usagef("replay: --seed and a scenario (%q) conflict", "give either --seed S [--plan FILE] or one FILE|NAME", args[0])
	case c.plan != "" && !c.seedSet:
		return usagef("replay: --plan needs --seed", "a scenario file carries its own plan; to change a seed's plan: replay --seed S --plan FILE")
	case (c.mixes != "" || c.known) && !c.seedSet:
		return usagef("replay: --mix and --known need --seed", "they say which mixes a swarm seed was drawn from")
	case c.seedSet:
		mset := swarm.MixSet{Known: c.known}
		if c.mixes != "" {
			mset.Only = strings.Split(c.mixes, ",")
		}
		if _, err := mset.Use(); err != nil {
			return usagef("replay: --mix: %v", "'simrun swarm --mix help' lists the mixes", err)
		}
		cfg, mix := swarm.ConfigFor(mset)(c.seed)
		c.mixName = mix
		if c.plan != "" {
			p, err := readPlan(c.plan)
			if err != nil {
				return err
			}
			cfg.Plan = p
		}
		name := fmt.Sprintf("seed_%d", c.seed)
		s = scenarios.FromConfig(name, fmt.Sprintf("Seed %d of the swarm (mix %s).", c.seed, mix), cfg)
	case len(args) == 1:
		list, err := loadScenarios(args)
		if err != nil {
			return err
		}
		if len(list) != 1 {
			return usagef("replay: %q holds %d scenarios", "replay runs one case; use 'simrun run' for several", args[0], len(list))
		}
		s = list[0]
	case len(args) == 0:
		return usagef("replay: nothing to replay", "give a scenario FILE or NAME, or --seed S")
	default:
		return usagef("replay: %d scenarios given", "replay runs one case; use 'simrun run' for several", len(args))
	}

	var fl files
	defer fl.abort()
	run := &scenarioRun{s: s}
	if err := openReports(&fl, &c.out, []*scenarioRun{run}); err != nil {
		return err
	}
	var junitFile *pendingFile
	if c.out.junit != "" {
		var err error
		if junitFile, err = fl.create("--junit", c.out.junit); err != nil {
			return err
		}
	}
	runOne(run)
	if run.err != nil {
		return &UsageError{Msg: run.err.Error()}
	}
	out := run.out
	pass := out.Pass
	mismatch := out.Mismatch
	if bySeed {
		pass = out.Verdict
		mismatch = ""
		if !pass {
			mismatch = fmt.Sprintf("oracle: want ok, got %d violation(s); first: %s", len(out.Report.Violations), out.Report.First())
		}
	}
	w := c.main.Stdout
	if bySeed {
		fmt.Fprintf(w, "SEED %d (mix %s", c.seed, c.mixName)
		if c.plan != "" {
			fmt.Fprintf(w, ", plan from %s", c.plan)
		}
		fmt.Fprintln(w, ")")
	} else {
		fmt.Fprintf(w, "SCENARIO %s\n", s.File)
	}
	printCase(w, s, out.Output, out.Report.String())
	if hits := coverage.Hits(out.History); len(hits) > 0 {
		fmt.Fprintf(w, "COVERAGE %s\n", strings.Join(hits, ", "))
	}
	if pass {
		fmt.Fprintf(w, "RESULT ok; wall %s\n", c.out.wall(out.Wall))
	} else {
		fmt.Fprintf(w, "RESULT FAIL; wall %s\n%s\n", c.out.wall(out.Wall), strings.TrimRight(mismatch, "\n"))
	}

	if junitFile != nil {
		jr := newJUnit("simrun replay")
		class := "simrun.scenarios"
		if bySeed {
			class = "simrun.swarm"
		}
		typ, msg := "", ""
		if !pass {
			typ, msg = failureOf(out)
		}
		jr.add(s.Name, class, c.out.seconds(out.Wall), typ, msg, failureText(pass, mismatch, out.Report.String()), false)
		if err := jr.write(junitFile, c.out.seconds(out.Wall)); err != nil {
			return fmt.Errorf("--junit %s: %w", c.out.junit, err)
		}
	}
	for _, f := range []*pendingFile{run.trace, run.timeline, junitFile} {
		if err := f.Commit(); err != nil {
			return err
		}
	}
	if !pass {
		return &FailedError{Failed: 1, Total: 1, What: "case"}
	}
	return nil
}

func failureText(pass bool, mismatch, report string) string {
	if pass {
		return ""
	}
	return mismatch + "\n\n" + report
}

// readPlan reads a fault plan from path: faults text, or a scenario file
// whose plan lines are taken (its config is ignored).
func readPlan(path string) (faults.Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return faults.Plan{}, &UsageError{Msg: fmt.Sprintf("--plan %s: %v", path, unwrapPath(err))}
	}
	p, perr := faults.Parse(string(data))
	if perr == nil {
		return p, nil
	}
	if s, err := scenarios.Parse(path, data); err == nil {
		return s.Config.Plan, nil
	}
	return faults.Plan{}, &UsageError{Msg: fmt.Sprintf("--plan %s: %v", path, perr),
		Hint: "a plan is faults text, one item a line: \"at 10s rotate keep=2\", \"prob drop-reply 0.01\", \"delay fixed 5ms\""}
}

// printCase prints a case in sections: the scenario text (config and
// plan), the output block and the oracle's report.
func printCase(w io.Writer, s *scenarios.Scenario, output, report string) {
	fmt.Fprintf(w, "CONFIG\n%s", header(s))
	fmt.Fprintf(w, "OUTPUT\n%s", output)
	fmt.Fprintf(w, "REPORT\n%s", report)
}

// header returns s's scenario text without the separator and expected block.
func header(s *scenarios.Scenario) string {
	t := s.WithExpected("").String()
	return strings.TrimSuffix(t, scenarios.Separator+"\n")
}

var _ = errors.Is
var _ = bytes.NewReader
var _ = time.Now

package scenarios

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

// RunOptions adjust one run of a scenario.
type RunOptions struct {
	// Trace, if set, receives the run's JSON-lines trace.
	Trace io.Writer
}

// Outcome is the result of running one scenario.
type Outcome struct {
	Scenario *Scenario
	History  *sim.History
	Report   *oracle.Report
	// Output is the block the run produced, in the form of a scenario's
	// expected block (see the package documentation). It depends only on
	// the scenario, never on wall time.
	Output string
	// Pass is true when the oracle's verdict is the declared one (no
	// violation, or a violation of ExpectFail) and Output equals the
	// scenario's Expected block.
	Pass bool
	// Verdict is true when the oracle's verdict is the declared one,
	// whatever the output. For a known failure the declared verdict is a
	// violation.
	Verdict bool
	// Known is set for a known failure (Scenario.KnownFailure) whose run
	// the oracle still fails: a reported, accepted failure.
	Known bool
	// Mismatch explains a failure: a line diff of expected and got output,
	// and/or the verdict that was not the declared one. Empty on Pass.
	Mismatch string
	// Wall is how long the run took in real time.
	Wall time.Duration
}

// Run simulates s and judges it. s.Config is used as is, with its Trace
// replaced by opt.Trace (Variants set by a program, which no file can
// carry, are honoured). The error is for a scenario the simulator
// rejects (a bad config) or a failed trace write, and names the scenario's
// file; a failed expectation is reported in the Outcome, not as an error.
func Run(s *Scenario, opt RunOptions) (*Outcome, error) {
	start := time.Now()
	cfg := s.Config // Variants set by a program are honoured
	cfg.Trace = opt.Trace
	h, err := sim.Simulate(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.File, err)
	}
	rep := oracle.Check(h)
	out := &Outcome{Scenario: s, History: h, Report: rep, Output: FormatOutcome(h, rep)}
	out.Wall = time.Since(start)

	var why []string
	switch {
	case s.KnownFailure != 0:
		out.Verdict = !rep.OK()
		out.Known = out.Verdict
		if !out.Verdict {
			why = append(why, fmt.Sprintf("known failure (issue %d) now passes the oracle: remove the known-failure line, mention of it in the doc, and refresh the expected block", s.KnownFailure))
		}
	case s.ExpectFail == "":
		out.Verdict = rep.OK()
		if !out.Verdict {
			why = append(why, fmt.Sprintf("oracle: want ok, got %d violation(s); first: %s", len(rep.Violations), rep.First()))
		}
	default:
		for _, v := range rep.Violations {
			if v.Property == s.ExpectFail {
				out.Verdict = true
				break
			}
		}
		if !out.Verdict {
			got := "none"
			if v := rep.First(); v != nil {
				got = "first: " + v.String()
			}
			why = append(why, fmt.Sprintf("oracle: want a %s violation, got %s", s.ExpectFail, got))
		}
	}
	switch {
	case s.Expected == "":
		why = append(why, "no expected output block (run the scenarios test with -rewrite to record it)")
	case s.Expected != out.Output:
		why = append(why, "output differs from the expected block (- expected, + got):\n"+Diff(s.Expected, out.Output))
	}
	out.Pass = len(why) == 0
	out.Mismatch = strings.Join(why, "\n")
	return out, nil
}

// Format returns s as scenario text whose expected block is out's output:
// what -rewrite writes back, and how a swarm saves a failing case.
func Format(s *Scenario, out *Outcome) string {
	return s.WithExpected(out.Output).String()
}

// FormatOutcome renders what a run produced as an expected block, one fact
// per line, deterministic:
//
//	written N
//	target NAME delivered=N lost=N done=RC@T[,RC@T...]|none sender=RC|none
//	sender RC|none [stuck: why]
//	loss NAME [FROM,TO) CAUSE                  (each inherent loss)
//	oracle ok | oracle fail N                  (the verdict)
//	violation PROPERTY ...                     (the first violation, if any)
func FormatOutcome(h *sim.History, rep *oracle.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "written %d\n", h.Written)
	for _, t := range rep.Targets {
		fmt.Fprintf(&b, "target %s delivered=%d lost=%d", t.Target, t.Delivered, t.Lost)
		if t.Missing > 0 {
			fmt.Fprintf(&b, " missing=%d", t.Missing)
		}
		if t.Extra > 0 {
			fmt.Fprintf(&b, " extra=%d", t.Extra)
		}
		b.WriteString(" done=")
		if tl := h.Target(t.Target); tl != nil && len(tl.Done) > 0 {
			for i, d := range tl.Done {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%s@%v", d.RC, d.At.Sub(h.Start))
			}
		} else {
			b.WriteString("none")
		}
		fmt.Fprintf(&b, " sender=%s\n", orNone(string(t.Sender)))
	}
	b.WriteString("sender ")
	if h.SenderEnd.IsZero() {
		b.WriteString("none")
	} else {
		fmt.Fprintf(&b, "%s@%v", h.Result.RC, h.SenderEnd.Sub(h.Start))
	}
	if !h.CrashAt.IsZero() {
		fmt.Fprintf(&b, " crashed@%v", h.CrashAt.Sub(h.Start))
	}
	if h.Stuck != "" {
		fmt.Fprintf(&b, " stuck: %s", h.Stuck)
	}
	b.WriteByte('\n')
	for _, l := range rep.Losses {
		fmt.Fprintf(&b, "loss %s\n", l)
	}
	if rep.OK() {
		b.WriteString("oracle ok\n")
	} else {
		fmt.Fprintf(&b, "oracle fail %d\n", len(rep.Violations))
		fmt.Fprintf(&b, "violation %s\n", rep.First())
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

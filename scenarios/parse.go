package scenarios

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

// Parse reads one scenario file; file names it in errors and gives the
// scenario its name. The format is documented in the package documentation.
// Errors are *ParseError values ("file:line: what was wrong (want ...)")
// and wrap ErrSyntax. Parse never panics.
func Parse(file string, data []byte) (*Scenario, error) {
	p := parser{file: file, keyLine: map[string]int{}}
	s, err := p.parse(string(data))
	if err != nil {
		return nil, err
	}
	return s, nil
}

type parser struct {
	file    string
	keyLine map[string]int // config key -> line it was set on
	first   int            // line of the first config line
}

func (p *parser) errf(line int, format string, args ...any) error {
	return &ParseError{File: p.file, Line: line, Err: fmt.Errorf(format, args...)}
}

type planLine struct {
	line  int
	fault *faults.Fault
}

func (p *parser) parse(text string) (*Scenario, error) {
	s := &Scenario{Name: nameOf(p.file), File: p.file}
	lines := strings.Split(text, "\n")
	planText := make([]string, 0, len(lines))
	var planLines []planLine
	var doc []string
	docOpen := true
	expectLine, knownLine := 0, 0
	var expected []string
	sep := false
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimRight(raw, " \t\r\v\f")
		if sep {
			expected = append(expected, line)
			continue
		}
		planText = append(planText, "")
		if strings.TrimSpace(line) == Separator {
			sep = true
			continue
		}
		if docOpen && strings.HasPrefix(line, "#") {
			l := strings.TrimPrefix(line[1:], " ")
			doc = append(doc, l)
			continue
		}
		body := line
		if j := strings.IndexByte(body, '#'); j >= 0 {
			body = body[:j]
		}
		fields := strings.Fields(body)
		if len(fields) == 0 {
			if len(doc) > 0 || strings.TrimSpace(line) != "" {
				docOpen = false // a blank line or a later comment ends the doc
			}
			continue
		}
		docOpen = false
		switch fields[0] {
		case "config":
			if err := p.config(n, s, fields[1:]); err != nil {
				return nil, err
			}
		case "expect":
			if expectLine != 0 {
				return nil, p.errf(n, "duplicate expect line (first on line %d)", expectLine)
			}
			expectLine = n
			prop, err := parseExpect(fields[1:])
			if err != nil {
				return nil, p.errf(n, "%w", err)
			}
			s.ExpectFail = prop
		case "known-failure":
			if knownLine != 0 {
				return nil, p.errf(n, "duplicate known-failure line (first on line %d)", knownLine)
			}
			knownLine = n
			issue, err := parseKnown(fields[1:])
			if err != nil {
				return nil, p.errf(n, "%w", err)
			}
			s.KnownFailure = issue
		case "at", "prob", "delay":
			one, err := faults.Parse(line)
			if err != nil {
				return nil, p.planErr(n, err)
			}
			planText[i] = line
			if fields[0] == "at" && len(one.Faults) == 1 {
				f := one.Faults[0]
				planLines = append(planLines, planLine{line: n, fault: &f})
			}
		default:
			return nil, p.errf(n, "unknown directive %q (want config, expect, known-failure, at, prob, delay, a # comment or %s)",
				fields[0], Separator)
		}
	}
	if knownLine != 0 && s.ExpectFail != "" {
		return nil, p.errf(knownLine, "known-failure with an expect fail line (line %d): a scenario pins a failure or marks a known one, not both", expectLine)
	}
	plan, err := faults.Parse(strings.Join(planText, "\n"))
	if err != nil {
		return nil, p.planErr(0, err)
	}
	s.Config.Plan = plan
	if len(plan.Faults) == 0 {
		s.Config.Plan.Faults = nil
	}
	s.Doc = strings.Join(doc, "\n")

	// Cross-line checks, reported on the line that broke them.
	targets := s.Config.Targets
	if len(targets) == 0 {
		targets = []string{"r1"}
	}
	for _, pl := range planLines {
		if t := pl.fault.Target; t != "" && !contains(targets, t) {
			return nil, p.errf(pl.line, "%v: target %q is not one of the config's targets (%s)",
				pl.fault.Kind, t, strings.Join(targets, ","))
		}
	}
	idle := s.Config.IdleTimeout // the simulator's rule: 0 is the default, negative is off
	switch {
	case idle == 0:
		idle = logstream.DefaultIdleTimeout
	case idle < 0:
		idle = 0
	}
	if _, err := logstream.ValidateStream(s.Config.Tail, idle); err != nil {
		var oe *logstream.OptionError
		name, line := "", p.first
		if errors.As(err, &oe) {
			name = keyForParam(oe.Param)
			if l, ok := p.keyLine[name]; ok {
				line = l
			}
		}
		if line == 0 {
			line = 1
		}
		if name != "" {
			return nil, p.errf(line, "config %s: %v", name, err)
		}
		return nil, p.errf(line, "config: %v", err)
	}

	for len(expected) > 0 && expected[len(expected)-1] == "" {
		expected = expected[:len(expected)-1]
	}
	if len(expected) > 0 {
		s.Expected = strings.Join(expected, "\n") + "\n"
	}
	return s, nil
}

// planErr turns a faults error into a ParseError on the file's line: the
// faults parser numbers lines of the text it was given, which is either
// the one line n (n > 0) or the whole file with non-plan lines blanked.
func (p *parser) planErr(n int, err error) error {
	var pe *faults.ParseError
	if errors.As(err, &pe) {
		if n == 0 {
			n = pe.Line
		}
		return &ParseError{File: p.file, Line: n, Err: pe.Err}
	}
	if n == 0 {
		n = 1
	}
	return &ParseError{File: p.file, Line: n, Err: err}
}

func (p *parser) config(n int, s *Scenario, fields []string) error {
	if p.first == 0 {
		p.first = n
	}
	if len(fields) == 0 {
		return p.errf(n, "config: want KEY=VALUE pairs (keys: %s)", keyNames())
	}
	for _, f := range fields {
		name, val, ok := strings.Cut(f, "=")
		if !ok || val == "" {
			return p.errf(n, "config: want KEY=VALUE, got %q", f)
		}
		k, ok := lookupKey(name)
		if !ok {
			return p.errf(n, "config: unknown key %q (want one of %s)", name, keyNames())
		}
		if first, dup := p.keyLine[name]; dup {
			return p.errf(n, "config: key %q set twice (first on line %d)", name, first)
		}
		p.keyLine[name] = n
		if err := k.set(&s.Config, val); err != nil {
			return p.errf(n, "config %s: %w", name, err)
		}
	}
	return nil
}

func parseExpect(fields []string) (oracle.Property, error) {
	const want = `want "expect ok" or "expect fail PROPERTY"`
	switch {
	case len(fields) == 1 && fields[0] == "ok":
		return "", nil
	case len(fields) == 2 && fields[0] == "fail":
		for _, prop := range properties {
			if string(prop) == fields[1] {
				return prop, nil
			}
		}
		return "", fmt.Errorf("expect fail: unknown property %q (want one of %s)", fields[1], propertyNames())
	}
	return "", errors.New(want)
}

func parseKnown(fields []string) (int, error) {
	const want = `want "known-failure issue=N" (N the number of the issue that fixes it)`
	if len(fields) != 1 {
		return 0, errors.New(want)
	}
	v, ok := strings.CutPrefix(fields[0], "issue=")
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("known-failure: bad %q: %s", fields[0], want)
	}
	return n, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

package faults

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Parse reads plan text. The grammar, one item per line:
//
//	line   = [ item ] [ "#" comment ]
//	item   = "at" DURATION KIND { PARAM }
//	       | "prob" KIND PROBABILITY [ "lag=" DURATION ]
//	       | "delay" DIST
//	PARAM  = "target=" NAME | "for=" DURATION | "gap=" DURATION | "lag=" DURATION
//	       | "count=" INT | "keep=" INT | "regrow=" INT | "bytes=" INT
//	       | "size=" INT | "call=" INT | "same-head"
//	DIST   = "fixed" DURATION | "uniform" DURATION DURATION | "exp" DURATION "cap=" DURATION
//
// Tokens are separated by white space; blank lines and everything from "#"
// to the end of a line are ignored. DURATION is read by time.ParseDuration,
// INT is decimal, PROBABILITY is a float in [0, 1], NAME is 1 to
// MaxTargetLen characters from [A-Za-z0-9._:@/-]. Parameters may come in any
// order but at most once each; which apply to which kind, and which of
// count, keep, regrow or bytes is N's name, is documented on Fault. "lag=" on
// a prob line applies to stale only and is required there when the
// probability is > 0. Each kind has at most one prob line and a plan at most
// one delay line.
//
// Timed faults may appear in any order; Parse sorts them by time, keeping
// the text order among equal times. The result is always valid.
//
// Errors are *ParseError values naming the line, such as
// `line 3: unknown fault kind "rotat"`, and wrap ErrSyntax, ErrUnknownKind
// or ErrInvalid. Parse never panics.
func Parse(text string) (Plan, error) {
	var p Plan
	probLine := [kindEnd]int{}
	delayLine := 0
	for n, line := range strings.Split(text, "\n") {
		lineNo := n + 1
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var err error
		switch fields[0] {
		case "at":
			var f Fault
			f, err = parseFault(fields[1:])
			if err == nil {
				p.Faults = append(p.Faults, f)
			}
		case "prob":
			err = parseProb(&p, fields[1:], &probLine, lineNo)
		case "delay":
			if delayLine != 0 {
				err = syntaxErr(fmt.Sprintf("duplicate delay line (first on line %d)", delayLine))
				break
			}
			delayLine = lineNo
			p.Delay, err = parseDist(fields[1:])
		default:
			err = syntaxErr(fmt.Sprintf("unknown directive %q (want at, prob or delay)", fields[0]))
		}
		if err != nil {
			return Plan{}, &ParseError{Line: lineNo, Err: err}
		}
	}
	slices.SortStableFunc(p.Faults, byAt)
	return p, nil
}

func parseDuration(what, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, syntaxErr(fmt.Sprintf("%s: bad duration %q", what, s))
	}
	if err := checkDuration(what, d); err != nil {
		return 0, err
	}
	return d, nil
}

// parseFault parses the fields after "at".
func parseFault(fields []string) (Fault, error) {
	var f Fault
	if len(fields) < 2 {
		return f, syntaxErr(`want "at TIME KIND [PARAM...]"`)
	}
	var err error
	if f.At, err = parseDuration("at", fields[0]); err != nil {
		return f, err
	}
	if f.Kind, err = ParseKind(fields[1]); err != nil {
		return f, err
	}
	sp := specs[f.Kind]
	var seen param
	for _, tok := range fields[2:] {
		key, val, hasVal := strings.Cut(tok, "=")
		var p param
		switch key {
		case "target":
			p = pTarget
		case "for":
			p = pFor
		case "gap":
			p = pGap
		case "lag":
			p = pLag
		case "count", "keep", "regrow", "bytes", "size", "call":
			p = pN
			if sp.nKey != key {
				return f, invalidErr(fmt.Sprintf("%s: parameter %q does not apply", sp.name, key))
			}
		case "same-head":
			p = pSameHead
		default:
			return f, syntaxErr(fmt.Sprintf("%s: unknown parameter %q", sp.name, key))
		}
		if sp.params&p == 0 {
			return f, invalidErr(fmt.Sprintf("%s: parameter %q does not apply", sp.name, key))
		}
		if seen&p != 0 {
			return f, syntaxErr(fmt.Sprintf("%s: duplicate parameter %q", sp.name, key))
		}
		seen |= p
		if p == pSameHead {
			if hasVal {
				return f, syntaxErr(fmt.Sprintf("%s: same-head takes no value", sp.name))
			}
			f.SameHead = true
			continue
		}
		if !hasVal {
			return f, syntaxErr(fmt.Sprintf("%s: parameter %q needs a value (%s=...)", sp.name, key, key))
		}
		what := sp.name + ": " + key
		switch p {
		case pTarget:
			if err := checkTarget(val); err != nil {
				return f, fmt.Errorf("%s: %w", sp.name, err)
			}
			f.Target = val
		case pFor:
			f.For, err = parseDuration(what, val)
		case pGap:
			f.Gap, err = parseDuration(what, val)
		case pLag:
			f.Lag, err = parseDuration(what, val)
		case pN:
			n, perr := strconv.ParseInt(val, 10, 64)
			if perr != nil {
				return f, syntaxErr(fmt.Sprintf("%s: bad integer %q", what, val))
			}
			if n < 0 || n > MaxN {
				return f, invalidErr(fmt.Sprintf("%s=%d out of range [0, %d]", what, n, MaxN))
			}
			f.N = int(n)
		}
		if err != nil {
			return f, err
		}
	}
	return f, f.Validate()
}

// parseProb parses the fields after "prob" into p.
func parseProb(p *Plan, fields []string, probLine *[kindEnd]int, lineNo int) error {
	if len(fields) < 2 || len(fields) > 3 {
		return syntaxErr(`want "prob KIND PROBABILITY [lag=DURATION]"`)
	}
	k, err := ParseKind(fields[0])
	if err != nil {
		return err
	}
	if !k.Random() {
		return invalidErr(fmt.Sprintf("prob %v: kind has no probability (want one of %s)", k, randomNames()))
	}
	if first := probLine[k]; first != 0 {
		return syntaxErr(fmt.Sprintf("duplicate prob %v (first on line %d)", k, first))
	}
	probLine[k] = lineNo
	v, err := strconv.ParseFloat(fields[1], 64)
	if err != nil {
		return syntaxErr(fmt.Sprintf("prob %v: bad probability %q", k, fields[1]))
	}
	if err := checkProb(k, v); err != nil {
		return err
	}
	if v == 0 {
		v = 0 // normalise -0
	}
	var lag time.Duration
	if len(fields) == 3 {
		val, ok := strings.CutPrefix(fields[2], "lag=")
		if !ok {
			return syntaxErr(fmt.Sprintf("prob %v: unexpected %q (want lag=DURATION)", k, fields[2]))
		}
		if k != Stale {
			return invalidErr(fmt.Sprintf("prob %v: parameter \"lag\" does not apply", k))
		}
		if lag, err = parseDuration("prob stale: lag", val); err != nil {
			return err
		}
	}
	if k == Stale {
		if err := checkStaleLag(v, lag); err != nil {
			return err
		}
		p.StaleLag = lag
	}
	p.Prob[k] = v
	return nil
}

// parseDist parses the fields after "delay".
func parseDist(fields []string) (Dist, error) {
	const want = `want "delay fixed D", "delay uniform LOW HIGH" or "delay exp MEAN cap=MAX"`
	if len(fields) == 0 {
		return Dist{}, syntaxErr(want)
	}
	var d Dist
	var err error
	switch fields[0] {
	case "fixed":
		if len(fields) != 2 {
			return Dist{}, syntaxErr(want)
		}
		d.Kind = Fixed
		d.A, err = parseDuration("delay fixed", fields[1])
	case "uniform":
		if len(fields) != 3 {
			return Dist{}, syntaxErr(want)
		}
		d.Kind = Uniform
		if d.A, err = parseDuration("delay uniform", fields[1]); err == nil {
			d.B, err = parseDuration("delay uniform", fields[2])
		}
	case "exp":
		if len(fields) != 3 {
			return Dist{}, syntaxErr(want)
		}
		d.Kind = Exp
		val, ok := strings.CutPrefix(fields[2], "cap=")
		if !ok {
			return Dist{}, syntaxErr(want)
		}
		if d.A, err = parseDuration("delay exp", fields[1]); err == nil {
			d.Cap, err = parseDuration("delay exp: cap", val)
		}
	default:
		return Dist{}, syntaxErr(fmt.Sprintf("unknown distribution %q; %s", fields[0], want))
	}
	if err != nil {
		return Dist{}, err
	}
	return d, d.Validate()
}

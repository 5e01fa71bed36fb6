package faults

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits on parameter values. They keep sums such as At+For+Gap far from
// overflow and keep simulated files small.
const (
	// MaxDuration bounds every duration in a plan.
	MaxDuration = 1000 * time.Hour
	// MaxN bounds Fault.N.
	MaxN = 1 << 24
	// MaxTargetLen bounds the length of a target name.
	MaxTargetLen = 64
)

// Fault is one timed fault: Kind happens at virtual time At. Parameters that
// do not apply to Kind must be zero; Validate enforces the table below.
//
//	kind            Target  For        Gap  Lag        N                      SameHead
//	drop-request    yes     -          -    -          count (0 means 1)      -
//	drop-reply      yes     -          -    -          count (0 means 1)      -
//	duplicate       yes     -          -    -          count (0 means 1)      -
//	stale           yes     -          -    required   -                      -
//	delay           yes     required   -    required   -                      -
//	unreachable     yes     required   -    -          -                      -
//	not-registered  yes     -          -    -          -                      -
//	stall           yes     required   -    yes        -                      -
//	shutdown        yes     -          -    -          -                      -
//	crash, abort    -       -          -    -          -                      -
//	rotate          -       -          yes  -          keep (0 means 1)       -
//	copytruncate    -       yes        -    -          keep (0 means 1)       -
//	truncate        -       -          -    -          regrow bytes (0: none) yes, needs regrow
//	delete          -       -          yes  -          -                      -
//	late-write      -       -          -    -          bytes, required        -
//	open-error      -       -          -    -          count (0 means 1)      -
//	read-error      -       -          -    -          count (0 means 1)      -
//	short-read      -       -          -    -          count (0 means 1)      -
//	stat-error      -       -          -    -          count (0 means 1)      -
//	stop            -       -          -    -          -                      -
//	pause           -       required   -    -          -                      -
//	no-append       -       -          -    -          -                      -
//	rotate-create   -       -          yes  -          keep (0 means 1)       -
//	reopen          -       -          -    -          -                      -
//	truncate-to     -       -          -    -          size, required         -
//	step-rotate     -       -          -    -          call, required         -
//	step-truncate   -       -          -    -          call, required         -
//	missing-reply   yes     -          -    -          count (0 means 1)      -
//	end-stream      yes     -          -    -          -                      -
//
// "required" means the value must be > 0. Every duration is in
// [0, MaxDuration] and N is in [0, MaxN].
type Fault struct {
	// At is the virtual time since the start of the run when the fault happens.
	At time.Duration
	// Kind is what happens.
	Kind Kind
	// Target names the receiver affected; empty means every receiver.
	Target string
	// For is the length of the window the fault lasts: how long a target is
	// unreachable, stalled or delayed, or how long writes continue between a
	// copytruncate's copy and its truncate.
	For time.Duration
	// Gap is how long the path stays absent after a rotate or delete before a
	// new file is created there; zero creates it at once.
	Gap time.Duration
	// Lag is the extra latency of a delay, how much later a stale copy arrives,
	// or how long each consume takes during a stall (zero: no consumption at
	// all during the stall's window).
	Lag time.Duration
	// N is a count of messages or operations affected (count), of rotated
	// generations kept (keep), or of bytes (regrow, bytes), depending on Kind.
	N int
	// SameHead makes a truncate regrow with the same first bytes as before.
	SameHead bool
}

// Count returns N for kinds where N is a count or a number of generations,
// with 0 read as 1; for other kinds it returns N.
func (f Fault) Count() int {
	if f.Kind.Valid() && (specs[f.Kind].nKey == "count" || specs[f.Kind].nKey == "keep") && f.N == 0 {
		return 1
	}
	return f.N
}

// End returns At+For, the end of the fault's window (At when it has none).
func (f Fault) End() time.Duration { return f.At + f.For }

// LossCauses returns the causes of inherent loss this fault can produce, as
// Kind.LossCauses but narrowed by its parameters (a truncate without
// same-head regrowth cannot cause same-head-regrow).
func (f Fault) LossCauses() []LossCause {
	cs := f.Kind.LossCauses()
	if f.Kind == Truncate && !f.SameHead {
		cs = removeCause(cs, CauseSameHeadRegrow)
	}
	return cs
}

func removeCause(cs []LossCause, c LossCause) []LossCause {
	out := cs[:0]
	for _, x := range cs {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}

// Validate reports whether f is well-formed: a valid kind, parameters that
// apply to it, and values in range. Errors wrap ErrUnknownKind or ErrInvalid.
func (f Fault) Validate() error {
	if !f.Kind.Valid() {
		return fmt.Errorf("%w %d", ErrUnknownKind, int(f.Kind))
	}
	sp := specs[f.Kind]
	name := sp.name
	if err := checkDuration(name+": at", f.At); err != nil {
		return err
	}
	set := f.setParams()
	if extra := set &^ sp.params; extra != 0 {
		return invalidErr(fmt.Sprintf("%s: parameter %q does not apply", name, paramKey(extra&-extra, f.Kind)))
	}
	if missing := sp.required &^ set; missing != 0 {
		return invalidErr(fmt.Sprintf("%s: %s must be > 0", name, paramKey(missing&-missing, f.Kind)))
	}
	if f.Target != "" {
		if err := checkTarget(f.Target); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"for", f.For}, {"gap", f.Gap}, {"lag", f.Lag}} {
		if err := checkDuration(name+": "+d.key, d.v); err != nil {
			return err
		}
	}
	if f.N < 0 || f.N > MaxN {
		return invalidErr(fmt.Sprintf("%s: %s=%d out of range [0, %d]", name, sp.nKey, f.N, MaxN))
	}
	if f.SameHead && f.N == 0 {
		return invalidErr(fmt.Sprintf("%s: same-head requires regrow > 0", name))
	}
	return nil
}

// setParams returns the parameters with non-zero values.
func (f Fault) setParams() param {
	var p param
	if f.Target != "" {
		p |= pTarget
	}
	if f.For != 0 {
		p |= pFor
	}
	if f.Gap != 0 {
		p |= pGap
	}
	if f.Lag != 0 {
		p |= pLag
	}
	if f.N != 0 {
		p |= pN
	}
	if f.SameHead {
		p |= pSameHead
	}
	return p
}

// paramKey returns the text key of a single parameter for kind k.
func paramKey(p param, k Kind) string {
	switch p {
	case pTarget:
		return "target"
	case pFor:
		return "for"
	case pGap:
		return "gap"
	case pLag:
		return "lag"
	case pN:
		if k.Valid() && specs[k].nKey != "" {
			return specs[k].nKey
		}
		return "n"
	case pSameHead:
		return "same-head"
	}
	return "?"
}

func checkDuration(what string, d time.Duration) error {
	if d < 0 || d > MaxDuration {
		return invalidErr(fmt.Sprintf("%s=%v out of range [0s, %v]", what, d, MaxDuration))
	}
	return nil
}

// checkTarget reports whether s is a usable target name: 1 to MaxTargetLen
// characters from [A-Za-z0-9._:@/-].
func checkTarget(s string) error {
	if s == "" || len(s) > MaxTargetLen {
		return invalidErr(fmt.Sprintf("target %q: want 1 to %d characters", s, MaxTargetLen))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("._:@/-", c) >= 0
		if !ok {
			return invalidErr(fmt.Sprintf("target %q: character %q not allowed (want [A-Za-z0-9._:@/-])", s, c))
		}
	}
	return nil
}

// String returns the fault as one canonical plan line, such as
// "at 40s unreachable target=r2 for=20s". Zero parameters are omitted.
func (f Fault) String() string {
	var b strings.Builder
	f.appendTo(&b)
	return b.String()
}

func (f Fault) appendTo(b *strings.Builder) {
	b.WriteString("at ")
	b.WriteString(f.At.String())
	b.WriteByte(' ')
	b.WriteString(f.Kind.String())
	if f.Target != "" {
		b.WriteString(" target=")
		b.WriteString(f.Target)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"for", f.For}, {"gap", f.Gap}, {"lag", f.Lag}} {
		if d.v != 0 {
			b.WriteByte(' ')
			b.WriteString(d.key)
			b.WriteByte('=')
			b.WriteString(d.v.String())
		}
	}
	if f.N != 0 {
		b.WriteByte(' ')
		b.WriteString(paramKey(pN, f.Kind))
		b.WriteByte('=')
		b.WriteString(strconv.Itoa(f.N))
	}
	if f.SameHead {
		b.WriteString(" same-head")
	}
}

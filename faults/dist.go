package faults

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// DistKind selects the shape of a Dist.
type DistKind int

// Distribution shapes.
const (
	// NoDelay adds no latency. It is the zero DistKind.
	NoDelay DistKind = iota
	// Fixed always yields A.
	Fixed
	// Uniform yields a duration uniformly in [A, B].
	Uniform
	// Exp yields an exponential duration with mean A, capped at Cap.
	Exp
)

// String returns "none", "fixed", "uniform" or "exp".
func (k DistKind) String() string {
	switch k {
	case NoDelay:
		return "none"
	case Fixed:
		return "fixed"
	case Uniform:
		return "uniform"
	case Exp:
		return "exp"
	}
	return "dist(" + strconv.Itoa(int(k)) + ")"
}

// Dist is a distribution of message latency. The zero Dist adds none.
//
//	Kind     A      B    Cap
//	NoDelay  0      0    0
//	Fixed    D      0    0
//	Uniform  low    high 0     (low <= high)
//	Exp      mean   0    cap   (0 < mean <= cap)
type Dist struct {
	Kind DistKind      // shape
	A    time.Duration // fixed duration, uniform low bound, or exp mean
	B    time.Duration // uniform high bound
	Cap  time.Duration // exp cap: larger samples yield Cap
}

// Validate reports whether d is well-formed; errors wrap ErrInvalid.
func (d Dist) Validate() error {
	for _, v := range []time.Duration{d.A, d.B, d.Cap} {
		if err := checkDuration("delay", v); err != nil {
			return err
		}
	}
	bad := func(msg string) error { return invalidErr("delay " + d.Kind.String() + ": " + msg) }
	switch d.Kind {
	case NoDelay:
		if d.A != 0 || d.B != 0 || d.Cap != 0 {
			return bad("no parameters allowed")
		}
	case Fixed:
		if d.B != 0 || d.Cap != 0 {
			return bad("only one duration allowed")
		}
	case Uniform:
		if d.Cap != 0 {
			return bad("cap does not apply")
		}
		if d.A > d.B {
			return bad(fmt.Sprintf("low %v above high %v", d.A, d.B))
		}
	case Exp:
		if d.B != 0 {
			return bad("only one duration allowed")
		}
		if d.A <= 0 {
			return bad("mean must be > 0")
		}
		if d.Cap < d.A {
			return bad(fmt.Sprintf("cap %v below mean %v", d.Cap, d.A))
		}
	default:
		return invalidErr(fmt.Sprintf("delay: unknown distribution %v", d.Kind))
	}
	return nil
}

// Max returns the largest duration d can yield.
func (d Dist) Max() time.Duration {
	switch d.Kind {
	case Fixed:
		return d.A
	case Uniform:
		return d.B
	case Exp:
		return d.Cap
	}
	return 0
}

// Sample draws one duration from d using r. A valid d yields a value in
// [0, d.Max()]; the same r state yields the same value.
func (d Dist) Sample(r *rand.Rand) time.Duration {
	switch d.Kind {
	case Fixed:
		return d.A
	case Uniform:
		if d.B <= d.A {
			return d.A
		}
		return d.A + time.Duration(r.Int64N(int64(d.B-d.A)+1))
	case Exp:
		v := r.ExpFloat64() * float64(d.A)
		if !(v < float64(d.Cap)) {
			return d.Cap
		}
		return time.Duration(v)
	}
	return 0
}

// String returns the distribution as it follows "delay " in plan text:
// "fixed 5ms", "uniform 1ms 50ms", "exp 10ms cap=200ms", or "none".
func (d Dist) String() string {
	switch d.Kind {
	case NoDelay:
		return "none"
	case Fixed:
		return "fixed " + d.A.String()
	case Uniform:
		return "uniform " + d.A.String() + " " + d.B.String()
	case Exp:
		return "exp " + d.A.String() + " cap=" + d.Cap.String()
	}
	return d.Kind.String()
}

package faults

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Plan is everything a run injects: timed faults, per-message and per-op
// probabilities, and the latency of every message. The zero Plan injects
// nothing. A Plan is plain data; the simulator interprets it.
//
// A plan's items, in the order String prints them and Len, Item and Without
// count them, are: each timed fault, then each non-zero probability in Kind
// order, then the delay distribution when it is not NoDelay.
type Plan struct {
	// Faults are the timed faults, sorted by At; faults with equal At keep
	// their relative order, which is the order they take effect in.
	Faults []Fault
	// Prob holds, indexed by Kind, the probability that each message (network
	// kinds) or each file operation (read-error, short-read) suffers that kind,
	// independently. Only kinds with Kind.Random may be non-zero; each value is
	// in [0, 1].
	Prob [kindEnd]float64
	// StaleLag is how much later than the original a randomly chosen stale
	// copy is delivered. It is > 0 exactly when Prob[Stale] > 0.
	StaleLag time.Duration
	// Delay is the latency added to every message, each way.
	Delay Dist
}

// Validate reports whether p is well-formed: every fault valid, faults sorted
// by At, probabilities in range and only on random kinds, StaleLag set
// exactly when needed, and a valid Delay. Errors wrap ErrInvalid or
// ErrUnknownKind and name the offending item.
func (p Plan) Validate() error {
	for i, f := range p.Faults {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("fault %d: %w", i, err)
		}
		if i > 0 && f.At < p.Faults[i-1].At {
			return invalidErr(fmt.Sprintf("fault %d: at %v before fault %d at %v: faults must be sorted by time",
				i, f.At, i-1, p.Faults[i-1].At))
		}
	}
	for k := Kind(0); k < kindEnd; k++ {
		v := p.Prob[k]
		if v == 0 {
			continue
		}
		if !k.Random() {
			return invalidErr(fmt.Sprintf("prob %v: kind has no probability (want one of %s)", k, randomNames()))
		}
		if err := checkProb(k, v); err != nil {
			return err
		}
	}
	if err := checkStaleLag(p.Prob[Stale], p.StaleLag); err != nil {
		return err
	}
	return p.Delay.Validate()
}

func checkProb(k Kind, v float64) error {
	if !(v >= 0 && v <= 1) {
		return invalidErr(fmt.Sprintf("prob %v: %v out of range [0, 1]", k, v))
	}
	return nil
}

func checkStaleLag(prob float64, lag time.Duration) error {
	if err := checkDuration("prob stale: lag", lag); err != nil {
		return err
	}
	if prob > 0 && lag == 0 {
		return invalidErr("prob stale: lag must be > 0")
	}
	if prob == 0 && lag != 0 {
		return invalidErr("prob stale: lag set without a probability")
	}
	return nil
}

func randomNames() string {
	var names []string
	for _, k := range RandomKinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

// String returns p in canonical plan text, one item per line, each line
// ending in a newline; the zero Plan prints as "". For a valid p,
// Parse(p.String()) returns a plan Equal to p.
func (p Plan) String() string {
	var b strings.Builder
	for i := range p.Len() {
		p.appendItem(&b, i)
		b.WriteByte('\n')
	}
	return b.String()
}

// Len returns the number of items in p: timed faults, non-zero
// probabilities, and the delay distribution when set.
func (p Plan) Len() int {
	n := len(p.Faults)
	for _, v := range p.Prob {
		if v != 0 {
			n++
		}
	}
	if p.Delay != (Dist{}) {
		n++
	}
	return n
}

// item says where item i lives: kind is itemFault (index fault), itemProb
// (probability of kind prob), itemDelay, or itemNone when i is out of range.
type item struct {
	kind  int
	fault int
	prob  Kind
}

const (
	itemNone = iota
	itemFault
	itemProb
	itemDelay
)

func (p Plan) locate(i int) item {
	if i < 0 {
		return item{}
	}
	if i < len(p.Faults) {
		return item{kind: itemFault, fault: i}
	}
	i -= len(p.Faults)
	for k := Kind(0); k < kindEnd; k++ {
		if p.Prob[k] != 0 {
			if i == 0 {
				return item{kind: itemProb, prob: k}
			}
			i--
		}
	}
	if i == 0 && p.Delay != (Dist{}) {
		return item{kind: itemDelay}
	}
	return item{}
}

// Item returns item i as its canonical line, without the newline, or "" when
// i is out of range.
func (p Plan) Item(i int) string {
	var b strings.Builder
	p.appendItem(&b, i)
	return b.String()
}

func (p Plan) appendItem(b *strings.Builder, i int) {
	it := p.locate(i)
	switch it.kind {
	case itemFault:
		p.Faults[it.fault].appendTo(b)
	case itemProb:
		b.WriteString("prob ")
		b.WriteString(it.prob.String())
		b.WriteByte(' ')
		b.WriteString(strconv.FormatFloat(p.Prob[it.prob], 'g', -1, 64))
		if it.prob == Stale && p.StaleLag != 0 {
			b.WriteString(" lag=")
			b.WriteString(p.StaleLag.String())
		}
	case itemDelay:
		b.WriteString("delay ")
		b.WriteString(p.Delay.String())
	}
}

// Without returns a copy of p with item i removed (see Len): a timed fault
// is deleted, a probability is set to zero (with StaleLag for stale), the
// delay distribution is reset to none. Out-of-range i returns a copy of p.
// p itself is not modified.
func (p Plan) Without(i int) Plan {
	q := p.Clone()
	it := p.locate(i)
	switch it.kind {
	case itemFault:
		q.Faults = slices.Delete(q.Faults, it.fault, it.fault+1)
		if len(q.Faults) == 0 {
			q.Faults = nil
		}
	case itemProb:
		q.Prob[it.prob] = 0
		if it.prob == Stale {
			q.StaleLag = 0
		}
	case itemDelay:
		q.Delay = Dist{}
	}
	return q
}

// With returns a copy of p with f inserted after every fault whose At is not
// later than f.At, keeping Faults sorted. p itself is not modified.
func (p Plan) With(f Fault) Plan {
	q := p.Clone()
	i := len(q.Faults)
	for i > 0 && q.Faults[i-1].At > f.At {
		i--
	}
	q.Faults = slices.Insert(q.Faults, i, f)
	return q
}

// Clone returns a deep copy of p.
func (p Plan) Clone() Plan {
	q := p
	q.Faults = slices.Clone(p.Faults)
	return q
}

// Equal reports whether p and q describe the same plan. A nil and an empty
// Faults slice are equal.
func (p Plan) Equal(q Plan) bool {
	return slices.Equal(p.Faults, q.Faults) && p.Prob == q.Prob &&
		p.StaleLag == q.StaleLag && p.Delay == q.Delay
}

// LossCauses returns the causes of inherent loss p's faults can produce,
// without repeats, in the order of Causes. A plan for which it returns only
// CauseAfterDrainWindow (or nothing) must deliver every byte written before
// stop exactly.
func (p Plan) LossCauses() []LossCause {
	seen := map[LossCause]bool{}
	for _, f := range p.Faults {
		for _, c := range f.LossCauses() {
			seen[c] = true
		}
	}
	var out []LossCause
	for _, c := range Causes() {
		if seen[c] {
			out = append(out, c)
		}
	}
	return out
}

// MarshalText returns p.String(); it fails when p is invalid.
func (p Plan) MarshalText() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return []byte(p.String()), nil
}

// UnmarshalText parses plan text as Parse does.
func (p *Plan) UnmarshalText(b []byte) error {
	q, err := Parse(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// minSimplerProb is the smallest probability Simpler proposes by halving.
const minSimplerProb = 1e-4

// Simpler returns candidate plans that are each valid and simpler than p in
// one respect, for a shrinker to try once removing items fails: a fault moved
// earlier, a target cleared, a window, gap or lag halved or zeroed, a count or
// byte size halved, same-head cleared, a probability halved (not below 1e-4),
// the stale lag halved, or the delay distribution replaced by a fixed or
// smaller one. Candidates keep p's Len. Each is strictly smaller in a
// well-founded order, so repeatedly taking candidates terminates. p must be
// valid.
func (p Plan) Simpler() []Plan {
	var out []Plan
	add := func(q Plan) {
		if q.Validate() == nil && !q.Equal(p) {
			out = append(out, q)
		}
	}
	for i, f := range p.Faults {
		try := func(g Fault) {
			q := p.Clone()
			q.Faults = slices.Delete(q.Faults, i, i+1)
			add(q.With(g))
		}
		if f.Target != "" {
			g := f
			g.Target = ""
			try(g)
		}
		if f.SameHead {
			g := f
			g.SameHead = false
			try(g)
		}
		if f.Gap != 0 {
			g := f
			g.Gap = 0
			try(g)
		}
		for _, d := range []*time.Duration{&f.For, &f.Lag, &f.At} {
			if *d != 0 {
				old := *d
				*d = old / 2
				try(f)
				*d = old
			}
		}
		if f.N > 0 {
			g := f
			g.N /= 2
			try(g)
		}
	}
	for k := Kind(0); k < kindEnd; k++ {
		if v := p.Prob[k]; v != 0 {
			if h := v / 2; h >= minSimplerProb {
				q := p.Clone()
				q.Prob[k] = h
				add(q)
			}
		}
	}
	if p.StaleLag > 1 {
		q := p.Clone()
		q.StaleLag /= 2
		add(q)
	}
	switch p.Delay.Kind {
	case Uniform, Exp:
		q := p.Clone()
		q.Delay = Dist{Kind: Fixed, A: p.Delay.A}
		add(q)
	case Fixed:
		if p.Delay.A != 0 {
			q := p.Clone()
			q.Delay.A /= 2
			add(q)
		}
	}
	return out
}

// byAt orders faults by time, for stable sorting.
func byAt(a, b Fault) int { return cmp.Compare(a.At, b.At) }

package faults

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// GenOptions shapes the plans Random generates. The zero value is usable.
type GenOptions struct {
	// Horizon is the virtual duration the plan covers: faults happen in
	// [0, Horizon). Zero or negative means one minute; it is capped at MaxDuration.
	Horizon time.Duration
	// Targets are receiver names faults may name. Invalid names are ignored.
	// With none, network faults apply to every receiver.
	Targets []string
	// Kinds are the kinds enabled, for timed faults and probabilities alike;
	// nil means every kind. Order and repeats do not matter. The delay
	// distribution is set only when Delay is enabled.
	Kinds []Kind
	// MaxFaults bounds the number of timed faults. Zero means 8; negative
	// means none.
	MaxFaults int
	// MaxProb bounds each probability. Zero means 0.05; negative means no
	// probabilities. It is capped at 0.5 so that runs still make progress.
	MaxProb float64
	// MaxLag bounds the latency any one message can gain from the plan: the
	// delay distribution's maximum and the lag of delay and stall faults.
	// Zero or negative means 100ms.
	MaxLag time.Duration
}

// Random returns a valid plan drawn from r and shaped by opts. It reads r
// and nothing else, so the same r state and opts yield the same plan.
//
// Kinds that end a stream (crash, abort, stop) appear at most once, and
// shutdown and not-registered at most once per target.
func Random(r *rand.Rand, opts GenOptions) Plan {
	g := newGen(opts)
	var p Plan

	var timed []Kind
	for k := Kind(1); k < kindEnd; k++ {
		if g.enabled[k] {
			timed = append(timed, k)
		}
	}
	if len(timed) > 0 && g.maxFaults > 0 {
		type once struct {
			k      Kind
			target string
		}
		used := map[once]bool{}
		n := r.IntN(g.maxFaults + 1)
		for range n {
			f := g.fault(r, timed[r.IntN(len(timed))])
			switch f.Kind {
			case Crash, Abort, Stop, Shutdown, NotRegistered:
				key := once{f.Kind, f.Target}
				if used[key] {
					continue
				}
				used[key] = true
			}
			p.Faults = append(p.Faults, f)
		}
		slices.SortStableFunc(p.Faults, byAt)
	}

	if g.maxProb > 0 {
		for k := Kind(1); k < kindEnd; k++ {
			if !g.enabled[k] || !k.Random() || r.IntN(2) == 0 {
				continue
			}
			// Four decimal places keep the text short.
			v := math.Round(r.Float64()*g.maxProb*1e4) / 1e4
			p.Prob[k] = max(v, 1e-4)
		}
		if p.Prob[Stale] > 0 {
			p.StaleLag = g.dur(r, g.unit, max(g.unit, g.horizon/4))
		}
	}

	if g.enabled[Delay] {
		switch r.IntN(4) {
		case 1:
			p.Delay = Dist{Kind: Fixed, A: g.dur(r, 0, g.maxLag)}
		case 2:
			a := g.dur(r, 0, g.maxLag/2)
			p.Delay = Dist{Kind: Uniform, A: a, B: g.dur(r, a, g.maxLag)}
		case 3:
			lo := max(1, min(g.unit, g.maxLag/4))
			mean := g.dur(r, lo, max(lo, g.maxLag/4))
			p.Delay = Dist{Kind: Exp, A: mean, Cap: g.dur(r, mean, max(mean, g.maxLag))}
		}
	}
	return p
}

// gen holds the normalised options of one Random call.
type gen struct {
	horizon   time.Duration
	unit      time.Duration // granularity of generated durations
	targets   []string
	enabled   [kindEnd]bool
	maxFaults int
	maxProb   float64
	maxLag    time.Duration
}

func newGen(o GenOptions) *gen {
	g := &gen{horizon: o.Horizon, maxFaults: o.MaxFaults, maxProb: o.MaxProb, maxLag: o.MaxLag}
	if g.horizon <= 0 {
		g.horizon = time.Minute
	}
	g.horizon = min(g.horizon, MaxDuration)
	g.unit = time.Millisecond
	if g.horizon < 100*time.Millisecond {
		g.unit = max(1, g.horizon/100)
	}
	for _, t := range o.Targets {
		if checkTarget(t) == nil {
			g.targets = append(g.targets, t)
		}
	}
	if o.Kinds == nil {
		for k := Kind(1); k < kindEnd; k++ {
			g.enabled[k] = true
		}
	}
	for _, k := range o.Kinds {
		if k.Valid() {
			g.enabled[k] = true
		}
	}
	if g.maxFaults == 0 {
		g.maxFaults = 8
	}
	switch {
	case g.maxProb == 0:
		g.maxProb = 0.05
	case !(g.maxProb > 0): // negative or NaN
		g.maxProb = 0
	}
	g.maxProb = min(g.maxProb, 0.5)
	if g.maxLag <= 0 {
		g.maxLag = 100 * time.Millisecond
	}
	g.maxLag = min(g.maxLag, MaxDuration)
	return g
}

// dur returns a duration in [lo, hi], rounded down to the unit when that
// stays within range. It returns lo when hi < lo.
func (g *gen) dur(r *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	v := lo + time.Duration(r.Int64N(int64(hi-lo)+1))
	if w := v / g.unit * g.unit; w >= lo {
		v = w
	}
	return v
}

func (g *gen) target(r *rand.Rand) string {
	if len(g.targets) == 0 || r.IntN(4) == 0 {
		return ""
	}
	return g.targets[r.IntN(len(g.targets))]
}

// window returns a random fault window: from one unit to a quarter of the horizon.
func (g *gen) window(r *rand.Rand) time.Duration {
	return g.dur(r, g.unit, max(g.unit, g.horizon/4))
}

// lag returns a random positive latency of at most maxLag.
func (g *gen) lag(r *rand.Rand) time.Duration {
	return g.dur(r, min(g.unit, g.maxLag), g.maxLag)
}

// fault returns a random valid fault of kind k.
func (g *gen) fault(r *rand.Rand, k Kind) Fault {
	f := Fault{At: g.dur(r, 0, g.horizon-1), Kind: k}
	sp := specs[k]
	if sp.params&pTarget != 0 {
		f.Target = g.target(r)
	}
	switch k {
	case DropRequest, DropReply, Duplicate, OpenError, ReadError, ShortRead, StatError:
		f.N = r.IntN(4)
	case Stale:
		f.Lag = g.window(r)
	case Delay:
		f.For = g.window(r)
		f.Lag = g.lag(r)
	case Unreachable:
		f.For = g.window(r)
	case Stall:
		f.For = g.window(r)
		if r.IntN(2) == 0 {
			f.Lag = g.lag(r)
		}
	case Rotate:
		f.N = r.IntN(4)
		if r.IntN(2) == 0 {
			f.Gap = g.dur(r, 0, g.horizon/20)
		}
	case CopyTruncate:
		f.N = r.IntN(3)
		f.For = g.dur(r, 0, g.horizon/50)
	case Truncate:
		if r.IntN(2) == 0 {
			f.N = 1 + r.IntN(4096)
			f.SameHead = r.IntN(2) == 0
		}
	case Delete:
		if r.IntN(2) == 0 {
			f.Gap = g.dur(r, 0, g.horizon/20)
		}
	case LateWrite:
		f.N = 1 + r.IntN(1024)
	case Pause:
		f.For = g.window(r)
	case RotateCreate:
		f.N = r.IntN(3)
		if r.IntN(4) != 0 {
			f.Gap = g.dur(r, g.unit, max(g.unit, g.horizon/20))
		}
	case TruncateTo:
		f.N = 1 + r.IntN(64<<10)
	case StepRotate, StepTruncate:
		f.N = 1 + r.IntN(6)
	case MissingReply:
		f.N = r.IntN(4)
	}
	return f
}

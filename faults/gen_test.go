package faults

import (
	"slices"
	"time"

	"pgregory.net/rapid"
)

// Generators of arbitrary valid values, shared by the property tests.

func genDuration(positive bool) *rapid.Generator[time.Duration] {
	lo := int64(0)
	if positive {
		lo = 1
	}
	return rapid.Custom(func(t *rapid.T) time.Duration {
		var v int64
		switch rapid.IntRange(0, 3).Draw(t, "shape") {
		case 0: // small, odd nanosecond values
			v = rapid.Int64Range(lo, 5000).Draw(t, "ns")
		case 1: // whole milliseconds
			v = rapid.Int64Range(lo, 100000).Draw(t, "ms") * int64(time.Millisecond)
		case 2:
			v = rapid.Int64Range(lo, int64(MaxDuration)).Draw(t, "any")
		default:
			v = rapid.SampledFrom([]int64{lo, 1, int64(time.Second), int64(MaxDuration)}).Draw(t, "edge")
		}
		return time.Duration(max(v, lo))
	})
}

var genTarget = rapid.StringMatching(`[A-Za-z0-9._:@/-]{1,64}`)

func genFault() *rapid.Generator[Fault] {
	return rapid.Custom(func(t *rapid.T) Fault {
		k := rapid.SampledFrom(Kinds()).Draw(t, "kind")
		sp := specs[k]
		f := Fault{Kind: k, At: genDuration(false).Draw(t, "at")}
		if sp.params&pTarget != 0 && rapid.Bool().Draw(t, "hasTarget") {
			f.Target = genTarget.Draw(t, "target")
		}
		for _, d := range []struct {
			p param
			v *time.Duration
		}{{pFor, &f.For}, {pGap, &f.Gap}, {pLag, &f.Lag}} {
			if sp.params&d.p == 0 {
				continue
			}
			if sp.required&d.p != 0 || rapid.Bool().Draw(t, "set") {
				*d.v = genDuration(sp.required&d.p != 0).Draw(t, paramKey(d.p, k))
			}
		}
		if sp.params&pN != 0 {
			lo := 0
			if sp.required&pN != 0 {
				lo = 1
			}
			f.N = rapid.OneOf(rapid.IntRange(lo, 10), rapid.IntRange(lo, MaxN)).Draw(t, sp.nKey)
		}
		if sp.params&pSameHead != 0 && f.N > 0 {
			f.SameHead = rapid.Bool().Draw(t, "sameHead")
		}
		return f
	})
}

func genDist() *rapid.Generator[Dist] {
	return rapid.Custom(func(t *rapid.T) Dist {
		switch rapid.IntRange(0, 3).Draw(t, "dist") {
		case 1:
			return Dist{Kind: Fixed, A: genDuration(false).Draw(t, "d")}
		case 2:
			a := genDuration(false).Draw(t, "a")
			b := genDuration(false).Draw(t, "b")
			return Dist{Kind: Uniform, A: min(a, b), B: max(a, b)}
		case 3:
			a := genDuration(true).Draw(t, "a")
			b := genDuration(true).Draw(t, "b")
			return Dist{Kind: Exp, A: min(a, b), Cap: max(a, b)}
		}
		return Dist{}
	})
}

func genPlan() *rapid.Generator[Plan] {
	return rapid.Custom(func(t *rapid.T) Plan {
		var p Plan
		p.Faults = rapid.SliceOfN(genFault(), 0, 12).Draw(t, "faults")
		if len(p.Faults) == 0 {
			p.Faults = nil
		}
		slices.SortStableFunc(p.Faults, byAt)
		for _, k := range RandomKinds() {
			if rapid.Bool().Draw(t, "hasProb") {
				p.Prob[k] = rapid.OneOf(
					rapid.Float64Range(0, 1),
					rapid.SampledFrom([]float64{1e-4, 0.01, 0.5, 1, 5e-324}),
				).Draw(t, "p-"+k.String())
			}
		}
		if p.Prob[Stale] > 0 {
			p.StaleLag = genDuration(true).Draw(t, "staleLag")
		}
		p.Delay = genDist().Draw(t, "delay")
		return p
	})
}

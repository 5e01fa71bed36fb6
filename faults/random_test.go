package faults

import (
	"math/rand/v2"
	"testing"
	"time"
)

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func TestRandomDeterministic(t *testing.T) {
	opts := GenOptions{Horizon: 10 * time.Minute, Targets: []string{"r1", "r2"}}
	distinct := map[string]bool{}
	for seed := range uint64(200) {
		a := Random(seeded(seed), opts)
		b := Random(seeded(seed), opts)
		if !a.Equal(b) || a.String() != b.String() {
			t.Fatalf("seed %d: two plans differ:\n%s\n%s", seed, a, b)
		}
		distinct[a.String()] = true
	}
	if len(distinct) < 190 {
		t.Fatalf("only %d distinct plans from 200 seeds", len(distinct))
	}
	if Random(seeded(1), opts).String() == Random(seeded(2), opts).String() {
		t.Fatal("seeds 1 and 2 gave the same plan")
	}
}

func TestRandomValidAndRoundTrips(t *testing.T) {
	optss := []GenOptions{
		{},
		{Horizon: time.Hour, Targets: []string{"r1", "r2", "r3"}, MaxFaults: 40, MaxProb: 0.2, MaxLag: time.Second},
		{Horizon: 50 * time.Millisecond, MaxLag: 1},
		{Horizon: 1, Targets: []string{"bad name", ""}},
		{Horizon: 2 * MaxDuration, MaxProb: 7, MaxLag: 3 * MaxDuration},
		{Kinds: []Kind{Rotate, Rotate, Stale}, MaxFaults: 20},
		{Kinds: []Kind{}, MaxFaults: 20},
		{Kinds: []Kind{0, 999}},
		{MaxFaults: -1, MaxProb: -1},
	}
	for i, opts := range optss {
		for seed := range uint64(300) {
			p := Random(seeded(seed), opts)
			if err := p.Validate(); err != nil {
				t.Fatalf("opts %d seed %d: invalid plan: %v\n%s", i, seed, err, p)
			}
			q, err := Parse(p.String())
			if err != nil || !q.Equal(p) {
				t.Fatalf("opts %d seed %d: round trip failed: %v\n%s", i, seed, err, p)
			}
		}
	}
}

func TestRandomHonoursOptions(t *testing.T) {
	opts := GenOptions{
		Horizon:   30 * time.Second,
		Targets:   []string{"r1", "bad name"},
		Kinds:     []Kind{Delay, Stall, DropReply, Stop, Crash},
		MaxFaults: 30,
		MaxProb:   0.02,
		MaxLag:    50 * time.Millisecond,
	}
	sawFault, sawProb, sawDelay := false, false, false
	for seed := range uint64(300) {
		p := Random(seeded(seed), opts)
		if len(p.Faults) > opts.MaxFaults {
			t.Fatalf("seed %d: %d faults", seed, len(p.Faults))
		}
		stops, crashes := 0, 0
		for _, f := range p.Faults {
			sawFault = true
			switch f.Kind {
			case Delay, Stall, DropReply:
			case Stop:
				stops++
			case Crash:
				crashes++
			default:
				t.Fatalf("seed %d: kind %v not enabled", seed, f.Kind)
			}
			if f.At >= opts.Horizon {
				t.Fatalf("seed %d: %v beyond horizon", seed, f)
			}
			if f.Target != "" && f.Target != "r1" {
				t.Fatalf("seed %d: target %q", seed, f.Target)
			}
			if f.Lag > opts.MaxLag {
				t.Fatalf("seed %d: %v lag above MaxLag", seed, f)
			}
		}
		if stops > 1 || crashes > 1 {
			t.Fatalf("seed %d: %d stops, %d crashes", seed, stops, crashes)
		}
		for _, k := range Kinds() {
			if v := p.Prob[k]; v != 0 {
				sawProb = true
				if k != DropReply || v > opts.MaxProb {
					t.Fatalf("seed %d: prob %v %v", seed, k, v)
				}
			}
		}
		if p.Delay.Kind != NoDelay {
			sawDelay = true
			if p.Delay.Max() > opts.MaxLag {
				t.Fatalf("seed %d: delay %v above MaxLag", seed, p.Delay)
			}
		}
	}
	if !sawFault || !sawProb || !sawDelay {
		t.Fatalf("300 seeds never produced a fault (%v), a probability (%v) or a delay (%v)", sawFault, sawProb, sawDelay)
	}
}

func TestRandomReadsOnlyItsRand(t *testing.T) {
	// Interleaving another generator's use must not change a plan.
	a := Random(seeded(7), GenOptions{})
	_ = Random(seeded(8), GenOptions{})
	_ = rand.Int() // the global source is not consulted
	b := Random(seeded(7), GenOptions{})
	if !a.Equal(b) {
		t.Fatal("plan depends on something besides its *rand.Rand")
	}
}

func TestDistSample(t *testing.T) {
	r := seeded(1)
	dists := []Dist{
		{},
		{Kind: Fixed, A: 5 * time.Millisecond},
		{Kind: Uniform, A: time.Millisecond, B: 3 * time.Millisecond},
		{Kind: Uniform, A: time.Millisecond, B: time.Millisecond},
		{Kind: Exp, A: 10 * time.Millisecond, Cap: 15 * time.Millisecond},
	}
	for _, d := range dists {
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		lo := d.A
		if d.Kind == Exp {
			lo = 0
		}
		var sum time.Duration
		for range 1000 {
			v := d.Sample(r)
			if v < lo || v > d.Max() {
				t.Fatalf("%v: sample %v outside [%v, %v]", d, v, lo, d.Max())
			}
			sum += v
		}
		if d.Kind == Uniform && d.A != d.B {
			if mean := sum / 1000; mean < 1800*time.Microsecond || mean > 2200*time.Microsecond {
				t.Fatalf("%v: mean %v", d, mean)
			}
		}
	}
	a, b := seeded(3), seeded(3)
	d := Dist{Kind: Exp, A: time.Millisecond, Cap: time.Second}
	for range 100 {
		if d.Sample(a) != d.Sample(b) {
			t.Fatal("Sample not deterministic")
		}
	}
}

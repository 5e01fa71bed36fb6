package swarm

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
	"github.com/logstream-sim/logstream-sim/sim/simtest"
)

// describe renders everything a config carries that a seed decides.
func describe(c sim.Config) string {
	return fmt.Sprintf("%d %v %v %+v %v %+v\n%s", c.Seed, c.Targets, c.Horizon, c.Tail, c.IdleTimeout, c.Writer, c.Plan)
}

func TestConfigIsPureFunctionOfSeed(t *testing.T) {
	seen := map[string]uint64{}
	for seed := uint64(0); seed < 200; seed++ {
		a, b := Config(seed), Config(seed)
		if describe(a) != describe(b) {
			t.Fatalf("seed %d: two calls differ:\n%s\n%s", seed, describe(a), describe(b))
		}
		if err := a.Plan.Validate(); err != nil {
			t.Fatalf("seed %d: invalid plan: %v", seed, err)
		}
		if a.Horizon < 20*time.Second || a.Horizon > 3*time.Minute {
			t.Fatalf("seed %d: horizon %v out of [20s,3m]", seed, a.Horizon)
		}
		d := describe(a)
		if prev, ok := seen[d[strings.IndexByte(d, ' '):]]; ok {
			t.Errorf("seeds %d and %d give the same run", prev, seed)
		}
		seen[d[strings.IndexByte(d, ' '):]] = seed
	}
}

func TestParseShard(t *testing.T) {
	for _, bad := range []string{"", "1", "1/1", "-1/2", "0/0", "a/b", "2/1", "0/-3"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	s, err := ParseShard("2/5")
	if err != nil || s != (Shard{2, 5}) || s.String() != "2/5" {
		t.Fatalf("ParseShard(2/5) = %v, %v", s, err)
	}
}

// seedsOf runs a swarm with a trivial config and returns the seeds emitted.
func seedsOf(t *testing.T, ctx context.Context, opt Options) ([]uint64, Summary) {
	t.Helper()
	opt.Config = func(seed uint64) sim.Config {
		return sim.Config{Seed: seed, Horizon: time.Second, Limit: time.Second}
	}
	var got []uint64
	sum, _ := Run(ctx, opt, func(r *Result) {
		if r.Failed() {
			t.Fatalf("seed %d failed: %v %v", r.Seed, r.Err, r.Report.First())
		}
		got = append(got, r.Seed)
	})
	return got, sum
}

func TestShardsPartitionTheRange(t *testing.T) {
	const start, n, shards = 7, 40, 3
	cover := map[uint64]int{}
	for i := range shards {
		got, sum := seedsOf(t, context.Background(), Options{Start: start, Seeds: n, Shard: Shard{i, shards}, Workers: 2})
		if !sum.Complete || sum.Runs != len(got) {
			t.Fatalf("shard %d: summary %+v, %d seeds", i, sum, len(got))
		}
		for j, s := range got {
			if s%shards != uint64(i) || (j > 0 && s <= got[j-1]) {
				t.Fatalf("shard %d: seeds %v not in the shard or not in order", i, got)
			}
			cover[s]++
		}
	}
	for s := uint64(start); s < start+n; s++ {
		if cover[s] != 1 {
			t.Fatalf("seed %d covered %d times", s, cover[s])
		}
	}
	if len(cover) != n {
		t.Fatalf("%d seeds covered, want %d", len(cover), n)
	}
}

func TestCanceledSwarmReportsAContiguousPrefix(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var got []uint64
	opt := Options{Workers: 2, Config: func(seed uint64) sim.Config {
		return sim.Config{Seed: seed, Horizon: time.Second, Limit: time.Second}
	}}
	_, err := Run(ctx, opt, func(r *Result) {
		got = append(got, r.Seed)
		if len(got) == 25 {
			cancel()
		}
	})
	if err == nil {
		t.Fatal("unbounded swarm ended without its context's error")
	}
	for i, s := range got {
		if s != uint64(i) {
			t.Fatalf("seeds %v: not the prefix 0..%d", got, len(got)-1)
		}
	}
}

func TestOrderedDoesNotDependOnWorkers(t *testing.T) {
	for _, w := range []int{1, 2, 7} {
		var got []uint64
		third := make(chan struct{})
		Ordered(context.Background(), 50, true, w,
			func(i uint64) uint64 {
				switch {
				case i == 0 && w > 1:
					<-third // finish out of order: index 0 after index 3
				case i == 3:
					close(third)
				}
				return i * i
			},
			func(i, v uint64) bool {
				if v != i*i {
					t.Fatalf("index %d got %d", i, v)
				}
				got = append(got, i)
				return i < 30
			})
		if len(got) != 31 || got[30] != 30 {
			t.Fatalf("workers %d: emitted %v, want 0..30", w, got)
		}
	}
}

// failing returns a failing config: a standard-mix seed with one of
// simtest's broken streamers installed (the real streamer may have no
// failing seed at all).
func failing(t *testing.T) (sim.Config, *oracle.Report) {
	t.Helper()
	v := simtest.Variants[0]
	for seed := uint64(0); seed < 100; seed++ {
		cfg := Config(seed)
		v.Apply(&cfg)
		if r := Check(cfg); r.Failed() && r.Err == nil {
			return cfg, r.Report
		}
	}
	t.Fatalf("variant %s: no failure in 100 seeds", v.Name)
	return sim.Config{}, nil
}

func TestShrinkKeepsTheProperty(t *testing.T) {
	cfg, rep := failing(t)
	prop := rep.First().Property
	var prev string
	for _, w := range []int{1, 2} {
		sh := Shrink(context.Background(), cfg, prop, rep, ShrinkOptions{MaxAttempts: 6, Workers: w})
		if sh.Attempts > 6 || sh.Report.First().Property != prop {
			t.Fatalf("workers %d: %d attempts, first %v", w, sh.Attempts, sh.Report.First())
		}
		if _, ok := Fails(sh.Config, prop); !ok {
			t.Fatalf("shrunk config does not fail:\n%s", describe(sh.Config))
		}
		if sh.Config.Plan.Len() > cfg.Plan.Len() {
			t.Fatalf("shrunk plan grew: %d > %d items", sh.Config.Plan.Len(), cfg.Plan.Len())
		}
		d := fmt.Sprintf("%s %d %d", describe(sh.Config), sh.Attempts, sh.Accepted)
		if prev != "" && d != prev {
			t.Fatalf("shrinking depends on workers:\n%s\n%s", prev, d)
		}
		prev = d
	}
}

func TestShrinkNeverAcceptsOtherProperties(t *testing.T) {
	cfg, rep := failing(t)
	other := oracle.PropTermination
	if rep.First().Property == other {
		other = oracle.PropLiveness
	}
	sh := Shrink(context.Background(), cfg, other, rep, ShrinkOptions{MaxAttempts: 4})
	if sh.Accepted != 0 || !sh.Config.Plan.Equal(cfg.Plan) {
		t.Fatalf("accepted %d candidates for a property that never failed", sh.Accepted)
	}
}

// BenchmarkSwarm reports seeds per second of the default mixes with one and
// with two workers (the speedup is the ratio), with the GC target simrun
// uses (400%).
func BenchmarkSwarm(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			const batch = 40
			var seeds uint64
			for b.Loop() {
				_, err := Run(context.Background(), Options{Start: seeds, Seeds: batch, Workers: w}, func(*Result) {})
				if err != nil {
					b.Fatal(err)
				}
				seeds += batch
			}
			b.ReportMetric(float64(seeds)/b.Elapsed().Seconds(), "seeds/s")
		})
	}
}

// BenchmarkSwarmFixed reports seeds per second of the default mixes over a
// fixed seed range, [0, 200), so that runs before and after a change (and
// with -count N for benchstat) measure the same work. workers=1 is the
// speed of one core (the steadiest number on a shared machine); workers=2
// is what "simrun swarm" does on this 2-core machine. The GC target is
// simrun's (400%). cpu-ms/seed is the process's CPU time (user and system,
// GC included) per seed: on a machine shared with other jobs, which
// stretches wall time, it is the steadier measure of the work a seed costs
// (an idle 2-core machine runs about 2000/cpu-ms/seed seeds/s).
func BenchmarkSwarmFixed(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	const seeds = 200
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			var runs int
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				sum, err := Run(context.Background(), Options{Seeds: seeds, Workers: w}, func(*Result) {})
				if err != nil {
					b.Fatal(err)
				}
				runs += sum.Runs
			}
			b.ReportMetric(float64(runs)/b.Elapsed().Seconds(), "seeds/s")
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(time.Millisecond)/float64(runs), "cpu-ms/seed")
			}
		})
	}
}

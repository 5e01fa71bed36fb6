package oracle

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/sim"
)

// growingConfig is one run whose record grows linearly with k: the writer
// writes for k*30 s at a steady rate, the log rotates every 5 s and is
// copytruncated every 35 s, truncated and regrown with the same head every
// 45 s, a target stalls for 2 s every 20 s, and 1% of
// requests and replies are lost, so that writes, file events, network
// events, arrivals and spans all scale with k.
func growingConfig(k int) sim.Config {
	horizon := time.Duration(k) * 30 * time.Second
	var plan strings.Builder
	for t := 5 * time.Second; t < horizon; t += 5 * time.Second {
		if t%(35*time.Second) == 0 {
			fmt.Fprintf(&plan, "at %v copytruncate for=50ms\n", t)
		} else {
			fmt.Fprintf(&plan, "at %v rotate keep=2\n", t)
		}
	}
	for t := 12 * time.Second; t < horizon; t += 20 * time.Second {
		fmt.Fprintf(&plan, "at %v stall target=r2 for=2s\n", t)
	}
	for t := 22*time.Second + 500*time.Millisecond; t < horizon; t += 45 * time.Second {
		fmt.Fprintf(&plan, "at %v truncate regrow=4096 same-head\n", t)
	}
	plan.WriteString("prob drop-request 0.01\nprob drop-reply 0.01\n")
	p, err := faults.Parse(plan.String())
	if err != nil {
		panic(err)
	}
	return sim.Config{Seed: 3, Targets: []string{"r1", "r2"}, Horizon: horizon, Plan: p,
		Writer: sim.WriterConfig{Rate: 200 << 10, MaxWrite: 4096, BurstEvery: 50 * time.Millisecond}}
}

// recordLen is the number of entries of h the oracle reads: writes, file
// events, network events, injected faults and, per target, runs, arrivals,
// done calls, spans and heartbeats.
func recordLen(h *sim.History) int {
	n := len(h.Writes) + len(h.Files) + len(h.Net) + len(h.FSFaults) + len(h.Faults)
	for _, t := range h.Targets {
		n += len(t.Runs) + len(t.Arrivals) + len(t.Done) + len(t.Lost) + len(t.NotReady) + len(t.Heartbeats)
	}
	return n
}

// BenchmarkCheckGrowth checks records of 1, 4 and 16 times a base length
// (growingConfig) and reports the oracle's ns per record entry: with
// O(n log n) rules it grows by about a constant per quadrupling (log n),
// where a quadratic rule would quadruple it. cpu-ns/entry is the same in
// process CPU time (GC included), steadier on a shared machine.
func BenchmarkCheckGrowth(b *testing.B) {
	for _, k := range []int{1, 4, 16, 64} {
		h, err := sim.Simulate(growingConfig(k))
		if err != nil {
			b.Fatal(err)
		}
		n := recordLen(h)
		b.Run(fmt.Sprintf("x%d", k), func(b *testing.B) {
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				if r := Check(h); r == nil {
					b.Fatal("no report")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N)/float64(n), "cpu-ns/entry")
			}
			b.ReportMetric(float64(n), "entries")
		})
	}
}

package sim

import (
	"fmt"
	"github.com/benbjohnson/clock"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
)

// hourConfig is the standard virtual hour: two targets, default
// timing, ~20 MB written in bursts, a rename rotation every five minutes and
// one copytruncate, 1% dropped requests and 1% lost replies.
func hourConfig(seed uint64) Config {
	var plan strings.Builder
	for m := 5; m < 60; m += 5 {
		fmt.Fprintf(&plan, "at %dm rotate keep=3\n", m)
	}
	plan.WriteString("at 32m30s copytruncate for=100ms\nprob drop-request 0.01\nprob drop-reply 0.01\n")
	p, err := faults.Parse(plan.String())
	if err != nil {
		panic(err)
	}
	return Config{
		Seed:    seed,
		Targets: []string{"r1", "r2"},
		Horizon: time.Hour,
		Writer:  WriterConfig{Rate: 20_000_000 / 3600, MaxWrite: 4096, BurstEvery: 10 * time.Second},
		Plan:    p,
	}
}

// BenchmarkVirtualHour reports how many virtual seconds one wall second
// simulates (target: at least 100,000, i.e. one virtual hour in 36 ms).
func BenchmarkVirtualHour(b *testing.B) {
	var virtual time.Duration
	var written int64
	for i := 0; b.Loop(); i++ {
		h, err := Simulate(hourConfig(uint64(i)))
		if err != nil {
			b.Fatal(err)
		}
		virtual += h.SenderEnd.Sub(h.Start)
		written += h.Written
	}
	b.ReportMetric(virtual.Seconds()/b.Elapsed().Seconds(), "virtual-s/wall-s")
	b.ReportMetric(float64(written)/float64(b.N)/1e6, "MB-written/run")
}

// BenchmarkGiB writes 1 GiB in one virtual hour and reports the peak heap,
// to show that the oracle's inputs do not keep a copy of what was written.
// The log rotates every minute keeping one generation, so the simulated
// disk itself holds at most ~40 MB; the rest of the heap is the simulator.
func BenchmarkGiB(b *testing.B) {
	var plan strings.Builder
	for m := 1; m < 60; m++ {
		fmt.Fprintf(&plan, "at %dm rotate keep=1\n", m)
	}
	p, err := faults.Parse(plan.String())
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		cfg := hourConfig(uint64(i))
		cfg.Plan = p
		cfg.Writer = WriterConfig{Rate: 1 << 30 / 3600, MaxWrite: 256 << 10, BurstEvery: 10 * time.Second}
		var peak uint64
		var ms runtime.MemStats
		stopSampling := make(chan struct{})
		done := make(chan struct{})
		go func() { // sample the heap while the run goes on
			defer close(done)
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-stopSampling:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		h, err := Simulate(cfg)
		close(stopSampling)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(h.Written)/(1<<30), "GiB-written")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}

// BenchmarkVirtualMinuteMockClock runs one virtual minute of the standard
// mix while also stepping a benbjohnson/clock Mock to every event's time, as
// a simulator built on clock.Mock would have to: compare its
// virtual-s/wall-s with BenchmarkVirtualHour's.
func BenchmarkVirtualMinuteMockClock(b *testing.B) {
	var virtual time.Duration
	for i := 0; b.Loop(); i++ {
		cfg := hourConfig(uint64(i))
		cfg.Horizon = time.Minute
		w, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		mock := clock.NewMock()
		mock.Set(Epoch)
		w.onStep = func(t time.Time) {
			if t.After(mock.Now()) {
				mock.Set(t)
			}
		}
		h, err := w.Run()
		if err != nil {
			b.Fatal(err)
		}
		virtual += h.SenderEnd.Sub(h.Start)
	}
	b.ReportMetric(virtual.Seconds()/b.Elapsed().Seconds(), "virtual-s/wall-s")
}

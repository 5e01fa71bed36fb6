package sim

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
)

// Issue 10's speed and memory benchmarks, in virtual time: a writer at
// 10 MiB/s, links of 100 Mbit/s each way with a fixed one-way delay.

const (
	wanWriter    = 10 << 20         // bytes per second
	wanBandwidth = 100_000_000 / 8  // 100 Mbit/s in bytes per second
	wanHorizon   = 20 * time.Second // writing time per run
	oneWayZero   = time.Nanosecond  // Config.Latency 0 means the 1 ms default
	wanRotate    = 5 * time.Second  // rotation keeps the simulated disk small
	wanBurst     = 10 * time.Millisecond
	wanMaxWrite  = 64 << 10
	mib          = float64(1 << 20)
	defaultLabel = "W=default"
)

// wanConfig is one run: targets, chunk size, one-way delay, window (0: the
// default), plan lines added to the rotations.
func wanConfig(targets []string, chunk int, oneWay time.Duration, window int, horizon time.Duration, extra string) Config {
	var plan strings.Builder
	for t := wanRotate; t < horizon; t += wanRotate {
		fmt.Fprintf(&plan, "at %v rotate keep=1\n", t)
	}
	plan.WriteString(extra)
	p, err := faults.Parse(plan.String())
	if err != nil {
		panic(err)
	}
	if oneWay == 0 {
		oneWay = oneWayZero
	}
	c := Config{Seed: 1, Targets: targets, Horizon: horizon, Latency: oneWay, Bandwidth: wanBandwidth, Plan: p,
		Writer: WriterConfig{Rate: wanWriter, MaxWrite: wanMaxWrite, BurstEvery: wanBurst, Until: horizon}}
	c.Tail.ChunkSize = chunk
	c.Tail.Window = window
	return c
}

// deliveredRate is what target received by the stop, in MiB per virtual
// second of writing.
func deliveredRate(b *testing.B, h *History, target string) float64 {
	for _, t := range h.Targets {
		if t.Name == target {
			return float64(t.DeliveredAtStop) / mib / h.StopAt.Sub(h.Start).Seconds()
		}
	}
	b.Fatalf("no target %s", target)
	return 0
}

func windowLabel(w int) string {
	if w == 0 {
		return defaultLabel
	}
	return fmt.Sprintf("W=%d", w)
}

// BenchmarkWAN reports delivered MiB per virtual second for one target
// (writer 10 MiB/s, link 100 Mbit/s), for 64 KiB and 1 MiB chunks, one-way
// delays of 0, 10, 50 and 100 ms, stop-and-wait and the default window.
// Goal: at 100 ms and 64 KiB, the default window delivers at least 80% of
// the writer's rate (8 MiB/s).
func BenchmarkWAN(b *testing.B) {
	for _, chunk := range []int{64 << 10, 1 << 20} {
		for _, d := range []time.Duration{0, 10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond} {
			for _, w := range []int{1, 0} {
				name := fmt.Sprintf("chunk=%dKiB/delay=%v/%s", chunk>>10, d, windowLabel(w))
				b.Run(name, func(b *testing.B) {
					var rate float64
					for b.Loop() {
						h, err := Simulate(wanConfig([]string{"r1"}, chunk, d, w, wanHorizon, ""))
						if err != nil {
							b.Fatal(err)
						}
						rate = deliveredRate(b, h, "r1")
					}
					b.ReportMetric(rate, "MiB/virtual-s")
					b.ReportMetric(100*rate/(wanWriter/mib), "%-of-writer")
				})
			}
		}
	}
}

// BenchmarkWANWindow is the measurement behind logstream.DefaultWindow:
// delivered MiB per virtual second at 100 ms one-way with 64 KiB chunks for
// several windows.
func BenchmarkWANWindow(b *testing.B) {
	for _, w := range []int{1, 4, 8, 16, 24, 32, 48, 64} {
		b.Run(fmt.Sprintf("W=%d", w), func(b *testing.B) {
			var rate float64
			for b.Loop() {
				h, err := Simulate(wanConfig([]string{"r1"}, 64<<10, 100*time.Millisecond, w, wanHorizon, ""))
				if err != nil {
					b.Fatal(err)
				}
				rate = deliveredRate(b, h, "r1")
			}
			b.ReportMetric(rate, "MiB/virtual-s")
			b.ReportMetric(100*rate/(wanWriter/mib), "%-of-writer")
		})
	}
}

// BenchmarkHeadOfLine: two targets, r2 unreachable for the whole run; r1's
// delivered rate is reported next to its rate when it streams alone (goal:
// within 10%), for stop-and-wait and the default window, at 50 ms one-way.
func BenchmarkHeadOfLine(b *testing.B) {
	for _, w := range []int{1, 0} {
		b.Run(windowLabel(w), func(b *testing.B) {
			var alone, shared float64
			for b.Loop() {
				h, err := Simulate(wanConfig([]string{"r1"}, 64<<10, 50*time.Millisecond, w, wanHorizon, ""))
				if err != nil {
					b.Fatal(err)
				}
				alone = deliveredRate(b, h, "r1")
				h, err = Simulate(wanConfig([]string{"r1", "r2"}, 64<<10, 50*time.Millisecond, w, wanHorizon,
					"at 0s unreachable target=r2 for=1000h\n"))
				if err != nil {
					b.Fatal(err)
				}
				shared = deliveredRate(b, h, "r1")
			}
			b.ReportMetric(alone, "alone-MiB/virtual-s")
			b.ReportMetric(shared, "with-dead-target-MiB/virtual-s")
			b.ReportMetric(100*shared/alone, "%-of-alone")
		})
	}
}

// BenchmarkDeadTargetMemory: one virtual hour of a fast writer (512 KiB/s)
// streaming to r1 while r2 stalls for the whole run (its messages are held,
// so its chunks time out), with a retry budget that would keep r2 alive for
// hours: the sender holds at most ReadAhead (8 or 32 MiB here) of buffers
// for it; past that the buffer goes on without it, keeping a 40-byte
// record per chunk it needs and the handles of the rotated files that hold
// them (at most MaxQueuedFiles; the simulated disk is in the heap, so a
// removed file held open counts there), until it is more than MaxLag
// behind and given up (the default 1 GiB: after about 2048 virtual
// seconds; the max-lag=read-ahead runs give it up at once). It reports the
// peak live heap (sampled after a forced GC every 20 ms) next to the same
// run without r2: the difference stays within the read-ahead bound plus a
// constant (records: MaxLag/ChunkSize*40 bytes; held files: at most
// MaxQueuedFiles of them and MaxLag bytes plus one file).
func BenchmarkDeadTargetMemory(b *testing.B) {
	for _, readAhead := range []int64{8 << 20, 32 << 20} {
		b.Run(fmt.Sprintf("read-ahead=%dMiB", readAhead>>20), func(b *testing.B) { benchDeadTarget(b, readAhead, 0) })
	}
	b.Run("read-ahead=8MiB,max-lag=8MiB", func(b *testing.B) { benchDeadTarget(b, 8<<20, 8<<20) })
}

func benchDeadTarget(b *testing.B, readAhead, maxLag int64) {
	run := func(targets []string, extra string) (peak uint64, held int64, h *History) {
		c := wanConfig(targets, 64<<10, 10*time.Millisecond, 0, time.Hour, extra)
		c.Writer.Rate = 512 << 10
		c.Tail.ReadAhead = readAhead
		c.Tail.MaxLag = maxLag
		c.Tail.RetryLimit = 1 << 20
		c.Tail.NotReadyTimeout = 2 * time.Hour
		c.IdleTimeout = -1
		runtime.GC()
		var ms runtime.MemStats
		stop, done := make(chan struct{}), make(chan struct{})
		go func() { // sample the live heap while the run goes on
			defer close(done)
			for {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		w, err := New(c)
		if err != nil {
			b.Fatal(err)
		}
		h, err = w.Run()
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		st := w.sender.p.(logstream.StatsReporter).Stats(w.now)
		return peak, st.PeakBuffered, h
	}
	for b.Loop() {
		alone, _, _ := run([]string{"r1"}, "")
		dead, held, h := run([]string{"r1", "r2"}, "at 0s stall target=r2 for=1000h\n")
		b.ReportMetric(float64(held)/mib, "sender-peak-held-MiB")
		b.ReportMetric(float64(alone)/mib, "alone-peak-live-heap-MiB")
		b.ReportMetric(float64(dead)/mib, "dead-target-peak-live-heap-MiB")
		b.ReportMetric(float64(dead-min(dead, alone))/mib, "extra-MiB")
		b.ReportMetric(float64(readAhead)/mib, "read-ahead-MiB")
		b.ReportMetric(float64(h.Written)/mib/1024, "GiB-written")
		for _, t := range h.Result.Targets {
			if t.Target == "r2" {
				b.Logf("r2: %s (%s)", t.RC, t.Reason)
			}
		}
	}
}

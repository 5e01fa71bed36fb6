package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
)

// dataArrivals parses a trace and returns, per target, the virtual times at
// which data messages reached it.
func dataArrivals(t *testing.T, tr []byte) map[string][]time.Duration {
	t.Helper()
	out := map[string][]time.Duration{}
	for _, line := range bytes.Split(tr, []byte("\n")) {
		if !bytes.Contains(line, []byte(`"ev":"deliver"`)) || !bytes.Contains(line, []byte(`"msg":"data"`)) {
			continue
		}
		var ev struct {
			T      string `json:"t"`
			Target string `json:"target"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("trace line %s: %v", line, err)
		}
		d, err := time.ParseDuration(ev.T)
		if err != nil {
			t.Fatalf("trace line %s: %v", line, err)
		}
		out[ev.Target] = append(out[ev.Target], d)
	}
	return out
}

// maxGap is the longest time between two consecutive arrivals in [from, to].
func maxGap(at []time.Duration, from, to time.Duration) (gap, where time.Duration) {
	prev := from
	for _, a := range at {
		if a < from || a > to {
			continue
		}
		if a-prev > gap {
			gap, where = a-prev, prev
		}
		prev = a
	}
	if to-prev > gap {
		gap, where = to-prev, prev
	}
	return gap, where
}

// Issue 10: one target's retries froze every healthy one. With lockstep
// rounds, six healthy targets received nothing for about 16 s while r7,
// unreachable for 15 s, was retried with backoff. Each target now has its
// own pace: the healthy ones keep getting data at the pace of the writer
// (bursts every 100 ms on average) and the poll interval while r7 retries,
// with W=1 as with the default window.
func TestRetryingTargetDoesNotFreezeHealthyOnes(t *testing.T) {
	plan, err := faults.Parse("at 20s unreachable target=r7 for=15s\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{1, 0} {
		t.Run(fmt.Sprintf("window=%d", w), func(t *testing.T) {
			var tr bytes.Buffer
			cfg := Config{Seed: 3, Targets: []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7"}, Horizon: time.Minute,
				Writer: WriterConfig{BurstEvery: 100 * time.Millisecond}, Plan: plan, Trace: &tr}
			cfg.Tail.Window = w
			h, err := Simulate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			arr := dataArrivals(t, tr.Bytes())
			if gap, _ := maxGap(arr["r7"], 20*time.Second, 50*time.Second); gap < 10*time.Second {
				t.Fatalf("r7 lost no time (longest gap %v): the faults did not bite", gap)
			}
			for _, name := range cfg.Targets[:6] {
				if gap, where := maxGap(arr[name], 15*time.Second, 50*time.Second); gap > 3*time.Second {
					t.Errorf("%s received no data for %v from %v while r7 retried", name, gap, where)
				}
			}
			if h.Result.RC != "OK" {
				t.Errorf("result %+v", h.Result)
			}
		})
	}
}

// Issue 10: stop-and-wait caps a stream at one chunk per round trip. Over a
// link with a 50 ms one-way delay, a 1 MiB/s writer outruns 64 KiB chunks
// sent one at a time (640 KiB/s); the default window keeps up: by the stop,
// the target has at least 90% of what was written.
func TestWindowLiftsStopAndWaitCap(t *testing.T) {
	run := func(w int) (delivered, written int64) {
		cfg := Config{Seed: 5, Horizon: 12 * time.Second, Latency: 50 * time.Millisecond,
			Writer: WriterConfig{Rate: 1 << 20, MaxWrite: 64 << 10, BurstEvery: 50 * time.Millisecond, Until: 10 * time.Second}}
		cfg.Tail.Window = w
		h, err := Simulate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return h.Targets[0].DeliveredAtStop, h.Written
	}
	d, wr := run(0)
	if d*10 < wr*9 {
		t.Errorf("default window: %d of %d bytes delivered by the stop (%.0f%%), want at least 90%%", d, wr, 100*float64(d)/float64(wr))
	}
	d1, wr1 := run(1)
	if d1*10 >= wr1*9 {
		t.Errorf("W=1 delivered %d of %d by the stop: the link does not cap stop-and-wait, so this test shows nothing", d1, wr1)
	}
}

package oracle

import (
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/sim"
)

// A run the simulator cut for lack of progress is a livelock violation; the
// same run without the mark is not.
func TestLivelockIsAViolation(t *testing.T) {
	h, err := sim.Simulate(sim.Config{Horizon: time.Minute, MaxSteps: 40})
	if err != nil {
		t.Fatal(err)
	}
	if h.Livelock == "" {
		t.Fatal("the simulator did not cut the run")
	}
	r := Check(h)
	found := false
	for _, v := range r.Violations {
		found = found || v.Property == PropLivelock
	}
	if !found {
		t.Fatalf("no livelock violation:\n%s", r)
	}
	h2, err := sim.Simulate(sim.Config{Horizon: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Check(h2).Violations {
		if v.Property == PropLivelock {
			t.Fatalf("livelock on a plain run: %s", v)
		}
	}
}

package scenarios_test

import (
	"strings"
	"testing"

	"github.com/logstream-sim/logstream-sim/scenarios"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
	"github.com/logstream-sim/logstream-sim/sim/simtest"
)

// TestFailureReport breaks the streamer and checks that the failure report
// has the seed, the plan, the first violation and a replay command. (The
// saved scenario cannot carry a broken variant, so the replay itself is
// checked by cmd/simrun's swarm failure test.)
func TestFailureReport(t *testing.T) {
	for i := range 100 {
		v := simtest.Variants[i%len(simtest.Variants)]
		cfg := simtest.Config.Example(i)
		v.Apply(&cfg)
		h, err := sim.Simulate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rep := oracle.Check(h)
		if rep.OK() {
			continue
		}
		msg := scenarios.Failure(t.TempDir(), cfg, rep)
		for _, want := range []string{"SEED ", "PLAN\n", "FIRST VIOLATION ", "REPLAY go run ./cmd/simrun replay "} {
			if !strings.Contains(msg, want) {
				t.Fatalf("report lacks %q:\n%s", want, msg)
			}
		}
		return
	}
	t.Fatal("no variant failed")
}

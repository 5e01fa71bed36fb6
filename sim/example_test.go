package sim_test

import (
	"fmt"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

// Simulate two minutes of a log streamed to two receivers, with a rename
// rotation, a copytruncate and lost replies, and let the oracle judge the
// run from the world's record.
func ExampleSimulate() {
	plan, _ := faults.Parse("at 20s rotate keep=2\nat 40s copytruncate for=200ms\nprob drop-reply 0.01\n")
	h, _ := sim.Simulate(sim.Config{Seed: 7, Targets: []string{"r1", "r2"}, Horizon: 2 * time.Minute, Plan: plan})
	// r.String() says it all: the verdict, each target's bytes written,
	// delivered and lost, its done callback and the sender's result, then
	// each named inherent loss and each violation.
	r := oracle.Check(h)
	fmt.Println("ok:", r.OK(), "violations:", len(r.Violations), "inherent losses:", len(r.Losses))

	// Output:
	// ok: true violations: 0 inherent losses: 0
}

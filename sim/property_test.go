package sim_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/logstream-sim/logstream-sim/scenarios"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
	"github.com/logstream-sim/logstream-sim/sim/simtest"
)

// checkRun is the property: whatever the config and fault plan, the oracle
// finds nothing wrong with the run.
func checkRun(t *rapid.T) {
	cfg := simtest.Config.Draw(t, "config")
	h, err := sim.Simulate(cfg)
	if err != nil {
		t.Fatalf("simulate: %v", err)
	}
	if rep := oracle.Check(h); !rep.OK() {
		t.Fatal(scenarios.Failure("", cfg, rep))
	}
}

// TestStreamProperties checks the oracle's properties over random runs.
// Failures shrink to a small plan and are saved under testdata/rapid/ to be
// replayed first on the next run.
func TestStreamProperties(t *testing.T) { rapid.Check(t, checkRun) }

// FuzzStreamProperties lets go test -fuzz drive the same property.
func FuzzStreamProperties(f *testing.F) { f.Fuzz(rapid.MakeFuzz(checkRun)) }

// TestOracleCatchesBrokenStreamers shows the oracle can fail: each broken
// variant must violate a property within rapid's default 100 checks.
func TestOracleCatchesBrokenStreamers(t *testing.T) {
	for _, v := range simtest.Variants {
		t.Run(v.Name, func(t *testing.T) {
			for i := range 100 {
				cfg := simtest.Config.Example(i)
				v.Apply(&cfg)
				h, err := sim.Simulate(cfg)
				if err != nil {
					t.Fatal(err)
				}
				rep := oracle.Check(h)
				for _, viol := range rep.Violations {
					if viol.Property == v.Caught {
						t.Logf("caught at check %d: %s", i, viol)
						return
					}
				}
			}
			t.Fatalf("%s: no %s violation in 100 checks", v.Name, v.Caught)
		})
	}
}

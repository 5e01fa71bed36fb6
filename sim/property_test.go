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
// variant must violate its property within 100 drawn worlds, in a world
// where the real streamer passes (so the verdict is the breakage's, not a
// known loss of the streamer's).
func TestOracleCatchesBrokenStreamers(t *testing.T) {
	for _, v := range simtest.Variants {
		t.Run(v.Name, func(t *testing.T) {
			gen := v.Gen
			if gen == nil {
				gen = simtest.Config
			}
			for i := range 100 {
				cfg := gen.Example(i)
				broken := cfg
				v.Apply(&broken)
				h, err := sim.Simulate(broken)
				if err != nil {
					t.Fatal(err)
				}
				var caught *oracle.Violation
				for _, viol := range oracle.Check(h).Violations {
					if viol.Property == v.Caught {
						caught = &viol
						break
					}
				}
				if caught == nil {
					continue
				}
				h, err = sim.Simulate(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if rep := oracle.Check(h); !rep.OK() {
					continue // a known loss of the real streamer in this world
				}
				t.Logf("caught at check %d: %s", i, caught)
				return
			}
			t.Fatalf("%s: no %s violation in 100 worlds in which the real streamer passes", v.Name, v.Caught)
		})
	}
}

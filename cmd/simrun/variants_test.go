package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/simtest"
	"github.com/logstream-sim/logstream-sim/sim/swarm"
)

var variantSwarm = flag.Duration("variantswarm", 0,
	"run `simrun swarm --duration D` on the standard mix with each broken variant installed and report the seed and seconds to the first failure")

// TestVariantSwarm measures how fast the swarm finds each broken variant
// (behind -variantswarm D, for the issue note): it runs the swarm command
// for at most D on the standard mix with the variant installed, stopping at
// the first failing seed, and reports that seed, the wall time, the first
// violation, and whether the real streamer passes that seed (the failure is
// the variant's, not a known loss of the streamer's).
func TestVariantSwarm(t *testing.T) {
	if *variantSwarm <= 0 {
		t.Skip("measurement: go test ./cmd/simrun -run TestVariantSwarm -variantswarm 60s -v")
	}
	for _, v := range simtest.Variants {
		mix := func(seed uint64) sim.Config {
			cfg := swarm.Config(seed)
			v.Apply(&cfg)
			return cfg
		}
		var out, errb strings.Builder
		m := &Main{Stdout: &out, Stderr: &errb}
		c := &SwarmCommand{main: m, config: mix}
		start := time.Now()
		err := c.Run(context.Background(), []string{"--duration", variantSwarm.String(), "--shrink", "0",
			"--save", t.TempDir(), "--no-wall"})
		wall := time.Since(start)
		seed, first := "-", "none"
		for _, l := range strings.Split(out.String(), "\n") {
			if rest, ok := strings.CutPrefix(l, "FAIL seed "); ok {
				s, viol, _ := strings.Cut(rest, ": ")
				seed, first = s, viol
				break
			}
		}
		real := "-"
		var n uint64
		if _, err := fmt.Sscan(seed, &n); err == nil {
			real = "passes"
			if swarm.Check(swarm.Config(n)).Failed() {
				real = "FAILS (known loss)"
			}
		}
		t.Logf("| %s | %s | %.1fs | real streamer %s | %v | %s", v.Name, seed, wall.Seconds(), real, err, first)
	}
}

package simtest

import (
	"fmt"
	"strings"

	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

// Failure formats a failed run for a person: the seed, the configuration,
// the fault plan, the first violated property, and the command that replays
// it.
func Failure(cfg sim.Config, rep *oracle.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SEED %d\n", cfg.Seed)
	fmt.Fprintf(&b, "CONFIG targets=%s horizon=%v poll=%v liveness=%v idle=%v chunk=%d drain=%v rate=%d max-write=%d burst-every=%v\n",
		strings.Join(cfg.Targets, ","), cfg.Horizon, cfg.Tail.PollInterval, cfg.Tail.LivenessInterval, cfg.IdleTimeout,
		cfg.Tail.ChunkSize, cfg.Tail.DrainWindow, cfg.Writer.Rate, cfg.Writer.MaxWrite, cfg.Writer.BurstEvery)
	fmt.Fprintf(&b, "PLAN\n%s", cfg.Plan.String())
	if v := rep.First(); v != nil {
		fmt.Fprintf(&b, "FIRST VIOLATION %s\n", v)
	}
	fmt.Fprintf(&b, "REPORT\n%s", rep.String())
	return b.String()
}

//go:build !unix

package oracle

import "time"

// processCPU is not measured off Unix: the benchmarks report wall time only.
func processCPU() (time.Duration, bool) { return 0, false }

//go:build unix

package swarm

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) the process has used,
// and true; benchmarks divide it by their work so that a busy shared
// machine, which stretches wall time, changes their result less.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

//go:build !unix

package cputime

import "time"

// Process is not measured off Unix: it returns false.
func Process() (time.Duration, bool) { return 0, false }

// Switches is not measured off Unix: it returns false.
func Switches() (int64, bool) { return 0, false }

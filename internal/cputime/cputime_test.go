package cputime_test

import (
	"runtime"
	"testing"

	"github.com/logstream-sim/logstream-sim/internal/cputime"
)

// CPU time grows with work, and never goes back.
func TestProcessGrows(t *testing.T) {
	a, ok := cputime.Process()
	if !ok {
		if runtime.GOOS != "windows" && runtime.GOOS != "plan9" {
			t.Fatal("no CPU time on a Unix system")
		}
		t.Skip("CPU time is not measured on " + runtime.GOOS)
	}
	x := 0
	for i := range 50_000_000 {
		x ^= i
	}
	b, _ := cputime.Process()
	if b <= a {
		t.Fatalf("CPU time %v then %v after a busy loop (%d)", a, b, x)
	}
}

// The context switch count is readable on Unix and never goes back.
func TestSwitchesReadable(t *testing.T) {
	a, ok := cputime.Switches()
	if !ok {
		if runtime.GOOS != "windows" && runtime.GOOS != "plan9" {
			t.Fatal("no context switch count on a Unix system")
		}
		t.Skip("context switches are not counted on " + runtime.GOOS)
	}
	runtime.Gosched()
	if b, _ := cputime.Switches(); b < a || a < 0 {
		t.Fatalf("context switches %d then %d", a, b)
	}
}

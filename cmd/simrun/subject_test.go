package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSubjectUsage: bad flags are usage errors (exit 2) with a hint.
func TestSubjectUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"subject"}, "--cmd is required"},
		{[]string{"subject", "--cmd", "x", "--factor", "0"}, "--factor 0 out of range"},
		{[]string{"subject", "--cmd", "x", "--workers", "0"}, "--workers 0 must be >= 1"},
		{[]string{"subject", "--cmd", "x", "--also", "y"}, "--also needs --hazards"},
		{[]string{"subject", "--cmd", "x", "no_such_scenario"}, "unknown scenario"},
	} {
		code, out, errs := simrun(t, dir, c.args...)
		if code != ExitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and %q", c.args, code, errs, out, c.want)
		}
	}
}

// TestSubjectRun runs the Go subject on one scenario and skips another
// whose faults act on the tailer's own calls; JUnit records both.
func TestSubjectRun(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "logstream-subject")
	if out, err := exec.Command("go", "build", "-o", bin, "../logstream-subject").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	junit := filepath.Join(dir, "out.xml")
	code, out, errs := simrun(t, dir, "subject", "--cmd", bin, "--factor", "50", "--junit", junit,
		"duplicated_first_message_does_not_deadlock", "short_reads_deliver_every_byte")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, w := range []string{
		"duplicated_first_message_does_not_deadlock  ok",
		"--- SKIP short_reads_deliver_every_byte: fault short-read acts on the tailer's own system calls",
		"2 runs: 1 ok, 0 failed, 1 skipped; factor 50",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	// The hazard report: one row per hazard the scenarios given produce.
	code, out, errs = simrun(t, dir, "subject", "--hazards", "--cmd", bin, "--factor", "50", "duplicated_first_message_does_not_deadlock")
	if code != ExitOK || !strings.Contains(out, "HAZARD REPORT (factor 50)") ||
		!regexp.MustCompile(`H20 +duplicated first message deadlocks the receiver +duplicated_first_message_does_not_deadlock +pass`).MatchString(out) {
		t.Errorf("hazards: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	x := readFile(t, junit)
	if !strings.Contains(x, `skipped="1"`) || !strings.Contains(x, `<skipped message="fault short-read`) {
		t.Errorf("junit:\n%s", x)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

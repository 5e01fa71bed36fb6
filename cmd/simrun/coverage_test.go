package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logstream-sim/logstream-sim/sim/coverage"
)

// The JUnit report of a swarm carries one coverage property per class and,
// with --require-coverage, a "coverage" testcase that fails naming the
// classes hit too rarely; the exit code is 1.
func TestSwarmJUnitCarriesCoverage(t *testing.T) {
	dir := t.TempDir()
	junit := filepath.Join(dir, "swarm.xml")
	code, out, errs := simrun(t, dir, "swarm", "--no-wall", "--seeds", "3", "--workers", "2",
		"--require-coverage=1000", "--junit", junit)
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "coverage: ") || !strings.Contains(errs, "rotation-while-lagging") {
		t.Errorf("stderr does not name the classes: %s", errs)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Suites[0]
	props := map[string]bool{}
	for _, p := range s.Props.Props {
		props[p.Name] = true
	}
	for _, c := range coverage.Classes {
		if !props["coverage."+c.Name] {
			t.Errorf("no property coverage.%s", c.Name)
		}
	}
	var cov *junitCase
	for i := range s.Cases {
		if s.Cases[i].Name == "coverage" {
			cov = &s.Cases[i]
		}
	}
	if cov == nil || cov.Failure == nil || !strings.Contains(cov.Failure.Message, "hit fewer than 1000") {
		t.Fatalf("coverage testcase %+v", cov)
	}
	if s.Failures != 1 {
		t.Errorf("suite failures %d, want 1 (the coverage testcase)", s.Failures)
	}
}

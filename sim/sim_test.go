package sim

import (
	"bytes"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
)

func TestQuietRunDeliversEverything(t *testing.T) {
	var tr bytes.Buffer
	h, err := Simulate(Config{Seed: 1, Horizon: 2 * time.Minute, Trace: &tr, Targets: []string{"r1", "r2"}})
	if err != nil {
		t.Fatal(err)
	}
	if h.Stuck != "" {
		t.Fatalf("stuck: %s", h.Stuck)
	}
	t.Logf("written %d, steps %d, end %v, result %+v", h.Written, h.Steps, h.End.Sub(Epoch), h.Result)
	for _, tl := range h.Targets {
		t.Logf("%s: delivered %d runs %+v done %+v", tl.Name, tl.Delivered, tl.Runs, tl.Done)
	}
	t.Logf("trace lines %d; tail:\n%s", bytes.Count(tr.Bytes(), []byte("\n")), tail(tr.String(), 8))
}

func tail(s string, n int) string {
	lines := bytes.Split([]byte(s), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

func TestFaultyRun(t *testing.T) {
	plan, err := faults.Parse(`
at 20s rotate keep=2
at 40s copytruncate for=200ms
at 50s drop-request target=r1 count=3
at 60s truncate regrow=100
prob drop-reply 0.05
prob drop-request 0.05
`)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Simulate(Config{Seed: 2, Horizon: 2 * time.Minute, Targets: []string{"r1", "r2"}, Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("written %d, steps %d, end %v, result %+v stuck %q", h.Written, h.Steps, h.End.Sub(Epoch), h.Result, h.Stuck)
	for _, tl := range h.Targets {
		t.Logf("%s: delivered %d runs %+v done %+v", tl.Name, tl.Delivered, tl.Runs, tl.Done)
	}
}

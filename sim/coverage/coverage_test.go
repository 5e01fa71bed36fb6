package coverage

import (
	"slices"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// run simulates a small world with plan text and config tweaks.
func run(t *testing.T, plan string, tweak func(*sim.Config)) *sim.History {
	t.Helper()
	p, err := faults.Parse(plan)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.Config{Seed: 1, Targets: []string{"r1", "r2"}, Horizon: 30 * time.Second, Plan: p,
		Tail:   logstream.TailOptions{PollInterval: 500 * time.Millisecond, LivenessInterval: 5 * time.Second, ChunkSize: 4096},
		Writer: sim.WriterConfig{Rate: 16 << 10, BurstEvery: 100 * time.Millisecond, MaxWrite: 4096}, IdleTimeout: 15 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := sim.Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Each class fires on a run built to exercise it, and no class fires on a
// plain run (no faults, a quiet writer that stops before stop).
func TestEachClassFiresOnItsRunAndNotOnAPlainRun(t *testing.T) {
	plain := run(t, "", func(c *sim.Config) {
		c.Writer = sim.WriterConfig{Rate: 1024, BurstEvery: time.Second, Until: 25 * time.Second}
	})
	if hits := Hits(plain); len(hits) != 0 {
		t.Errorf("plain run hits %v", hits)
	}
	wan := func(c *sim.Config) { c.Latency = 150 * time.Millisecond }
	cases := map[string]struct {
		plan  string
		tweak func(*sim.Config)
	}{
		"rotation-while-lagging": {"at 10s rotate keep=3", wan},
		// With file events (the real driver's default) the producer reads
		// each burst as it is written, so a chunk is in flight at the
		// rotation; polling alone reads only at poll instants, and a
		// rotation between a round's replies and the next poll has none.
		"rotation-mid-chunk": {"at 10s rotate keep=3", func(c *sim.Config) {
			wan(c)
			c.Events = sim.FileEvents{On: true, Delay: time.Millisecond}
		}},
		"two-rotations-one-poll":          {"at 10s rotate keep=3\nat 10.1s rotate keep=3", nil},
		"copytruncate-during-read":        {"at 10s copytruncate for=100ms", wan},
		"rename-between-open-and-fstat":   {"at 10s rotate keep=3\nat 10s step-rotate call=6", nil},
		"truncate-between-fstat-and-read": {"at 10s step-truncate call=2", nil},
		"file-op-inside-tailer-step":      {"at 10s step-rotate call=1", nil},
		"truncate-during-post-stop-drain": {"at 20s stop\nat 20s truncate", wan},
		"same-head-regrow":                {"at 10s truncate regrow=100 same-head", nil},
		"truncate-to-nonzero":             {"at 10s truncate-to size=100", nil},
		"sparse-hole":                     {"at 0s no-append\nat 10s copytruncate", nil},
		"inode-reused":                    {"at 5s rotate\nat 10s rotate", func(c *sim.Config) { c.ReuseInodes = true }},
		"create-rotation-late-reopen":     {"at 10s rotate-create\nat 12s reopen", nil},
		"writer-long-after-stop":          {"at 20s stop", func(c *sim.Config) { c.Writer.Until = 29 * time.Second }},
		"writer-pause-resume":             {"at 10s pause for=5s", nil},
		"lost-first-message":              {"at 0s drop-request target=r1", nil},
		"not-ready-then-rotation":         {"at 5s not-registered target=r1\nat 2s rotate", nil},
		"eof-at-watchdog-deadline": {"at 8s stall target=r1 for=2s\nat 10.000000001s stall target=r1 for=15s\nat 12s stop",
			func(c *sim.Config) { c.Writer.Until = 5 * time.Second }},
		"callback-blocked-past-idle": {"at 10s stall target=r1 for=20s lag=16s", nil},
		"shutdown-during-callback":   {"at 10s stall target=r1 for=20s lag=16s\nat 12s shutdown target=r1", nil},
		"outage-exhausts-retries":    {"at 10s unreachable target=r1 for=60s", nil},
		"reread": {"at 5s unreachable target=r2 for=8s",
			func(c *sim.Config) { c.Tail.ReadAhead = 32 << 10 }},
		"partial-reply-map":     {"at 10s missing-reply target=r1", nil},
		"empty-reply-map":       {"at 10s missing-reply", nil},
		"consumer-ended-stream": {"at 10s end-stream target=r2", nil},
		"fault-at-poll-instant": {"at 10s rotate", nil},
		"fault-at-stop":         {"at 20s stop\nat 20s rotate", nil},
		"reply-at-chunk-deadline": {"at 10s delay for=12s lag=2.499s",
			func(c *sim.Config) { c.Writer.Rate = 1024 }},
	}
	// A file operation at an instant the tailer looked: take one from the
	// plain run (the plan does not change anything before its first fault).
	step := plain.TailSteps[len(plain.TailSteps)/2].Sub(plain.Start)
	cases["fault-at-poll-instant"] = struct {
		plan  string
		tweak func(*sim.Config)
	}{"at " + step.String() + " truncate", func(c *sim.Config) {
		c.Writer = sim.WriterConfig{Rate: 1024, BurstEvery: time.Second, Until: 25 * time.Second}
	}}
	for _, cl := range Classes {
		tc, ok := cases[cl.Name]
		if !ok {
			t.Errorf("class %s has no test run", cl.Name)
			continue
		}
		h := run(t, tc.plan, tc.tweak)
		if !cl.Hit(h) {
			t.Errorf("class %s does not fire on its run (plan %q); hits %v", cl.Name, tc.plan, Hits(h))
		}
		if cl.Hit(plain) {
			t.Errorf("class %s fires on the plain run", cl.Name)
		}
	}
	if len(Classes) < 20 {
		t.Errorf("%d classes, want at least 20", len(Classes))
	}
}

func TestCountsAndLookup(t *testing.T) {
	c := Counts{}
	c.Add([]string{"sparse-hole", "fault-at-stop"})
	c.Add([]string{"sparse-hole"})
	below := c.Below(2)
	if slices.Contains(below, "sparse-hole") || !slices.Contains(below, "fault-at-stop") || len(below) != len(Classes)-1 {
		t.Errorf("Below(2) = %v", below)
	}
	if _, ok := Lookup("sparse-hole"); !ok {
		t.Error("Lookup(sparse-hole) failed")
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) succeeded")
	}
	if Hits(nil) != nil {
		t.Error("Hits(nil) is not empty")
	}
}

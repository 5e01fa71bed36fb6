package sim_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

// File-system events (Config.Events): with events on, the tailer notices a
// rotation one event delay after it, not at its next poll; with every
// event lost (overflow), the poll still finds it. Every run passes the
// oracle with every byte written before the stop delivered.
func TestFileEventsAndOverflow(t *testing.T) {
	plan, err := faults.Parse("at 33s rotate keep=3\n")
	if err != nil {
		t.Fatal(err)
	}
	rotated := sim.Epoch.Add(33 * time.Second)
	for _, tc := range []struct {
		name   string
		events sim.FileEvents
		// the new file is queued within [rotated, rotated+within]
		within time.Duration
		after  time.Duration // and not before rotated+after
	}{
		{"events", sim.FileEvents{On: true, Delay: 2 * time.Millisecond}, 2 * time.Millisecond, 2 * time.Millisecond},
		{"overflow", sim.FileEvents{On: true, Overflow: 1}, 10 * time.Second, 10 * time.Millisecond},
		{"off", sim.FileEvents{}, 10 * time.Second, 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := sim.Simulate(sim.Config{Seed: 3, Horizon: time.Minute, Plan: plan, Events: tc.events,
				Tail: logstream.TailOptions{PollInterval: 10 * time.Second, LivenessInterval: 20 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			rep := oracle.Check(h)
			if !rep.OK() {
				t.Fatalf("oracle: %v", rep)
			}
			for _, l := range rep.Losses {
				if l.Cause != faults.CauseAfterDrainWindow {
					t.Fatalf("loss %v: only bytes written after the stop may be lost", l)
				}
			}
			var queued time.Time
			for _, e := range h.Tail {
				if e.Kind == logstream.TailQueued && !e.At.Before(rotated) {
					queued = e.At
					break
				}
			}
			if d := queued.Sub(rotated); queued.IsZero() || d < tc.after || d > tc.within {
				t.Fatalf("new file queued %v after the rotation, want within [%v,%v]", d, tc.after, tc.within)
			}
		})
	}
}

// A bad event model is a config error naming the field.
func TestFileEventsConfigErrors(t *testing.T) {
	for _, ev := range []sim.FileEvents{{On: true, Delay: -1}, {On: true, Overflow: 1.5}, {On: true, Overflow: -0.1}} {
		if _, err := sim.Simulate(sim.Config{Horizon: time.Second, Events: ev}); !errors.Is(err, sim.ErrConfig) || !strings.Contains(err.Error(), "Events.") {
			t.Errorf("%+v: error %v, want ErrConfig naming the field", ev, err)
		}
	}
}

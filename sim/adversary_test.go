package sim

import (
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/faults"
)

func adversaryRun(t *testing.T, plan string) (*World, *History) {
	t.Helper()
	p, err := faults.Parse(plan)
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{Seed: 5, Horizon: 20 * time.Second, Plan: p,
		Writer: WriterConfig{Rate: 2048, BurstEvery: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := w.Run()
	if err != nil {
		t.Fatal(err)
	}
	return w, h
}

// What the adversarial faults make the world do, checked on the world's
// own file system and record (not through the oracle).
func TestAdversarialWorld(t *testing.T) {
	t.Run("no-append writer leaves a NUL hole after copytruncate", func(t *testing.T) {
		w, h := adversaryRun(t, "at 0s no-append\nat 5s copytruncate")
		if len(h.Holes) != 1 {
			t.Fatalf("holes %+v", h.Holes)
		}
		hole := h.Holes[0]
		if hole.Off != 0 || hole.N <= 0 {
			t.Fatalf("hole %+v", hole)
		}
		b, err := afero.ReadFile(w.FS(), "/logs/app.log")
		if err != nil || int64(len(b)) <= hole.N {
			t.Fatalf("file %d bytes, %v", len(b), err)
		}
		for i := int64(0); i < hole.N; i++ {
			if b[i] != 0 {
				t.Fatalf("byte %d of the hole is %#x", i, b[i])
			}
		}
	})
	t.Run("rotate-create: new file at once, writer on the old one until the signal", func(t *testing.T) {
		_, h := adversaryRun(t, "at 5s rotate-create\nat 8s reopen")
		var renamed, created FileEvent
		for _, e := range h.Files {
			if e.Cause == "rotate-create" && e.Kind == FileRenamed {
				renamed = e
			}
			if e.Cause == "rotate-create" && e.Kind == FileCreated {
				created = e
			}
		}
		if renamed.At.IsZero() || !created.At.Equal(renamed.At) {
			t.Fatalf("renamed %+v created %+v", renamed, created)
		}
		for _, wr := range h.Writes {
			at := wr.At.Sub(h.Start)
			switch {
			case at > 5*time.Second && at < 8*time.Second && (wr.File != renamed.File || wr.AtPath):
				t.Fatalf("write at %v went to %v (at path %v), want the renamed file", at, wr.File, wr.AtPath)
			case at > 8*time.Second && wr.File != created.File:
				t.Fatalf("write at %v went to %v, want the new file %v", at, wr.File, created.File)
			}
		}
	})
	t.Run("truncate-to keeps the head", func(t *testing.T) {
		_, h := adversaryRun(t, "at 5s truncate-to size=100")
		for _, e := range h.Files {
			if e.Kind == FileTruncated {
				if e.NewSize != 100 || e.Size <= 100 || e.Cause != "truncate-to" {
					t.Fatalf("%+v", e)
				}
				return
			}
		}
		t.Fatal("no truncation")
	})
	t.Run("pause: no write in the window, writes after", func(t *testing.T) {
		_, h := adversaryRun(t, "at 5s pause for=4s")
		after := false
		for _, wr := range h.Writes {
			at := wr.At.Sub(h.Start)
			if at >= 5*time.Second && at < 9*time.Second {
				t.Fatalf("write at %v during the pause", at)
			}
			after = after || at >= 9*time.Second
		}
		if !after {
			t.Fatal("the writer did not resume")
		}
	})
	t.Run("missing-reply: the engine loses replies and records it", func(t *testing.T) {
		_, h := adversaryRun(t, "at 5s missing-reply count=2")
		if len(h.Missing) != 2 || !h.Missing[0].All {
			t.Fatalf("missing %+v", h.Missing)
		}
	})
	t.Run("step-truncate acts inside a step, before the k-th call", func(t *testing.T) {
		_, h := adversaryRun(t, "at 5s step-truncate call=2")
		if len(h.Interleaved) != 1 || h.Interleaved[0].Call != 2 || h.Interleaved[0].Action != "truncate" || h.Interleaved[0].Prev == "" {
			t.Fatalf("interleaved %+v", h.Interleaved)
		}
		if len(h.TailSteps) == 0 || !h.TailSteps[len(h.TailSteps)-1].After(h.Interleaved[0].At) {
			t.Fatalf("tail steps %d", len(h.TailSteps))
		}
	})
}

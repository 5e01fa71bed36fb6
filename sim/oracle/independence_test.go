package oracle_test

import (
	"errors"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
	"github.com/logstream-sim/logstream-sim/sim/simtest"
)

// TestTailerTestimonyIsNoEvidence: the tailer's events and poll times are
// diagnostics. Over random worlds (every fault kind, so many verdicts are
// failures), a run judged with its tailer events removed and the same run
// with them replaced by lies (claims of give-up, caps, rotations, opens,
// truncations and polls, at every moment the record mentions) get exactly
// the same report.
func TestTailerTestimonyIsNoEvidence(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := simtest.Unrestricted.Draw(rt, "config")
		cfg.Writer.Rate = min(cfg.Writer.Rate, 4096) // keep the run cheap
		if rapid.Bool().Draw(rt, "broken") {
			v := rapid.SampledFrom(simtest.Variants).Draw(rt, "variant")
			v.Apply(&cfg)
		}
		h, err := sim.Simulate(cfg)
		if err != nil {
			rt.Fatalf("simulate: %v", err)
		}
		silent := *h
		silent.Tail, silent.Checks = nil, nil
		liar := *h
		liar.Tail, liar.Checks = lies(h, rapid.Uint64().Draw(rt, "lie-seed")), nil
		for _, e := range liar.Tail {
			liar.Checks = append(liar.Checks, e.At)
		}
		want := oracle.Check(&silent).String()
		if got := oracle.Check(h).String(); got != want {
			rt.Fatalf("verdict with the tailer's own events differs from the verdict without them:\nwith:\n%s\nwithout:\n%s", got, want)
		}
		if got := oracle.Check(&liar).String(); got != want {
			rt.Fatalf("verdict with lying tailer events differs from the verdict without them:\nlies:\n%s\nwithout:\n%s", got, want)
		}
	})
}

// lies returns tailer events that claim everything at every moment the
// history mentions: each file opened, rotated, capped, truncated and
// regrown, errors, a give-up and an end, and polls.
func lies(h *sim.History, seed uint64) []logstream.TailEvent {
	kinds := []logstream.TailEventKind{logstream.TailOpened, logstream.TailRotated, logstream.TailTruncated,
		logstream.TailRegrown, logstream.TailChecked, logstream.TailError, logstream.TailDrainExpired,
		logstream.TailEnd, logstream.TailGaveUp, logstream.TailCapped}
	var files []logstream.FileID
	for _, f := range h.Files {
		files = append(files, f.File)
	}
	if len(files) == 0 {
		files = append(files, logstream.FileID{Dev: 1, Ino: 1})
	}
	var times []time.Time
	for _, w := range h.Writes {
		times = append(times, w.At)
	}
	for _, f := range h.Files {
		times = append(times, f.At, f.At.Add(time.Millisecond))
	}
	times = append(times, h.Start, h.StopAt, h.StopAt.Add(time.Millisecond))
	var out []logstream.TailEvent
	x := seed | 1
	for i, at := range times {
		if at.IsZero() {
			continue
		}
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		k := kinds[(int(x%uint64(len(kinds)))+i)%len(kinds)]
		ev := logstream.TailEvent{Kind: k, At: at, File: files[int(x>>8)%len(files)], Gen: i, FileOffset: int64(x >> 40), Offset: int64(x >> 44)}
		if k == logstream.TailError {
			ev.Err = errors.New("made up")
		}
		out = append(out, ev)
	}
	return out
}

package logstream_test

import (
	"os"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/simfs"
)

// t0 is the start of every core test: all times are explicit offsets from it.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

const logPath = "/var/log/app.log"

// world is an in-memory POSIX file system whose clock the test sets.
type world struct {
	t   *testing.T
	now time.Time
	fs  *simfs.FS
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, now: t0}
	w.fs = simfs.New(func() time.Time { return w.now })
	if err := w.fs.MkdirAll("/var/log", 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

// appendTo appends s to name, creating it if needed.
func (w *world) appendTo(name, s string) {
	w.t.Helper()
	f, err := w.fs.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) rename(from, to string) {
	w.t.Helper()
	if err := w.fs.Rename(from, to); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) truncate(name string, size int64) {
	w.t.Helper()
	if err := w.fs.Truncate(name, size); err != nil {
		w.t.Fatal(err)
	}
}

// tailRun drives a Tailer by hand and records what it handed out.
type tailRun struct {
	t      *testing.T
	w      *world
	opt    logstream.TailOptions
	tl     *logstream.Tailer
	got    []byte
	events []logstream.TailEvent
}

func newTailRun(t *testing.T, w *world, opt logstream.TailOptions) *tailRun {
	t.Helper()
	opt, err := opt.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	r := &tailRun{t: t, w: w, opt: opt}
	r.tl = logstream.NewTailer(w.fs, logPath, opt, func(e logstream.TailEvent) { r.events = append(r.events, e) })
	t.Cleanup(func() { r.tl.Close() })
	return r
}

// next calls Next at d and checks the action's invariants: a data chunk is
// not empty, not larger than ChunkSize, and starts where the last one ended.
func (r *tailRun) next(d time.Duration) logstream.TailAction {
	r.t.Helper()
	r.w.now = at(d)
	a := r.tl.Next(at(d))
	switch a.Kind {
	case logstream.TailData:
		if len(a.Data) == 0 || len(a.Data) > r.opt.ChunkSize {
			r.t.Fatalf("at %v: chunk of %d bytes (ChunkSize %d)", d, len(a.Data), r.opt.ChunkSize)
		}
		if a.Offset != int64(len(r.got)) {
			r.t.Fatalf("at %v: chunk at stream offset %d, want %d", d, a.Offset, len(r.got))
		}
		r.got = append(r.got, a.Data...)
	case logstream.TailWait:
		if !a.Until.After(at(d)) {
			r.t.Fatalf("at %v: wait until %v is not in the future", d, a.Until)
		}
	case logstream.TailEOF:
		if a.Offset != int64(len(r.got)) {
			r.t.Fatalf("at %v: EOF at %d, handed out %d", d, a.Offset, len(r.got))
		}
	default:
		r.t.Fatalf("at %v: action kind %d", d, a.Kind)
	}
	return a
}

// drain calls Next at d until it stops returning data and returns the last
// (non-data) action.
func (r *tailRun) drain(d time.Duration) logstream.TailAction {
	r.t.Helper()
	for range 10000 {
		if a := r.next(d); a.Kind != logstream.TailData {
			return a
		}
	}
	r.t.Fatal("tailer never stopped returning data")
	return logstream.TailAction{}
}

func (r *tailRun) expectGot(want string) {
	r.t.Helper()
	if string(r.got) != want {
		r.t.Fatalf("tailer handed out\n%q\nwant\n%q", r.got, want)
	}
}

func (r *tailRun) count(k logstream.TailEventKind) int {
	n := 0
	for _, e := range r.events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

package live

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// TestLogrotateCreate: logrotate's create mode renames app.log to app.log.1
// (shifting older copies) and creates a new app.log; the writer reopens the
// path as soon as it names another file. Rename rotation: zero loss.
func TestLogrotateCreate(t *testing.T) { testLogrotateAll(t, "create") }

// TestLogrotateCopytruncate: logrotate's copytruncate mode copies app.log
// to app.log.1 and truncates app.log while the writer keeps appending
// (O_APPEND). Lines written between the copy and the truncate, and lines the
// tailer had not read when the truncate came, are gone from the live path:
// losses are allowed only inside each run's window (see the package doc).
func TestLogrotateCopytruncate(t *testing.T) { testLogrotateAll(t, "copytruncate") }

func testLogrotateAll(t *testing.T, mode string) {
	requireLive(t)
	for _, set := range allSettings {
		t.Run(set.name, func(t *testing.T) { testLogrotate(t, mode, set) })
	}
}

const (
	lrLines = 20_000
	lrRuns  = 4
	lrRate  = 20    // lines per millisecond: 1 s of writing
	lrSlack = 2_000 // lines the writer may run ahead of a rotation in progress
)

func testLogrotate(t *testing.T, mode string, set settings) {
	lrPoll := set.poll()
	bin := requireTool(t, "logrotate")
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	conf := filepath.Join(dir, "logrotate.conf")
	state := filepath.Join(dir, "logrotate.state")
	// The directory is the test's own (0700, owned by the user running
	// logrotate), so logrotate needs no su directive.
	cfg := fmt.Sprintf("%q {\n\t%s\n\trotate 100\n\tmissingok\n\tnocompress\n\tnodateext\n\tnomail\n}\n", path, mode)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	s := startStream(t, path, set)
	w, err := newFileWriter(path, mode == "create")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	at := make([]time.Duration, lrLines) // when each line was written, from t0
	var progress atomic.Int64            // lines written
	rotated := make([]chan struct{}, lrRuns)
	for i := range rotated {
		rotated[i] = make(chan struct{})
	}
	threshold := func(i int) int { return (i + 1) * lrLines / (lrRuns + 1) }

	writerErr := make(chan error, 1)
	testCtx := t.Context()
	go func() {
		defer w.close()
		run := 0
		for seq := range lrLines {
			// Pace the writer; let it run ahead of a rotation in progress
			// by lrSlack lines at most, so every run happens mid-write.
			if run < lrRuns && seq == threshold(run)+lrSlack {
				select {
				case <-rotated[run]:
				case <-time.After(toolDeadline):
					writerErr <- fmt.Errorf("rotation %d did not end", run)
					return
				case <-testCtx.Done(): // the test failed
					writerErr <- testCtx.Err()
					return
				}
				run++
			}
			if seq%100 == 0 {
				if d := time.Until(t0.Add(time.Duration(seq) * time.Millisecond / lrRate)); d > 0 {
					time.Sleep(d)
				}
			}
			at[seq] = time.Since(t0)
			if err := w.write(Line(seq)); err != nil {
				writerErr <- err
				return
			}
			progress.Store(int64(seq + 1))
		}
		writerErr <- nil
	}()

	// seen counts the rotations the tailer has noticed so far.
	seen := func() int { return s.count(logstream.TailRotated) }
	if mode == "copytruncate" {
		seen = func() int { return s.count(logstream.TailTruncated) + s.count(logstream.TailRegrown) }
	}
	var runs []Interval
	for i := range lrRuns {
		// copytruncate: two truncations within one poll lose the bytes
		// between them unless they are in the copy the tailer follows:
		// start a run only once the tailer has noticed the one before.
		// create mode does not wait: a generation rotated away before the
		// tailer looked is found under its rotated name (issue 9).
		if err := waitUntil(func() bool { return mode == "create" || seen() >= i }, toolDeadline); err != nil {
			t.Fatalf("the tailer did not notice rotation %d: %v", i-1, err)
		}
		if err := waitUntil(func() bool { return progress.Load() >= int64(threshold(i)) }, toolDeadline); err != nil {
			t.Fatalf("writer stalled before rotation %d: %v", i, err)
		}
		from := time.Since(t0)
		ctx, cancel := context.WithTimeout(t.Context(), toolDeadline)
		out, err := exec.CommandContext(ctx, bin, "-f", "-s", state, conf).CombinedOutput()
		cancel()
		to := time.Since(t0)
		if err != nil {
			t.Fatalf("logrotate run %d: %v\n%s", i, err, out)
		}
		runs = append(runs, Interval{from, to})
		close(rotated[i])
	}
	if err := <-writerErr; err != nil {
		t.Fatal(err)
	}
	r := Check(s.finish(t), lrLines)

	disk, files := onDisk(t, dir, "app.log", lrLines)
	name := "logrotate-" + mode + set.suffix()
	var longest time.Duration
	for _, iv := range runs {
		longest = max(longest, iv.To-iv.From)
	}
	switch mode {
	case "create":
		rotations := s.count(logstream.TailRotated)
		late, other := lateAfterSwitch(t, dir, "app.log", r.Lost, lrLines, s.rotations())
		t.Log(r.Format(name, -1, fmt.Sprintf("late-after-switch=%d runs=%d rotations-seen=%d reopens=%d files=%d on-disk=%d longest-run=%v",
			len(late), lrRuns, rotations, w.reopens, files, len(disk), longest.Round(time.Millisecond))))
		if len(disk) != lrLines {
			t.Errorf("only %d of %d lines on disk: the writer lost lines", len(disk), lrLines)
		}
		if rotations != lrRuns || w.reopens != lrRuns {
			t.Errorf("%d rotations seen, %d reopens: want %d each", rotations, w.reopens, lrRuns)
		}
		checkRename(t, r, late, other, dir, "app.log")
	case "copytruncate":
		// The window of a run: the lines written from the tailer's last
		// check before logrotate started (or one PollInterval before the
		// start, if earlier) until logrotate exited (see the package doc).
		wins := make([]Interval, len(runs))
		for i, iv := range runs {
			from := iv.From - lrPoll
			if c := s.lastCheckBefore(t0.Add(iv.From)); !c.IsZero() {
				from = min(from, c.Sub(t0))
			}
			wins[i] = Interval{from, iv.To}
		}
		inside, outside := r.Split(Windows(at, wins, 0))
		dropped := lrLines - len(disk) // in no file: written between copy and truncate
		truncs := seen()
		var unread int         // lost although in the copy: not read before the truncate
		var lead time.Duration // how long before its run's start a lost line was written, at most
		for _, seq := range r.Lost {
			if disk[seq] {
				unread++
			}
			for _, iv := range runs {
				if at[seq] <= iv.To {
					lead = max(lead, iv.From-at[seq])
					break
				}
			}
		}
		t.Log(r.Format(name, len(inside), fmt.Sprintf("in-no-file=%d unread-at-truncate=%d max-lead=%v runs=%d truncations-seen=%d files=%d longest-run=%v",
			dropped, unread, lead.Round(100*time.Microsecond), lrRuns, truncs, files, longest.Round(time.Millisecond))))
		if len(outside) > 0 {
			t.Errorf("%d lines lost outside the rotator's windows: %s (first written at %v; windows %v)",
				len(outside), Ranges(outside, 10), at[outside[0]], wins)
		}
		if r.Dup != 0 || r.Reordered != 0 {
			t.Errorf("dup %d, reordered %d: want 0", r.Dup, r.Reordered)
		}
		if r.Partial > lrRuns {
			t.Errorf("%d malformed lines: at most one fragment per truncation (%d) expected", r.Partial, lrRuns)
		}
		if truncs != lrRuns {
			t.Errorf("%d truncations seen, want %d", truncs, lrRuns)
		}
	}
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(cond func() bool, d time.Duration) error {
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			return errors.New("deadline passed")
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// fileWriter appends lines to a path with O_APPEND, one write per line. With
// reopen it checks the path before each line and reopens it once it names
// another file (logrotate's create mode); while the path is missing it keeps
// the old file, and it never creates the path itself after the first open,
// which would race logrotate's create.
type fileWriter struct {
	path    string
	reopen  bool
	f       *os.File
	fi      os.FileInfo
	reopens int
}

func newFileWriter(path string, reopen bool) (*fileWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileWriter{path: path, reopen: reopen, f: f, fi: fi}, nil
}

func (w *fileWriter) write(line string) error {
	if w.reopen {
		if fi, err := os.Stat(w.path); err == nil && !os.SameFile(fi, w.fi) {
			f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			nfi, err := f.Stat()
			if err != nil {
				f.Close()
				return err
			}
			w.f.Close()
			w.f, w.fi = f, nfi
			w.reopens++
		}
	}
	_, err := w.f.WriteString(line)
	return err
}

func (w *fileWriter) close() { w.f.Close() }

package live

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// TestLateWriteAfterSwitch is the minimal, deterministic form of a race a
// writer that learns of a rename rotation only after the new file exists
// (logrotate's create mode, a postrotate signal, Python's
// WatchedFileHandler: all stat the path, then write) has with the tailer: it
// appends to the renamed file after the tailer drained it once. The tailer
// waits on the old handle while the new file is empty and reads it once more
// after the new file got data, so the line is delivered.
func TestLateWriteAfterSwitch(t *testing.T) {
	requireLive(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	old, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	opt, err := logstream.TailOptions{PollInterval: 10 * time.Millisecond}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	var rotated []logstream.TailEvent
	tl := logstream.NewTailer(afero.NewOsFs(), path, opt, func(e logstream.TailEvent) {
		if e.Kind == logstream.TailRotated {
			rotated = append(rotated, e)
		}
	})
	defer tl.Close()
	now := time.Unix(1000, 0)
	var got []byte
	// poll lets one poll interval pass and takes everything the tailer has.
	poll := func() {
		now = now.Add(opt.PollInterval)
		for range 100 {
			a := tl.Next(now)
			if a.Kind != logstream.TailData {
				return
			}
			got = append(got, a.Data...)
		}
		t.Fatal("tailer never waited")
	}

	write(t, old, Line(0))
	poll()
	// logrotate create: rename, then create the new file.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	cur, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	poll() // the tailer sees the new file at the path
	// The writer, which stat-ed the path just before the create, appends
	// one more line to the old file, then notices and reopens.
	write(t, old, Line(1))
	write(t, cur, Line(2))
	poll()
	poll()
	r := Check(got, 3)
	late, other := lateAfterSwitch(t, dir, "app.log", r.Lost, 3, rotated)
	t.Log(r.Format("repro-late-write-after-switch", -1, fmt.Sprintf("late-after-switch=%d", len(late))))
	checkRename(t, r, late, other, dir, "app.log")
}

func write(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

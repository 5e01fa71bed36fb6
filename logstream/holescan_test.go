package logstream_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/simfs"
)

// holeScanWorld is a writer without O_APPEND whose file the tailer has
// read: after a truncation to 0 the writer goes on at its offset, so the
// next life starts with a hole. With *reads >= 0, the tailer's reads of the
// file fail once that many more have passed, so a scan for a hole's end
// spans looks (scanLook).
func holeScanWorld(t *testing.T) (*world, afero.File, *tailRun, string, *int) {
	w := newWorld(t)
	f, err := w.fs.OpenFile(logPath, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	first := strings.Repeat("first line\n", 20)
	f.WriteString(first)
	r := newTailRun(t, w, tailOpts(8))
	for d := time.Duration(0); d < 40*poll; d += poll {
		r.drain(d)
	}
	reads := -1
	w.fs.SetInjector(func(op simfs.Op, name string) error {
		if op == simfs.OpRead && name == logPath && reads >= 0 {
			if reads == 0 {
				return simfs.ErrInjected
			}
			reads--
		}
		return nil
	})
	return w, f, r, first, &reads
}

// scanLook drains at d with the file's reads failing after n.
func scanLook(r *tailRun, reads *int, n int, d time.Duration) {
	*reads = n
	r.drain(d)
	*reads = -1
}

// copyInHoleScan is holeScanWorld after a truncation to 0 and a write of
// "second\n" after a hole of 220 NULs: a copy of the file is taken (the
// first half of a copytruncate) while the tailer scans the hole, and the
// tailer looks while the file still holds it.
func copyInHoleScan(t *testing.T) (*world, afero.File, *tailRun, string) {
	w, f, r, first, reads := holeScanWorld(t)
	w.truncate(logPath, 0)
	f.WriteString("second\n")
	scanLook(r, reads, 3, 40*poll)
	data, err := readAll(w, logPath)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(w, logPath+".1", data)
	scanLook(r, reads, 6, 41*poll)
	if r.count(logstream.TailHole) > 0 {
		t.Fatalf("the scan ended before the truncation: %v", r.events)
	}
	return w, f, r, first
}

// copytruncate copies the file to logPath.1 (after moving an older copy to
// logPath.2) and truncates it to 0.
func copytruncate(w *world) {
	w.t.Helper()
	if _, err := w.fs.Stat(logPath + ".1"); err == nil {
		w.rename(logPath+".1", logPath+".2")
	}
	data, err := readAll(w, logPath)
	if err != nil {
		w.t.Fatal(err)
	}
	writeFile(w, logPath+".1", data)
	w.truncate(logPath, 0)
}

// A copytruncate while the tailer scans the hole its file's life started
// with: the copy is taken, the tailer looks (the file still starts with the
// copy: a copy of its present life, decided once the hole is), then the
// truncation, and the writer writes nothing more. The tailer read nothing
// of that life but NUL bytes, so the read offset (0) cannot show the
// truncation, and the empty file never decides the hole; the file smaller
// than the NULs scanned does show it, and the life's bytes after its hole
// are read from the copy (files-mix seed 1629 lost the 18338 bytes written
// after a truncate-to's hole).
func TestTailCopytruncateDuringHoleScan(t *testing.T) {
	w, _, r, first := copyInHoleScan(t)
	w.truncate(logPath, 0)
	for d := 43 * poll; d < 120*poll; d += poll {
		r.drain(d)
	}
	r.expectGot(first + "second\n")
}

// Two copytruncates, each while the tailer scans a hole: the second copy's
// life started with a hole as long as the first's at least (the writer
// only goes on), so the copy is read from its hole's end, not streamed
// NULs and all (the bound on the hole must survive the first truncation).
func TestTailCopytruncatesDuringHoleScansKeepTheHoleBound(t *testing.T) {
	w, f, r, first, reads := holeScanWorld(t)
	w.truncate(logPath, 0)
	f.WriteString("second\n")
	scanLook(r, reads, 3, 40*poll)
	copytruncate(w)
	r.drain(42 * poll)
	if got := string(r.got); got != first+"second\n" {
		t.Fatalf("after the first copytruncate: got %q, want %q", got, first+"second\n")
	}
	f.WriteString("third\n") // at 227, after the next life's hole
	scanLook(r, reads, 3, 43*poll)
	copytruncate(w)
	r.drain(45 * poll)
	f.WriteString("fourth\n")
	for d := 46 * poll; d < 120*poll; d += poll {
		r.drain(d)
	}
	r.expectGot(first + "second\nthird\nfourth\n")
}

// As TestTailCopytruncateDuringHoleScan, and the writer goes on: the copy
// the truncation in the scan found is the one the life started with, which
// the end of the next life's hole would decide about again: it is read
// once (files-mix seed 679 read its 299404 bytes twice).
func TestTailCopyFoundInHoleScanIsReadOnce(t *testing.T) {
	w, f, r, first := copyInHoleScan(t)
	w.truncate(logPath, 0)
	r.drain(42 * poll)
	f.WriteString("third\n") // at 227, after the next life's hole
	for d := 43 * poll; d < 120*poll; d += poll {
		r.drain(d)
	}
	r.expectGot(first + "second\nthird\n")
}

// As TestTailCopytruncateDuringHoleScan, and the copy is deleted before the
// tailer sees the truncation: no copy is left at the rotated names, and the
// one the life started with, held since the look that saw it, is read.
func TestTailCopyHeldFromHoleScanOutlivesItsName(t *testing.T) {
	w, _, r, first := copyInHoleScan(t)
	w.truncate(logPath, 0)
	if err := w.fs.Remove(logPath + ".1"); err != nil {
		t.Fatal(err)
	}
	for d := 42 * poll; d < 120*poll; d += poll {
		r.drain(d)
	}
	r.expectGot(first + "second\n")
}

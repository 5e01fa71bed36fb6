package subject

import (
	"io"
	"os"
	"strconv"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// fileWriter is the harness's application and rotator on the real file
// system: it appends to the log through one O_APPEND handle, like a logging
// handler, and renames, copies, truncates and deletes as the plan says,
// recording each write and file operation in the History. Files are named in
// the record by a number the harness gives each file it creates (inode
// numbers are reused on a real file system).
type fileWriter struct {
	r    *run
	f    *os.File
	id   logstream.FileID
	size int64
	pos  int64
	buf  []byte
	// ids maps a real identity to the record's id of the newest file with it.
	ids     map[logstream.FileID]logstream.FileID
	nextIno uint64
	// pathID is the record id of the file at the path (pathOK: one is).
	pathID        logstream.FileID
	pathOK        bool
	pendingReopen bool
	extents       map[logstream.FileID][]extent
}

// extent is one write's bytes in a file: n bytes at file offset off, whose
// content starts at position src.
type extent struct{ off, src, n int64 }

func (w *fileWriter) init(r *run) {
	w.r = r
	w.ids = map[logstream.FileID]logstream.FileID{}
	w.extents = map[logstream.FileID][]extent{}
}

// realID returns the record id of the file fi describes, naming it if new.
func (w *fileWriter) realID(fi os.FileInfo, fresh bool) logstream.FileID {
	real, _ := logstream.Identity(fi)
	if id, ok := w.ids[real]; ok && !fresh {
		return id
	}
	w.nextIno++
	id := logstream.FileID{Dev: 1, Ino: w.nextIno}
	w.ids[real] = id
	return id
}

func (w *fileWriter) fileEvent(k sim.FileEventKind, id logstream.FileID, size int64, to, cause string) {
	step := w.r.nextStep()
	w.r.h.Files = append(w.r.h.Files, sim.FileEvent{Step: step, At: w.r.now(), Kind: k, File: id, Size: size, To: to, Cause: cause})
	w.r.trace("file", string(k), "file", id.String(), "size", size, "to", to, "cause", cause)
}

// idOf returns the record id of the file at name (zero if unknown).
func (w *fileWriter) idOf(name string) logstream.FileID {
	fi, err := os.Stat(name)
	if err != nil {
		return logstream.FileID{}
	}
	real, _ := logstream.Identity(fi)
	return w.ids[real]
}

func (w *fileWriter) rotated(k int) string { return w.r.path + "." + strconv.Itoa(k) }

// openLog (re)creates the log at the path and points the writer at it.
func (w *fileWriter) openLog() {
	if w.f != nil {
		w.f.Close()
	}
	existed := false
	if _, err := os.Stat(w.r.path); err == nil {
		existed = true
	}
	f, err := os.OpenFile(w.r.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		w.r.must(err)
		return
	}
	fi, err := f.Stat()
	if err != nil {
		w.r.must(err)
		return
	}
	w.f, w.size, w.pendingReopen = f, fi.Size(), false
	w.id = w.realID(fi, !existed)
	w.pathID, w.pathOK = w.id, true
	w.fileEvent(sim.FileCreated, w.id, fi.Size(), "", "")
}

func (w *fileWriter) write(n int64) { w.writeSrc(n, -1) }

// writeSrc appends n bytes whose content starts at src (-1: fresh content).
func (w *fileWriter) writeSrc(n, src int64) {
	if w.f == nil || n <= 0 {
		return
	}
	if src < 0 {
		src = w.pos
	}
	if int64(cap(w.buf)) < n {
		w.buf = make([]byte, n)
	}
	b := w.buf[:n]
	sim.Content(w.r.h.Key, src, b)
	off := w.size
	atPath := w.pathOK && w.pathID == w.id
	step := w.r.nextStep()
	at := w.r.now()
	if _, err := w.f.Write(b); err != nil {
		w.r.must(err)
		return
	}
	w.size += n
	w.r.h.Writes = append(w.r.h.Writes, sim.Write{Step: step, At: at, Pos: w.pos, N: n, Src: src, File: w.id, FileOff: off, AtPath: atPath})
	w.r.writes.Add(src, n)
	es := w.extents[w.id]
	if k := len(es); k > 0 && es[k-1].off+es[k-1].n == off && es[k-1].src+es[k-1].n == src {
		es[k-1].n += n
	} else {
		es = append(es, extent{off: off, src: src, n: n})
	}
	w.extents[w.id] = es
	w.r.trace("writer", "write", "pos", w.pos, "len", n, "file", w.id.String(), "foff", off)
	w.pos += n
}

// schedule plans the writer's output from Start to Until as the simulator
// does: bursts at exponentially distributed intervals, each the bytes the
// rate accumulated since the previous one, cut into writes of 1..MaxWrite.
func (w *fileWriter) schedule() {
	c := w.r.sc.Writer
	r := w.r
	last := c.Start
	var credit float64
	var next func(at time.Duration)
	next = func(at time.Duration) {
		credit += (at - last).Seconds() * float64(c.Rate)
		last = at
		for credit >= 1 {
			n := min(int64(1+r.rng.IntN(c.MaxWrite)), int64(credit))
			w.write(n)
			credit -= float64(n)
		}
		gap := time.Duration(r.rng.ExpFloat64() * float64(c.BurstEvery))
		if t := at + max(gap, time.Millisecond); t < c.Until {
			r.at(t, func() { next(t) })
		}
	}
	r.at(c.Start, func() {
		w.openLog()
		t := c.Start + time.Duration(r.rng.ExpFloat64()*float64(c.BurstEvery))
		r.at(t, func() { next(t) })
	})
}

// pathInfo returns the record id and size of the file at the path.
func (w *fileWriter) pathInfo() (logstream.FileID, int64, bool) {
	fi, err := os.Stat(w.r.path)
	if err != nil || !w.pathOK {
		return logstream.FileID{}, 0, false
	}
	return w.pathID, fi.Size(), true
}

// shiftGenerations renames path.k to path.k+1 for k = keep-1..1; the oldest
// generation beyond keep is removed.
func (w *fileWriter) shiftGenerations(keep int) {
	for k := keep; k >= 1; k-- {
		from := w.rotated(k)
		if _, err := os.Stat(from); err != nil {
			continue
		}
		if k == keep {
			id := w.idOf(from)
			if err := os.Remove(from); err == nil {
				w.fileEvent(sim.FileRemoved, id, 0, "", "rotate")
			}
			continue
		}
		os.Rename(from, w.rotated(k+1))
	}
}

func (w *fileWriter) rotate(f faults.Fault) {
	id, size, ok := w.pathInfo()
	if !ok {
		return
	}
	w.shiftGenerations(f.Count())
	if err := os.Rename(w.r.path, w.rotated(1)); err != nil {
		w.r.must(err)
		return
	}
	w.pathOK = false
	w.fileEvent(sim.FileRenamed, id, size, w.rotated(1), "rotate")
	w.reopenAfter(f.Gap)
}

func (w *fileWriter) reopenAfter(gap time.Duration) {
	w.pendingReopen = true
	w.r.atReal(time.Now().Add(scale(gap, w.r.factor)), func() {
		if w.pendingReopen {
			w.openLog()
		}
	})
}

func (w *fileWriter) copyTruncate(f faults.Fault) {
	id, size, ok := w.pathInfo()
	if !ok {
		return
	}
	w.shiftGenerations(f.Count())
	if err := copyFile(w.r.path, w.rotated(1)); err != nil {
		w.r.must(err)
		return
	}
	w.fileEvent(sim.FileCopied, id, size, w.rotated(1), "copytruncate")
	w.r.atReal(time.Now().Add(scale(f.For, w.r.factor)), func() {
		id2, size2, ok := w.pathInfo()
		if !ok || id2 != id {
			return
		}
		if err := os.Truncate(w.r.path, 0); err != nil {
			w.r.must(err)
			return
		}
		w.truncated(id)
		w.fileEvent(sim.FileTruncated, id, size2, "", "copytruncate")
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (w *fileWriter) truncated(id logstream.FileID) {
	delete(w.extents, id)
	if w.id == id {
		w.size = 0
	}
}

// truncate truncates the log to zero and regrows it with N bytes at once,
// the first of which repeat the old head when SameHead is set.
func (w *fileWriter) truncate(f faults.Fault) {
	id, size, ok := w.pathInfo()
	if !ok {
		return
	}
	old := w.extents[id]
	if err := os.Truncate(w.r.path, 0); err != nil {
		w.r.must(err)
		return
	}
	w.truncated(id)
	cause := "truncate"
	if f.SameHead {
		cause = "truncate-same-head"
	}
	w.fileEvent(sim.FileTruncated, id, size, "", cause)
	if w.id != id || f.N <= 0 {
		return
	}
	left := int64(f.N)
	if f.SameHead {
		for _, e := range old {
			if left <= 0 || e.off >= size {
				break
			}
			n := min(e.n, size-e.off, left)
			w.writeSrc(n, e.src)
			left -= n
		}
	}
	w.write(left)
}

func (w *fileWriter) deleteLog(f faults.Fault) {
	id, size, ok := w.pathInfo()
	if !ok {
		return
	}
	if err := os.Remove(w.r.path); err != nil {
		w.r.must(err)
		return
	}
	w.pathOK = false
	w.fileEvent(sim.FileDeleted, id, size, "", "delete")
	w.reopenAfter(f.Gap)
}

// lateWrite appends N bytes to the most recently rotated file, as a writer
// that has not reopened yet would.
func (w *fileWriter) lateWrite(f faults.Fault) {
	h, err := os.OpenFile(w.rotated(1), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer h.Close()
	fi, err := h.Stat()
	if err != nil {
		return
	}
	savedF, savedID, savedSize := w.f, w.id, w.size
	w.f, w.id, w.size = h, w.realID(fi, false), fi.Size()
	w.write(int64(f.N))
	w.f, w.id, w.size = savedF, savedID, savedSize
	if w.f != nil {
		if fi, err := w.f.Stat(); err == nil {
			w.size = fi.Size()
		}
	}
}

func (w *fileWriter) close() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

package sim

import (
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/simfs"
)

// writer is the simulated application: it appends to the log through one
// O_APPEND handle, like a logging handler, and reopens the path when a
// rotation tells it to.
type writer struct {
	f  afero.File
	id logstream.FileID
	// size is the size of the writer's file, kept by the world (every
	// change to it is the world's doing) to save an fstat per write.
	size int64
	pos  int64 // write-stream position: bytes written so far
	buf  []byte
	// pendingReopen is set between a rename or delete and the reopen.
	pendingReopen bool
	// lateHandle is set while a late write goes through its own O_APPEND
	// handle.
	lateHandle bool
}

// extent is one write's bytes in a file: n bytes at file offset off, whose
// content starts at position src.
type extent struct {
	off, src, n int64
}

// addExtent records that e's bytes are now in file id, merging it with the
// previous extent when both offsets and content continue.
func (w *World) addExtent(id logstream.FileID, e extent) {
	es := w.extents[id]
	if n := len(es); n > 0 && es[n-1].off+es[n-1].n == e.off && es[n-1].src+es[n-1].n == e.src {
		es[n-1].n += e.n
		if i, ok := w.lastStart[id]; ok && w.starts[i].src+w.starts[i].n == e.src {
			w.starts[i].n += e.n
		}
		return
	}
	w.extents[id] = append(es, e)
	if w.lastStart == nil {
		w.lastStart = map[logstream.FileID]int{}
	}
	w.lastStart[id] = len(w.starts)
	w.starts = append(w.starts, served{src: e.src, n: e.n})
}

// fileID is the record's identity of the file fi describes: its device
// and, in place of the inode number (which the file system may reuse,
// Config.ReuseInodes), its allocation serial, unique within the run.
func (w *World) fileID(fi os.FileInfo) logstream.FileID {
	id, _ := logstream.Identity(fi)
	if s, ok := simfs.Serial(fi); ok && s != id.Ino {
		if w.inos == nil {
			w.inos = map[uint64]uint64{}
		}
		w.inos[s] = id.Ino
		id.Ino = s
	}
	return id
}

// pathID returns the identity of the file at the path, if any.
func (w *World) pathID() (logstream.FileID, int64, bool) {
	fi, err := w.fs.Stat(w.cfg.Path)
	if err != nil {
		return logstream.FileID{}, 0, false
	}
	return w.fileID(fi), fi.Size(), true
}

func (w *World) fileEvent(k FileEventKind, id logstream.FileID, size int64, to, cause string) {
	ino := w.inos[id.Ino]
	w.hist.Files = append(w.hist.Files, FileEvent{Step: w.step, At: w.now, Kind: k, File: id, Size: size, To: to, Cause: cause, Ino: ino})
	fields := []field{str("file", id.String()), num("size", size), str("to", to), str("cause", cause)}
	if ino != 0 {
		fields = append(fields, num("ino", int64(ino))) // a number the file system reused
	}
	w.trace("file", string(k), fields...)
	w.notify(true)
}

// notify delivers a file-system event to the sender, if events are on
// (Config.Events): changed is false for a plain write to the log.
func (w *World) notify(changed bool) {
	ev := w.cfg.Events
	if !ev.On {
		return
	}
	if ev.Overflow > 0 && w.rng.Float64() < ev.Overflow {
		w.trace("fs", "event-lost")
		return
	}
	w.evChanged = w.evChanged || changed
	if w.evPending {
		return // coalesced with the one on its way
	}
	w.evPending = true
	w.after(ev.Delay, func() {
		changed := w.evChanged
		w.evPending, w.evChanged = false, false
		s := w.sender
		if s == nil || s.done || s.crashed {
			return
		}
		// Like the real driver: the producer asks the tailer at once
		// (LogProducer.Poll), which also looks at the names after anything
		// but a write (LogProducer.Changed).
		if c, ok := s.p.(interface{ Changed(time.Time) }); ok && changed {
			c.Changed(w.now)
		} else if c, ok := s.p.(interface{ Poll() }); ok {
			c.Poll()
		}
		w.wakeSender()
	})
}

// openLog (re)creates the log at the path and points the writer at it.
func (w *World) openLog() {
	wr := &w.writer
	if wr.f != nil {
		wr.f.Close()
	}
	_, _, existed := w.pathID()
	flag := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if w.adv.noAppend {
		flag = os.O_WRONLY | os.O_CREATE
	}
	f, err := w.fs.OpenFile(w.cfg.Path, flag, 0o644)
	if err != nil {
		panic("sim: writer cannot open the log: " + err.Error()) // simfs without injected faults
	}
	fi, _ := f.Stat()
	wr.f, wr.id, wr.size, wr.pendingReopen = f, w.fileID(fi), fi.Size(), false
	if w.adv.noAppend {
		f.Seek(wr.size, 0)
		w.adv.woff = wr.size
	}
	w.pathFile, w.pathOK = wr.id, true
	if !existed {
		w.fileEvent(FileCreated, wr.id, fi.Size(), "", "")
	}
}

// maxWritesHint bounds the capacity scheduleWriter gives History.Writes.
const maxWritesHint = 1 << 16

// write appends n fresh bytes through the writer's handle.
func (w *World) write(n int64) {
	w.writeSrc(n, -1)
}

// writeSrc appends n bytes whose content starts at position src (-1: fresh
// content at the write position).
func (w *World) writeSrc(n int64, src int64) {
	wr := &w.writer
	if wr.f == nil || n <= 0 {
		return
	}
	if src < 0 {
		src = wr.pos
	}
	if int64(cap(wr.buf)) < n {
		wr.buf = make([]byte, n)
	}
	b := wr.buf[:n]
	Content(w.hist.Key, src, b)
	off := wr.size
	noAppend := w.adv.noAppend && !wr.lateHandle
	if noAppend {
		off = w.adv.woff
		if off > wr.size {
			w.hist.Holes = append(w.hist.Holes, Hole{Step: w.step, At: w.now, File: wr.id, Off: wr.size, N: off - wr.size})
			w.trace("writer", "hole", str("file", wr.id.String()), num("foff", wr.size), num("len", off-wr.size))
		}
	}
	atPath := w.pathOK && w.pathFile == wr.id
	if _, err := wr.f.Write(b); err != nil {
		panic("sim: writer: " + err.Error())
	}
	if noAppend {
		w.adv.woff = off + n
		wr.size = max(wr.size, off+n)
	} else {
		wr.size += n
	}
	if w.hist.Writes == nil && w.writesHint > 0 {
		w.hist.Writes = make([]Write, 0, w.writesHint)
	}
	w.hist.Writes = append(w.hist.Writes, Write{Step: w.step, At: w.now, Pos: wr.pos, N: n, Src: src,
		File: wr.id, FileOff: off, AtPath: atPath})
	w.addExtent(wr.id, extent{off: off, src: src, n: n})
	if src != wr.pos {
		// A replayed head: content positions [pos, pos+n) are never
		// written (writtenRun), and its content is a guess for the
		// decoder (few: one per same-head truncate, all kept).
		w.replays = append(w.replays, replay{pos: wr.pos, served: served{src: src, n: n}})
	} else if !atPath {
		// A late write: the decoder's last guess.
		w.odd = append(w.odd, served{src: src, n: n})
		if len(w.odd) > 2*maxServed {
			w.odd = append(w.odd[:0], w.odd[len(w.odd)-maxServed:]...)
		}
	}
	w.notify(!atPath)
	if w.tr != nil {
		w.trace("writer", "write", num("pos", wr.pos), num("len", n), str("file", wr.id.String()), num("foff", off))
	}
	wr.pos += n
}

// scheduleWriter plans the writer's output from Start to Until: bursts at
// exponentially distributed intervals, each the bytes the rate accumulated
// since the previous burst, cut into writes of 1..MaxWrite bytes.
func (w *World) scheduleWriter() {
	c := w.cfg.Writer
	start, until := Epoch.Add(c.Start), Epoch.Add(c.Until)
	// Room for the writes the rate makes (writes of MaxWrite/2 bytes on
	// average), so that the record is not copied as it grows; at most
	// maxWritesHint, beyond which growing costs little in comparison.
	// (writeSrc allocates it with the first write: Writes stays nil
	// until then, as before).
	if d := c.Until - c.Start; d > 0 && c.MaxWrite > 0 {
		est := d.Seconds()*float64(c.Rate)/(float64(c.MaxWrite+1)/2) + d.Seconds()/max(c.BurstEvery.Seconds(), 1e-3)
		w.writesHint = int(min(est*1.25+16, maxWritesHint))
	}
	last := start
	var credit float64
	var next func()
	next = func() {
		credit += w.now.Sub(last).Seconds() * float64(c.Rate)
		last = w.now
		if w.writerPaused() {
			credit = 0
		}
		for credit >= 1 {
			n := min(int64(1+w.rng.IntN(c.MaxWrite)), int64(credit))
			w.write(n)
			credit -= float64(n)
		}
		gap := time.Duration(w.rng.ExpFloat64() * float64(c.BurstEvery))
		if at := w.now.Add(max(gap, time.Millisecond)); at.Before(until) {
			w.atTime(at, next)
		}
	}
	w.atTime(start, func() {
		w.openLog()
		// The first burst too comes before Until, like every other.
		if at := w.now.Add(time.Duration(w.rng.ExpFloat64() * float64(c.BurstEvery))); at.Before(until) {
			w.atTime(at, next)
		}
	})
}

func (w *World) rotated(k int) string {
	return w.cfg.Path + "." + strconv.Itoa(k)
}

// shiftGenerations renames path.k to path.k+1 for k = keep-1..1, so that
// path.1 is free; the oldest generation beyond keep is dropped.
func (w *World) shiftGenerations(keep int) {
	for k := keep; k >= 1; k-- {
		from := w.rotated(k)
		if _, err := w.fs.Stat(from); err != nil {
			continue
		}
		if k == keep {
			fi, err := w.fs.Stat(from)
			if w.fs.Remove(from) == nil && err == nil {
				w.fileEvent(FileRemoved, w.fileID(fi), fi.Size(), "", "rotate")
			}
			continue
		}
		w.fs.Rename(from, w.rotated(k+1))
	}
}

// scheduleFaults plans the plan's timed faults.
func (w *World) scheduleFaults() {
	for _, f := range w.cfg.Plan.Faults {
		f := f
		w.after(f.At, func() {
			w.trace("fault", f.Kind.String(), str("fault", f.String()))
			w.applyFault(f)
		})
	}
}

func (w *World) applyFault(f faults.Fault) {
	switch f.Kind {
	case faults.Rotate:
		w.rotate(f)
	case faults.CopyTruncate:
		w.copyTruncate(f)
	case faults.Truncate:
		w.truncate(f)
	case faults.Delete:
		w.deleteLog(f)
	case faults.LateWrite:
		w.lateWrite(f)
	case faults.Shutdown:
		for _, r := range w.receivers {
			if f.Target == "" || f.Target == r.name {
				w.shutdownReceiver(r)
			}
		}
	case faults.Crash:
		w.crashSender()
	case faults.Abort:
		w.abortSender()
	default:
		w.applyAdversarial(f)
	}
	// Windows (unreachable, delay, stall), counts (drops, duplicates, stale,
	// file errors), not-registered and stop are consulted where they apply.
}

// rotate renames the log away and, after the gap, the writer reopens the
// path. Writes during the gap go to the renamed file.
func (w *World) rotate(f faults.Fault) {
	id, size, ok := w.pathID()
	if !ok {
		return
	}
	w.shiftGenerations(f.Count())
	if err := w.fs.Rename(w.cfg.Path, w.rotated(1)); err != nil {
		return
	}
	w.pathOK = false
	w.fileEvent(FileRenamed, id, size, w.rotated(1), "rotate")
	w.reopenAfter(f.Gap)
}

func (w *World) reopenAfter(gap time.Duration) {
	w.writer.pendingReopen = true
	w.after(gap, func() {
		if w.writer.pendingReopen {
			w.openLog()
		}
	})
}

// copyTruncate copies the log to path.1, lets the writer go on for the
// window, then truncates the log to zero.
func (w *World) copyTruncate(f faults.Fault) {
	id, size, ok := w.pathID()
	if !ok {
		return
	}
	w.shiftGenerations(f.Count())
	if err := afero.WriteFile(w.fs, w.rotated(1), mustRead(w.fs, w.cfg.Path), 0o644); err != nil {
		return
	}
	var cid logstream.FileID
	if fi, err := w.fs.Stat(w.rotated(1)); err == nil {
		// The copy holds the log's content: the same extents, so that the
		// decoder's hints hold for bytes read from it.
		cid = w.fileID(fi)
		if w.copies == nil {
			w.copies = map[logstream.FileID]bool{}
		}
		w.copies[cid] = true
		for _, e := range w.extents[id] {
			if e.off < fi.Size() {
				e.n = min(e.n, fi.Size()-e.off)
				w.addExtent(cid, e)
			}
		}
	}
	w.fileEvent(FileCopied, id, size, w.rotated(1), "copytruncate")
	w.hist.Files[len(w.hist.Files)-1].Copy = cid
	w.after(f.For, func() {
		id2, size2, ok := w.pathID()
		if !ok || id2 != id {
			return
		}
		w.fs.Truncate(w.cfg.Path, 0)
		w.truncated(id)
		w.fileEvent(FileTruncated, id, size2, "", "copytruncate")
	})
}

// truncated notes that file id was truncated to zero.
func (w *World) truncated(id logstream.FileID) {
	delete(w.extents, id)
	if w.writer.id == id {
		w.writer.size = 0
	}
}

func mustRead(fsys afero.Fs, name string) []byte {
	b, err := afero.ReadFile(fsys, name)
	if err != nil {
		return nil
	}
	return b
}

// truncate truncates the log to zero and regrows it with N bytes, the first
// of which repeat the old head when SameHead is set.
func (w *World) truncate(f faults.Fault) {
	id, size, ok := w.pathID()
	if !ok {
		return
	}
	old := w.extents[id]
	w.fs.Truncate(w.cfg.Path, 0)
	w.truncated(id)
	cause := "truncate"
	if f.SameHead {
		cause = "truncate-same-head"
	}
	w.fileEvent(FileTruncated, id, size, "", cause)
	if w.writer.id != id || f.N <= 0 {
		return
	}
	// The regrowth is a later event of its own, so that the history orders
	// it after the truncation.
	w.after(0, func() {
		if w.writer.id != id {
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
	})
}

// deleteLog removes the log; the writer keeps its handle until the gap
// ends, then recreates the path.
func (w *World) deleteLog(f faults.Fault) {
	id, size, ok := w.pathID()
	if !ok {
		return
	}
	if err := w.fs.Remove(w.cfg.Path); err != nil {
		return
	}
	w.pathOK = false
	w.fileEvent(FileDeleted, id, size, "", "delete")
	w.reopenAfter(f.Gap)
}

// lateWrite appends N bytes to the most recently rotated file, as a writer
// that has not reopened yet would.
func (w *World) lateWrite(f faults.Fault) {
	name := w.rotated(1)
	h, err := w.fs.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	fi, _ := h.Stat()
	if w.copies[w.fileID(fi)] {
		// A copytruncate copy: no writer ever had it open.
		h.Close()
		return
	}
	saved := w.writer
	w.writer.f, w.writer.id, w.writer.size = h, w.fileID(fi), fi.Size()
	w.writer.lateHandle = true
	w.write(int64(f.N))
	h.Close()
	saved.pos = w.writer.pos
	saved.buf = w.writer.buf
	if saved.f != nil {
		// The late write may have gone to the writer's own file (during a
		// rotation gap path.1 is the file it still writes): its size moved.
		if fi, err := saved.f.Stat(); err == nil {
			saved.size = fi.Size()
		}
	}
	w.writer = saved
}

// replay is a replayed head's write: its content (served) repeats earlier
// content, and the content positions [pos, pos+n) are never written.
type replay struct {
	served
	pos int64
}

// served is a stretch of content the file system handed to the streamer in
// one read: n bytes from content position src on.
type served struct {
	src, n int64
}

// maxServed bounds the reads the decoder's guess looks back over.
const maxServed = 64

// dedupServed is how far back noteRead looks for the same read (a head
// check repeats at every poll, a few data reads between two).
const dedupServed = 8

// noteRead records that the file system served n bytes of file id at file
// offset off to the streamer.
func (w *World) noteRead(id logstream.FileID, off, n int64) {
	es := w.extents[id]
	i := sort.Search(len(es), func(i int) bool { return es[i].off+es[i].n > off })
	for ; n > 0 && i < len(es) && es[i].off <= off; i++ {
		e := es[i]
		k := min(n, e.off+e.n-off)
		sv := served{src: e.src + off - e.off, n: k}
		// The same read again (a head check at every poll) is kept once,
		// as the most recent: it must not push older reads out of the
		// window.
		for j := len(w.reads) - 1; j >= 0 && j >= len(w.reads)-dedupServed; j-- {
			if w.reads[j] == sv {
				w.reads = append(w.reads[:j], w.reads[j+1:]...)
				break
			}
		}
		w.reads = append(w.reads, sv)
		off, n = off+k, n-k
	}
	if len(w.reads) > 2*maxServed {
		w.reads = append(w.reads[:0], w.reads[len(w.reads)-maxServed:]...)
	}
}

// guess places a short piece of delivered data that neither continues the
// last run nor can be located from its own bytes (fewer than MinLocate):
// the read the file system served, late write or replayed head (of the
// latest maxServed of each), or the start of a stretch of a file (any) whose content the piece starts with (the whole
// read or write, or the whole piece) over the most bytes. It returns the content
// position and how many bytes match.
func (w *World) guess(data []byte) (src, n int64, ok bool) {
	// The longest match wins (a read of a byte or two matches by chance);
	// among equals, the most recent read, then the most recent write.
	try := func(r served) {
		want := min(r.n, int64(len(data)))
		if want > n && int64(MatchLen(w.hist.Key, r.src, data[:want])) == want {
			src, n, ok = r.src, want, true
		}
	}
	for _, list := range [][]served{w.reads, w.odd} {
		for i := len(list) - 1; i >= 0 && i >= len(list)-maxServed; i-- {
			try(list[i])
		}
	}
	for i := len(w.replays) - 1; i >= 0 && i >= len(w.replays)-maxServed; i-- {
		try(w.replays[i].served)
	}
	// A piece at a jump in a file's content (a truncation, a new file, a
	// write after a late one went elsewhere) starts one of its stretches,
	// however long ago it was read: a sender reading ahead while its
	// targets are unreachable delivers it after many other reads.
	for i := len(w.starts) - 1; i >= 0; i-- {
		try(w.starts[i])
	}
	return src, n, ok
}

// maxFollow bounds the writes follow looks through for a file's next write.
const maxFollow = 64

// follow returns the content that came next, in its file, after content
// position c-1: the write holding c-1 (an ordinary write: content position
// equals write position), then the first write to the same file, among the
// next maxFollow, that covers the next file offset. That is what a tailer
// reading the file on from c-1 read next, whatever other files were
// written in between (a late write to a rotated file splits the content of
// the new one; a piece after the split may be too short to locate, and the
// read that served it may be long out of the guess window when a lagging
// target gets it). It returns the content position and how many bytes
// follow there in that write.
func (w *World) follow(c int64) (src, n int64, ok bool) {
	ws := w.hist.Writes
	i := sort.Search(len(ws), func(i int) bool { return ws[i].Pos+ws[i].N > c-1 })
	if c < 1 || i == len(ws) || ws[i].Pos > c-1 || ws[i].Src != ws[i].Pos {
		return 0, 0, false
	}
	f, off := ws[i].File, ws[i].FileOff+c-ws[i].Pos // file offset after c-1
	if off < ws[i].FileOff+ws[i].N {
		return c, ws[i].FileOff + ws[i].N - off, true
	}
	for j := i + 1; j < len(ws) && j <= i+maxFollow; j++ {
		if u := ws[j]; u.File == f && u.FileOff <= off && off < u.FileOff+u.N {
			return u.Src + off - u.FileOff, u.FileOff + u.N - off, true
		}
	}
	return 0, 0, false
}

// writtenRun returns how many of the n content positions from c on were
// written, in a row: content before the writer's position that is not in
// the write positions of a replayed head (whose bytes repeat earlier
// content). The decoder does not take a chance match of a few bytes for
// content that never existed.
func (w *World) writtenRun(c, n int64) int64 {
	n = max(min(n, w.writer.pos-c), 0)
	for _, u := range w.replays {
		if u.pos+u.n > c && u.pos < c+n {
			n = max(u.pos-c, 0)
		}
	}
	return n
}

// readTap is the file system as the streamer sees it: the world's, with
// every read it serves recorded (what the world did, not what the streamer
// says it read).
type readTap struct {
	afero.Fs
	w *World
}

func (t readTap) Open(name string) (afero.File, error) {
	return t.OpenFile(name, os.O_RDONLY, 0)
}

func (t readTap) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	f, err := t.Fs.OpenFile(name, flag, perm)
	if err != nil {
		return f, err
	}
	if sf, ok := f.(*simfs.File); ok {
		// The identity Stat would give, without a FileInfo (or a chance
		// of an injected fault).
		d, _, ok := sf.Identity()
		s, ok2 := sf.Serial()
		if !ok || !ok2 {
			return f, nil
		}
		return &tappedFile{File: f, w: t.w, id: logstream.FileID{Dev: d, Ino: s}}, nil
	}
	in := t.w.inTail
	t.w.inTail = false // the world's own fstat: no injected fault
	fi, err := f.Stat()
	t.w.inTail = in
	if err != nil {
		return f, nil
	}
	return &tappedFile{File: f, w: t.w, id: t.w.fileID(fi)}, nil
}

type tappedFile struct {
	afero.File
	w  *World
	id logstream.FileID
}

func (f *tappedFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	if n > 0 {
		f.w.noteRead(f.id, off, int64(n))
	}
	return n, err
}

func (f *tappedFile) Read(p []byte) (int, error) {
	off, _ := f.File.Seek(0, io.SeekCurrent)
	n, err := f.File.Read(p)
	if n > 0 {
		f.w.noteRead(f.id, off, int64(n))
	}
	return n, err
}

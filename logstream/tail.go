package logstream

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"time"

	"github.com/spf13/afero"
)

// headSize is how many leading bytes of a file the Tailer remembers to
// recognise a truncate-then-regrow that happened between two polls.
const headSize = 64

// TailActionKind says what the Tailer wants done next.
type TailActionKind uint8

// Tail actions.
const (
	// TailData: send Data, which starts at stream offset Offset.
	TailData TailActionKind = iota + 1
	// TailWait: nothing to send; ask again at Until.
	TailWait
	// TailEOF: the stream is complete; Offset is its length.
	TailEOF
)

// TailAction is the Tailer's answer to Next.
type TailAction struct {
	Kind TailActionKind
	// Data read from File at FileOffset (TailData). The slice is owned by
	// the caller, who may hand it back with Tailer.Recycle.
	Data       []byte
	Offset     int64
	File       FileID
	FileOffset int64
	Until      time.Time
}

// TailEventKind classifies what the Tailer observed.
type TailEventKind uint8

// Tail events.
const (
	// TailOpened: a file was opened at the path (File, Gen).
	TailOpened TailEventKind = iota + 1
	// TailRotated: the path now names another file; the old handle was
	// drained to FileOffset and closed.
	TailRotated
	// TailTruncated: the file shrank below the read offset.
	TailTruncated
	// TailRegrown: the file's head changed while its size did not drop
	// below the read offset (truncate then regrow): reread from 0.
	TailRegrown
	// TailChecked: the path was examined (a poll). Observers use it to know
	// when the tailer could have seen a file.
	TailChecked
	// TailError: an open, stat or read failed; Err says why. The tailer
	// retries at the next poll.
	TailError
	// TailDrainExpired: the drain window after stop ran out while data was
	// still arriving; EOF follows at Offset.
	TailDrainExpired
	// TailEnd: EOF was decided at stream offset Offset.
	TailEnd
	// TailGaveUp: past the drain window after stop, more than RetryLimit
	// file operations in a row failed: the stream ends (EOF follows) with
	// bytes written before the stop possibly unread.
	TailGaveUp
	// TailCapped: a drain window after a rotation the old file was still
	// being read while a newer one had data; it is read up to its size now
	// (FileOffset is where the tailer was) and no further: later writes to
	// it are not read.
	TailCapped
	// TailQueued: a newer generation (File) was found, at the path or
	// under a rotated name, and opened; it waits for the files before it.
	TailQueued
	// TailSkipped: generation File is never read: it vanished while the
	// queue was full (QueueWait) or was dropped from a full queue
	// (QueueDropOldest). Count is the number skipped so far. A named loss.
	TailSkipped
	// TailCopied: a truncation was detected and a rotated sibling (File)
	// starts with the head of the truncated file and is longer than the
	// read offset (copytruncate): the unread range, from FileOffset, is
	// read from the copy.
	TailCopied
	// TailHole: after a truncation the file restarts, or goes on after the
	// head the truncation kept, with NUL bytes that were never written (a
	// writer without O_APPEND left a hole); they are skipped up to
	// FileOffset, not streamed.
	TailHole
)

var tailEventNames = [...]string{"", "opened", "rotated", "truncated", "regrown", "checked", "error", "drain-expired", "end", "gave-up", "capped", "queued", "skipped", "copied", "hole"}

// String returns the event kind's name.
func (k TailEventKind) String() string {
	if int(k) < len(tailEventNames) && k != 0 {
		return tailEventNames[k]
	}
	return fmt.Sprintf("tail-event(%d)", uint8(k))
}

// TailEvent is one observation of the Tailer, for traces and oracles.
type TailEvent struct {
	Kind       TailEventKind
	At         time.Time
	File       FileID
	Gen        int   // files opened so far
	FileOffset int64 // read offset in File
	Offset     int64 // stream offset
	Count      int   // TailSkipped: generations skipped so far
	Err        error
}

// Tailer is the sans-I/O tail state machine: each call to Next looks at the
// file through an afero.Fs at the given time and says what to send next. It
// never sleeps and never reads a clock. It is not safe for concurrent use.
//
// Rules it implements: a missing file is waited for; identity comes from the
// opened handle; on rename rotation the old handle is read to its end before
// the new file is opened; a size below the read offset, or a changed head,
// means truncation and reading restarts at 0 (NUL bytes a writer without
// O_APPEND left as a hole, at the start or after the head a truncation
// kept, are skipped, see skipHole).
//
// Generations: at every look at the path (each PollInterval, or at once
// after Changed) the tailer also lists the rotated siblings
// (TailOptions.Rotated). Files it has not seen before (by identity, and by
// size and, at the path, first bytes against inode reuse: a real file
// system gives a deleted file's inode to the next file created) are newer
// generations: each is opened when first seen and its handle queued (at
// most MaxQueuedFiles), in rotation order, after the file being read; the
// file at the path comes last. So a
// generation rotated away within one poll (H2), or while the sender lags, is
// read, from a handle that outlives its deletion. A rotated file is left only
// once a newer one has data (its writer switched).
//
// Copies: a new sibling is not a newer generation but a copy (copytruncate)
// when the file being read is still at the path, or the newest queued file
// still is; when it is older than the file being read (in rotation order,
// by when it was first seen, or by modification time); or when it starts
// with the bytes of the file being read or of a queued file (now, or before
// a truncation). When a truncation of the file being read is detected, the
// copy that starts with the head the tailer read and is longer than its read
// offset supplies the unread range. A queued file keeps its copies and,
// when its turn comes, those whose bytes it no longer holds are read first.
//
// Stop: after Stop, reading goes on until two empty reads one PollInterval
// apart, or until DrainWindow ends; what the files held when the window
// ended is read however long that takes (the marks). Memory is bounded by
// the number of rotated files on disk and MaxQueuedFiles.
//
// Re-reading (Rereader): the files it has finished (drained generations,
// copies read) stay open, at most MaxQueuedFiles of them (the oldest is
// closed first), until Release says every target is past their bytes, so
// that Reread can read those bytes again for a target behind the
// producer's buffer. A removed file's disk space is freed only when its
// handle is closed: a lagging target keeps up to MaxQueuedFiles removed
// generations on disk (and its producer gives it up once it is
// TailOptions.MaxLag behind).
type Tailer struct {
	fs   afero.Fs
	path string
	opt  TailOptions
	obs  func(TailEvent)

	f     afero.File
	id    FileID
	hasID bool
	gen   int
	foff  int64 // read offset in f
	size  int64 // f's size at the last fstat
	head  []byte
	soff  int64 // stream offset: bytes handed out so far

	// rotation seen (rotateSeen) while f had rotateAt bytes: drain f to its end,
	// or past rotateAt once a drain window has passed, then switch.
	rotating   bool
	rotateAt   int64
	rotateSeen time.Time
	// rotateCapped: the drain of the old file is bounded by rotateAt.
	rotateCapped bool
	// rotateFinal: the old file got its last read after the new one had
	// data.
	rotateFinal bool
	lastCheck   time.Time

	// Generations: queue holds newer files, opened, oldest first; seen
	// remembers the siblings that are not to be read as generations (there
	// at the start, read to the end, or copies), with their sizes then;
	// deferred are generations not opened because the queue was full.
	queue    []held
	seen     map[FileID]seenFile
	deferred map[FileID]bool
	skipped  int
	copies   []copyRead // copies to read before the file being read (copytruncate)
	changed  bool       // Changed was called: look at the path at the next Next
	skipNUL  bool       // after a truncation: leading NULs may be a hole
	holeMin  int64      // the shortest NUL run that is a hole (skipHole)
	holeScan int64      // NUL bytes from the read offset skipHole has seen so far
	nulAt    bool       // skipNUL: the byte at the read offset is NUL (holeCut)
	nulLead  int64      // skipNUL: NUL bytes at the read offset that are content
	oldHeads [][]byte   // heads of the file being read before its last truncations
	// lastRead: the bytes before the read offset (up to lastReadSize),
	// checked at every look past the head (checkHandle). A truncation
	// regrown past the read offset between two looks shows neither in
	// the size nor, when it kept the head (a truncate-to: swarm seeds
	// 1231 and 5409 of the files mix, the second the file's first
	// truncation), or the head is a hole's NUL bytes in every life (a
	// file that starts with a hole it skipped), in the head; the bytes
	// before the read offset tell it.
	lastRead []byte
	// holeEnd: where the file's data starts after a hole at its start
	// that skipHole skipped (0: none).
	holeEnd int64
	// sawEmpty: the file being read was empty at a look, with nothing
	// read from it since.
	sawEmpty bool
	// copyUndecided: the last look could not tell whether a rotated
	// sibling is a copy of the file's present life taken before it was
	// truncated (copyBeforeStart): nothing of the file is read until a
	// look can, as after a failed look at a file seen empty.
	copyUndecided bool
	// firstHeld counts the failed looks that held a first read back.
	firstHeld int
	// undecided counts the looks in a row that could not tell a sibling
	// (checkPath): until one succeeds, the tailer switches to no newer
	// file (Next), for at most RetryLimit looks.
	undecided int
	// prefixes are copies the file being read started with, seen before
	// anything of its present life was read (copyBeforeStart).
	prefixes []prefixCopy
	pending  *pendingCopy // a copy search a file error interrupted
	// scanN counts the looks at the path; firstSeen says when and where
	// each file not yet read was first seen (bounded by the listing);
	// curKey is that of the file being read.
	scanN     int
	firstSeen map[FileID]seenKey
	curKey    seenKey

	stopped bool
	stopAt  time.Time
	// Bytes written before the stop, and until the drain window ends, are
	// read even past DrainWindow: marks hold, for the file open at the
	// first Next after Stop, the queued ones and the file then at the path,
	// their sizes then; they are taken again when the window ends.
	markDone  bool
	remarked  bool      // marks taken again when the drain window ended
	startAt   time.Time // the first Next: older rotated files are history
	marks     []stopMark
	quietAt   time.Time // first empty read after stop; zero if none
	holdEOF   bool      // HoldEOF: a quiet file does not end the drain yet
	done      bool
	lastError error
	failed    bool // an operation failed during the current Next
	errRun    int  // consecutive failed operations
	gaveUp    bool // errors ended the drain after stop

	spare     [][]byte // chunk-size buffers handed back (Recycle)
	recycling bool     // Recycle was called: read into chunk-size buffers

	// kept are the finished files (drained generations, read copies),
	// oldest first, whose handles are held for Reread until Release says
	// every target is past their bytes; at most MaxQueuedFiles, the
	// oldest closed first (keptDropped counts those).
	kept        []keptFile
	keptDropped int
	// copiesOf are, per file, the copytruncate copies of its lives the
	// tailer found, oldest first: Reread reads a truncated file's bytes
	// there. Entries whose handle is no longer held are dropped (Release).
	copiesOf map[FileID][]FileID
}

// keptFile is a finished file held for Reread: end is the stream offset
// after the last byte handed out from it.
type keptFile struct {
	f   afero.File
	id  FileID
	end int64
}

// Recycle implements Recycler: a buffer of ChunkSize capacity the caller no
// longer uses is read into again. Once Recycle was called, reads go into
// buffers of ChunkSize capacity (Data's cap), so that they can come back.
func (t *Tailer) Recycle(buf []byte) {
	t.recycling = true
	// Keep a window's worth: a window's buffers come back together, and
	// fresh ones cost page faults and zeroing.
	if cap(buf) == t.opt.ChunkSize && len(t.spare) < t.opt.Window+1 {
		t.spare = append(t.spare, buf[:0])
	}
}

// NewTailer returns a Tailer of path on fsys. opt must have been normalized
// (see TailOptions.Normalize). obs, if not nil, is told of every TailEvent.
func NewTailer(fsys afero.Fs, path string, opt TailOptions, obs func(TailEvent)) *Tailer {
	return &Tailer{fs: fsys, path: path, opt: opt.withDefaults(), obs: obs}
}

// held is an open generation waiting to be read.
type held struct {
	f    afero.File
	id   FileID
	name string
	// copy is the latest copytruncate copy of f seen while f waited, with
	// its first bytes and size.
	copies []keptCopy // copytruncate copies of f seen while it waited, oldest first
	key    seenKey    // when and where it was first seen
	head   []byte     // its first bytes when it was queued (up to headSize)
}

// keptCopy is a copytruncate copy of a queued file, with its first bytes
// and size when it was seen.
type keptCopy struct {
	h    held
	head []byte
	size int64
}

// maxCopies bounds the copies kept per queued file.
const maxCopies = 8

// copyRead is a range of a copy to read.
type copyRead struct {
	h        held
	off, end int64
	// holeMin > 0: the copy is of a life of the file that started with
	// a hole (a writer without O_APPEND after a truncation); a NUL run at
	// off at least holeMin long is that hole, skipped as skipHole skips
	// the file's. scan counts the NUL bytes from off seen so far.
	holeMin, scan int64
}

// seenKey orders generations by when (the tailer's look at the path, scan)
// and where (the index in the rotated names oldest first; pathIdx for the
// path) they were first seen: a file first seen later is newer.
type seenKey struct{ scan, idx int }

const pathIdx = int(^uint(0) >> 1)

func (a seenKey) less(b seenKey) bool { return a.scan < b.scan || a.scan == b.scan && a.idx < b.idx }

// seenFile is a sibling not to be read as a generation.
type seenFile struct {
	size int64
	copy bool // appeared while the file being read was at the path
	used bool // a copy the unread range was read from
	// head: the first bytes read from a file read to its end (up to
	// headSize), to tell it from another file on its inode (reused).
	head    []byte
	checked int64 // a size at which its head was found unchanged
	// mod is the file's modification time when it was remembered (zero:
	// not known).
	mod time.Time
}

// changed reports whether sibling s, on the inode of a file remembered as
// sf, differs from what was remembered: its size, or its modification time
// where that is known. A copy nobody writes to that changed is another
// file on a reused inode number (ext4 and xfs reuse a removed file's
// number at once: logrotate's copytruncate with one copy removes
// app.log.1 and makes the new copy on the same number). A rotated file
// that changed got a late write or is another file: checkReuse tells them
// apart by the bytes it starts with.
func (sf seenFile) changed(s sibling) bool {
	return s.size != sf.size || sf.modified(s.mod)
}

// modified reports whether a file modified at mod (zero: not known) was
// modified since it was remembered as sf.
func (sf seenFile) modified(mod time.Time) bool {
	return !sf.mod.IsZero() && !mod.IsZero() && !mod.Equal(sf.mod)
}

// readBefore reports whether sibling s is a file the tailer has read from,
// or decided not to read, at an earlier look, and that is still that file:
// a rotated file (checkReuse first forgets one whose head another file now
// has) or a copy it read from that has not changed since; with anyCopy,
// also a copy it did not read from. ok is false when a read failed before
// it could tell (checkReuse): a failed read decides nothing.
func (t *Tailer) readBefore(now time.Time, s sibling, anyCopy bool) (before, ok bool) {
	if !t.checkReuse(now, s.id, s.name, s.size) {
		return false, false
	}
	sf, seen := t.seen[s.id]
	switch {
	case !seen:
		return false, true
	case !sf.copy:
		return true, true
	default:
		return (sf.used || anyCopy) && !sf.changed(s), true
	}
}

// firstReadWaits reports whether the file's first read waits on a look
// beside the rotated names: it has bytes, none read yet, and it was seen
// empty or its copy is undecided (copyBeforeStart).
func (t *Tailer) firstReadWaits() bool {
	return (t.sawEmpty || t.copyUndecided) && t.foff == 0 && t.size > 0
}

// Offset returns the number of bytes handed out so far.
func (t *Tailer) Offset() int64 { return t.soff }

// Unread returns how many bytes the tailer has found and not handed out:
// the open file past the read offset at the last look, the ranges of
// copies still to read, and the generations queued behind it (their sizes
// now): the tailer's own lag. A chunk cut short at the end of a rotated
// generation with newer ones waiting is no sign of having caught up with
// the writer (wan-mix seed 38979: the partial-chunk rule then held the next
// look back past PollInterval while the tailer lagged three generations
// behind, and a truncation took a queued generation's bytes unread).
func (t *Tailer) Unread() int64 {
	var n int64
	if t.f != nil {
		n = max(t.size-t.foff, 0)
	}
	for _, c := range t.copies {
		n += max(c.end-c.off, 0)
	}
	for _, q := range t.queue {
		if fi, err := q.f.Stat(); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// Skipped returns how many generations were never read (TailSkipped).
func (t *Tailer) Skipped() int { return t.skipped }

// Changed tells the Tailer that something in the log's directory changed (a
// file-system event): the next Next looks at the path and the rotated names
// at once instead of waiting for PollInterval. Polling goes on regardless,
// so a lost event only delays the look.
func (t *Tailer) Changed(now time.Time) { t.changed = true }

// Err returns the last open, stat or read error, or nil.
func (t *Tailer) Err() error { return t.lastError }

// Stop tells the Tailer that the writer is done: it drains what is left, for
// at most DrainWindow after now (but at least what the files held when the
// window ended, however long reading it takes), then reports EOF. Later
// calls do nothing.
func (t *Tailer) Stop(now time.Time) {
	if !t.stopped {
		t.stopped, t.stopAt = true, now
	}
}

// HoldEOF implements EOFHolder. While hold is set, two empty reads after
// Stop do not end the drain (the end of DrainWindow still does): the
// caller cannot send the EOF yet, and the look that ends the stream must
// be taken when the EOF can go, or bytes written in between would be cut
// although the window was still open.
func (t *Tailer) HoldEOF(hold bool) { t.holdEOF = hold }

// Close releases the open handles, if any.
func (t *Tailer) Close() error {
	var err error
	for _, k := range t.kept {
		k.f.Close()
	}
	t.kept = nil
	for i := range t.queue {
		closeHeld(&t.queue[i])
	}
	t.queue = nil
	for _, c := range t.copies {
		c.h.f.Close()
	}
	t.copies = nil
	for _, p := range t.prefixes {
		p.cr.h.f.Close()
	}
	t.prefixes = nil
	if t.f != nil {
		err = t.f.Close()
		t.f = nil
	}
	return err
}

func (t *Tailer) emit(now time.Time, k TailEventKind, err error) {
	if k == TailError {
		t.lastError, t.failed = err, true
		t.errRun++
		if t.stopped && !now.Before(t.stopAt.Add(t.opt.DrainWindow)) && t.errRun > t.opt.RetryLimit {
			// Past the window, a file that keeps failing ends the drain:
			// it must not hold the stream open forever.
			t.marks, t.gaveUp = nil, true
		}
	}
	if t.obs != nil {
		t.obs(TailEvent{Kind: k, At: now, File: t.id, Gen: t.gen, FileOffset: t.foff, Offset: t.soff, Count: t.skipped, Err: err})
	}
}

// emitFile reports an event about another file than the one being read.
func (t *Tailer) emitFile(now time.Time, k TailEventKind, id FileID, foff int64) {
	if t.obs != nil {
		t.obs(TailEvent{Kind: k, At: now, File: id, Gen: t.gen, FileOffset: foff, Offset: t.soff, Count: t.skipped})
	}
}

// Next returns what to do at now.
func (t *Tailer) Next(now time.Time) TailAction {
	if t.done {
		return TailAction{Kind: TailEOF, Offset: t.soff}
	}
	t.failed = false
	if t.startAt.IsZero() {
		t.startAt = now
	}
	if t.stopped && !t.markDone {
		t.mark(now)
	}
	if t.stopped && t.markDone && !t.remarked && !now.Before(t.stopAt.Add(t.opt.DrainWindow)) {
		// The window ends: what was written until now is read too (a
		// lagging tailer reaches it late); later bytes are cut. A
		// failed look decides nothing: the marks are taken again at
		// the next call, and the window does not end on the old ones
		// (rapid: a stat error at the window's end ended the stream on
		// the marks taken at the stop, when open errors had hidden
		// every file, and lost what the new file got before the end).
		t.remarked = t.mark(now)
	}
	expired := t.stopped && !now.Before(t.stopAt.Add(t.opt.DrainWindow)) &&
		(t.markDone && t.remarked || t.errRun > t.opt.RetryLimit)
	// One pass per file: the next runs after switching to a newer one.
	for range t.opt.MaxQueuedFiles + 2 {
		if t.f == nil && !t.openNext(now) {
			if expired && !t.marked() {
				return t.drainExpired(now)
			}
			return t.idle(now)
		}
		if !t.checkHandle(now) {
			if expired && t.errRun > t.opt.RetryLimit {
				return t.drainExpired(now) // the file keeps failing
			}
			return t.idle(now)
		}
		if t.pending != nil {
			if t.failed { // the search started in checkHandle failed
				return t.idle(now)
			}
			t.followCopy(now)
			if t.pending != nil {
				return t.idle(now)
			}
		}
		// After truncation detection, so that a truncated file's mark is
		// judged from its new read offset.
		if expired && !t.marked() {
			return t.drainExpired(now)
		}
		if t.changed || now.Sub(t.lastCheck) >= t.opt.PollInterval ||
			t.firstReadWaits() && t.lastCheck.Before(now) {
			// A writer that never pauses must not hide a rotation; a
			// lagging tailer keeps watching the path (newer generations
			// are queued as they appear). A file seen empty and not read
			// yet is looked at beside the rotated names before its first
			// read: nothing read, no size or head shows a copytruncate
			// since, and the copy's bytes come first (copyBeforeStart).
			// So is one whose copy a failed read left undecided (wan-mix
			// seed 7144: a queued file, copytruncated and written again
			// before the tailer got to it, was read from 0 after the
			// look at its copy failed, and the copy's bytes were lost).
			t.checkPath(now)
			if t.failed && t.firstReadWaits() {
				// The look failed before the file's first read: a copy
				// of an unread life may be missed. Read nothing yet, for
				// at most RetryLimit more looks.
				if t.firstHeld++; t.firstHeld <= t.opt.RetryLimit {
					return t.idle(now)
				}
			}
		}
		for len(t.copies) > 0 || len(t.prefixes) > 0 {
			if len(t.copies) == 0 {
				if t.skipNUL && t.foff == 0 && !t.skipHole(now) {
					// The file restarts with NUL bytes that may be a
					// hole: where its data starts tells whether it
					// still holds the copies' bytes. Decide them once
					// it does; read nothing meanwhile.
					if t.failed {
						return t.idle(now)
					}
					break
				}
				t.checkPrefixes(now)
				if t.failed {
					return t.idle(now)
				}
				continue
			}
			if a, ok := t.readCopy(now); ok {
				return a
			}
			if t.failed {
				return t.idle(now)
			}
		}
		limit := t.opt.ChunkSize
		if t.rotating && !t.rotateCapped && !now.Before(t.rotateSeen.Add(t.opt.DrainWindow)) && t.newerHasData() {
			// A drain window after the rotation the old file is still
			// being read although a newer one has data: drain it to its
			// size now and no further, so that a writer still appending
			// to it cannot hold the new file back forever.
			if fi, err := t.f.Stat(); err == nil {
				t.rotateAt, t.rotateCapped = fi.Size(), true
				t.emit(now, TailCapped, nil)
			}
		}
		if t.rotating && t.rotateCapped {
			limit = int(min(int64(limit), max(t.rotateAt-t.foff, 0)))
		}
		if limit > 0 {
			if a, ok := t.read(now, limit); ok {
				return a
			}
			if t.failed {
				// A failed read is not a drained handle: retry it.
				return t.idle(now)
			}
		}
		// Nothing more to read here: the handle is drained (H1).
		if !t.rotating && !t.lastCheck.Equal(now) {
			t.checkPath(now)
		}
		if !t.rotating {
			return t.idle(now)
		}
		if !t.newerHasData() {
			// Every newer file is still empty: the writer may still be
			// appending to this one (a handler that reopens lazily, or
			// late). Keep reading it until a newer file gets data.
			return t.idle(now)
		}
		if !t.rotateFinal && !t.rotateCapped {
			// A newer file has data, so the writer has switched: what it
			// wrote to this file before is there now. Read once more.
			t.rotateFinal = true
			if limit > 0 {
				if a, ok := t.read(now, limit); ok {
					return a
				}
			}
		}
		if len(t.queue) == 0 || len(t.deferred) > 0 {
			// Generations that did not fit the queue come before the
			// file at the path. Look while this file is still the one
			// read: siblings are told from its copies by it.
			t.checkPath(now)
		}
		if t.undecided > 0 && t.undecided <= t.opt.RetryLimit {
			// The last look could not tell a sibling: it may come
			// between this file and the next. Look again first.
			return t.idle(now)
		}
		t.emit(now, TailRotated, nil)
		t.seen[t.id] = seenFile{size: t.foff, head: slices.Clone(t.head)}
		t.closeFile()
	}
	return t.idle(now)
}

// Watch looks at the path and the rotated names when a poll is due (or
// Changed was called), opening and queueing new generations without reading
// anything: a producer calls it while it cannot take data (a round in
// flight, a receiver not ready yet), so that a generation created and
// removed meanwhile is still read from its held handle. It also detects a
// truncation of the file being read and holds the copy with the unread
// range (copytruncate): a second copytruncate before the next read would
// otherwise remove that copy.
func (t *Tailer) Watch(now time.Time) {
	if t.done || t.f == nil {
		return
	}
	if t.changed || now.Sub(t.lastCheck) >= t.opt.PollInterval {
		t.failed = false
		if !t.checkHandle(now) {
			t.lastCheck = now // retried a poll later, not at every step
			return
		}
		if t.pending != nil && !t.failed {
			t.followCopy(now)
		}
		if t.pending != nil {
			// As in Next: until the copy search ends, the path is not
			// looked at (the copy would pass for one of a file not read
			// yet, and be read from its start). Retried a poll later.
			t.lastCheck = now
			return
		}
		t.checkPath(now)
	}
}

// newerHasData reports whether a queued generation (or a copytruncate copy
// of one), or the file at the path when none is queued, has data.
func (t *Tailer) newerHasData() bool {
	if len(t.queue) == 0 {
		fi, err := t.fs.Stat(t.path)
		return err == nil && fi.Size() > 0
	}
	for _, q := range t.queue {
		if fi, err := q.f.Stat(); err == nil && fi.Size() > 0 {
			return true
		}
		// A queued file truncated by a copytruncate has its data in the
		// copy: the writer has switched all the same.
		for _, c := range q.copies {
			if c.size > 0 {
				return true
			}
		}
	}
	// Every queued file is empty: the writer may have moved on past them
	// (a queued file renamed away before it got data, and a newer one at
	// the path, which the queue does not hold yet).
	fi, err := t.fs.Stat(t.path)
	if err != nil || fi.Size() == 0 {
		return false
	}
	id, ok := Identity(fi)
	return ok && id != t.id && !t.inQueue(id)
}

// drainExpired ends the stream: the drain window after stop is over and no
// byte written before the stop is left to read.
func (t *Tailer) drainExpired(now time.Time) TailAction {
	if t.gaveUp {
		t.emit(now, TailGaveUp, nil)
	}
	t.emit(now, TailDrainExpired, nil)
	return t.end(now)
}

// idle answers when there is nothing to read: wait, or EOF after stop once
// two empty reads one poll apart were seen and the EOF is not held.
func (t *Tailer) idle(now time.Time) TailAction {
	if t.stopped && !t.failed {
		if t.quietAt.IsZero() {
			t.quietAt = now
		} else if !now.Before(t.quietAt.Add(t.opt.PollInterval)) && !t.holdEOF {
			return t.end(now)
		}
	}
	until := now.Add(t.opt.PollInterval)
	if end := t.stopAt.Add(t.opt.DrainWindow); t.stopped && end.After(now) && end.Before(until) {
		until = end // the drain window may end the stream before the next poll
	}
	return TailAction{Kind: TailWait, Until: until}
}

func (t *Tailer) end(now time.Time) TailAction {
	t.done = true
	t.emit(now, TailEnd, nil)
	t.closeFile()
	return TailAction{Kind: TailEOF, Offset: t.soff}
}

func (t *Tailer) closeFile() {
	if t.f != nil {
		t.keep(t.f, t.id)
		t.f = nil
	}
	t.rotating = false
}

// keep holds f, a file the tailer is done with, for Reread, closing the
// oldest kept file if MaxQueuedFiles are held.
func (t *Tailer) keep(f afero.File, id FileID) {
	if n := len(t.kept); n > 0 && t.kept[n-1].end == t.soff && t.kept[n-1].id == id {
		f.Close() // nothing handed out since: the held handle reads the same file
		return
	}
	if len(t.kept) >= t.opt.MaxQueuedFiles {
		t.kept[0].f.Close()
		t.kept = append(t.kept[:0], t.kept[1:]...)
		t.keptDropped++
	}
	t.kept = append(t.kept, keptFile{f: f, id: id, end: t.soff})
}

// ErrGone says that bytes a Source handed out can no longer be read again:
// the file that held them is no longer held, or holds less now (it was
// truncated).
var ErrGone = errors.New("bytes gone")

// Reread implements Rereader: it reads len(p) bytes of file id at off from
// a handle the tailer holds (the file being read, a copy being read, or a
// kept finished file), and, if want does not accept what it read there (the
// file was truncated, or holds another life's bytes now), from the copies
// of id's lives it holds (copytruncate), newest first. It returns an error
// wrapping ErrGone when no reading was accepted and none failed; a read
// error, worth another try, otherwise.
func (t *Tailer) Reread(p []byte, id FileID, off int64, want func([]byte) bool) (int, error) {
	var gone, failed error
	try := func(id FileID) bool {
		f := t.handle(id)
		if f == nil {
			gone = cmp.Or(gone, fmt.Errorf("%w: no handle of file %v held", ErrGone, id))
			return false
		}
		n, err := readFull(f, p, off)
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			gone = cmp.Or(gone, fmt.Errorf("%w: file %v ends before %d (truncated)", ErrGone, id, off+int64(len(p))))
		case err != nil:
			failed = cmp.Or(failed, err)
		case n == len(p) && want(p):
			return true
		default:
			gone = cmp.Or(gone, fmt.Errorf("%w: file %v changed at [%d,%d) (checksum)", ErrGone, id, off, off+int64(len(p))))
		}
		return false
	}
	if try(id) {
		return len(p), nil
	}
	cs := t.copiesOf[id]
	for i := len(cs) - 1; i >= 0; i-- {
		if try(cs[i]) {
			return len(p), nil
		}
	}
	if failed != nil {
		return 0, failed
	}
	return 0, gone
}

// handle returns the handle the tailer holds of file id, or nil.
func (t *Tailer) handle(id FileID) afero.File {
	if t.f != nil && t.id == id {
		return t.f
	}
	for i := range t.copies {
		if t.copies[i].h.id == id {
			return t.copies[i].h.f
		}
	}
	for i := len(t.kept) - 1; i >= 0; i-- {
		if t.kept[i].id == id {
			return t.kept[i].f
		}
	}
	return nil
}

// readFull reads len(p) bytes of f at off: short reads without an error are
// read on.
func readFull(f afero.File, p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		k, err := f.ReadAt(p[n:], off+int64(n))
		n += k
		switch {
		case n == len(p):
		case err != nil:
			return n, err
		case k == 0:
			return n, io.ErrNoProgress
		}
	}
	return n, nil
}

// copyOf records that copy is a copytruncate copy of a life of file id.
func (t *Tailer) copyOf(id, copy FileID) {
	if t.copiesOf == nil {
		t.copiesOf = map[FileID][]FileID{}
	}
	if !slices.Contains(t.copiesOf[id], copy) {
		t.copiesOf[id] = append(t.copiesOf[id], copy)
	}
}

// Release implements Rereader: every target is past stream offset off, so
// the kept files whose bytes all lie before it are closed.
func (t *Tailer) Release(off int64) {
	k := 0
	for k < len(t.kept) && t.kept[k].end <= off {
		t.kept[k].f.Close()
		k++
	}
	if k > 0 {
		t.kept = append(t.kept[:0], t.kept[k:]...)
	}
	for id, cs := range t.copiesOf {
		cs = slices.DeleteFunc(cs, func(c FileID) bool { return t.handle(c) == nil })
		if len(cs) == 0 {
			delete(t.copiesOf, id)
		} else {
			t.copiesOf[id] = cs
		}
	}
}

// Held returns how many finished files the tailer holds open for Reread,
// and how many it closed early because MaxQueuedFiles were held.
func (t *Tailer) Held() (held, dropped int) { return len(t.kept), t.keptDropped }

// HeldBytes returns the sizes of the finished files the tailer holds open
// for Reread (at an fstat now): disk that a removed file keeps until its
// handle is closed.
func (t *Tailer) HeldBytes() int64 {
	var n int64
	for _, k := range t.kept {
		if fi, err := k.f.Stat(); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// openNext makes the oldest queued generation the file being read, or else
// opens the path.
func (t *Tailer) openNext(now time.Time) bool {
	if len(t.queue) == 0 {
		return t.open(now)
	}
	q := t.queue[0]
	t.queue = t.queue[1:]
	t.adopt(now, q.f, q.id, true)
	t.curKey = q.key
	for i, c := range q.copies {
		// Each copy is a snapshot of q. One that the next snapshot (the
		// next copy, or q now) still starts with and is no shorter than
		// holds nothing more; otherwise q was truncated after it, and its
		// bytes come first.
		var next []byte
		var nextSize int64
		if i+1 < len(q.copies) {
			next, nextSize = q.copies[i+1].head, q.copies[i+1].size
		} else if fi, err := q.f.Stat(); err == nil {
			next = make([]byte, len(c.head))
			k, _ := io.ReadFull(io.NewSectionReader(q.f, 0, int64(len(next))), next)
			next, nextSize = next[:k], fi.Size()
		}
		if nextSize >= c.size && len(next) >= len(c.head) && bytes.Equal(next[:len(c.head)], c.head) {
			c.h.f.Close()
			continue
		}
		t.copies = append(t.copies, copyRead{h: c.h, end: c.size})
		t.emitFile(now, TailCopied, c.h.id, 0)
	}
	// Is it still at the path, with nothing newer? Look now.
	t.changed = true
	return true
}

// adopt makes f the file being read, from its start.
func (t *Tailer) adopt(now time.Time, f afero.File, id FileID, hasID bool) {
	t.f = f
	t.id, t.hasID = id, hasID
	// Its sighting is curKey from now on. Forgotten here, it cannot
	// outlive the file: a real file system gives a deleted file's inode
	// to the next file created, and that file, first seen later, must
	// not be ordered by this one's sighting.
	delete(t.firstSeen, id)
	t.gen++
	t.foff = 0
	t.head = t.head[:0]
	t.rotating = false
	t.skipNUL = false
	t.lastRead = t.lastRead[:0]
	t.holeEnd = 0
	t.sawEmpty, t.firstHeld = false, 0
	t.oldHeads = t.oldHeads[:0]
	for _, p := range t.prefixes {
		p.cr.h.f.Close() // copies of the file left
	}
	t.prefixes = nil
	t.emit(now, TailOpened, nil)
	if t.stopped && !t.markDone {
		t.mark(now)
	}
}

// open opens the path and takes the identity from the handle (fstat), so a
// rename between open and stat cannot pin the wrong file (H19).
func (t *Tailer) open(now time.Time) bool {
	t.lastCheck = now
	t.changed = false
	if t.gen == 0 {
		// Until the first file is opened, what is on disk under the
		// rotated names is history, not generations to read.
		t.initSeen(now)
	}
	f, err := t.fs.Open(t.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.emit(now, TailError, fsErr("open", t.path, err))
		} else {
			t.emit(now, TailChecked, nil)
			if t.gen == 0 && t.startSiblings(now) {
				return t.openNext(now)
			}
		}
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		t.emit(now, TailError, fsErr("stat", t.path, err))
		return false
	}
	id, ok := Identity(fi)
	if ok && t.gen == 0 && t.startGenerations(now, f, id, fi.Size()) {
		return t.openNext(now)
	}
	var from int64
	if sf, old := t.seen[id]; ok && old && !sf.copy {
		reused, err := reusedBy(f, sf.head)
		if err != nil {
			// Whether it is the file read before is not known: look
			// again later rather than read on from the wrong offset.
			f.Close()
			t.emit(now, TailError, fsErr("read", t.path, err))
			return false
		}
		if reused {
			t.forget(id)
		}
	}
	if sf, old := t.seen[id]; ok && old {
		// A file remembered as read is at the path again: read on from
		// where it was left, unless it is smaller now (an inode reused
		// by a new file, or a copy): then from its start.
		if !sf.copy && fi.Size() >= sf.size {
			from = sf.size
		}
		delete(t.seen, id)
	}
	t.adopt(now, f, id, ok)
	t.foff = from
	t.curKey = seenKey{t.scanN, pathIdx}
	return true
}

// stopMark says that the first size bytes of file id were written before the
// stop.
type stopMark struct {
	id   FileID
	size int64
}

// mark records how much of the open file, and of the file at the path if
// that is another one, was written before the stop (as far as the tailer can
// tell: their sizes now), so that DrainWindow does not cut a backlog that
// existed at stop. It reports false, and keeps the marks, when a stat
// failed.
func (t *Tailer) mark(now time.Time) bool {
	var marks []stopMark
	if t.f != nil {
		fi, err := t.f.Stat()
		if err != nil {
			t.emit(now, TailError, fsErr("fstat", t.path, err))
			return false // try again at the next Next
		}
		marks = append(marks, stopMark{t.id, fi.Size()})
	}
	fi, err := t.fs.Stat(t.path)
	switch {
	case err == nil:
		if id, ok := Identity(fi); ok && (t.f == nil || id != t.id) {
			marks = append(marks, stopMark{id, fi.Size()})
		}
	case !errors.Is(err, fs.ErrNotExist):
		t.emit(now, TailError, fsErr("stat", t.path, err))
		return false
	}
	if t.f != nil && !t.hasID {
		// Without identities only the open file can be tracked.
		marks = marks[:min(len(marks), 1)]
	}
	for _, q := range t.queue {
		fi, err := q.f.Stat()
		if err != nil {
			t.emit(now, TailError, fsErr("fstat", q.name, err))
			return false
		}
		if fi.Size() > 0 {
			marks = append(marks, stopMark{q.id, fi.Size()})
		}
	}
	for _, c := range t.copies {
		marks = append(marks, stopMark{c.h.id, c.end})
	}
	t.marks, t.markDone = marks, true
	return true
}

// marked reports whether a byte written before the stop is still to be read
// and can be reached: in the open file below its mark, or in a marked file
// still at the path.
func (t *Tailer) marked() bool {
	if len(t.copies) > 0 {
		// Copies hold bytes the file had before a truncation, which the
		// marks may not count (the truncation came after them).
		return true
	}
	var atPath FileID
	pathOK := false
	for _, m := range t.marks {
		if t.f != nil && t.hasID && m.id == t.id || t.f != nil && !t.hasID {
			if t.foff < m.size {
				return true
			}
			continue
		}
		for _, c := range t.copies {
			if m.id == c.h.id {
				return true // held, not read to its end yet
			}
		}
		if t.inQueue(m.id) {
			return true // held, not read yet
		}
		if !pathOK {
			fi, err := t.fs.Stat(t.path)
			if err != nil {
				continue
			}
			atPath, _ = Identity(fi)
			pathOK = true
		}
		if atPath == m.id {
			return true
		}
	}
	return false
}

// checkHandle detects truncation of the open file: its size below the read
// offset, or a head that differs from the one read before (H3).
func (t *Tailer) checkHandle(now time.Time) bool {
	fi, err := t.f.Stat()
	if err != nil {
		t.emit(now, TailError, fsErr("fstat", t.path, err))
		return false
	}
	t.size = fi.Size()
	if t.foff == 0 && fi.Size() == 0 {
		t.sawEmpty = true
	}
	if fi.Size() < t.foff || t.skipNUL && fi.Size() < t.foff+t.holeScan {
		// Below what was read, the NUL bytes a hole scan read included:
		// a scan of a long hole spans looks, and a copytruncate between
		// them leaves the read offset where it was (files-mix seed 1629).
		t.emit(now, TailTruncated, nil)
		t.truncated(now, fi.Size())
		return true
	}
	if len(t.head) > 0 {
		var cur [headSize]byte
		// ReadFull: a short read without error must not look like a
		// changed head.
		n, err := io.ReadFull(io.NewSectionReader(t.f, 0, int64(len(t.head))), cur[:len(t.head)])
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.emit(now, TailError, fsErr("read", t.path, err))
			return false
		}
		if !bytes.Equal(cur[:n], t.head) {
			t.emit(now, TailRegrown, nil)
			t.truncated(now, fi.Size())
			return true
		}
	}
	if t.foff > int64(len(t.head)) && len(t.lastRead) > 0 {
		// Past the head (which covers the bytes before a read offset
		// within it): one more read of a few bytes per look.
		var cur [lastReadSize]byte
		k := int64(len(t.lastRead))
		n, err := io.ReadFull(io.NewSectionReader(t.f, t.foff-k, k), cur[:k])
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.emit(now, TailError, fsErr("read", t.path, err))
			return false
		}
		if !bytes.Equal(cur[:n], t.lastRead) {
			t.emit(now, TailRegrown, nil)
			t.truncated(now, fi.Size())
		}
	}
	return true
}

// allNUL reports whether b holds only NUL bytes.
func allNUL(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// nulRun returns how many NUL bytes f holds from off on, below end, reading
// up to chunk bytes at a time; on a failed read, those seen before it.
func nulRun(f afero.File, off, end int64, chunk int) (int64, error) {
	buf := make([]byte, min(int64(chunk), max(end-off, 1)))
	var z int64
	for off+z < end {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), end-off-z)], off+z)
		k := 0
		for k < n && buf[k] == 0 {
			k++
		}
		z += int64(k)
		if k < n {
			return z, nil
		}
		if readFailed(err) {
			return z, err
		}
		if n == 0 {
			break
		}
	}
	return z, nil
}

// lastReadSize is how many bytes before the read offset a Tailer remembers
// (Tailer.lastRead).
const lastReadSize = 16

// truncated restarts the file being read at 0 after a truncation, first
// queueing the unread range from a copy when there is one.
func (t *Tailer) truncated(now time.Time, size int64) {
	if !t.opt.Rotated.Off && t.hasID && len(t.copies) == 0 {
		switch {
		case len(t.head) > 0:
			t.oldHeads = append(t.oldHeads, append([]byte(nil), t.head...))
			if len(t.oldHeads) > 4 {
				t.oldHeads = t.oldHeads[1:]
			}
			t.pending = &pendingCopy{off: t.foff, head: append([]byte(nil), t.head...)}
			t.followCopy(now)
		case t.foff == 0 && t.skipNUL && t.holeScan > 0:
			// Truncated while scanning the hole its life started with:
			// the head is the NUL bytes scanned, and a copy's bytes after
			// its hole are the life's (files-mix seed 1629).
			t.pending = &pendingCopy{head: make([]byte, min(t.holeScan, headSize)), holeMin: t.holeMin}
			t.followCopy(now)
			t.endPrefixes(now)
		}
	}
	// The bytes a stop mark counted are gone (the truncation came after
	// the mark): what is there now was written after the stop.
	for i := range t.marks {
		if t.marks[i].id == t.id || !t.hasID {
			t.marks[i].size = min(t.marks[i].size, size)
		}
	}
	// The writer goes on at or past what the tailer saw of the file: the
	// read offset, and, in a scan of the hole the life started with, the
	// NULs scanned and the bound that hole had (files-mix seed 679: a
	// copytruncate in a scan set the bound to 0 and the next life's hole
	// was streamed as content).
	if t.skipNUL {
		t.holeMin = max(t.foff+t.holeScan, t.holeMin)
	} else {
		t.holeMin = t.foff
	}
	t.holeScan, t.nulAt, t.nulLead = 0, false, 0
	t.holeEnd = 0
	t.foff = 0
	t.head = t.head[:0]
	t.rotating = false
	t.skipNUL = true
	t.lastRead = t.lastRead[:0]
	// Look beside the rotated names before the new life's first read, as
	// for a file seen empty: a copy of a life never seen whose copy of the
	// read life is gone (two copytruncates keeping one copy within a poll)
	// is read first (copyBeforeStart).
	t.changed = true
}

// skipHole skips, after a truncation, a run of NUL bytes at the read offset
// that reaches the read offset before the truncation (holeMin): a hole
// left by a writer without O_APPEND, which goes on writing at its old
// offset (at or past holeMin) after the bytes the truncation kept (none
// when it truncated to 0; then the hole starts the file). Those bytes were
// never written, so they are not streamed (after a kept head only a run
// of headSize bytes or more: a shorter one may be content). A shorter run
// is content (read goes on looking, up to holeMin, for a run after it:
// holeCut). A run that
// reaches the end of the file is not decided yet: reading waits (false)
// until something follows it.
//
// The scan goes on where the last one stopped (holeScan): a hole can be many
// chunks long, and a scan that started over after each failed read might
// never end. Its last bytes are read again first, so a file truncated and
// rewritten since is scanned from its start.
func (t *Tailer) skipHole(now time.Time) bool {
	z := t.holeScan
	if z > 0 {
		k := min(z, 64)
		var buf [64]byte
		n, err := t.f.ReadAt(buf[:k], t.foff+z-k)
		if err != nil && !errors.Is(err, io.EOF) {
			t.emit(now, TailError, fsErr("read", t.path, err))
			return false
		}
		if int64(n) != k || !allNUL(buf[:n]) {
			z = 0
		}
	}
	k, err := nulRun(t.f, t.foff+z, t.size, t.opt.ChunkSize)
	z += k
	t.holeScan = z
	if err != nil {
		t.emit(now, TailError, fsErr("read", t.path, err))
		return false // not drained: read again later
	}
	if (z == 0 || t.foff == 0 || t.foff+z >= t.holeMin) && t.foff+z >= t.size {
		// Nothing yet (the writer has not written since the truncation),
		// or all NULs so far: wait for what follows. A file of NULs only
		// is a head a truncate-to kept of a hole, as likely as not: the
		// hole the writer leaves after it continues it (swarm seed 711
		// of the files mix streamed it, then scanned the hole from there,
		// where a copy taken meanwhile is not looked for).
		return false
	}
	t.holeScan, t.nulAt, t.nulLead = 0, false, 0
	if t.foff+z < t.holeMin || z == 0 || t.foff > 0 && z < headSize {
		// A short run after content may be content as well (one byte in
		// 256 is NUL): it is streamed, as a correct tailer may stream a
		// hole's NULs (swarm seed 907 of the files mix skipped a NUL
		// byte of content just below holeMin).
		// Content: read on, looking for a hole after it (read).
		t.nulLead = z
		return true
	}
	t.skipNUL = false
	t.addHead(t.foff, make([]byte, min(z, headSize)))
	if t.foff == 0 {
		t.holeEnd = z
	}
	t.foff += z
	t.lastRead = t.lastRead[:0] // what was read is before the hole
	t.emit(now, TailHole, nil)
	return true
}

// holeCut returns how many bytes of data, read at the read offset after a
// truncation (skipNUL), come before a NUL run that may be the hole a
// writer without O_APPEND left after the head the truncation kept: the run
// that reaches holeMin, or, if data ends below holeMin, the run data ends
// with. The first nulLead bytes are content (skipHole decided them).
func (t *Tailer) holeCut(data []byte) int {
	n := len(data)
	lead := int(min(t.nulLead, int64(n)))
	i := n - 1 // the run data ends with
	if h := t.holeMin - t.foff - 1; h < int64(n) {
		i = int(h) // the byte below holeMin
	}
	if i < lead || data[i] != 0 {
		return n
	}
	for i > lead && data[i-1] == 0 {
		i--
	}
	return i
}

// followCopy looks for copies of the file being read among the rotated
// siblings not read as generations: those whose first bytes are the head
// the tailer read. Each is remembered as a copy (never a generation); the
// newest one longer than the read offset supplies the unread range
// (copytruncate).
func (t *Tailer) followCopy(now time.Time) {
	pc := t.pending
	sibs, err := listRotated(t.fs, t.path, t.opt.Rotated)
	if err != nil {
		t.retryCopy(now, err)
		return
	}
	failed := false
	match := -1
	for i := len(sibs) - 1; i >= 0; i-- {
		s := sibs[i]
		if s.id == t.id || s.size == 0 || t.inQueue(s.id) {
			continue
		}
		if before, ok := t.readBefore(now, s, false); !ok {
			// Whether its number now holds another file is not known
			// (seed 369 of the wan mix, inode reuse and read errors: a
			// failed read took the copy on the number of a generation
			// read before for that generation, and its bytes were lost).
			failed = true
			continue
		} else if before && !t.seenEmpty(s.id) {
			continue
		}
		// A generation remembered empty has no head to tell its number
		// reused: the head of the life that ended decides (default-mix
		// seed 22125, inode reuse: the copy of a copytruncate took the
		// number of the first, empty generation and was never read).
		f, err := t.fs.Open(s.name)
		if err != nil {
			failed = failed || !errors.Is(err, fs.ErrNotExist)
			continue
		}
		fi, err := f.Stat()
		var id FileID
		ok := err == nil
		failed = failed || err != nil
		if ok {
			id, ok = Identity(fi)
		}
		if ok && id == s.id {
			n := min(int64(len(pc.head)), fi.Size())
			head := make([]byte, n)
			k, err := io.ReadFull(io.NewSectionReader(f, 0, n), head)
			if int64(k) != n && err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				failed = true
			}
			ok = int64(k) == n && bytes.Equal(head, pc.head[:n])
		} else {
			ok = false
		}
		if !ok {
			f.Close()
			continue
		}
		if fi.Size() <= t.size {
			// A copy the file still holds, last bytes included, is one
			// of its present life, taken in its copy-to-truncate window
			// (the truncation kept the head, or the head is a hole's
			// NULs in every life): the file supplies its bytes, and it
			// is looked for again when that truncate comes (swarm seeds
			// 4524 and 7117 of the files mix read its bytes from it and
			// again from the file).
			same, ok := sameTail(f, t.f, fi.Size())
			if !ok || same {
				failed = failed || !ok
				f.Close()
				continue
			}
		}
		t.seen[id] = seenFile{size: fi.Size(), copy: true, used: true, mod: fi.ModTime()}
		newest := match < 0
		if newest {
			match = i
			// The copy of the life that just ended holds the bytes read
			// from the file before the truncation: a target behind reads
			// them there again (Reread).
			t.copyOf(t.id, id)
		}
		if len(t.copies) > 0 || fi.Size() <= pc.off || fi.Size() < int64(len(pc.head)) {
			if newest && len(t.copies) == 0 {
				t.keep(f, id)
			} else {
				f.Close()
			}
			continue
		}
		t.copies = append(t.copies, copyRead{h: held{f: f, id: id, name: s.name}, off: pc.off, end: fi.Size(), holeMin: pc.holeMin})
		t.emitFile(now, TailCopied, id, pc.off)
	}
	if failed && len(t.copies) == 0 {
		t.retryCopy(now, errCopyUnread)
		return
	}
	t.pending = nil
	// The copies of lives the tailer never saw are newer than the copy of
	// the one it was reading, or, when that copy is gone (a second
	// copytruncate keeping one copy removed it), siblings not seen before
	// this look (rapid: copytruncates at 5 and 5.09 s, keep=1, and a
	// delete at 5.1 s: the middle life's 374 bytes, only in the second
	// copy, were lost; a copy seen at an earlier look is of an older file
	// or life: swarm seed 6402 of the files mix read one again).
	t.intermediateCopies(now, sibs[match+1:], match < 0)
}

// intermediateCopies queues, after the copy of the bytes the tailer was
// reading, the newer copies of lives of the file it never saw: two
// copytruncates before it looked leave the file's middle life only in the
// second copy. A copy the file still starts with (and is no shorter than)
// is of its present life, read from the file itself. A sibling modified
// after the file was is no copy of a past life (that copy was complete
// before the truncation that ended the life, which set the file's mtime):
// it is a generation written since (a delete and a rotation after the
// truncation), found by the next look at the path. With unseenOnly (no
// copy of the bytes the tailer was reading is left), only siblings not
// seen at an earlier look are such copies.
func (t *Tailer) intermediateCopies(now time.Time, newer []sibling, unseenOnly bool) {
	fi, err := t.f.Stat()
	if err != nil {
		return
	}
	for _, s := range newer {
		if s.id == t.id || s.size == 0 || t.inQueue(s.id) || s.mod.After(fi.ModTime()) {
			continue
		}
		if before, ok := t.readBefore(now, s, unseenOnly); before || !ok {
			continue // read before, or not known yet (look again later)
		}
		g, a, b, size, ok := t.sideBySide(s, t.f)
		if !ok {
			continue // a read failed: it tells nothing (look again later)
		}
		if size >= s.size && len(b) == len(a) && bytes.Equal(a, b) {
			g.Close()
			continue
		}
		t.seen[s.id] = seenFile{size: s.size, copy: true, used: true, mod: s.mod}
		t.copies = append(t.copies, copyRead{h: held{f: g, id: s.id, name: s.name}, end: s.size})
		t.emitFile(now, TailCopied, s.id, 0)
	}
}

// errCopyUnread: a sibling that may be the copy could not be read.
var errCopyUnread = errors.New("a rotated file could not be read")

// retryCopy keeps the search for the copy pending (the file being read is
// not read meanwhile, so that the copy's bytes still come first), for at
// most RetryLimit more tries.
func (t *Tailer) retryCopy(now time.Time, err error) {
	t.emit(now, TailError, fsErr("copy of", t.path, err))
	t.pending.tries++
	if t.pending.tries > t.opt.RetryLimit {
		t.pending = nil // give up: what was unread is lost
	}
}

// pendingCopy is a copy search after a truncation that a file error
// interrupted: the read offset and head the file had.
type pendingCopy struct {
	off   int64
	head  []byte
	tries int
	// holeMin > 0: the life started with a hole the tailer was scanning
	// (copyRead.holeMin).
	holeMin int64
}

// readCopy reads the next chunk of the copy's unread range.
func (t *Tailer) readCopy(now time.Time) (TailAction, bool) {
	cr := &t.copies[0]
	c := &cr.h
	if cr.holeMin > 0 {
		z, err := nulRun(c.f, cr.off+cr.scan, cr.end, t.opt.ChunkSize)
		cr.scan += z
		if err != nil {
			t.emit(now, TailError, fsErr("read", c.name, err))
			return TailAction{}, false // scanned on at the next call
		}
		if cr.scan >= cr.holeMin {
			cr.off += cr.scan
			t.emitFile(now, TailHole, c.id, cr.off)
		}
		cr.holeMin, cr.scan = 0, 0
	}
	if cr.off < cr.end {
		data := make([]byte, min(int64(t.opt.ChunkSize), cr.end-cr.off))
		n, err := c.f.ReadAt(data, cr.off)
		if err != nil && !errors.Is(err, io.EOF) {
			t.emit(now, TailError, fsErr("read", c.name, err))
			if n == 0 {
				return TailAction{}, false
			}
		} else {
			t.errRun = 0
		}
		if n > 0 {
			a := TailAction{Kind: TailData, Data: data[:n:n], Offset: t.soff, File: c.id, FileOffset: cr.off}
			cr.off += int64(n)
			t.soff += int64(n)
			t.quietAt = time.Time{}
			return a, true
		}
	}
	t.keep(c.f, c.id)
	t.copies = t.copies[1:]
	return TailAction{}, false
}

// read reads up to limit bytes at the read offset.
func (t *Tailer) read(now time.Time, limit int) (TailAction, bool) {
	scanned := false
	if t.skipNUL && (t.foff == 0 || t.nulAt) {
		if !t.skipHole(now) {
			return TailAction{}, false
		}
		scanned = true
	}
	// Read into a buffer of the size the file shows (fstat in checkHandle),
	// so the chunk needs no second copy; a file that grew since is read at
	// the next call.
	want := int64(limit)
	if avail := t.size - t.foff; avail < want {
		want = max(avail, 1) // at least one byte: a read past the end says EOF
	}
	var data []byte
	// A recycled buffer is a chunk's capacity: for a read of less than
	// half a chunk, a buffer of its size, so that what a sender holds is
	// at most twice its bytes (TailOptions.ReadAhead counts bytes).
	reuse := t.recycling && t.size > t.foff && 2*want >= int64(t.opt.ChunkSize) // and not a probe past the end
	switch k := len(t.spare); {
	case reuse && k > 0:
		data, t.spare = t.spare[k-1][:want], t.spare[:k-1]
	case reuse:
		data = make([]byte, want, t.opt.ChunkSize)
	default:
		data = make([]byte, want)
	}
	n, err := t.f.ReadAt(data, t.foff)
	if err != nil && !errors.Is(err, io.EOF) {
		t.emit(now, TailError, fsErr("read", t.path, err))
		if n == 0 {
			if reuse {
				t.Recycle(data)
			}
			return TailAction{}, false
		}
	} else {
		t.errRun = 0
	}
	if t.skipNUL && n > 0 {
		// Below holeMin a hole may follow the head a truncation kept
		// (truncate-to): read up to the NUL run that may be it, and let
		// skipHole tell (swarm seed 4506 of the files mix streamed the
		// hole after a kept head as NULs).
		if k := t.holeCut(data[:n]); k < n {
			t.nulAt = true
			if k == 0 {
				if reuse {
					t.Recycle(data)
				}
				if scanned {
					// The file changed since skipHole looked: look
					// again at the next call.
					return TailAction{}, false
				}
				return t.read(now, limit)
			}
			n = k
		}
		t.nulLead = 0
	}
	if n == 0 {
		if reuse {
			t.Recycle(data)
		}
		return TailAction{}, false
	}
	if !reuse {
		data = data[:n:n]
	} else {
		data = data[:n]
	}
	t.addHead(t.foff, data)
	t.sawEmpty, t.firstHeld = false, 0
	t.keepLastRead(data)
	a := TailAction{Kind: TailData, Data: data, Offset: t.soff, File: t.id, FileOffset: t.foff}
	t.foff += int64(n)
	t.soff += int64(n)
	t.quietAt = time.Time{}
	if t.skipNUL && t.foff >= t.holeMin {
		t.skipNUL = false // past where a hole could start
	}
	return a, true
}

// keepLastRead remembers the last lastReadSize bytes read, data last,
// without allocating once lastRead has grown to that size.
func (t *Tailer) keepLastRead(data []byte) {
	if n := len(data); n >= lastReadSize {
		t.lastRead = append(t.lastRead[:0], data[n-lastReadSize:]...)
		return
	}
	keep := min(len(t.lastRead), lastReadSize-len(data))
	copy(t.lastRead, t.lastRead[len(t.lastRead)-keep:])
	t.lastRead = append(t.lastRead[:keep], data...)
}

// addHead remembers the bytes of data (read at off) that fall in the head.
func (t *Tailer) addHead(off int64, data []byte) {
	if off < headSize && off == int64(len(t.head)) {
		k := min(int64(len(data)), headSize-off)
		t.head = append(t.head, data[:k]...)
	}
}

// checkPath stats the path and lists the rotated siblings: files not seen
// before are newer generations, opened and queued; the file being read is
// rotating once the path names another file or a newer one is queued.
func (t *Tailer) checkPath(now time.Time) {
	t.lastCheck = now
	t.changed = false
	t.copyUndecided = false
	if !t.hasID {
		return
	}
	fi, err := t.fs.Stat(t.path)
	var pid FileID
	pathOK := false
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.emit(now, TailError, fsErr("stat", t.path, err))
			return
		}
		// Absent mid-rotation: keep reading the old handle (H4).
	} else {
		pid, pathOK = Identity(fi)
	}
	t.emit(now, TailChecked, nil)
	t.scanN++
	atPath := pathOK && pid == t.id
	pathDecided := true
	if pathOK && !atPath {
		pathDecided = t.checkReuse(now, pid, t.path, fi.Size())
	}
	var pathH *held // a newer file at the path, not seen before
	if pathOK && !atPath && pathDecided && !t.known(pid, fi.Size(), fi.ModTime()) {
		pathH = t.openHeld(now, t.path)
	}
	if pathH != nil {
		if _, ok := t.firstSeen[pathH.id]; !ok {
			t.firstSeen[pathH.id] = seenKey{t.scanN, pathIdx}
		}
	}
	t.topUpHeads()
	fresh, undecided := t.scan(now, atPath, pid, pathOK, pathH)
	undecided = undecided || !pathDecided
	if undecided {
		// A sibling could not be told (a failed read): it may be a
		// generation between the file being read and the newer ones
		// found now, which this look must not order without it. Decide
		// nothing: queue none of them, and switch to none (Next) until
		// a look succeeds, for at most RetryLimit more looks (rapid:
		// a rotation at 1 ms while the tailer held the one at 0 s; the
		// look that found the new file at the path failed to read the
		// file rotated in between, queued the new one, switched to it,
		// and the next look took the other for its copy).
		for _, h := range fresh {
			closeHeld(h)
		}
		fresh = nil
		if pathH != nil {
			closeHeld(pathH)
			pathH = nil
		}
		t.undecided++
		t.emit(now, TailError, fsErr("list", t.path, errCopyUnread))
	} else {
		t.undecided = 0
	}
	for i := len(fresh) - 1; i >= 0; i-- {
		t.enqueue(now, fresh[i])
	}
	if pathH != nil {
		t.queuedCopiesOf(pathH)
		t.enqueue(now, pathH)
	}
	if t.f != nil && !t.rotating && (pathOK && !atPath || len(t.queue) > 0) {
		cur, err := t.f.Stat()
		if err != nil {
			t.emit(now, TailError, fsErr("fstat", t.path, err))
			return
		}
		t.rotating, t.rotateAt, t.rotateSeen = true, cur.Size(), now
		t.rotateCapped, t.rotateFinal = false, false
	}
}

// initSeen remembers the rotated siblings there at the start: history, not
// generations to read.
func (t *Tailer) initSeen(now time.Time) {
	t.seen = map[FileID]seenFile{}
	t.deferred = map[FileID]bool{}
	t.firstSeen = map[FileID]seenKey{}
	if t.opt.Rotated.Off {
		return
	}
	sibs, err := listRotated(t.fs, t.path, t.opt.Rotated)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.emit(now, TailError, fsErr("list", t.path, err))
	}
	for _, s := range sibs {
		if s.mod.Before(t.startAt) {
			t.seen[s.id] = seenFile{size: s.size}
		}
	}
}

// startGenerations is the first open's look at the rotated names: a sibling
// written since the tailer started (a rotation at the start) is a
// generation older than the file at the path, unless it is a copy of it (an
// empty one is a generation: its writer may still append to it); if
// there are any, they are queued, oldest first, before that file, and the
// oldest is read first. It reports whether it did so.
func (t *Tailer) startGenerations(now time.Time, f afero.File, id FileID, size int64) bool {
	if t.opt.Rotated.Off {
		return false
	}
	sibs, err := listRotated(t.fs, t.path, t.opt.Rotated)
	if err != nil {
		return false
	}
	var p *held
	var gens []held
	for i, s := range sibs {
		if _, old := t.seen[s.id]; old || s.id == id {
			continue
		}
		if p == nil {
			head := make([]byte, min(int64(headSize), size))
			k, err := io.ReadFull(io.NewSectionReader(f, 0, int64(len(head))), head)
			if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.emit(now, TailError, fsErr("read", t.path, err))
			}
			p = &held{f: f, id: id, name: t.path, head: head[:k], key: seenKey{t.scanN, pathIdx}}
		}
		if s.size == 0 {
			// Renamed before its writer wrote to it, and the writer may
			// not have reopened yet: what it gets before a newer file
			// has data is read (an empty copy yields nothing).
			if h := t.openHeld(now, s.name); h != nil {
				h.key = seenKey{t.scanN, i}
				gens = append(gens, *h)
			}
			continue
		}
		if isCopy, _ := t.copyOfHeld(p, s); isCopy {
			t.seen[s.id] = seenFile{size: s.size, copy: true, mod: s.mod}
			continue
		}
		if h := t.openHeld(now, s.name); h != nil {
			h.key = seenKey{t.scanN, i}
			gens = append(gens, *h)
		}
	}
	if len(gens) == 0 {
		if p != nil {
			for _, c := range p.copies {
				c.h.f.Close()
			}
		}
		return false
	}
	for _, g := range gens {
		t.queue = append(t.queue, g)
		t.emitFile(now, TailQueued, g.id, 0)
	}
	t.queue = append(t.queue, *p)
	t.emitFile(now, TailQueued, id, 0)
	return true
}

// startSiblings is the look at the rotated names while the path is missing
// before the first open (a rotation at the start, the writer not reopened
// yet): every sibling written since the tailer started (not history, see
// initSeen) is a generation, queued oldest first (as QueueFull says past
// MaxQueuedFiles). It reports whether any is queued.
func (t *Tailer) startSiblings(now time.Time) bool {
	if t.opt.Rotated.Off {
		return false
	}
	sibs, err := listRotated(t.fs, t.path, t.opt.Rotated)
	if err != nil {
		return false
	}
	for i, s := range sibs {
		if _, old := t.seen[s.id]; old || t.inQueue(s.id) {
			continue
		}
		if h := t.openHeld(now, s.name); h != nil {
			t.firstSeen[h.id] = seenKey{t.scanN, i}
			t.enqueue(now, h) // bounded by MaxQueuedFiles
		}
	}
	return len(t.queue) > 0
}

// scan lists the rotated siblings and returns, opened and newest first, the
// newer generations among those not seen before, and whether one of them
// could not be told (a failed read: undecided). While the file being read
// is still at the path (atPath) a new sibling is a copy of it
// (copytruncate), not a generation; so is one older than it in rotation
// order, or one that starts with its bytes, or with those of a newer file
// (kept with that file, see copyOfHeld).
func (t *Tailer) scan(now time.Time, atPath bool, pid FileID, pathOK bool, pathH *held) (fresh []*held, undecided bool) {
	if t.opt.Rotated.Off {
		return nil, false
	}
	sibs, err := listRotated(t.fs, t.path, t.opt.Rotated)
	if err != nil {
		t.emit(now, TailError, fsErr("list", t.path, err))
		return nil, false
	}
	present := make(map[FileID]bool, len(sibs)+1)
	if pathOK {
		present[pid] = true
	}
	older := -1
	var unknown map[FileID]bool // siblings checkReuse could not tell
	for i, s := range sibs {
		present[s.id] = true
		if t.f != nil && s.id == t.id {
			older = i
		}
		if !t.checkReuse(now, s.id, s.name, s.size) {
			if unknown == nil {
				unknown = map[FileID]bool{}
			}
			unknown[s.id], undecided = true, true
			continue
		}
		if t.known(s.id, s.size, s.mod) { // first: it forgets a reused inode's past
			continue
		}
		if _, ok := t.firstSeen[s.id]; !ok {
			t.firstSeen[s.id] = seenKey{t.scanN, i}
		}
	}
	// Newer files a sibling may be a copy of, newest first.
	var newer []*held
	if pathH != nil {
		newer = append(newer, pathH)
	}
	for i := len(t.queue) - 1; i >= 0; i-- {
		newer = append(newer, &t.queue[i])
	}
	qMod := make([]time.Time, len(t.queue))
	for i, q := range t.queue {
		if fi, err := q.f.Stat(); err == nil {
			qMod[i] = fi.ModTime()
		}
	}
	// The queued file at the path, if it was there at an earlier look.
	var atQ *held
	for i := range t.queue {
		if q := &t.queue[i]; pathOK && q.id == pid && q.key.idx == pathIdx && q.key.scan < t.scanN {
			atQ = q
		}
	}
	// A newer generation got its bytes after the file being read left the
	// path, so after that file's last write (but for late writes to it).
	var curMod time.Time
	if t.f != nil {
		if fi, err := t.f.Stat(); err == nil {
			curMod = fi.ModTime()
		}
	}
sibling:
	for i := len(sibs) - 1; i >= 0; i-- {
		s := sibs[i]
		if unknown[s.id] || t.known(s.id, s.size, s.mod) {
			continue
		}
		isCopy, ok := false, true
		// First seen before the file being read, or older in rotation
		// order: not newer.
		before := t.f != nil && t.firstSeen[s.id].less(t.curKey)
		if !atPath && i > older && !before {
			isCopy, ok = s.mod.Before(curMod), true
			if !isCopy {
				isCopy, ok = t.copyOfCur(s)
			}
		}
		if t.foff == 0 && s.size > 0 && !before && (atPath && i > older || !atPath && older >= 0 && i < older) {
			// A copy of the file being read, of which nothing was read:
			// if the file no longer starts with it, it was truncated
			// after the copy, and the copy's bytes come first. Also
			// when the file was renamed since (a rotation right after
			// the copytruncate shifted the copy past it).
			if done, ok := t.copyBeforeStart(now, s); !ok {
				t.copyUndecided = true
				// Cannot tell it yet: look again next time, and read
				// nothing of the file meanwhile (Next).
				t.emit(now, TailError, fsErr("copy of", t.path, errCopyUnread))
				continue
			} else if done {
				continue
			}
		}
		if atPath || i < older || before || isCopy {
			t.seen[s.id] = seenFile{size: s.size, copy: true, mod: s.mod}
			continue
		}
		if !ok || s.size == 0 {
			undecided = undecided || !ok
			continue // cannot tell it yet: look again next time
		}
		if atQ != nil {
			// The file at the path was there when it was queued and
			// still is: no generation came after it, so a new sibling is
			// its copy (copytruncate).
			if t.attachCopy(atQ, s) {
				t.seen[s.id] = seenFile{size: s.size, copy: true, mod: s.mod}
			}
			continue
		}
		for j := range t.queue {
			if s.mod.Before(qMod[j]) {
				// Last written before a queued file was: not newer than
				// it, so a copy of it (or of something older).
				if t.attachCopy(&t.queue[j], s) {
					t.seen[s.id] = seenFile{size: s.size, copy: true, mod: s.mod}
				}
				continue sibling
			}
		}
		for _, h := range append(fresh[:len(fresh):len(fresh)], newer...) {
			isCopy, ok := t.copyOfHeld(h, s)
			if isCopy {
				t.seen[s.id] = seenFile{size: s.size, copy: true, mod: s.mod}
			}
			if isCopy || !ok {
				undecided = undecided || !ok
				continue sibling
			}
		}
		if h := t.openHeld(now, s.name); h != nil {
			fresh = append(fresh, h)
		}
	}
	// Bounded memory: forget what is gone.
	for id := range t.seen {
		if !present[id] {
			delete(t.seen, id)
		}
	}
	for id := range t.firstSeen {
		if !present[id] {
			delete(t.firstSeen, id)
		}
	}
	for id := range t.deferred {
		if !present[id] {
			delete(t.deferred, id)
			t.skipped++
			t.emitFile(now, TailSkipped, id, 0)
		}
	}
	return fresh, undecided
}

// copyOfCur reports whether sibling s is a copy of the file being read (a
// copytruncate the tailer did not see while that file was at the path): it
// is no longer than that file and starts with the same bytes (up to
// headSize).
func (t *Tailer) copyOfCur(s sibling) (isCopy, ok bool) {
	if t.f == nil || s.size == 0 {
		return false, true
	}
	g, err := t.fs.Open(s.name)
	if err != nil {
		return false, false
	}
	defer g.Close()
	b := make([]byte, min(int64(headSize), s.size))
	if k, _ := io.ReadFull(io.NewSectionReader(g, 0, int64(len(b))), b); k != len(b) {
		return false, false
	}
	// A copy made before a truncation the tailer saw: it starts with a
	// head the file had then.
	for _, h := range t.oldHeads {
		if n := min(len(h), len(b)); bytes.Equal(h[:n], b[:n]) {
			return true, true
		}
	}
	fi, err := t.f.Stat()
	if err != nil {
		return false, false
	}
	if s.size > fi.Size() {
		return false, true
	}
	a := make([]byte, len(b))
	if k, _ := io.ReadFull(io.NewSectionReader(t.f, 0, int64(len(a))), a); k != len(a) {
		return false, false
	}
	return bytes.Equal(a, b), true
}

// copyBeforeStart handles sibling s, a copy of the file being read of which
// nothing was read yet: when the file no longer starts with the copy's
// bytes (or is shorter), the copy is read first (done). ok is false when it
// cannot be told now.
func (t *Tailer) copyBeforeStart(now time.Time, s sibling) (done, ok bool) {
	g, a, b, size, ok := t.sideBySide(s, t.f)
	if !ok {
		return false, false
	}
	same := size >= s.size && len(b) == len(a) && bytes.Equal(a, b)
	if same {
		if same, ok = sameTail(g, t.f, s.size); !ok {
			g.Close() // a read failed: tell it at the next look
			return false, false
		}
	}
	if same {
		// A prefix of the file: read there, unless the file is truncated
		// before its first read (checkPrefixes).
		t.prefixes = append(t.prefixes, prefixCopy{copyRead{h: held{f: g, id: s.id, name: s.name}, end: s.size}, a})
		return false, true
	}
	t.seen[s.id] = seenFile{size: s.size, copy: true, used: true, mod: s.mod}
	cr := copyRead{h: held{f: g, id: s.id, name: s.name}, end: s.size}
	if t.skipNUL && allNUL(a) {
		cr.holeMin = t.holeMin // a copy of a life that started with a hole
	}
	t.copies = append(t.copies, cr)
	t.emitFile(now, TailCopied, s.id, 0)
	return true, true
}

// endPrefixes decides, after a truncation in the scan of the hole the
// file's life started with, about the copies the life started with
// (prefixes): they are copies of the life that ended. followCopy looked for
// the newest copy at the rotated names; when it found none and did not
// leave the search pending (a copy removed since), the longest prefix is
// read, from the hole on. The others would give the same bytes again
// (files-mix seed 679 read a prefix after followCopy had read its copy).
func (t *Tailer) endPrefixes(now time.Time) {
	ps := t.prefixes
	t.prefixes = nil
	best := -1
	if len(t.copies) == 0 && t.pending == nil {
		for i, p := range ps {
			if best < 0 || p.cr.end > ps[best].cr.end {
				best = i
			}
		}
	}
	for i, p := range ps {
		if i != best {
			p.cr.h.f.Close()
			continue
		}
		t.seen[p.cr.h.id] = seenFile{size: p.cr.end, copy: true, used: true}
		p.cr.holeMin = t.holeMin
		t.copies = append(t.copies, p.cr)
		t.emitFile(now, TailCopied, p.cr.h.id, 0)
	}
}

// prefixCopy is a copy the file being read started with (a copytruncate in
// its copy-to-truncate window), with the copy's first bytes.
type prefixCopy struct {
	cr   copyRead
	head []byte
}

// checkPrefixes decides, before the first read of the file's present life,
// about the copies it started with when they were seen: one it no longer
// starts with (or is shorter than) was truncated away since, and is read
// first; the others' bytes are read from the file. Once something of the
// file was read its head tells a truncation (checkHandle) and followCopy
// finds the copy. A life that starts with a hole is decided once the hole
// is (Next): while skipHole scans it, nothing of the file is read, and a
// truncation then shows neither in the size nor in the head (NUL bytes in
// every life); only the copy holds the bytes (swarm seeds 452, 1296, 2792
// of the files mix lost them: the copy was taken in its copy-to-truncate
// window, the truncate came later, and the scan went on into the next
// life's longer hole).
func (t *Tailer) checkPrefixes(now time.Time) {
	ps := t.prefixes
	t.prefixes = nil
	for _, p := range ps {
		if t.foff != t.holeEnd || t.holeEnd == 0 && len(t.head) > 0 {
			p.cr.h.f.Close()
			continue
		}
		b := make([]byte, len(p.head))
		k, err := io.ReadFull(io.NewSectionReader(t.f, 0, int64(len(b))), b)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.emit(now, TailError, fsErr("read", t.path, err))
			t.prefixes = append(t.prefixes, p) // decide at the next call
			continue
		}
		same := t.size >= p.cr.end && k == len(b) && bytes.Equal(b, p.head)
		if same {
			var ok bool
			if same, ok = sameTail(p.cr.h.f, t.f, p.cr.end); !ok {
				t.emit(now, TailError, fsErr("read", p.cr.h.name, errCopyUnread))
				t.prefixes = append(t.prefixes, p) // decide at the next call
				continue
			}
		}
		if same {
			p.cr.h.f.Close()
			continue
		}
		t.seen[p.cr.h.id] = seenFile{size: p.cr.end, copy: true, used: true}
		if t.holeEnd > 0 && allNUL(p.head) {
			// The file's life started with a hole, and so did the
			// copy's: its hole is skipped as the file's was.
			p.cr.holeMin = t.holeMin
		}
		t.copies = append(t.copies, p.cr)
		t.emitFile(now, TailCopied, p.cr.h.id, 0)
	}
}

// sameTail reports whether files a and b hold the same last bytes (up to
// headSize) below size: with the same head, a copy whose file still holds
// it. A sparse file's head is a hole in every life, so the head alone
// cannot tell its copy from the file regrown past a new hole. ok is false
// when a read failed: a failed read tells nothing (swarm seed 144 of the
// files mix took a copy in its copy-to-truncate window for one the file no
// longer held, and streamed its bytes twice).
func sameTail(a, b afero.File, size int64) (same, ok bool) {
	k := min(int64(headSize), size)
	x, y := make([]byte, k), make([]byte, k)
	kx, errx := io.ReadFull(io.NewSectionReader(a, size-k, k), x)
	ky, erry := io.ReadFull(io.NewSectionReader(b, size-k, k), y)
	if readFailed(errx) || readFailed(erry) {
		return false, false
	}
	return int64(kx) == k && kx == ky && bytes.Equal(x, y), true
}

// readFailed reports whether err is a read error other than an end of
// file.
func readFailed(err error) bool {
	return err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF)
}

// sideBySide opens sibling s and reads its first bytes (a: up to headSize,
// all of them or ok is false) and as many of f's (b: up to len(a), fewer if
// f is shorter; a failed read of f makes ok false), with f's size. On ok
// the caller owns g.
func (t *Tailer) sideBySide(s sibling, f afero.File) (g afero.File, a, b []byte, size int64, ok bool) {
	g, err := t.fs.Open(s.name)
	if err != nil {
		return nil, nil, nil, 0, false
	}
	n := min(int64(headSize), s.size)
	a, b = make([]byte, n), make([]byte, n)
	ka, _ := io.ReadFull(io.NewSectionReader(g, 0, n), a)
	fi, err := f.Stat()
	kb, errb := io.ReadFull(io.NewSectionReader(f, 0, n), b)
	if int64(ka) != n || err != nil || readFailed(errb) {
		g.Close()
		return nil, nil, nil, 0, false
	}
	return g, a, b[:kb], fi.Size(), true
}

// topUpHeads completes the remembered heads of the queued files (see
// copyOfHeld) while they grow, until a file no longer starts with what was
// remembered (truncated since).
func (t *Tailer) topUpHeads() {
	for i := range t.queue {
		q := &t.queue[i]
		if len(q.head) >= headSize {
			continue
		}
		cur := make([]byte, headSize)
		n, _ := io.ReadFull(io.NewSectionReader(q.f, 0, headSize), cur)
		if n > len(q.head) && bytes.Equal(cur[:len(q.head)], q.head) {
			q.head = cur[:n]
		}
	}
}

// copyOfHeld reports whether sibling s is a copy of newer file q: no
// longer than q and with the same first bytes. If so, q holds it open (its
// latest copy only), so that when q is read and turns out to have been
// truncated since, the copy's bytes come first.
func (t *Tailer) copyOfHeld(q *held, s sibling) (isCopy, ok bool) {
	if s.id == q.id {
		return false, true // q itself, renamed since it was opened
	}
	g, a, b, size, ok := t.sideBySide(s, q.f)
	if !ok {
		return false, false
	}
	// It starts with the head q had when it was queued (q may have been
	// truncated since), or it is a prefix of q now.
	k := min(len(q.head), len(a))
	was := k > 0 && bytes.Equal(a[:k], q.head[:k])
	if !was && (s.size > size || len(b) != len(a) || !bytes.Equal(a, b)) {
		g.Close()
		return false, true
	}
	t.keepCopy(q, g, s, a)
	return true, true
}

// queuedCopiesOf takes out of the queue the files that are copies of p, a
// newer file at the path seen only now (injected errors can keep it from
// being opened at the look that found its copytruncate copy, and the copy
// then passes for a generation of its own): a queued file that p starts
// with entirely (startsWithAll) is p's copy in its copy-to-truncate
// window, kept with p (read first only if p no longer holds its bytes when
// p's turn comes).
func (t *Tailer) queuedCopiesOf(p *held) {
	pi, err := p.f.Stat()
	if err != nil {
		return
	}
	kept := t.queue[:0]
	for _, q := range t.queue {
		if len(q.copies) > 0 || q.id == p.id || !t.startsWithAll(p.f, pi.Size(), q) {
			kept = append(kept, q)
			continue
		}
		qi, _ := q.f.Stat()
		t.seen[q.id] = seenFile{size: qi.Size(), copy: true, mod: qi.ModTime()}
		t.keepCopy(p, q.f, sibling{name: q.name, id: q.id, size: qi.Size()}, q.head)
	}
	t.queue = kept
}

// startsWithAll reports whether file f (of size n) starts with all of
// queued file q's bytes, as far as their first and last bytes (up to
// headSize each) tell: q is no longer than f and both ranges match.
func (t *Tailer) startsWithAll(f afero.File, n int64, q held) bool {
	qi, err := q.f.Stat()
	if err != nil || qi.Size() == 0 || qi.Size() > n {
		return false
	}
	for _, off := range []int64{0, max(0, qi.Size()-headSize)} {
		k := min(int64(headSize), qi.Size()-off)
		a, b := make([]byte, k), make([]byte, k)
		ka, _ := io.ReadFull(io.NewSectionReader(q.f, off, k), a)
		kb, _ := io.ReadFull(io.NewSectionReader(f, off, k), b)
		if int64(ka) != k || ka != kb || !bytes.Equal(a, b) {
			return false
		}
	}
	return true
}

// attachCopy keeps sibling s as the copy of queued file q, whatever it
// starts with; false if it cannot be read now.
func (t *Tailer) attachCopy(q *held, s sibling) bool {
	if s.id == q.id {
		// q itself, renamed since it was opened (a rotation inside the
		// tailer's look; swarm seed 9175 of the interleave mix kept a
		// queued file as its own copy and read it twice).
		return false
	}
	g, err := t.fs.Open(s.name)
	if err != nil {
		return false
	}
	a := make([]byte, min(int64(headSize), s.size))
	if k, _ := io.ReadFull(io.NewSectionReader(g, 0, int64(len(a))), a); k != len(a) {
		g.Close()
		return false
	}
	t.keepCopy(q, g, s, a)
	return true
}

// keepCopy makes g (sibling s, starting with head) the copy q keeps: the
// latest one (an earlier copy's bytes are older still, and lost).
func (t *Tailer) keepCopy(q *held, g afero.File, s sibling, head []byte) {
	if len(q.copies) >= maxCopies {
		q.copies[0].h.f.Close() // the oldest: its bytes are lost
		q.copies = q.copies[1:]
	}
	q.copies = append(q.copies, keptCopy{h: held{f: g, id: s.id, name: s.name}, head: head, size: s.size})
}

// known reports whether file id (of the given size and modification
// time; zero: not known) is being read, queued, or not to be read. A
// remembered file that is now smaller, or a remembered copy (which nobody
// writes to) modified since, is another file on a reused inode number.
func (t *Tailer) known(id FileID, size int64, mod time.Time) bool {
	if t.f != nil && t.hasID && id == t.id || t.inQueue(id) {
		return true
	}
	for _, c := range t.copies {
		if c.h.id == id {
			return true
		}
	}
	if sf, ok := t.seen[id]; ok {
		if size >= sf.size && !(sf.copy && sf.modified(mod)) {
			return true
		}
		t.forget(id) // another file on the inode
	}
	return false
}

// checkReuse looks at file name (id, size) if it is remembered as read to
// its end under id but its size changed: if it no longer starts with the
// bytes read from that file, the inode was given to another file (a real
// file system reuses a deleted file's inode at once), which is then no
// longer taken for it. A longer file is otherwise known by its size.
// checkPath calls it for the path (a file read to its end is seen there
// again only on such reuse, or a rename back); scan and readBefore for
// each rotated sibling (a copy on the reused number of a rotated file read
// to its end: logrotate removes the oldest generation and copies the file,
// and the copy gets the removed file's number). A sibling is read once per
// size it grows to; a late write to a rotated file costs one read of its
// head. It reports false when an open, fstat or read failed before it
// could tell: the caller decides nothing about the file at this look.
func (t *Tailer) checkReuse(now time.Time, id FileID, name string, size int64) bool {
	sf, ok := t.seen[id]
	if !ok || sf.copy || len(sf.head) == 0 || size == sf.size || size == sf.checked {
		return true
	}
	g, err := t.fs.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.emit(now, TailError, fsErr("open", name, err))
			return false
		}
		return true // gone: nothing at the name to tell
	}
	defer g.Close()
	if fi, err := g.Stat(); err != nil {
		t.emit(now, TailError, fsErr("fstat", name, err))
		return false
	} else if gid, ok := Identity(fi); !ok || gid != id {
		return true // renamed meanwhile: look again next time
	}
	reused, err := reusedBy(g, sf.head)
	if err != nil {
		t.emit(now, TailError, fsErr("read", name, err))
		return false
	}
	if reused {
		t.forget(id)
		return true
	}
	sf.checked = size // the same file, written to after it was read
	t.seen[id] = sf
	return true
}

// seenEmpty reports whether file id is remembered as a generation read
// while empty: no head to tell another file on its number from it.
func (t *Tailer) seenEmpty(id FileID) bool {
	sf, ok := t.seen[id]
	return ok && !sf.copy && len(sf.head) == 0
}

// reusedBy reports whether f does not start with head, as far as f goes;
// err is a failed read (then it cannot tell).
func reusedBy(f afero.File, head []byte) (bool, error) {
	b := make([]byte, len(head))
	k, err := io.ReadFull(io.NewSectionReader(f, 0, int64(len(b))), b)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false, err
	}
	return !bytes.Equal(b[:k], head[:k]), nil
}

// forget drops what the tailer remembers of the file that had inode id.
func (t *Tailer) forget(id FileID) {
	delete(t.seen, id)
	delete(t.firstSeen, id)
}

func (t *Tailer) inQueue(id FileID) bool {
	for _, q := range t.queue {
		if q.id == id {
			return true
		}
	}
	return false
}

// openHeld opens a newer generation, taking its identity from the handle
// (the name may have moved on since the listing); nil if it is gone or
// already known.
func (t *Tailer) openHeld(now time.Time, name string) *held {
	f, err := t.fs.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.emit(now, TailError, fsErr("open", name, err))
		}
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		t.emit(now, TailError, fsErr("fstat", name, err))
		return nil
	}
	hid, ok := Identity(fi)
	if !ok || t.known(hid, fi.Size(), fi.ModTime()) {
		f.Close()
		return nil
	}
	head := make([]byte, min(int64(headSize), fi.Size()))
	k, _ := io.ReadFull(io.NewSectionReader(f, 0, int64(len(head))), head)
	return &held{f: f, id: hid, name: name, head: head[:k]}
}

// closeHeld closes h and the copy it keeps.
func closeHeld(h *held) {
	h.f.Close()
	for _, c := range h.copies {
		c.h.f.Close()
	}
}

// enqueue queues h in rotation order (by when and where it was first
// seen: the file at the path after the siblings listed with it, a file seen
// later after both), unless the queue is full: then QueueFull decides.
func (t *Tailer) enqueue(now time.Time, h *held) {
	if t.known(h.id, 0, time.Time{}) {
		closeHeld(h)
		return
	}
	if len(t.queue) >= t.opt.MaxQueuedFiles {
		if t.opt.QueueFull == QueueWait {
			closeHeld(h)
			t.deferred[h.id] = true
			return
		}
		q := t.queue[0]
		t.queue = t.queue[1:]
		closeHeld(&q)
		t.seen[q.id] = seenFile{}
		t.skipped++
		t.emitFile(now, TailSkipped, q.id, 0)
	}
	delete(t.deferred, h.id)
	key, ok := t.firstSeen[h.id]
	if !ok {
		key = seenKey{t.scanN, pathIdx}
	}
	h.key = key
	j := len(t.queue)
	for j > 0 && key.less(t.queue[j-1].key) {
		j--
	}
	t.queue = append(t.queue, held{})
	copy(t.queue[j+1:], t.queue[j:])
	t.queue[j] = *h
	t.emitFile(now, TailQueued, h.id, 0)
}

// fsErr names the operation and path of err unless err already does.
func fsErr(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}

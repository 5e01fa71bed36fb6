package logstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	// being read; it is read up to its size now (FileOffset is where the
	// tailer was) and no further: later writes to it are not read.
	TailCapped
)

var tailEventNames = [...]string{"", "opened", "rotated", "truncated", "regrown", "checked", "error", "drain-expired", "end", "gave-up", "capped"}

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
	Err        error
}

// Tailer is the sans-I/O tail state machine: each call to Next looks at the
// file through an afero.Fs at the given time and says what to send next. It
// never sleeps and never reads a clock. It is not safe for concurrent use.
//
// Rules it implements: a missing file is waited for; identity comes from the
// opened handle; on rename rotation the old handle is read to its end before
// the new file is opened; a size below the read offset, or a changed head,
// means truncation and reading restarts at 0; after Stop it keeps reading
// until two empty reads one PollInterval apart, or until DrainWindow ends.
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

	stopped bool
	stopAt  time.Time
	// Bytes written before the stop are read even past DrainWindow: marks
	// hold, for the file open at the first Next after Stop and for the file
	// then at the path (when a rotation is under way), their sizes then.
	markDone  bool
	marks     []stopMark
	quietAt   time.Time // first empty read after stop; zero if none
	done      bool
	lastError error
	failed    bool // an operation failed during the current Next
	errRun    int  // consecutive failed operations
	gaveUp    bool // errors ended the drain after stop

	spare     [][]byte // chunk-size buffers handed back (Recycle)
	recycling bool     // Recycle was called: read into chunk-size buffers
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

// Offset returns the number of bytes handed out so far.
func (t *Tailer) Offset() int64 { return t.soff }

// Unread returns how many bytes the open file held past the read offset at
// the last look (0 with no file open): the tailer's own lag.
func (t *Tailer) Unread() int64 {
	if t.f == nil {
		return 0
	}
	return max(t.size-t.foff, 0)
}

// Err returns the last open, stat or read error, or nil.
func (t *Tailer) Err() error { return t.lastError }

// Stop tells the Tailer that the writer is done: it drains what is left, for
// at most DrainWindow after now (but at least what the open file held at the
// first Next after the stop), then reports EOF. Later calls do nothing.
func (t *Tailer) Stop(now time.Time) {
	if !t.stopped {
		t.stopped, t.stopAt = true, now
	}
}

// Close releases the open handle, if any.
func (t *Tailer) Close() error {
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
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
		t.obs(TailEvent{Kind: k, At: now, File: t.id, Gen: t.gen, FileOffset: t.foff, Offset: t.soff, Err: err})
	}
}

// Next returns what to do at now.
func (t *Tailer) Next(now time.Time) TailAction {
	if t.done {
		return TailAction{Kind: TailEOF, Offset: t.soff}
	}
	t.failed = false
	if t.stopped && !t.markDone {
		t.mark(now)
	}
	expired := t.stopped && !now.Before(t.stopAt.Add(t.opt.DrainWindow)) &&
		(t.markDone || t.errRun > t.opt.RetryLimit)
	// At most two passes: the second runs after switching to a rotated file.
	for range 2 {
		if t.f == nil && !t.open(now) {
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
		// After truncation detection, so that a truncated file's mark is
		// judged from its new read offset.
		if expired && !t.marked() {
			return t.drainExpired(now)
		}
		if !t.rotating && now.Sub(t.lastCheck) >= t.opt.PollInterval {
			// A writer that never pauses must not hide a rotation.
			t.checkPath(now)
		}
		limit := t.opt.ChunkSize
		if t.rotating && !t.rotateCapped && !now.Before(t.rotateSeen.Add(t.opt.DrainWindow)) {
			// A drain window after the rotation the old file is still
			// being read: drain it to its size now and no further, so
			// that a writer still appending to it cannot hold the new
			// file back forever.
			if fi, err := t.f.Stat(); err == nil {
				t.rotateAt, t.rotateCapped = fi.Size(), true
				t.emit(now, TailCapped, nil)
			}
		}
		if t.rotating && t.rotateCapped && t.foff >= t.rotateAt {
			limit = 0
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
		if !t.rotating {
			t.checkPath(now)
		}
		if !t.rotating {
			return t.idle(now)
		}
		if t.newFileEmpty() && now.Before(t.rotateSeen.Add(t.opt.DrainWindow)) {
			// The file at the path has no byte yet: its writer may still
			// be appending to the old one (a handler that reopens lazily).
			// Keep reading the old file until the new one gets data, for
			// at most a drain window.
			return t.idle(now)
		}
		if !t.rotateFinal && !t.rotateCapped {
			// The new file has data, so its writer has switched: what it
			// wrote to the old file before is there now. Read once more.
			t.rotateFinal = true
			if limit > 0 {
				if a, ok := t.read(now, limit); ok {
					return a
				}
			}
		}
		t.emit(now, TailRotated, nil)
		t.closeFile()
	}
	return t.idle(now)
}

// newFileEmpty reports whether the path holds an empty file.
func (t *Tailer) newFileEmpty() bool {
	fi, err := t.fs.Stat(t.path)
	return err == nil && fi.Size() == 0
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
// two empty reads one poll apart were seen.
func (t *Tailer) idle(now time.Time) TailAction {
	if t.stopped && !t.failed {
		if t.quietAt.IsZero() {
			t.quietAt = now
		} else if !now.Before(t.quietAt.Add(t.opt.PollInterval)) {
			return t.end(now)
		}
	}
	return TailAction{Kind: TailWait, Until: now.Add(t.opt.PollInterval)}
}

func (t *Tailer) end(now time.Time) TailAction {
	t.done = true
	t.emit(now, TailEnd, nil)
	t.closeFile()
	return TailAction{Kind: TailEOF, Offset: t.soff}
}

func (t *Tailer) closeFile() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
	t.rotating = false
}

// open opens the path and takes the identity from the handle (fstat), so a
// rename between open and stat cannot pin the wrong file (H19).
func (t *Tailer) open(now time.Time) bool {
	t.lastCheck = now
	f, err := t.fs.Open(t.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.emit(now, TailError, fsErr("open", t.path, err))
		} else {
			t.emit(now, TailChecked, nil)
		}
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		t.emit(now, TailError, fsErr("stat", t.path, err))
		return false
	}
	t.f = f
	t.id, t.hasID = Identity(fi)
	t.gen++
	t.foff = 0
	t.head = t.head[:0]
	t.rotating = false
	t.emit(now, TailOpened, nil)
	if t.stopped && !t.markDone {
		t.mark(now)
	}
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
// existed at stop.
func (t *Tailer) mark(now time.Time) {
	var marks []stopMark
	if t.f != nil {
		fi, err := t.f.Stat()
		if err != nil {
			t.emit(now, TailError, fsErr("fstat", t.path, err))
			return // try again at the next Next
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
		return
	}
	if t.f != nil && !t.hasID {
		// Without identities only the open file can be tracked.
		marks = marks[:min(len(marks), 1)]
	}
	t.marks, t.markDone = marks, true
}

// marked reports whether a byte written before the stop is still to be read
// and can be reached: in the open file below its mark, or in a marked file
// still at the path.
func (t *Tailer) marked() bool {
	var atPath FileID
	pathOK := false
	for _, m := range t.marks {
		if t.f != nil && t.hasID && m.id == t.id || t.f != nil && !t.hasID {
			if t.foff < m.size {
				return true
			}
			continue
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
	if fi.Size() < t.foff {
		t.emit(now, TailTruncated, nil)
		t.restart()
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
			t.restart()
		}
	}
	return true
}

func (t *Tailer) restart() {
	t.foff = 0
	t.head = t.head[:0]
	t.rotating = false
}

// read reads up to limit bytes at the read offset.
func (t *Tailer) read(now time.Time, limit int) (TailAction, bool) {
	// Read into a buffer of the size the file shows (fstat in checkHandle),
	// so the chunk needs no second copy; a file that grew since is read at
	// the next call.
	want := int64(limit)
	if avail := t.size - t.foff; avail < want {
		want = max(avail, 1) // at least one byte: a read past the end says EOF
	}
	var data []byte
	reuse := t.recycling && t.size > t.foff // not a probe past the end
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
	if t.foff < headSize {
		k := min(int64(n), headSize-t.foff)
		t.head = append(t.head, data[:k]...)
	}
	a := TailAction{Kind: TailData, Data: data, Offset: t.soff, File: t.id, FileOffset: t.foff}
	t.foff += int64(n)
	t.soff += int64(n)
	t.quietAt = time.Time{}
	return a, true
}

// checkPath stats the path and notes a rotation when it names another file.
func (t *Tailer) checkPath(now time.Time) {
	t.lastCheck = now
	if t.rotating || !t.hasID {
		return
	}
	fi, err := t.fs.Stat(t.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.emit(now, TailError, fsErr("stat", t.path, err))
			return
		}
		// Absent mid-rotation: keep reading the old handle (H4).
		t.emit(now, TailChecked, nil)
		return
	}
	t.emit(now, TailChecked, nil)
	if id, ok := Identity(fi); ok && id != t.id {
		cur, err := t.f.Stat()
		if err != nil {
			t.emit(now, TailError, fsErr("fstat", t.path, err))
			return
		}
		t.rotating, t.rotateAt, t.rotateSeen = true, cur.Size(), now
		t.rotateCapped, t.rotateFinal = false, false
	}
}

// fsErr names the operation and path of err unless err already does.
func fsErr(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}

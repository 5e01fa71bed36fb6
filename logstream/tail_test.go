package logstream_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/simfs"
)

// Tailer tests drive the sans-I/O Tailer with explicit times over simfs: no
// clocks, goroutines or sleeps. PollInterval is 100ms throughout.

const poll = 100 * time.Millisecond

func tailOpts(chunk int) logstream.TailOptions {
	return logstream.TailOptions{PollInterval: poll, ChunkSize: chunk, DrainWindow: time.Second}
}

// Rule: appended bytes are read in chunks of at most ChunkSize, each chunk at
// the stream offset where the last one ended; with nothing to read the
// Tailer waits one PollInterval.
func TestTailChunks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chunk int
		data  string
		sizes []int
	}{
		{"exact multiple", 5, "0123456789", []int{5, 5}},
		{"remainder", 7, strings.Repeat("x", 25), []int{7, 7, 7, 4}},
		{"one byte chunks", 1, "abc", []int{1, 1, 1}},
		{"chunk larger than file", 64, "short", []int{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.appendTo(logPath, tc.data)
			r := newTailRun(t, w, tailOpts(tc.chunk))
			var sizes []int
			for {
				a := r.next(0)
				if a.Kind != logstream.TailData {
					if a.Kind != logstream.TailWait || !a.Until.Equal(at(poll)) {
						t.Fatalf("after data: %+v, want wait until %v", a, at(poll))
					}
					break
				}
				sizes = append(sizes, len(a.Data))
			}
			if len(sizes) != len(tc.sizes) {
				t.Fatalf("chunk sizes %v, want %v", sizes, tc.sizes)
			}
			for i := range sizes {
				if sizes[i] != tc.sizes[i] {
					t.Fatalf("chunk sizes %v, want %v", sizes, tc.sizes)
				}
			}
			r.expectGot(tc.data)
			// Appended later: read from where it stopped.
			w.appendTo(logPath, "+more")
			if a := r.drain(poll); a.Kind != logstream.TailWait || !a.Until.Equal(at(2*poll)) {
				t.Fatalf("got %+v", a)
			}
			r.expectGot(tc.data + "+more")
		})
	}
}

// Rule: a missing file is waited for, one check every PollInterval, and read
// from its first byte once it appears.
func TestTailMissingFileWaited(t *testing.T) {
	w := newWorld(t)
	r := newTailRun(t, w, tailOpts(16))
	for i := range 3 {
		d := time.Duration(i) * poll
		a := r.next(d)
		if a.Kind != logstream.TailWait || !a.Until.Equal(at(d+poll)) {
			t.Fatalf("at %v: %+v, want wait one poll", d, a)
		}
	}
	if n := r.count(logstream.TailChecked); n != 3 {
		t.Fatalf("%d checks, want 3", n)
	}
	if n := r.count(logstream.TailError); n != 0 {
		t.Fatalf("a missing file is not an error: %v", r.events)
	}
	w.appendTo(logPath, "hello\n")
	r.drain(3 * poll)
	r.expectGot("hello\n")
	if n := r.count(logstream.TailOpened); n != 1 {
		t.Fatalf("%d opens, want 1", n)
	}
}

// H1: on a rename rotation the old handle is drained to its end before the
// new file is opened; the reference closed it unread (30 written, 10 read,
// rename plus 5 new: 20 lost). Also H1's second half: bytes the writer
// appends to the renamed file before the tailer notices are not lost.
func TestTailRenameRotationDrainsOldHandle(t *testing.T) {
	for _, tc := range []struct {
		name       string
		lateToOld  string // appended to the renamed file before detection
		newContent string
	}{
		{"H1 unread bytes", "", "NEW-5"},
		{"H1 writer appends to renamed file", "late bytes to old file\n", "NEW-5"},
		{"H1 new file empty at detection", "late\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			old := strings.Repeat("o", 30)
			w.appendTo(logPath, old)
			r := newTailRun(t, w, tailOpts(10))
			if a := r.next(0); a.Kind != logstream.TailData || len(a.Data) != 10 {
				t.Fatalf("first read %+v", a)
			}
			oldID := idOf(t, w, logPath)
			w.rename(logPath, logPath+".1")
			if tc.lateToOld != "" {
				w.appendTo(logPath+".1", tc.lateToOld)
			}
			w.appendTo(logPath, tc.newContent)
			newID := idOf(t, w, logPath)
			r.drain(poll)
			if tc.newContent == "" {
				// The new file is empty: its writer may not have switched
				// yet, so the tailer stays on the old file...
				if r.count(logstream.TailRotated) != 0 {
					t.Fatalf("switched to an empty new file: %+v", r.events)
				}
				// ...and gets what the writer still appends there before
				// its first byte goes to the new file.
				w.appendTo(logPath+".1", "last old line\n")
				w.appendTo(logPath, "N")
				tc.lateToOld += "last old line\n"
				tc.newContent = "N"
				r.drain(2 * poll)
			}
			r.expectGot(old + tc.lateToOld + tc.newContent)
			var rot *logstream.TailEvent
			for i, e := range r.events {
				if e.Kind == logstream.TailRotated {
					rot = &r.events[i]
				}
			}
			if rot == nil || rot.File != oldID || rot.FileOffset != int64(len(old+tc.lateToOld)) {
				t.Fatalf("rotated event %+v, want old file %v drained to %d", rot, oldID, len(old+tc.lateToOld))
			}
			last := r.events[len(r.events)-1]
			if r.count(logstream.TailOpened) != 2 || last.File != newID || last.Gen != 2 {
				t.Fatalf("new file not opened: %+v", r.events)
			}
		})
	}
}

// H4: the path is absent mid-rotation (renamed away, not yet recreated): the
// tailer keeps reading the old handle, including bytes appended to it
// meanwhile, and once the new file appears still drains the old one first.
func TestTailPathAbsentMidRotation(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "gen1 a\n")
	r := newTailRun(t, w, tailOpts(4))
	r.drain(0)
	w.rename(logPath, logPath+".1")
	w.appendTo(logPath+".1", "gen1 b (path absent)\n")
	if a := r.drain(poll); a.Kind != logstream.TailWait {
		t.Fatalf("%+v", a)
	}
	r.expectGot("gen1 a\ngen1 b (path absent)\n")
	if r.count(logstream.TailRotated) != 0 || r.count(logstream.TailError) != 0 {
		t.Fatalf("absent path must not end the old handle: %v", r.events)
	}
	w.appendTo(logPath+".1", "gen1 c\n")
	w.appendTo(logPath, "gen2\n")
	r.drain(2 * poll)
	r.expectGot("gen1 a\ngen1 b (path absent)\ngen1 c\ngen2\n")
	if r.count(logstream.TailRotated) != 1 {
		t.Fatalf("rotation not seen: %v", r.events)
	}
}

// A writer that never pauses must not hide a rotation: the path is checked
// at least once per PollInterval even while every read returns data, and the
// old file is then drained up to its size at detection.
func TestTailRotationSeenWhileDataKeepsComing(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, strings.Repeat("a", 100))
	r := newTailRun(t, w, tailOpts(10))
	r.next(0)
	w.rename(logPath, logPath+".1")
	w.appendTo(logPath, "B")
	// Keep the old file growing faster than it is read.
	for i := 1; i <= 60 && r.count(logstream.TailRotated) == 0; i++ {
		w.appendTo(logPath+".1", strings.Repeat("a", 20))
		r.next(time.Duration(i) * poll)
	}
	if r.count(logstream.TailRotated) != 1 {
		t.Fatalf("rotation never seen: %v", r.events)
	}
	if g := string(r.got); !strings.HasSuffix(g, "aB") || strings.Count(g, "B") != 1 {
		t.Fatalf("want the old file drained to its size a drain window after detection, then the new file: %q", g)
	}
}

// openRaceFS runs hook once, right after the next successful Open of the
// log returns: the file at the path changes between the open and any stat.
type openRaceFS struct {
	*simfs.FS
	hook func()
}

func (f *openRaceFS) Open(name string) (afero.File, error) {
	h, err := f.FS.Open(name)
	if err == nil && f.hook != nil && name == logPath {
		hook := f.hook
		f.hook = nil
		hook()
	}
	return h, err
}

// H19: the identity of the opened file comes from the handle (fstat). The
// path is renamed and recreated between the open and any stat: the tailer
// must pin the file it opened, so it still sees the rotation and reads the
// new file; the reference recorded the new inode against the old handle and
// kept reading the stale file.
func TestTailIdentityFromHandle(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "opened generation\n")
	oldID := idOf(t, w, logPath)
	rfs := &openRaceFS{FS: w.fs}
	rfs.hook = func() {
		w.rename(logPath, logPath+".1")
		w.appendTo(logPath, "generation at the path\n")
	}
	opt, _ := tailOpts(64).Normalize()
	var events []logstream.TailEvent
	tl := logstream.NewTailer(rfs, logPath, opt, func(e logstream.TailEvent) { events = append(events, e) })
	defer tl.Close()
	var got []byte
	for d := time.Duration(0); d <= 2*poll; d += poll {
		for {
			a := tl.Next(at(d))
			if a.Kind != logstream.TailData {
				break
			}
			got = append(got, a.Data...)
		}
	}
	if events[0].Kind != logstream.TailOpened || events[0].File != oldID {
		t.Fatalf("first open pinned %v, want the opened file %v: %v", events[0].File, oldID, events)
	}
	if want := "opened generation\ngeneration at the path\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// Rule: a size below the read offset means truncation: reading restarts at 0
// of the same file, and the stream offset keeps counting.
func TestTailTruncation(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, strings.Repeat("1", 30))
	r := newTailRun(t, w, tailOpts(64))
	r.drain(0)
	id := idOf(t, w, logPath)
	w.truncate(logPath, 0)
	w.appendTo(logPath, "short")
	a := r.next(poll)
	if a.Kind != logstream.TailData || a.Offset != 30 || a.FileOffset != 0 || a.File != id || string(a.Data) != "short" {
		t.Fatalf("after truncation: %+v", a)
	}
	if r.count(logstream.TailTruncated) != 1 || r.count(logstream.TailRotated) != 0 {
		t.Fatalf("events %v", r.events)
	}
}

// H3: truncate then regrow within one poll. The reference only tests
// size < offset and so skipped the first `offset` bytes of the new content
// (regrow past the offset) or all of it (regrow to exactly the offset). The
// Tailer compares the file's head with the one it read and rereads from 0.
// Regrowth whose head is identical to the old one is *inherent*: no tailer
// that only looks at the file can tell it from an append, and the first
// `offset` bytes of the new content are not sent.
func TestTailTruncateRegrow(t *testing.T) {
	old := "AAAAAAAAAAAAAAAAAAAA" // 20 bytes read before the truncation
	for _, tc := range []struct {
		name     string
		regrow   string
		detected bool
		want     string // handed out after the regrow
	}{
		{"H3 past the offset, head differs", "BBBBBBBBBBBBBBBBBBBBbbbbb", true, "BBBBBBBBBBBBBBBBBBBBbbbbb"},
		{"H3 to exactly the offset, head differs", "CCCCCCCCCCCCCCCCCCCC", true, "CCCCCCCCCCCCCCCCCCCC"},
		{"H3 first byte differs only", "xAAAAAAAAAAAAAAAAAAAtail", true, "xAAAAAAAAAAAAAAAAAAAtail"},
		{"below the offset (plain truncation)", "DDD", true, "DDD"},
		{"inherent: identical head, past the offset", old + "tail!", false, "tail!"},
		{"inherent: identical head, to the offset", old, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.appendTo(logPath, old)
			r := newTailRun(t, w, tailOpts(64))
			r.drain(0)
			w.truncate(logPath, 0)
			w.appendTo(logPath, tc.regrow)
			r.drain(poll)
			r.expectGot(old + tc.want)
			seen := r.count(logstream.TailRegrown)+r.count(logstream.TailTruncated) > 0
			if seen != tc.detected {
				t.Fatalf("truncation detected=%v, want %v: %v", seen, tc.detected, r.events)
			}
		})
	}
}

// A truncation to a non-zero size that keeps the head, regrown past the
// read offset before the next look, shows neither in the size nor in the
// head, even when it is the file's first (swarm seed 5409 of the files
// mix): the bytes before the read offset tell it at every look, and the
// file is read again from 0 (the kept head again, which the spec allows:
// "reopen from 0").
func TestTailFirstTruncateToRegrownPastOffset(t *testing.T) {
	head := strings.Repeat("h", 80) // past headSize: the head check sees none of the rest
	w := newWorld(t)
	w.appendTo(logPath, head+"0123456789abcdefghij")
	r := newTailRun(t, w, tailOpts(1024))
	r.drain(0)
	w.truncate(logPath, int64(len(head)))
	w.appendTo(logPath, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	r.drain(poll)
	r.expectGot(head + "0123456789abcdefghij" + head + "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	if r.count(logstream.TailRegrown) != 1 {
		t.Fatalf("events %v", r.events)
	}
}

// Rule: after Stop the Tailer keeps reading (bytes written before and
// shortly after the stop are delivered) and reports EOF after two empty reads
// one PollInterval apart; EOF is then final.
func TestTailStopDrainsThenEOF(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "before stop\n")
	r := newTailRun(t, w, tailOpts(5))
	r.next(0) // one chunk read; the rest is unread at stop
	r.tl.Stop(at(0))
	if a := r.drain(0); a.Kind != logstream.TailWait { // first empty read
		t.Fatalf("%+v", a)
	}
	w.appendTo(logPath, "during drain\n") // resets the quiet period
	if a := r.drain(poll / 2); a.Kind != logstream.TailWait {
		t.Fatalf("%+v", a)
	}
	if a := r.next(poll); a.Kind != logstream.TailWait { // empty, but only poll/2 after the last empty read
		t.Fatalf("EOF too early: %+v", a)
	}
	if a := r.next(poll/2 + poll); a.Kind != logstream.TailEOF {
		t.Fatalf("want EOF one poll after the first empty read: %+v", a)
	}
	r.expectGot("before stop\nduring drain\n")
	w.appendTo(logPath, "after EOF\n")
	if a := r.next(10 * poll); a.Kind != logstream.TailEOF || a.Offset != int64(len(r.got)) {
		t.Fatalf("EOF must be final: %+v", a)
	}
	if r.count(logstream.TailEnd) != 1 || r.count(logstream.TailDrainExpired) != 0 {
		t.Fatalf("events %v", r.events)
	}
	// Stop again does nothing; Close after the end is harmless.
	r.tl.Stop(at(time.Hour))
	if err := r.tl.Close(); err != nil {
		t.Fatal(err)
	}
}

// Rule: stop with the file absent ends after two empty checks one poll apart.
func TestTailStopWhileFileAbsent(t *testing.T) {
	w := newWorld(t)
	r := newTailRun(t, w, tailOpts(5))
	r.tl.Stop(at(0))
	if a := r.next(0); a.Kind != logstream.TailWait {
		t.Fatalf("%+v", a)
	}
	if a := r.next(poll); a.Kind != logstream.TailEOF || a.Offset != 0 {
		t.Fatalf("%+v", a)
	}
}

// H12: a writer that never pauses never gives two empty reads, so the
// reference never sent EOF. After Stop the Tailer reads for at most
// DrainWindow (1s here), then EOF; everything read until then is handed out.
func TestTailDrainWindowBoundsStop(t *testing.T) {
	w := newWorld(t)
	r := newTailRun(t, w, tailOpts(64))
	w.appendTo(logPath, "x")
	r.drain(0)
	r.tl.Stop(at(0))
	var written int
	var eofAt time.Duration
	for d := time.Duration(0); d <= 3*time.Second; d += poll / 2 {
		w.appendTo(logPath, "yyyy")
		written += 4
		if a := r.drain(d); a.Kind == logstream.TailEOF {
			eofAt = d
			break
		}
	}
	if eofAt != time.Second {
		t.Fatalf("EOF at %v, want at the end of the 1s drain window", eofAt)
	}
	if r.count(logstream.TailDrainExpired) != 1 {
		t.Fatalf("events %v", r.events)
	}
	// What was written until the window closed, at that very instant too,
	// is read (the marks are taken again then); nothing later.
	if want := 1 + written; len(r.got) != want {
		t.Fatalf("handed out %d bytes, want %d", len(r.got), want)
	}
}

// failOnce makes the next operation of class op on name fail once, when armed.
type failOnce struct {
	op    simfs.Op
	skip  int // let this many matching operations through first
	armed int
	hits  int
}

func (f *failOnce) inject(op simfs.Op, name string) error {
	if op == f.op && f.armed > 0 && f.skip > 0 {
		f.skip--
		return nil
	}
	if op == f.op && f.armed > 0 {
		f.armed--
		f.hits++
		return simfs.ErrInjected
	}
	return nil
}

// Rule: open, stat and read errors are reported as TailError events and
// retried at the next poll, without losing or repeating bytes.
func TestTailErrorsRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   simfs.Op
		// when to arm: before the first open, or after the first chunk
		afterFirst bool
		skip       int
	}{
		{"open error", simfs.OpOpen, false, 0},
		{"fstat error", simfs.OpStat, false, 0},
		{"read error", simfs.OpRead, false, 0},
		{"head check read error mid-file", simfs.OpRead, true, 0},
		{"data read error mid-file", simfs.OpRead, true, 1},
		{"fstat error mid-file", simfs.OpStat, true, 0},
		{"path stat error mid-file", simfs.OpStat, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.appendTo(logPath, "0123456789abcdef")
			r := newTailRun(t, w, tailOpts(8))
			inj := &failOnce{op: tc.op, skip: tc.skip}
			w.fs.SetInjector(inj.inject)
			if tc.afterFirst {
				r.next(0)
			}
			inj.armed = 1
			r.drain(poll)
			if inj.hits != 1 || r.count(logstream.TailError) != 1 {
				t.Fatalf("injected %d, errors reported %d: %v", inj.hits, r.count(logstream.TailError), r.events)
			}
			if err := r.tl.Err(); !errors.Is(err, simfs.ErrInjected) {
				t.Fatalf("Err() = %v", err)
			}
			r.drain(2 * poll)
			r.expectGot("0123456789abcdef")
		})
	}
}

// A read error while draining the old handle of a rotation must not count as
// "drained": the unread rest of the old file would be lost (H1 again).
func TestTailReadErrorDuringRotationDrain(t *testing.T) {
	w := newWorld(t)
	old := strings.Repeat("o", 30)
	w.appendTo(logPath, old)
	r := newTailRun(t, w, tailOpts(10))
	r.next(0)
	w.rename(logPath, logPath+".1")
	w.appendTo(logPath, "new")
	// At the next poll the head check reads first, then the drain reads.
	inj := &failOnce{op: simfs.OpRead, skip: 1, armed: 1}
	w.fs.SetInjector(inj.inject)
	r.drain(poll)
	if inj.hits != 1 {
		t.Fatalf("injected %d", inj.hits)
	}
	r.drain(2 * poll)
	r.expectGot(old + "new")
}

// Short reads (a read returning fewer bytes than asked, without error) lose
// nothing.
func TestTailShortReads(t *testing.T) {
	w := newWorld(t)
	data := strings.Repeat("0123456789", 10)
	w.appendTo(logPath, data)
	w.fs.SetReadLimit(func(_ string, n int) int { return 3 })
	r := newTailRun(t, w, tailOpts(10))
	r.drain(0)
	r.expectGot(data)
}

func idOf(t *testing.T, w *world, name string) logstream.FileID {
	t.Helper()
	fi, err := w.fs.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := logstream.Identity(fi)
	if !ok {
		t.Fatal("no identity")
	}
	return id
}

// Rule: after Stop, failed reads are not "empty reads": the stream does not
// end while unread bytes are behind a transient error (only DrainWindow
// bounds a persistent one).
func TestTailStopWithTransientErrors(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "0123456789abcdef")
	r := newTailRun(t, w, tailOpts(8))
	r.next(0)
	r.tl.Stop(at(0))
	inj := &failOnce{op: simfs.OpRead, armed: 3}
	w.fs.SetInjector(inj.inject)
	for i := range 3 {
		if a := r.next(time.Duration(i) * poll); a.Kind != logstream.TailWait {
			t.Fatalf("poll %d: %+v", i, a)
		}
	}
	if a := r.drain(3 * poll); a.Kind != logstream.TailWait {
		t.Fatalf("%+v", a)
	}
	if a := r.next(4 * poll); a.Kind != logstream.TailEOF {
		t.Fatalf("%+v", a)
	}
	r.expectGot("0123456789abcdef")

	// A persistent error ends at the drain window.
	w2 := newWorld(t)
	w2.appendTo(logPath, "0123456789abcdef")
	r2 := newTailRun(t, w2, tailOpts(8))
	r2.next(0)
	r2.tl.Stop(at(0))
	w2.fs.SetInjector((&failOnce{op: simfs.OpRead, armed: 1 << 30}).inject)
	var a logstream.TailAction
	d := time.Duration(0)
	for ; d <= 2*time.Second; d += poll {
		if a = r2.next(d); a.Kind == logstream.TailEOF {
			break
		}
	}
	// The unread pre-stop bytes hold the drain open past the window only
	// while reads succeed: past the window, more than RetryLimit errors in
	// a row end it (here they started at stop, so at the window's end).
	if a.Kind != logstream.TailEOF || d < time.Second || d > time.Second+poll {
		t.Fatalf("persistent errors: %+v at %v, want EOF one poll after the 1s drain window", a, d)
	}
}

// Stop rule (every byte written before stop is delivered): DrainWindow bounds
// a writer that never pauses (H12), but must not cut a backlog that was
// already in the file at stop when the sender is slow (retries, slow
// receivers). Here the sender asks for one 8-byte chunk per second, and the
// window is 1s: the 64 bytes there at stop are all delivered, bytes written
// after stop only within the window.
func TestTailDrainWindowKeepsPreStopBacklog(t *testing.T) {
	w := newWorld(t)
	backlog := strings.Repeat("b", 64)
	w.appendTo(logPath, backlog)
	r := newTailRun(t, w, tailOpts(8))
	r.next(0)
	r.tl.Stop(at(0))
	d := time.Duration(0)
	for ; d < time.Minute; d += time.Second {
		w.appendTo(logPath, "after")
		if a := r.next(d); a.Kind == logstream.TailEOF {
			break
		}
	}
	if !strings.HasPrefix(string(r.got), backlog) {
		t.Fatalf("pre-stop backlog cut at %d of %d bytes", len(r.got), len(backlog))
	}
	if d > 20*time.Second {
		t.Fatalf("EOF only at %v", d)
	}
	if r.count(logstream.TailDrainExpired) != 1 {
		t.Fatalf("events %v", r.events)
	}
}

// Rule: the tailer stays on a rotated file while every newer file is empty
// (its writer may not have switched yet: a handler that reopens lazily, or
// only on a signal), however long that takes, and reads what is appended to
// it meanwhile; it switches once a newer file has data, after a last read
// of the old one. (It used to switch after DrainWindow and lose what a
// late-reopening writer still appended to the old file.)
func TestTailEmptyNewFileKeepsOldHandle(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "old\n")
	r := newTailRun(t, w, tailOpts(10))
	r.drain(0)
	w.rename(logPath, logPath+".1")
	w.appendTo(logPath, "")
	for d := poll; d < 5*time.Second; d += poll {
		r.drain(d)
	}
	if r.count(logstream.TailRotated) != 0 {
		t.Fatalf("switched to an empty new file: %+v", r.events)
	}
	w.appendTo(logPath+".1", "late to old\n")
	r.drain(5 * time.Second)
	w.appendTo(logPath+".1", "last old\n")
	w.appendTo(logPath, "new\n")
	r.drain(5*time.Second + poll)
	r.drain(5*time.Second + 2*poll)
	r.expectGot("old\nlate to old\nlast old\nnew\n")
	if r.count(logstream.TailRotated) != 1 || r.count(logstream.TailOpened) != 2 {
		t.Fatalf("not switched once: %+v", r.events)
	}
}

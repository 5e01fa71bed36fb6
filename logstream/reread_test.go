package logstream_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Re-reading tests: a target that falls behind the read-ahead buffer while
// retrying is served by reading its chunks again from the handles the
// tailer holds, checked against their records.

// fakeRecv is a receiver that answers at once: it forwards in order and
// answers COMMUNICATION_ERROR while down.
type fakeRecv struct {
	got     []byte
	down    bool
	aborted bool
}

// drive runs the producer from d, answering every send at once, until
// stop holds or the producer is done; it returns the time reached.
func (r *prodRun) drive(d time.Duration, recv map[string]*fakeRecv, stop func() bool) time.Duration {
	r.t.Helper()
	for range 100000 {
		if stop != nil && stop() {
			return d
		}
		st := r.next(d)
		switch st.Kind {
		case logstream.StepDone:
			return d
		case logstream.StepWait:
			d = st.Until.Sub(t0)
			continue
		}
		for _, name := range st.Targets {
			rv := recv[name]
			m := st.Msg
			switch {
			case m.Kind == logstream.KindAbort:
				rv.aborted = true
				continue
			case rv.down:
				r.p.Reply(at(d), st.ID, name, rc(logstream.CommunicationError))
				continue
			case m.Kind == logstream.KindData && m.Offset == int64(len(rv.got)):
				rv.got = append(rv.got, m.Data...)
			case m.Kind == logstream.KindData && m.Offset > int64(len(rv.got)):
				r.t.Fatalf("at %v: %s skips bytes %d..%d of %s", d, m.String(), len(rv.got), m.Offset, name)
			}
			r.p.Reply(at(d), st.ID, name, ok(int64(len(rv.got))))
		}
	}
	r.t.Fatal("producer never got there")
	return d
}

func letters(n int, from byte) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = from + byte(i%26)
	}
	return string(b)
}

// rereadOpts: chunks of 8 bytes, a window of 4, a read-ahead of two chunks
// and a retry budget that outlasts the tests' outages.
func rereadOpts() logstream.TailOptions {
	o := winOpts(4)
	o.ReadAhead = 16
	o.RetryLimit = 20
	return o
}

// behindRun is a producer over content (64 bytes) with target b down, run
// until a has every byte: b is behind the read-ahead buffer.
func behindRun(t *testing.T) (w *world, r *prodRun, recv map[string]*fakeRecv, content string, d time.Duration) {
	content = letters(64, 'a')
	w = newWorld(t)
	w.appendTo(logPath, content)
	r = newProdRun(t, w, rereadOpts(), "a", "b")
	recv = map[string]*fakeRecv{"a": {}, "b": {down: true}}
	d = r.drive(0, recv, func() bool { return len(recv["a"].got) == len(content) })
	return w, r, recv, content, d
}

// A target that is down while the writer is far ahead falls behind the
// read-ahead buffer; when it comes back it gets every byte, read again from
// the file and checked, and nobody was given up.
func TestProducerRereadsTargetBehindReadAhead(t *testing.T) {
	_, r, recv, content, d := behindRun(t)
	s := r.p.Stats(at(d))
	if recv["b"].aborted || s.Records == 0 || s.Buffered > 16 {
		t.Fatalf("b behind the buffer: aborted=%v stats %s", recv["b"].aborted, s)
	}
	recv["b"].down = false
	r.p.Stop(at(d))
	d = r.drive(d, recv, nil)
	res, _ := r.p.Result()
	if res.RC != logstream.OK || string(recv["b"].got) != content || string(recv["a"].got) != content {
		t.Fatalf("result %+v, b got %q", res, recv["b"].got)
	}
	if st := r.p.Stats(at(d)).Targets[1]; st.Rereads == 0 || st.Gone != 0 {
		t.Fatalf("b's stats %+v", st)
	}
}

// Bytes that changed in the file since they were read are never sent: the
// target that needs them again is given up with ERROR, the cause named, and
// counted as Gone; what it got is a prefix of what was written first.
func TestProducerRereadOfChangedBytesGivesUp(t *testing.T) {
	w, r, recv, content, d := behindRun(t)
	w.truncate(logPath, 0)
	w.appendTo(logPath, letters(64, 'A'))
	recv["b"].down = false
	r.p.Stop(at(d))
	d = r.drive(d, recv, nil)
	res, _ := r.p.Result()
	b, _ := res.Target("b")
	if b.RC != logstream.Error || !strings.Contains(b.Reason, "gone") || !strings.Contains(b.Reason, "checksum") {
		t.Fatalf("b: %+v", b)
	}
	if !recv["b"].aborted || !strings.HasPrefix(content, string(recv["b"].got)) {
		t.Fatalf("b aborted=%v got %q", recv["b"].aborted, recv["b"].got)
	}
	if st := r.p.Stats(at(d)).Targets[1]; st.Gone != 1 {
		t.Fatalf("b's stats %+v", st)
	}
	if a, _ := res.Target("a"); a.RC != logstream.OK || !bytes.HasPrefix(recv["a"].got, []byte(content)) {
		t.Fatalf("a: %+v got %q", a, recv["a"].got)
	}
}

// The handle of a rotated generation is held while a target behind the
// buffer may need its bytes again, and closed once every target is past
// it.
func TestTailerHoldsRotatedHandleForLaggard(t *testing.T) {
	first, second := letters(32, 'a'), letters(32, 'A')
	w := newWorld(t)
	w.appendTo(logPath, first)
	r := newProdRun(t, w, rereadOpts(), "a", "b")
	tl := r.p.Source().(*logstream.Tailer)
	recv := map[string]*fakeRecv{"a": {}, "b": {down: true}}
	d := r.drive(0, recv, func() bool { return len(recv["a"].got) == len(first) })
	w.rename(logPath, logPath+".1")
	w.appendTo(logPath, second)
	d = r.drive(d+poll, recv, func() bool { return len(recv["a"].got) == len(first+second) })
	if held, dropped := tl.Held(); held != 1 || dropped != 0 || tl.HeldBytes() != int64(len(first)) {
		t.Fatalf("held %d (%d bytes) dropped %d while b is behind", held, tl.HeldBytes(), dropped)
	}
	if s := r.p.Stats(at(d)); s.HeldFiles != 1 || s.HeldBytes != int64(len(first)) {
		t.Fatalf("stats %s", s)
	}
	recv["b"].down = false
	d = r.drive(d, recv, func() bool { return len(recv["b"].got) == len(first+second) })
	r.next(d) // the last acknowledgement's release
	if held, _ := tl.Held(); held != 0 {
		t.Fatalf("held %d after every target passed the rotated file", held)
	}
	if string(recv["b"].got) != first+second {
		t.Fatalf("b got %q", recv["b"].got)
	}
	if st := r.p.Stats(at(d)).Targets[1]; st.Rereads == 0 {
		t.Fatalf("b's stats %+v", st)
	}
}

// plainSource hides every optional capability of its Source (Rereader
// among them).
type plainSource struct{ logstream.Source }

// newPlainRun is newProdRun over a Tailer seen through plainSource: a
// producer that cannot read again.
func newPlainRun(t *testing.T, w *world, opt logstream.TailOptions, targets ...string) *prodRun {
	t.Helper()
	return newProdRunOver(t, w, opt, func(tl *logstream.Tailer) logstream.Source { return plainSource{tl} }, targets...)
}

// Without a Rereader, a retrying target behind the read-ahead bound is
// given up on so that the others go on.
func TestProducerWithoutRereaderDropsRetryingLaggard(t *testing.T) {
	content := letters(64, 'a')
	w := newWorld(t)
	w.appendTo(logPath, content)
	r := newPlainRun(t, w, rereadOpts(), "a", "b")
	recv := map[string]*fakeRecv{"a": {}, "b": {down: true}}
	r.drive(0, recv, func() bool { return len(recv["a"].got) == len(content) })
	if !recv["b"].aborted {
		t.Fatal("b was not given up")
	}
}

// Tailer.Reread reads the whole range through short reads (a short read is
// no truncation), and says ErrGone when the file now ends before it.
func TestTailerRereadShortReadsAndTruncation(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, letters(32, 'a'))
	r := newTailRun(t, w, prodOpts())
	a := r.next(0)
	if a.Kind != logstream.TailData {
		t.Fatalf("first action %+v", a)
	}
	w.fs.SetReadLimit(func(string, int) int { return 3 })
	buf := make([]byte, 8)
	any := func([]byte) bool { return true }
	if n, err := r.tl.Reread(buf, a.File, 4, any); err != nil || n != 8 || string(buf) != letters(32, 'a')[4:12] {
		t.Fatalf("reread through short reads: %d %v %q", n, err, buf)
	}
	w.fs.SetReadLimit(nil)
	w.truncate(logPath, 6)
	if _, err := r.tl.Reread(buf, a.File, 4, any); !errors.Is(err, logstream.ErrGone) {
		t.Fatalf("reread past a truncation: %v", err)
	}
	if _, err := r.tl.Reread(buf, logstream.FileID{Dev: 9, Ino: 9}, 0, any); !errors.Is(err, logstream.ErrGone) {
		t.Fatalf("reread of a file not held: %v", err)
	}
}

// A copytruncate while a target is behind: the bytes it still needs are
// gone from the file but are in the copy, where they are read again and
// checked; the target gets every byte (they were gone: ERROR).
func TestProducerRereadsFromCopytruncateCopy(t *testing.T) {
	w, r, recv, content, d := behindRun(t)
	copytruncate(w)
	later := letters(64, 'A')
	w.appendTo(logPath, later)
	d = r.drive(d, recv, func() bool { return len(recv["a"].got) == 2*len(content) })
	recv["b"].down = false
	r.p.Stop(at(d))
	d = r.drive(d, recv, nil)
	res, _ := r.p.Result()
	if res.RC != logstream.OK || string(recv["b"].got) != content+later || string(recv["a"].got) != content+later {
		t.Fatalf("result %+v, b got %q", res, recv["b"].got)
	}
	if st := r.p.Stats(at(d)).Targets[1]; st.Rereads == 0 || st.Gone != 0 {
		t.Fatalf("b's stats %+v", st)
	}
}

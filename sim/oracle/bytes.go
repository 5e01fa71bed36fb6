package oracle

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// FileEvent.Cause values the oracle gives meaning to. Any other cause of a
// FileTruncated event counts as a plain truncate.
const (
	// FileCauseCopyTruncate marks the truncate of a copytruncate rotation.
	FileCauseCopyTruncate = "copytruncate"
	// FileCauseTruncateSameHead marks a truncate that the writer regrows
	// with the same head as before.
	FileCauseTruncateSameHead = "truncate-same-head"
)

const maxOff = math.MaxInt64

// moment orders records of different kinds: by time, then by step.
type moment struct {
	at   time.Time
	step int64
}

// before reports whether a happened strictly before b. Records with equal
// time and step are unordered: before is false both ways.
func (a moment) before(b moment) bool {
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	return a.step < b.step
}

type truncEvent struct {
	when  moment
	size  int64
	kept  int64 // the size it left (truncate-to)
	cause string
	// regrownSame: a copytruncate's file started its next life with every
	// byte its copy holds (sameRegrowth).
	regrownSame bool
	// sameHeadMax is the largest size a same-head truncate cut, among
	// this one and the file's earlier ones.
	sameHeadMax int64
}

// fileInfo is what the world's record says about one file.
type fileInfo struct {
	created  time.Time // first FileCreated (zero: never at the path)
	hasCreat bool
	left     time.Time // first FileRenamed/FileDeleted after created
	hasLeft  bool
	deleted  bool      // left the path by a delete
	gone     time.Time // deleted, or its last rotated name removed
	hasGone  bool
	truncs   []truncEvent
	copies   []copied // FileCopied (a copytruncate's copy began)
	// firstAtPath is the first write to the file while it was at the path.
	firstAtPath time.Time
	hasAtPath   bool
	// next is the first write at the path to another file created at or
	// after left: from then on a correct tailer may switch to it.
	next    time.Time
	hasNext bool
}

// world indexes a History for the byte rule.
type world struct {
	h       *sim.History
	o       logstream.TailOptions
	writes  []sim.Write
	total   int64
	replays []int // indices of replay writes (Src != Pos), ascending
	files   map[logstream.FileID]*fileInfo
	// cutoff, when set, is the end of the stream whose trailing hole is
	// being justified: writes after it get no inherent cause.
	cutoff time.Time
	// eof is when the EOF message was first sent to the target being
	// judged (zero: never); trailing is set while a trailing hole is
	// judged.
	eof      time.Time
	trailing bool
	bad      string // why the write stream is malformed, if it is
	// failedSince caches, per truncate time, the start of the chain of
	// failed file operations that reaches it (unreadAt).
	failedSince map[time.Time]time.Time
	// acked is the TargetLog.Acked of the target being judged.
	acked []sim.Ack
	// kept are the truncations to a non-zero size in record order, with
	// the sum of the sizes they left so far: a tailer reads each kept
	// head again, so its stream offsets run ahead of write positions by
	// up to that sum.
	kept []keptSum
	// holeEnds are the file offsets at which the holes of
	// Observed.Holes end, per file: a write there follows a hole.
	holeEnds map[holeEnd]bool
}

// keptSum is a truncation to a non-zero size and the sum of the sizes the
// truncations up to it left.
type keptSum struct {
	when moment
	sum  int64
}

// holeEnd is where a hole ends: file and file offset.
type holeEnd struct {
	file logstream.FileID
	off  int64
}

func newWorld(h *sim.History, o logstream.TailOptions) *world {
	w := &world{h: h, o: o, writes: h.Writes, files: make(map[logstream.FileID]*fileInfo)}
	for i, wr := range h.Writes {
		if wr.Pos != w.total || wr.N < 0 {
			w.bad = fmt.Sprintf("write %d at step %d has pos %d len %d, want pos %d", i, wr.Step, wr.Pos, wr.N, w.total)
			w.total = 0
			w.writes = nil
			w.replays = nil
			break
		}
		w.total += wr.N
		if wr.Src != wr.Pos {
			w.replays = append(w.replays, i)
		}
	}
	fi := func(id logstream.FileID) *fileInfo {
		f := w.files[id]
		if f == nil {
			f = &fileInfo{}
			w.files[id] = f
		}
		return f
	}
	for _, hl := range h.Holes {
		if w.holeEnds == nil {
			w.holeEnds = make(map[holeEnd]bool)
		}
		w.holeEnds[holeEnd{hl.File, hl.Off + hl.N}] = true
	}
	for _, ev := range h.Files {
		f := fi(ev.File)
		switch ev.Kind {
		case sim.FileCreated:
			if !f.hasCreat {
				f.created, f.hasCreat = ev.At, true
			}
		case sim.FileRenamed, sim.FileDeleted:
			if f.hasCreat && !f.hasLeft {
				f.left, f.hasLeft, f.deleted = ev.At, true, ev.Kind == sim.FileDeleted
			}
			if ev.Kind == sim.FileDeleted && !f.hasGone {
				f.gone, f.hasGone = ev.At, true
			}
		case sim.FileRemoved:
			if !f.hasGone {
				f.gone, f.hasGone = ev.At, true
			}
		case sim.FileTruncated:
			f.truncs = append(f.truncs, truncEvent{when: moment{ev.At, ev.Step}, size: ev.Size, kept: ev.NewSize, cause: ev.Cause})
			if ev.NewSize > 0 {
				var sum int64
				if n := len(w.kept); n > 0 {
					sum = w.kept[n-1].sum
				}
				w.kept = append(w.kept, keptSum{moment{ev.At, ev.Step}, sum + ev.NewSize})
			}
		case sim.FileCopied:
			f.copies = append(f.copies, copied{ev.At, ev.Copy})
		}
	}
	var f *fileInfo // the file of the previous write: writes come in runs
	for i, wr := range w.writes {
		if i == 0 || wr.File != w.writes[i-1].File {
			f = fi(wr.File)
		}
		if wr.AtPath && (!f.hasAtPath || wr.At.Before(f.firstAtPath)) {
			f.firstAtPath, f.hasAtPath = wr.At, true
		}
	}
	// next: the earliest first-write-at-path among files created at or
	// after f left, by a suffix minimum over files sorted by creation.
	var byCreat []*fileInfo
	for _, f := range w.files {
		sort.SliceStable(f.truncs, func(i, j int) bool { return f.truncs[i].when.before(f.truncs[j].when) })
		for i, t := range f.truncs {
			if i > 0 {
				f.truncs[i].sameHeadMax = f.truncs[i-1].sameHeadMax
			}
			if t.cause == FileCauseTruncateSameHead {
				f.truncs[i].sameHeadMax = max(f.truncs[i].sameHeadMax, t.size)
			}
		}
		sort.SliceStable(f.copies, func(i, j int) bool { return f.copies[i].at.Before(f.copies[j].at) })
		if f.hasCreat {
			byCreat = append(byCreat, f)
		}
	}
	w.sameRegrowth()
	sort.Slice(byCreat, func(i, j int) bool { return byCreat[i].created.Before(byCreat[j].created) })
	suffix := make([]time.Time, len(byCreat)+1)
	for i := len(byCreat) - 1; i >= 0; i-- {
		suffix[i] = suffix[i+1]
		if g := byCreat[i]; g.hasAtPath && (suffix[i].IsZero() || g.firstAtPath.Before(suffix[i])) {
			suffix[i] = g.firstAtPath
		}
	}
	for _, f := range byCreat {
		if !f.hasLeft {
			continue
		}
		// Files created at or after left; f itself was created before.
		i := sort.Search(len(byCreat), func(i int) bool { return !byCreat[i].created.Before(f.left) })
		if t := suffix[i]; !t.IsZero() {
			f.next, f.hasNext = t, true
		}
	}
	return w
}

// find returns the index of the write holding write position q.
func (w *world) find(q int64) int {
	return sort.Search(len(w.writes), func(i int) bool { return w.writes[i].Pos+w.writes[i].N > q })
}

// replay reports whether write position q holds a replay (a same-head
// regrow's bytes, Src != Pos).
func (w *world) replay(q int64) bool {
	if q < 0 || q >= w.total {
		return false
	}
	wr := w.writes[w.find(q)]
	return wr.Src != wr.Pos
}

// place maps content position s (with l bytes of run left, delivered at
// at) to a write position q at or after the pointer p if possible: the
// lowest candidate >= p, else the highest candidate < p. A replay written
// after at is no candidate: the receiver cannot have got bytes before they
// were written (a truncation's kept head read again is not a later
// same-head regrow of it). k is how many bytes from q on keep mapping
// consecutively (<= l). ok is false when s was never written.
func (w *world) place(s, l, p int64, at time.Time) (q, k int64, ok bool) {
	best, bestK := int64(-1), int64(0)
	consider := func(c, ck int64) {
		switch {
		case best < 0:
		case c >= p && (best < p || c < best):
		case c < p && best < p && c > best:
		default:
			return
		}
		best, bestK = c, ck
	}
	// The identity candidate: s itself, if the write there is not a replay.
	if s >= 0 && s < w.total {
		if i := w.find(s); w.writes[i].Src == w.writes[i].Pos {
			end := w.total
			j := sort.Search(len(w.replays), func(j int) bool { return w.writes[w.replays[j]].Pos > s })
			if j < len(w.replays) {
				end = w.writes[w.replays[j]].Pos
			}
			consider(s, min(l, end-s))
		}
	}
	// Replay candidates. Replays are few (regrown heads); scan them all.
	for _, i := range w.replays {
		r := w.writes[i]
		if s >= r.Src && s < r.Src+r.N && !r.At.After(at) {
			consider(r.Pos+s-r.Src, min(l, r.Src+r.N-s))
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	return best, bestK, true
}

// segment is a part of a hole with its cause ("" when unjustified).
type segment struct {
	from, to int64
	cause    faults.LossCause
}

type causeLimit struct {
	cause faults.LossCause
	limit int64 // bytes at file offsets below limit are justified
	low   int64 // ... and at or above low (a truncation's kept head is not)
}

// causes returns, in priority order, the inherent causes that can justify
// bytes of write wr, each for the file offsets below its limit.
// visible, when not zero, is when the hole became visible (a later byte was
// delivered): a truncate after it cannot have caused the hole.
func (w *world) causes(wr sim.Write, visible time.Time, dst []causeLimit) []causeLimit {
	dst = dst[:0]
	if !w.cutoff.IsZero() && wr.At.After(w.cutoff) {
		// Written after the stream ended: nothing but the end explains it.
		return dst
	}
	me := moment{wr.At, wr.Step}
	f := w.files[wr.File]
	if wr.Src != wr.Pos {
		dst = append(dst, causeLimit{faults.CauseSameHeadRegrow, maxOff, 0})
	}
	if f != nil && len(f.truncs) > 0 {
		// The first truncate not before the write removed its bytes.
		i := sort.Search(len(f.truncs), func(i int) bool { return !f.truncs[i].when.before(me) })
		if i < len(f.truncs) && (visible.IsZero() || !f.truncs[i].when.at.After(visible)) {
			t := f.truncs[i]
			if t.cause == FileCauseCopyTruncate {
				// Bytes written before the copy began are in the copy
				// (<name>.1): a correct tailer finishes from there.
				j := sort.Search(len(f.copies), func(j int) bool { return f.copies[j].at.After(t.when.at) }) - 1
				switch {
				case j >= 0 && !wr.At.Before(f.copies[j].at):
					dst = append(dst, causeLimit{faults.CauseCopyTruncateWindow, t.size, t.kept})
				case j >= 0 && w.copyGone(f.copies[j], t, wr):
					dst = append(dst, causeLimit{faults.CauseDeletedUnread, t.size, t.kept})
				case t.regrownSame:
					dst = append(dst, causeLimit{faults.CauseSameHeadRegrow, t.size, t.kept})
				}
			} else if w.unreadAt(wr.At, t.when.at) {
				// Written less than a poll before the truncate (plus a
				// poll per injected file error since): a tailer that
				// looked just before it did not see them.
				dst = append(dst, causeLimit{faults.CauseTruncatedUnread, t.size, t.kept})
			} else if lo, ok := w.pastReadAhead(t.when); ok {
				// Past what a sender holding ReadAhead bytes beyond the
				// target's acknowledgements can have read.
				base := wr.Pos - wr.FileOff
				dst = append(dst, causeLimit{faults.CauseTruncatedUnread, t.size, max(t.kept, lo-base)})
			}
		}
		// Same-head truncates before the write: a tailer whose read
		// offset was anywhere up to the size they cut cannot tell the
		// regrown file from the old one, so regrown bytes below that
		// size may be skipped.
		var limit int64
		if i > 0 {
			limit = f.truncs[i-1].sameHeadMax
		}
		if limit > 0 {
			dst = append(dst, causeLimit{faults.CauseSameHeadRegrow, limit, 0})
		}
	}
	if n := w.nulsAfterHole(wr); n > 0 {
		dst = append(dst, causeLimit{faults.CauseHoleBoundary, wr.FileOff + n, wr.FileOff})
	}
	if f != nil && w.hidden(f) {
		c := faults.CauseHiddenGeneration
		if f.deleted {
			c = faults.CauseDeletedUnread
		}
		dst = append(dst, causeLimit{c, maxOff, 0})
	}
	if !wr.AtPath && (f == nil || !f.hasCreat ||
		f.hasLeft && !wr.At.Before(f.left.Add(w.o.DrainWindow)) ||
		f.hasNext && !wr.At.Before(f.next)) {
		dst = append(dst, causeLimit{faults.CauseLateWriteAfterSwitch, maxOff, 0})
	}
	if w.trailing && !w.h.StopAt.IsZero() && !w.eof.IsZero() && wr.At.After(w.stopLimit()) {
		dst = append(dst, causeLimit{faults.CauseAfterDrainWindow, maxOff, 0})
	}
	return dst
}

// maxSameRegrowth bounds the copies sameRegrowth compares byte by byte (a
// longer copy is never taken for regrown alike).
const maxSameRegrowth = 4096

// sameRegrowth marks the copytruncates whose file started its next life
// with every byte the copy holds: the file's first Size bytes after the
// truncate (the writes to it until its next truncate) equal, by value, its
// first Size bytes before it. In random content that is a chance match of
// a copy a few bytes long.
func (w *world) sameRegrowth() {
	var byFile map[logstream.FileID][]int
	for _, f := range w.files {
		for i := range f.truncs {
			t := &f.truncs[i]
			if t.cause != FileCauseCopyTruncate || t.size <= 0 || t.size > maxSameRegrowth || t.kept > 0 {
				continue
			}
			if byFile == nil {
				byFile = make(map[logstream.FileID][]int)
				for k, wr := range w.writes {
					byFile[wr.File] = append(byFile[wr.File], k)
				}
			}
			var id logstream.FileID
			for fid, g := range w.files {
				if g == f {
					id = fid
				}
			}
			from, to := moment{}, moment{at: time.Unix(1<<40, 0)}
			if i > 0 {
				from = f.truncs[i-1].when
			}
			if i+1 < len(f.truncs) {
				to = f.truncs[i+1].when
			}
			before := w.lifeBytes(byFile[id], from, t.when, t.size)
			after := w.lifeBytes(byFile[id], t.when, to, t.size)
			t.regrownSame = before != nil && after != nil && string(before) == string(after)
		}
	}
}

// lifeBytes returns the first n bytes of a file as the writes ws (indices
// into w.writes) made them between the moments from and to, or nil if
// some byte below n was not written then.
func (w *world) lifeBytes(ws []int, from, to moment, n int64) []byte {
	buf := make([]byte, n)
	have := make([]bool, n)
	for _, k := range ws {
		wr := w.writes[k]
		m := moment{wr.At, wr.Step}
		if !from.before(m) || !m.before(to) || wr.FileOff >= n {
			continue
		}
		l := min(wr.N, n-wr.FileOff)
		sim.Content(w.h.Key, wr.Src, buf[wr.FileOff:wr.FileOff+l])
		for j := wr.FileOff; j < wr.FileOff+l; j++ {
			have[j] = true
		}
	}
	for _, h := range have {
		if !h {
			return nil
		}
	}
	return buf
}

// copied is a copytruncate's copy: when it began, and the copy's identity
// (zero if the record does not name it).
type copied struct {
	at time.Time
	id logstream.FileID
}

// copyGone reports whether the bytes of write wr, which truncate t removed
// from their file after copy c took them, were nowhere a correct tailer
// read them: in the file from the write to the truncate, then in the copy
// until it was removed (a rotation shifted it past its keep), they were
// visible from the write until the later of the truncate and the removal,
// and unreadAt says whether a tailer that looks every poll could have
// missed them all that while: for at most one poll (it looked just before
// the write and next a poll later), or longer only through a chain of
// failed looks (History.FSFaults) reaching from within a poll after the
// write to within a poll before the copy went.
func (w *world) copyGone(c copied, t truncEvent, wr sim.Write) bool {
	if c.id == (logstream.FileID{}) {
		return false
	}
	cf := w.files[c.id]
	if cf == nil || !cf.hasGone {
		return false
	}
	end := cf.gone
	if t.when.at.After(end) {
		end = t.when.at
	}
	return w.unreadAt(wr.At, end)
}

// nulsAfterHole returns how many leading bytes of write wr are NUL when wr
// starts where a hole ends (Observed.Holes): the writer wrote past the end
// of a truncated file, and the hole and those bytes read alike.
func (w *world) nulsAfterHole(wr sim.Write) int64 {
	if !w.holeEnds[holeEnd{wr.File, wr.FileOff}] || wr.N <= 0 {
		return 0
	}
	var buf [64]byte
	var n int64
	for n < wr.N {
		k := min(wr.N-n, int64(len(buf)))
		sim.Content(w.h.Key, wr.Src+n, buf[:k])
		for _, b := range buf[:k] {
			if b != 0 {
				return n
			}
			n++
		}
	}
	return n
}

// unreadAt reports whether a byte written at t may have been unread by a
// correct tailer when a truncate at at removed it (or, for a copytruncate's
// copy, when the later of the truncate and the copy's removal did). It looks at least every
// poll P, and reads everything there at its first look that succeeds; the
// looks it failed are the file operations the world failed
// (History.FSFaults). So the byte is unread at at only if t >= at - P, or
// a chain of failures e1 < ... < ek reaches from within P after t to
// within P before at, each within P of the last: t >= e1 - P.
func (w *world) unreadAt(t, at time.Time) bool {
	p := w.poll()
	if !t.Before(at.Add(-p)) {
		return true
	}
	start, ok := w.failedSince[at]
	if !ok {
		start = at
		ff := w.h.FSFaults
		i := sort.Search(len(ff), func(i int) bool { return !ff[i].At.Before(at) }) - 1
		for ; i >= 0 && !ff[i].At.Before(start.Add(-p)); i-- {
			start = ff[i].At
		}
		if w.failedSince == nil {
			w.failedSince = map[time.Time]time.Time{}
		}
		w.failedSince[at] = start
	}
	return !t.Before(start.Add(-p))
}

// pastReadAhead returns the lowest write position a truncation at m may
// take unread from the target being judged because of the read-ahead
// bound: a sender holds at most ReadAhead bytes past what the target
// acknowledged (TailOptions.ReadAhead: it reads a chunk while the bytes it
// holds and the chunk fit), so the bytes from the acknowledged end A
// (History's TargetLog.Acked before m) plus ReadAhead minus ChunkSize on
// may be unread when the target is slow. Stream offsets run ahead of write
// positions by the kept heads read again (truncations to a non-zero size
// before m), so the position is lowered by their sum. ok is false when the
// record has no acknowledgements (History.AckRecord).
func (w *world) pastReadAhead(m moment) (int64, bool) {
	if !w.h.AckRecord {
		return 0, false
	}
	var a int64
	if i := sort.Search(len(w.acked), func(i int) bool {
		return !(moment{w.acked[i].At, w.acked[i].Step}).before(m)
	}); i > 0 {
		a = w.acked[i-1].End
	}
	var kept int64
	if i := sort.Search(len(w.kept), func(i int) bool { return !w.kept[i].when.before(m) }); i > 0 {
		kept = w.kept[i-1].sum
	}
	return a + w.o.ReadAhead - int64(w.o.ChunkSize) - kept, true
}

// stopLimit returns the time after which writes after stop are no longer
// required: one PollInterval before the earlier of the EOF message and the
// end of the drain window (StopAt+DrainWindow). A tailer that last looked
// a poll before either may miss what came later; before that, reading is
// its job (with a backlog at stop, a correct streamer reads ahead while it
// sends).
func (w *world) stopLimit() time.Time {
	end := w.h.StopAt.Add(w.o.DrainWindow)
	if w.eof.Before(end) {
		end = w.eof
	}
	return end.Add(-w.poll())
}

// poll is PollInterval plus the record's jitter allowance (zero in
// simulation): the margin the byte rule gives a tailer's last look.
func (w *world) poll() time.Duration { return w.o.PollInterval + w.h.Jitter }

// hidden reports whether no correct tailer need ever have read f: it sat at
// the path for at most one PollInterval (polls at its creation and at its
// removal can come just before the one and just after the other), or
// longer only behind a chain of failed looks (unreadAt: rapid, open errors
// failing every look while a file sat at the path for 889 ms, poll
// 500 ms), and it no longer existed
// anywhere the streamer is told to look (deleted, or dropped as the oldest
// rotated sibling) before the EOF message went to the target (or at all, if
// none went). A file still at the path, or still under a rotated name when
// EOF was sent, is never hidden.
func (w *world) hidden(f *fileInfo) bool {
	if !f.hasCreat || !f.hasLeft || !f.hasGone || !w.unreadAt(f.created, f.left) {
		return false
	}
	return w.eof.IsZero() || !f.gone.After(w.eof)
}

// justify splits the hole [a,b), visible since visible (zero: a trailing
// hole), into segments by cause. Unjustified bytes get the cause "".
func (w *world) justify(a, b int64, visible time.Time, dst []segment) []segment {
	var cl []causeLimit
	add := func(from, to int64, c faults.LossCause) {
		if from >= to {
			return
		}
		if n := len(dst); n > 0 && dst[n-1].to == from && dst[n-1].cause == c {
			dst[n-1].to = to
			return
		}
		dst = append(dst, segment{from, to, c})
	}
	for i := w.find(a); i < len(w.writes) && w.writes[i].Pos < b; i++ {
		wr := w.writes[i]
		x, y := max(a, wr.Pos), min(b, wr.Pos+wr.N)
		cur, end := wr.FileOff+x-wr.Pos, wr.FileOff+y-wr.Pos
		base := wr.Pos - wr.FileOff // write position = base + file offset
		cl = w.causes(wr, visible, cl)
		for cur < end {
			// The first cause, in priority order, that covers cur; else
			// unjustified up to where the next cause begins.
			to, cause := end, faults.LossCause("")
			for _, c := range cl {
				if c.low <= cur && cur < c.limit {
					to, cause = min(c.limit, end), c.cause
					break
				}
				if c.low > cur && c.low < c.limit {
					to = min(to, c.low)
				}
			}
			add(base+cur, base+to, cause)
			cur = to
		}
	}
	return dst
}

// nextContent returns the lowest content position >= s that some write
// wrote (math.MaxInt64 if none).
func (w *world) nextContent(s int64) int64 {
	next := int64(maxOff)
	for i := w.find(max(s, 0)); i < len(w.writes); i++ {
		if wr := w.writes[i]; wr.Src == wr.Pos && wr.N > 0 {
			next = max(wr.Pos, s)
			break
		}
	}
	for _, i := range w.replays {
		if r := w.writes[i]; r.Src+r.N > s {
			next = min(next, max(r.Src, s))
		}
	}
	return next
}

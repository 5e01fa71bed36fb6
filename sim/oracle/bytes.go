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
	cause string
}

// fileInfo is what the history says about one file.
type fileInfo struct {
	created  time.Time // first FileCreated (zero: never at the path)
	hasCreat bool
	left     time.Time // first FileRenamed/FileDeleted after created
	hasLeft  bool
	deleted  bool // left by a delete
	truncs   []truncEvent

	// next is when the next file appeared at the path after this one left
	// (hasNext: one did).
	next    time.Time
	hasNext bool

	opened    bool
	restarts  []time.Time // TailOpened, TailTruncated, TailRegrown of this file
	rotated   time.Time   // first TailRotated with this file
	hasRotate bool
}

// restartBefore returns the last time at or before t the tailer started
// reading the file from 0 (zero if never).
func (f *fileInfo) restartBefore(t time.Time) time.Time {
	i := sort.Search(len(f.restarts), func(i int) bool { return f.restarts[i].After(t) })
	if i == 0 {
		return time.Time{}
	}
	return f.restarts[i-1]
}

// hold is an interval during which the tailer held a file open.
type hold struct {
	file     logstream.FileID
	from, to time.Time // to is the far future while still held
}

// world indexes a History for the byte rule.
type world struct {
	h       *sim.History
	writes  []sim.Write
	total   int64
	replays []int // indices of replay writes (Src != Pos), ascending
	files   map[logstream.FileID]*fileInfo
	holds   []hold
	checks  []time.Time
	// cutoff, when set, is the end of the stream whose trailing hole is
	// being justified: writes after it get no inherent cause.
	cutoff time.Time
	bad    string // why the write stream is malformed, if it is
	// external is set for a record with no tailer evidence at all (an
	// external subject reports no polls, opens or rotations): the hidden
	// generation and late-write causes then use spec-level bounds only.
	external bool
	// stint is, for external records, the shortest time a generation must
	// stay at the path for any poller to be bound to see it: one
	// PollInterval plus the record's jitter.
	stint time.Duration
}

func newWorld(h *sim.History) *world {
	w := &world{h: h, writes: h.Writes, files: make(map[logstream.FileID]*fileInfo), checks: h.Checks}
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
	if !sort.SliceIsSorted(w.checks, func(i, j int) bool { return w.checks[i].Before(w.checks[j]) }) {
		w.checks = append([]time.Time(nil), w.checks...)
		sort.Slice(w.checks, func(i, j int) bool { return w.checks[i].Before(w.checks[j]) })
	}
	fi := func(id logstream.FileID) *fileInfo {
		f := w.files[id]
		if f == nil {
			f = &fileInfo{}
			w.files[id] = f
		}
		return f
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
		case sim.FileTruncated:
			f.truncs = append(f.truncs, truncEvent{moment{ev.At, ev.Step}, ev.Size, ev.Cause})
		}
	}
	for _, f := range w.files {
		sort.SliceStable(f.truncs, func(i, j int) bool { return f.truncs[i].when.before(f.truncs[j].when) })
	}
	w.external = len(h.Tail) == 0 && len(h.Checks) == 0
	if w.external {
		poll := h.Params.Tail.PollInterval
		if o, err := h.Params.Tail.Normalize(); err == nil {
			poll = o.PollInterval
		}
		w.stint = poll + h.Jitter
		for _, f := range w.files {
			if !f.hasLeft {
				continue
			}
			for _, ev := range h.Files {
				if ev.Kind == sim.FileCreated && !ev.At.Before(f.left) {
					f.next, f.hasNext = ev.At, true
					break
				}
			}
		}
	}
	far := time.Unix(1<<62, 0)
	open := -1
	for _, ev := range h.Tail {
		switch ev.Kind {
		case logstream.TailTruncated, logstream.TailRegrown:
			f := fi(ev.File)
			f.restarts = append(f.restarts, ev.At)
		case logstream.TailOpened:
			fi(ev.File).opened = true
			f := fi(ev.File)
			f.restarts = append(f.restarts, ev.At)
			if open >= 0 {
				w.holds[open].to = ev.At
			}
			w.holds = append(w.holds, hold{file: ev.File, from: ev.At, to: far})
			open = len(w.holds) - 1
		case logstream.TailCapped:
			// Past this point the tailer reads no more of the old file:
			// later writes to it count as after the switch.
			if f := fi(ev.File); !f.hasRotate {
				f.rotated, f.hasRotate = ev.At, true
			}
		case logstream.TailRotated, logstream.TailEnd:
			if ev.Kind == logstream.TailRotated {
				if f := fi(ev.File); !f.hasRotate {
					f.rotated, f.hasRotate = ev.At, true
				}
			}
			if open >= 0 {
				w.holds[open].to = ev.At
				open = -1
			}
		}
	}
	return w
}

// find returns the index of the write holding write position q.
func (w *world) find(q int64) int {
	return sort.Search(len(w.writes), func(i int) bool { return w.writes[i].Pos+w.writes[i].N > q })
}

// place maps content position s (with l bytes of run left) to a write
// position q at or after the pointer p if possible: the lowest candidate >= p,
// else the highest candidate < p. k is how many bytes from q on keep mapping
// consecutively (<= l). ok is false when s was never written.
func (w *world) place(s, l, p int64) (q, k int64, ok bool) {
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
		if s >= r.Src && s < r.Src+r.N {
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
		dst = append(dst, causeLimit{faults.CauseSameHeadRegrow, maxOff})
	}
	if f != nil && len(f.truncs) > 0 {
		// (a) the first truncate not before the write removed its bytes.
		i := sort.Search(len(f.truncs), func(i int) bool { return !f.truncs[i].when.before(me) })
		if i < len(f.truncs) && (visible.IsZero() || !f.truncs[i].when.at.After(visible)) {
			t := f.truncs[i]
			c := faults.CauseTruncatedUnread
			if t.cause == FileCauseCopyTruncate {
				c = faults.CauseCopyTruncateWindow
			}
			dst = append(dst, causeLimit{c, t.size})
		}
		// (c) same-head truncates since the tailer last started reading F
		// from 0: it may still read at an offset up to the largest size
		// one of them cut (later truncates it did not see leave that offset
		// as it was), so the regrown bytes below it are skipped.
		since := f.restartBefore(wr.At)
		var limit int64
		for j := sort.Search(len(f.truncs), func(i int) bool { return me.before(f.truncs[i].when) }) - 1; j >= 0 && !f.truncs[j].when.at.Before(since); j-- {
			if f.truncs[j].cause == FileCauseTruncateSameHead {
				limit = max(limit, f.truncs[j].size)
			}
		}
		if limit > 0 {
			dst = append(dst, causeLimit{faults.CauseSameHeadRegrow, limit})
		}
	}
	if f != nil && w.hidden(f) {
		c := faults.CauseHiddenGeneration
		if f.deleted {
			c = faults.CauseDeletedUnread
		}
		dst = append(dst, causeLimit{c, maxOff})
	}
	if w.external {
		// Spec level: a correct tailer keeps reading a renamed file until
		// the next file appears at the path; bytes it gets later may be
		// after its switch.
		if !wr.AtPath && f != nil && f.hasNext && !wr.At.Before(f.next) {
			dst = append(dst, causeLimit{faults.CauseLateWriteAfterSwitch, maxOff})
		}
	} else if !wr.AtPath && (f == nil || !f.opened || f.hasRotate && !f.rotated.After(wr.At)) {
		dst = append(dst, causeLimit{faults.CauseLateWriteAfterSwitch, maxOff})
	}
	if !w.h.StopAt.IsZero() && !wr.At.Before(w.h.StopAt) {
		dst = append(dst, causeLimit{faults.CauseAfterDrainWindow, maxOff})
	}
	return dst
}

// hidden reports whether f was at the path, never opened, left it, and no
// tailer could have opened it meanwhile: no check in (created, left), or the
// tailer held another file from before created until left or later.
func (w *world) hidden(f *fileInfo) bool {
	if f.opened || !f.hasCreat || !f.hasLeft {
		return false
	}
	if w.external {
		// Spec level: a poller looks at the path at least once per
		// PollInterval, so only a shorter stint can go unseen.
		return f.left.Sub(f.created) < w.stint
	}
	// Every check during the stint must have come while the tailer still
	// held an older file (it drains that one before it opens the path): a
	// failed open leaves no check, and a stint without checks is hidden.
	for i := sort.Search(len(w.checks), func(i int) bool { return w.checks[i].After(f.created) }); i < len(w.checks) && w.checks[i].Before(f.left); i++ {
		if !w.heldOlder(w.checks[i], f.created) {
			return false
		}
	}
	return true
}

// heldOlder reports whether at time c the tailer held a file it had opened
// before created.
func (w *world) heldOlder(c, created time.Time) bool {
	j := sort.Search(len(w.holds), func(j int) bool { return w.holds[j].from.After(c) }) - 1
	return j >= 0 && !w.holds[j].from.After(created) && !w.holds[j].to.Before(c)
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
		for _, c := range cl {
			if cur >= end {
				break
			}
			if c.limit > cur {
				to := min(c.limit, end)
				add(base+cur, base+to, c.cause)
				cur = to
			}
		}
		add(base+cur, base+end, "")
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

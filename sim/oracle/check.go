package oracle

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// Check applies every rule of the package documentation to h and returns the
// verdict. It does not modify h. A nil h gives an empty, passing report.
func Check(h *sim.History) *Report {
	r := &Report{}
	if h == nil {
		return r
	}
	h, orig := inFileOrder(h)
	c := &checker{h: h, r: r, orig: orig}
	c.w = newWorld(h, c.opts())
	c.horizon = horizon(h)
	c.maxDelay = maxDelay(h)
	for _, ev := range h.Files {
		if ev.Kind == sim.FileTruncated && ev.NewSize > 0 {
			c.keptHeads = append(c.keptHeads, keptHead{ev.File, ev.At, ev.NewSize})
		}
	}
	if c.w.bad != "" {
		c.violate(Violation{Property: PropHistory, Detail: c.w.bad})
	}
	if h.Livelock != "" {
		c.violate(Violation{Property: PropLivelock, Step: h.Steps, At: c.rel(h.LastEvent), Detail: h.Livelock})
	}
	seen := make(map[string]bool, len(h.Targets))
	for _, t := range h.Targets {
		if t == nil {
			continue
		}
		seen[t.Name] = true
		c.target(t)
	}
	if !h.SenderEnd.IsZero() {
		for _, tr := range h.Result.Targets {
			if seen[tr.Target] {
				continue
			}
			r.Targets = append(r.Targets, TargetSummary{Target: tr.Target, Written: c.w.total, Sender: tr.RC})
			if tr.RC == logstream.OK {
				c.violate(Violation{Property: PropAgreement, Target: tr.Target, Step: h.Steps,
					At: c.rel(h.SenderEnd), Detail: "sender result OK for a target whose receiver has no log"})
			}
		}
	}
	c.termination()
	sort.SliceStable(r.Violations, func(i, j int) bool {
		a, b := r.Violations[i], r.Violations[j]
		if a.At != b.At {
			return a.At < b.At
		}
		return a.Step < b.Step
	})
	return r
}

type checker struct {
	h        *sim.History
	r        *Report
	w        *world
	horizon  time.Time
	maxDelay time.Duration
	segs     []segment
	netBy    map[string][]sim.NetEvent
	costs    map[string][]cost
	// orig is the original content position of each write (nil: its
	// Src), see inFileOrder.
	orig []int64
	// keptHeads are the truncations to a non-zero size, in record order.
	keptHeads []keptHead
	// tail is the run's tail options with defaults filled in (see opts).
	tail *logstream.TailOptions
	// windows are each target's fault windows, see windowsFor.
	windows map[string][]faults.Fault
	// holeSums and keptSums are running sums for holeBytes: the holes
	// (Observed.Holes) and the kept heads sorted by time, each with the
	// bytes up to and including it.
	holeSums, keptSums []timedSum
}

// timedSum is a time with a running total of bytes up to it.
type timedSum struct {
	at  time.Time
	sum int64
}

func (c *checker) violate(v Violation) { c.r.Violations = append(c.r.Violations, v) }

// rel returns t relative to the start of the run.
func (c *checker) rel(t time.Time) time.Duration { return t.Sub(c.h.Start) }

// horizon returns the latest time the history mentions: a lower bound of how
// far the run went.
func horizon(h *sim.History) time.Time {
	if !h.End.IsZero() {
		return h.End // the simulator observed everything up to End
	}
	end := h.Start
	see := func(t time.Time) {
		if t.After(end) {
			end = t
		}
	}
	for _, w := range h.Writes {
		see(w.At)
	}
	for _, e := range h.Files {
		see(e.At)
	}
	for _, e := range h.FSFaults {
		see(e.At)
	}
	see(h.StopAt)
	see(h.AbortAt)
	see(h.CrashAt)
	see(h.SenderEnd)
	for _, t := range h.Targets {
		if t == nil {
			continue
		}
		see(t.Created)
		see(t.Registered)
		see(t.Shutdown)
		for _, r := range t.Runs {
			see(r.At)
		}
		for _, a := range t.Arrivals {
			see(a)
		}
		for _, d := range t.Done {
			see(d.At)
		}
	}
	for _, e := range h.Net {
		see(e.At)
	}
	for _, f := range h.Faults {
		see(h.Start.Add(f.At))
	}
	return end
}

func maxDelay(h *sim.History) time.Duration {
	d := h.MaxDelay
	for _, e := range h.Net {
		d = max(d, e.Delay)
	}
	return d
}

// sameBytes returns how many of the k bytes of content from src equal the
// bytes W holds from write position p on (within p's write): 0 when the
// first differs, as it does for all but 1 in 256 misplaced pieces.
func (c *checker) sameBytes(src, p, k int64) int64 {
	w := c.w
	if p >= w.total || k <= 0 {
		return 0
	}
	i := w.find(p)
	wr := w.writes[i]
	want := c.content(i) + p - wr.Pos
	k = min(k, wr.Pos+wr.N-p)
	if src < 0 || src >= w.total {
		return 0
	}
	// src is a content position in W's numbering: the fresh write at
	// position src holds it.
	j := w.find(src)
	from := c.content(j) + src - w.writes[j].Pos
	k = min(k, w.writes[j].Pos+w.writes[j].N-src)
	var buf [256]byte
	var m int64
	for m < k {
		n := min(k-m, int64(len(buf)))
		sim.Content(c.h.Key, from+m, buf[:n])
		got := int64(sim.MatchLen(c.h.Key, want+m, buf[:n]))
		m += got
		if got < n {
			break
		}
	}
	return m
}

// continues reports whether what the receiver got after a piece taken by
// value (the rest of run ri from content src, l bytes, else the next run)
// goes on at write position p: only then is the piece's value the
// explanation (a chance match inside a gap explains nothing).
func (c *checker) continues(t *sim.TargetLog, ri int, src, l, p int64) bool {
	at := t.Runs[ri].At
	if l <= 0 {
		if ri+1 >= len(t.Runs) {
			return p == c.w.total
		}
		src, l, at = t.Runs[ri+1].Src, t.Runs[ri+1].Len, t.Runs[ri+1].At
		if src < 0 {
			return false
		}
	}
	q, _, ok := c.w.place(src, l, p, at)
	return ok && q == p
}

// keptHeadByValue reports whether the n bytes of content from src, which
// a same-head regrow's replay holds too, are a kept head read again by
// value: their first writes (at src, not replays) are bytes of a kept
// head that reread excuses, within the budget left in used (taken from it
// if so). A replay holds the same bytes as the writes it repeats, so a
// streamer that read a kept head again after a truncate-to (rule 1b), and
// delivered it after a later same-head regrow wrote the replay, delivers
// bytes the mapping would otherwise take for the replay (swarm seeds 713
// and 9244 of the files mix: the replay taken first left a hole before
// it, or made the replay itself, read later, a duplicate).
func (c *checker) keptHeadByValue(used []int64, src, n int64, at time.Time) bool {
	w := c.w
	if len(c.keptHeads) == 0 || src < 0 || n <= 0 || src+n > w.total {
		return false
	}
	for x := src; x < src+n; {
		wr := w.writes[w.find(x)]
		if wr.Src != wr.Pos {
			return false
		}
		x = wr.Pos + wr.N
	}
	u := slices.Clone(used)
	if len(c.reread(u, src, src+n, at)) > 0 {
		return false
	}
	copy(used, u)
	return true
}

// nulContent reports whether the n bytes of content from src (a content
// position in W's numbering) are all NUL.
func (c *checker) nulContent(src, n int64) bool {
	w := c.w
	if src < 0 || src+n > w.total || n <= 0 {
		return false
	}
	var buf [64]byte
	for n > 0 {
		j := w.find(src)
		from := c.content(j) + src - w.writes[j].Pos
		k := min(n, int64(len(buf)), w.writes[j].Pos+w.writes[j].N-src)
		sim.Content(c.h.Key, from, buf[:k])
		for _, b := range buf[:k] {
			if b != 0 {
				return false
			}
		}
		src, n = src+k, n-k
	}
	return true
}

// content returns the original content position of write i's first byte.
func (c *checker) content(i int) int64 {
	if c.orig != nil {
		return c.orig[i]
	}
	return c.w.writes[i].Src
}

// holeBytes returns how many NUL bytes a correct streamer can have read
// from holes by at: the holes the world made at or before at
// (Observed.Holes), each once, plus the head each truncation to a non-zero
// size kept (read again from 0, it may hold a hole's NULs).
func (c *checker) holeBytes(at time.Time) int64 {
	if c.holeSums == nil {
		// Holes are recorded in time order, so the holes made by at are a
		// prefix of them (as a record out of order would be read too: up
		// to the first hole after at).
		c.holeSums = make([]timedSum, 0, len(c.h.Holes))
		var n int64
		latest := time.Time{}
		for _, hl := range c.h.Holes {
			n += hl.N
			if hl.At.After(latest) {
				latest = hl.At
			}
			c.holeSums = append(c.holeSums, timedSum{latest, n})
		}
		c.keptSums = make([]timedSum, 0, len(c.keptHeads))
		for _, k := range c.keptHeads {
			c.keptSums = append(c.keptSums, timedSum{k.at, k.size})
		}
		sort.SliceStable(c.keptSums, func(i, j int) bool { return c.keptSums[i].at.Before(c.keptSums[j].at) })
		for i := 1; i < len(c.keptSums); i++ {
			c.keptSums[i].sum += c.keptSums[i-1].sum
		}
	}
	// upTo is the running sum of the last entry not after at.
	upTo := func(s []timedSum) int64 {
		i := sort.Search(len(s), func(i int) bool { return s[i].at.After(at) })
		if i == 0 {
			return 0
		}
		return s[i-1].sum
	}
	return upTo(c.holeSums) + upTo(c.keptSums)
}

// keptHead is a truncation of a file to a non-zero size: the head it kept.
type keptHead struct {
	file logstream.FileID
	at   time.Time
	size int64
}

// reread returns the parts of the duplicate [q,e), delivered at at, that
// no truncation to a non-zero size explains. A truncation of file F to N
// bytes at time T makes a streamer that follows the spec (size below the
// offset: reopen from 0) read F's kept head [0,N) again: bytes of F at file
// offsets below N written before T, delivered at or after T, each
// truncation's N bytes at most once (used counts them per truncation).
func (c *checker) reread(used []int64, q, e int64, at time.Time) [][2]int64 {
	w := c.w
	var bad [][2]int64
	addBad := func(x, y int64) {
		if n := len(bad); n > 0 && bad[n-1][1] == x {
			bad[n-1][1] = y
			return
		}
		bad = append(bad, [2]int64{x, y})
	}
	for i := w.find(q); i < len(w.writes) && w.writes[i].Pos < e; i++ {
		wr := w.writes[i]
		x, y := max(q, wr.Pos), min(e, wr.Pos+wr.N)
		for j, k := range c.keptHeads {
			if x >= y {
				break
			}
			fo := wr.FileOff + x - wr.Pos
			if k.file != wr.File || k.at.After(at) || !wr.At.Before(k.at) || fo >= k.size || used[j] >= k.size {
				continue
			}
			n := min(y-x, k.size-fo, k.size-used[j])
			used[j] += n
			x += n
		}
		if x < y {
			addBad(x, y)
		}
	}
	return bad
}

// target applies every per-target rule to t.
func (c *checker) target(t *sim.TargetLog) {
	s := TargetSummary{Target: t.Name, Written: c.w.total, Dones: len(t.Done)}
	var done *sim.Done
	if len(t.Done) > 0 {
		done = &t.Done[0]
		s.Done, s.DoneAt = done.RC, c.rel(done.At)
	}
	sender, hasSender := logstream.TargetResult{}, false
	if !c.h.SenderEnd.IsZero() {
		sender, hasSender = c.h.Result.Target(t.Name)
		s.Sender = sender.RC
	}
	c.bytes(t, done, &s)
	c.doneOnce(t)
	if done != nil {
		c.doneRC(t, done)
		if done.RC == logstream.Timeout {
			c.liveness(t, done)
		}
	}
	c.agreement(t, done, sender, hasSender)
	if hasSender {
		c.cause(t, sender)
	}
	c.heartbeats(t, done)
	c.crashDetection(t, done)
	c.r.Targets = append(c.r.Targets, s)
}

// bytes walks t's runs against the write stream (rule 1).
func (c *checker) bytes(t *sim.TargetLog, done *sim.Done, s *TargetSummary) {
	w := c.w
	var p int64
	var holes [][2]int64                    // unfilled ranges passed over, ascending
	var nulUsed int64                       // hole bytes (NUL) delivered so far
	used := make([]int64, len(c.keptHeads)) // kept-head bytes re-delivered, per truncate-to
	prevEnd := int64(-1)                    // write position after the last piece placed
	for ri, run := range t.Runs {
		at := c.rel(run.At)
		if run.Src < 0 && run.NUL {
			// A sparse file's hole reads as NUL bytes: a streamer that
			// streams the file's bytes delivers them. Excused up to the
			// length of the holes the world made by then, each once.
			if ok := c.holeBytes(run.At) - nulUsed; ok > 0 {
				k := min(ok, run.Len)
				nulUsed += k
				run.Len -= k
				run.Off += k
			}
			if run.Len == 0 {
				continue
			}
		}
		if run.Src < 0 {
			s.Extra += run.Len
			c.violate(Violation{Property: PropBytes, Target: t.Name, Step: run.Step, At: at,
				From: p, To: p, Ranged: true, Off: run.Off, Callback: "chunk",
				Detail: fmt.Sprintf("invented: %d bytes that are no written content", run.Len)})
			continue
		}
		src, off, l := run.Src, run.Off, run.Len
		for l > 0 {
			q, k, ok := w.place(src, l, p, run.At)
			if ok && q >= p && w.replay(q) && !c.continues(t, ri, src+k, l-k, q+k) && c.keptHeadByValue(used, src, k, run.At) {
				// The piece is a same-head regrow's replay or, by value,
				// a kept head read again (rule 1b). When what follows
				// it does not go on after the replay, the latter, within
				// its bound: a replay skipped is a loss the regrow
				// excuses, and one delivered later is placed then.
				prevEnd = src + k
				src, off, l = src+k, off+k, l-k
				continue
			}
			if ok && q != p {
				// Bytes are judged by value: a piece whose bytes equal W's
				// next bytes is those bytes, whichever content the decoder
				// read into it (a chance match at a run boundary).
				if m := c.sameBytes(src, p, k); m > 0 && c.continues(t, ri, src+m, l-m, p+m) {
					q, k = p, m
				}
			}
			if !ok {
				// Invented up to the next content position ever written.
				k = min(l, w.nextContent(src)-src)
				s.Extra += k
				c.violate(Violation{Property: PropBytes, Target: t.Name, Step: run.Step, At: at,
					From: p, To: p, Ranged: true, Off: off, Callback: "chunk",
					Detail: fmt.Sprintf("invented: %d bytes of content [%d,%d) that was never written", k, src, src+k)})
			} else {
				if q > p {
					c.hole(t, p, q, run.Step, run.At, off, false, false, s)
					holes = append(holes, [2]int64{p, q})
				}
				if q < p {
					e := min(q+k, p)
					u := slices.Clone(used)
					if overlaps(holes, q, e) && len(c.reread(u, q, e, run.At)) == 0 {
						// A kept head read again (rule 1b) that holds
						// bytes passed over before (a same-head regrow's
						// replay the tailer could not tell, swarm seed
						// 4542 of the files mix): the spec reads [0,N)
						// again whether or not they were delivered.
						copy(used, u)
					} else if overlaps(holes, q, e) {
						s.Extra += e - q
						c.violate(Violation{Property: PropBytes, Target: t.Name, Step: run.Step, At: at,
							From: q, To: e, Ranged: true, Off: off, Callback: "chunk",
							Detail: fmt.Sprintf("reordered: %d bytes delivered again or out of order (expected write position %d)", e-q, p)})
					} else {
						for _, d := range c.reread(used, q, e, run.At) {
							if n := d[1] - d[0]; d[1] == q+k && c.sameBytes(src+d[0]-q, p, n) == n && c.continues(t, ri, src+k, l-k, p+n) {
								// The piece's last bytes equal W's next
								// ones, and the delivery goes on after
								// them: those bytes (a chance match at
								// the end of a kept head read again).
								s.Delivered += n
								p += n
								continue
							}
							if n := d[1] - d[0]; d[0] == q && prevEnd >= 0 && prevEnd+n <= p && c.sameBytes(src, prevEnd, n) == n {
								// The piece's first bytes equal those
								// after the previous piece: if they
								// are a kept head read again, they are
								// those bytes (a chance match at the
								// start of a piece).
								if u := slices.Clone(used); len(c.reread(u, prevEnd, prevEnd+n, run.At)) == 0 {
									copy(used, u)
									continue
								}
							}
							if n := d[1] - d[0]; c.nulContent(src+d[0]-q, n) && c.holeBytes(run.At)-nulUsed >= n {
								// NUL bytes the decoder read as content
								// that is NUL too: by value, a hole's
								// (rule 1a), within its bound.
								nulUsed += n
								continue
							}
							s.Extra += d[1] - d[0]
							c.violate(Violation{Property: PropBytes, Target: t.Name, Step: run.Step, At: at,
								From: d[0], To: d[1], Ranged: true, Off: off + d[0] - q, Callback: "chunk",
								Detail: fmt.Sprintf("duplicated: %d bytes delivered again or out of order (expected write position %d)", d[1]-d[0], p)})
						}
					}
				}
				if q+k > p {
					s.Delivered += q + k - max(q, p)
					p = q + k
				}
			}
			if ok {
				prevEnd = q + k
			}
			src, off, l = src+k, off+k, l-k
		}
	}
	if p >= w.total {
		return
	}
	ok := done != nil && done.RC == logstream.OK
	step, at := c.h.Steps, c.horizon
	if done != nil {
		step, at = done.Step, done.At
	}
	c.hole(t, p, w.total, step, at, deliveredEnd(t), true, !ok, s)
}

// deliveredEnd is the receiver offset just past the last delivered byte.
func deliveredEnd(t *sim.TargetLog) int64 {
	if n := len(t.Runs); n > 0 {
		return t.Runs[n-1].Off + t.Runs[n-1].Len
	}
	return 0
}

func overlaps(holes [][2]int64, a, b int64) bool {
	i := sort.Search(len(holes), func(i int) bool { return holes[i][1] > a })
	return i < len(holes) && holes[i][0] < b
}

// hole judges the undelivered range [a,b), seen at step and when: each part
// needs an inherent cause; when ended (a trailing hole of a stream that did
// not end OK), parts without one are CauseStreamEnded losses instead of
// violations. off is the receiver offset where the hole shows.
func (c *checker) hole(t *sim.TargetLog, a, b, step int64, when time.Time, off int64, trailing, ended bool, s *TargetSummary) {
	visible, at := when, c.rel(when)
	if trailing && !ended {
		visible = time.Time{}
	}
	// A stream that ended early names what it missed after its end
	// stream-ended: only faults up to the end can explain its holes.
	if trailing && ended {
		c.w.cutoff = when
	}
	c.w.eof, c.w.trailing, c.w.acked = t.EOFSent, trailing, t.Acked
	c.segs = c.w.justify(a, b, visible, c.segs[:0])
	c.w.cutoff, c.w.eof, c.w.trailing, c.w.acked = time.Time{}, time.Time{}, false, nil
	gaveUp := trailing && !ended && c.gaveUp(t)
	for _, sg := range c.segs {
		n := sg.to - sg.from
		if sg.cause == "" && gaveUp {
			sg.cause = CauseGaveUp
		}
		if sg.cause == "" && !ended {
			s.Missing += n
			c.violate(Violation{Property: PropBytes, Target: t.Name, Step: step, At: at,
				From: sg.from, To: sg.to, Ranged: true, Off: off,
				Detail: fmt.Sprintf("lost: %d bytes never delivered and no inherent cause (%s)", n, c.writeNote(sg.from))})
			continue
		}
		cause := sg.cause
		if cause == "" {
			cause = CauseStreamEnded
		}
		s.Lost += n
		ls := c.r.Losses
		if k := len(ls); k > 0 && ls[k-1].Target == t.Name && ls[k-1].To == sg.from && ls[k-1].Cause == cause {
			ls[k-1].To = sg.to
			continue
		}
		c.r.Losses = append(c.r.Losses, Loss{Target: t.Name, From: sg.from, To: sg.to, Cause: cause})
	}
}

// gaveUp reports whether the world made the file unreadable for longer
// than the retry budget allows before t's EOF: an injected file-system error
// at or after StopAt+DrainWindow (when a correct tailer may give up) that
// was the (RetryLimit+1)-th in a row.
func (c *checker) gaveUp(t *sim.TargetLog) bool {
	h, o := c.h, c.opts()
	if h.StopAt.IsZero() {
		return false
	}
	from := h.StopAt.Add(o.DrainWindow)
	for _, f := range h.FSFaults {
		if f.Run > o.RetryLimit && !f.At.Before(from) && (t.EOFSent.IsZero() || !f.At.After(t.EOFSent)) {
			return true
		}
	}
	return false
}

// writeNote describes the write holding write position q.
func (c *checker) writeNote(q int64) string {
	i := c.w.find(q)
	if i >= len(c.w.writes) {
		return "no such write"
	}
	wr := c.w.writes[i]
	where := "at the path"
	if !wr.AtPath {
		where = "off the path"
	}
	return fmt.Sprintf("written at step %d at %v to file %v offset %d, %s",
		wr.Step, c.rel(wr.At), wr.File, wr.FileOff+q-wr.Pos, where)
}

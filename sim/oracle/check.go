package oracle

import (
	"fmt"
	"sort"
	"time"

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
	h = inFileOrder(h)
	c := &checker{h: h, r: r}
	c.w = newWorld(h, c.opts())
	c.horizon = horizon(h)
	c.maxDelay = maxDelay(h)
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
	var holes [][2]int64 // unfilled ranges passed over, ascending
	for _, run := range t.Runs {
		at := c.rel(run.At)
		if run.Src < 0 {
			s.Extra += run.Len
			c.violate(Violation{Property: PropBytes, Target: t.Name, Step: run.Step, At: at,
				From: p, To: p, Ranged: true, Off: run.Off, Callback: "chunk",
				Detail: fmt.Sprintf("invented: %d bytes that are no written content", run.Len)})
			continue
		}
		src, off, l := run.Src, run.Off, run.Len
		for l > 0 {
			q, k, ok := w.place(src, l, p)
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
					what := "duplicated"
					if overlaps(holes, q, e) {
						what = "reordered"
					}
					s.Extra += e - q
					c.violate(Violation{Property: PropBytes, Target: t.Name, Step: run.Step, At: at,
						From: q, To: e, Ranged: true, Off: off, Callback: "chunk",
						Detail: fmt.Sprintf("%s: %d bytes delivered again or out of order (expected write position %d)", what, e-q, p)})
				}
				if q+k > p {
					s.Delivered += q + k - max(q, p)
					p = q + k
				}
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
	c.w.eof, c.w.trailing = t.EOFSent, trailing
	c.segs = c.w.justify(a, b, visible, c.segs[:0])
	c.w.cutoff, c.w.eof, c.w.trailing = time.Time{}, time.Time{}, false
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

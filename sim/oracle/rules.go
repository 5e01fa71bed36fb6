package oracle

import (
	"fmt"
	"sort"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// Slack is the tolerance on deadlines the simulator meets exactly (watchdog
// firing, done after shutdown).
const Slack = time.Millisecond

// slack is Slack plus the record's jitter allowance (History.Jitter: zero in
// simulation, the harness's allowance for a real-time run).
func (c *checker) slack() time.Duration { return Slack + c.h.Jitter }

// opts returns the run's tail options with defaults filled in (normalized
// once: the rules ask for them per event).
func (c *checker) opts() logstream.TailOptions {
	if c.tail == nil {
		o, err := c.h.Params.Tail.Normalize()
		if err != nil {
			o = c.h.Params.Tail
		}
		c.tail = &o
	}
	return *c.tail
}

// net returns the network events that concern target name: its own, then
// those for every target.
func (c *checker) net(name string) [2][]sim.NetEvent {
	if c.netBy == nil {
		c.netBy = make(map[string][]sim.NetEvent)
		for _, e := range c.h.Net {
			c.netBy[e.Target] = append(c.netBy[e.Target], e)
		}
	}
	if name == "" {
		return [2][]sim.NetEvent{c.netBy[""], nil}
	}
	return [2][]sim.NetEvent{c.netBy[name], c.netBy[""]}
}

// lastArrival returns the latest of t.Created and t's arrivals not after lim.
func lastArrival(t *sim.TargetLog, lim time.Time) time.Time {
	last := t.Created
	for _, a := range t.Arrivals {
		if a.After(last) && !a.After(lim) {
			last = a
		}
	}
	return last
}

// stepAt returns the largest step of a recorded event at or before at, for
// violations about a moment no single record names.
func (c *checker) stepAt(at time.Time) int64 {
	var s int64
	see := func(t time.Time, step int64) {
		if !t.After(at) && step > s {
			s = step
		}
	}
	for _, w := range c.h.Writes {
		see(w.At, w.Step)
	}
	for _, e := range c.h.Files {
		see(e.At, e.Step)
	}
	for _, e := range c.h.Net {
		see(e.At, e.Step)
	}
	for _, t := range c.h.Targets {
		if t == nil {
			continue
		}
		for _, d := range t.Done {
			see(d.At, d.Step)
		}
		for _, r := range t.Runs {
			see(r.At, r.Step)
		}
	}
	return s
}

// doneOnce checks rule 2.
func (c *checker) doneOnce(t *sim.TargetLog) {
	h := c.h
	switch {
	case t.Created.IsZero() && len(t.Done) > 0:
		d := t.Done[0]
		c.violate(Violation{Property: PropDoneOnce, Target: t.Name, Step: d.Step, At: c.rel(d.At), Callback: "done",
			Detail: fmt.Sprintf("done %s for a stream that was never created", d.RC)})
	case len(t.Done) > 1:
		d := t.Done[1]
		c.violate(Violation{Property: PropDoneOnce, Target: t.Name, Step: d.Step, At: c.rel(d.At), Callback: "done",
			Detail: fmt.Sprintf("done called %d times (first %s at %v, then %s)", len(t.Done), t.Done[0].RC, c.rel(t.Done[0].At), d.RC)})
	case !t.Created.IsZero() && len(t.Done) == 0:
		due, why := time.Time{}, ""
		consider := func(at time.Time, w string) {
			if !at.IsZero() && (due.IsZero() || at.Before(due)) {
				due, why = at, w
			}
		}
		consider(t.Shutdown, "receiver shut down")
		for _, es := range c.net(t.Name) {
			for _, e := range es {
				if e.Kind == sim.NetDeliver && e.Msg == logstream.KindAbort {
					consider(e.At, "abort delivered")
				}
			}
		}
		if !h.SenderEnd.IsZero() {
			if tr, ok := h.Result.Target(t.Name); ok && tr.RC == logstream.OK {
				consider(h.SenderEnd, "sender result OK")
			}
		}
		if idle := h.Params.IdleTimeout; idle > 0 {
			consider(lastArrival(t, c.horizon).Add(idle), "idle timeout due")
		}
		if !due.IsZero() && c.horizon.After(due.Add(c.slack())) {
			c.violate(Violation{Property: PropDoneOnce, Target: t.Name, Step: h.Steps, At: c.rel(due), Callback: "done",
				Detail: fmt.Sprintf("stream created at %v never got a done callback (%s at %v, run went to %v)",
					c.rel(t.Created), why, c.rel(due), c.rel(c.horizon))})
		}
	}
	if t.AfterDone > 0 {
		step, at := h.Steps, c.rel(c.horizon)
		if len(t.Done) > 0 {
			step, at = t.Done[0].Step, c.rel(t.Done[0].At)
		}
		c.violate(Violation{Property: PropDoneAfter, Target: t.Name, Step: step, At: at, Callback: "chunk",
			Detail: fmt.Sprintf("%d chunk callback(s) ran after done", t.AfterDone)})
	}
}

// doneRC checks rule 3's first half: the done code must be explained.
func (c *checker) doneRC(t *sim.TargetLog, d *sim.Done) {
	h := c.h
	bad := func(format string, args ...any) {
		c.violate(Violation{Property: PropDoneRC, Target: t.Name, Step: d.Step, At: c.rel(d.At), Callback: "done",
			Detail: fmt.Sprintf("done %s: ", d.RC) + fmt.Sprintf(format, args...)})
	}
	if c.endedByConsumer(t, d.RC, d.At) {
		// The consumer ended the stream with this code (END_STREAM).
		return
	}
	switch d.RC {
	case logstream.OK:
		// Rule 1 checks the bytes; EOF comes only after stop.
		if h.StopAt.IsZero() || h.StopAt.After(d.At) {
			bad("the sender was never stopped before it")
		}
	case logstream.Timeout:
		idle := h.Params.IdleTimeout
		if idle <= 0 {
			bad("the watchdog is disabled (IdleTimeout 0)")
			return
		}
		from := d.At.Add(-idle)
		if t.Created.After(from) && t.Created.Before(d.At) {
			bad("stream created at %v, less than IdleTimeout %v before", c.rel(t.Created), idle)
			return
		}
		for _, a := range t.Arrivals {
			if a.After(from) && a.Before(d.At) {
				bad("a message arrived at %v, less than IdleTimeout %v before", c.rel(a), idle)
				return
			}
		}
	case logstream.TaskAborted:
		if !h.AbortAt.IsZero() && !h.AbortAt.After(d.At) {
			return
		}
		if !t.Shutdown.IsZero() && !t.Shutdown.After(d.At) {
			return
		}
		for _, es := range c.net(t.Name) {
			for _, e := range es {
				if e.Kind == sim.NetDeliver && e.Msg == logstream.KindAbort && !e.At.After(d.At) {
					return
				}
			}
		}
		bad("no run abort, receiver shutdown or delivered abort message before it")
	default:
		bad("nothing in the history explains this code")
	}
}

// endedByConsumer reports whether the world's consumer ended t's stream
// through END_STREAM with code rc at or before at: the code is then the
// consumer's choice, caused by the record.
func (c *checker) endedByConsumer(t *sim.TargetLog, rc logstream.ReturnCode, at time.Time) bool {
	return !t.EndedByConsumer.IsZero() && !t.EndedByConsumer.After(at) && rc == t.EndedRC
}

// agreement checks rule 3's second half.
func (c *checker) agreement(t *sim.TargetLog, d *sim.Done, tr logstream.TargetResult, has bool) {
	h := c.h
	if h.SenderEnd.IsZero() {
		return
	}
	at := c.rel(h.SenderEnd)
	step := func() int64 { return c.stepAt(h.SenderEnd) }
	if !has {
		if !t.Created.IsZero() {
			c.violate(Violation{Property: PropAgreement, Target: t.Name, Step: step(), At: at,
				Detail: "the sender's result has no entry for a target whose stream was created"})
		}
		return
	}
	recv := logstream.ReturnCode("none")
	if d != nil {
		recv = d.RC
	}
	if tr.RC == logstream.OK && (d == nil || d.RC != logstream.OK) {
		c.violate(Violation{Property: PropAgreement, Target: t.Name, Step: step(), At: at,
			Detail: fmt.Sprintf("sender result OK but receiver done %s", recv)})
		return
	}
	// Receiver OK with a sender not OK: the sender's code needs its own
	// cause (rule cause), which judges it.
}

// giveUp returns when the sender stopped trying t: the first abort message
// it sent t, else its end.
func (c *checker) giveUp(t *sim.TargetLog) time.Time {
	if !t.AbortSent.IsZero() && (c.h.SenderEnd.IsZero() || t.AbortSent.Before(c.h.SenderEnd)) {
		return t.AbortSent
	}
	return c.h.SenderEnd
}

// cause checks that the sender's code for t, if not OK, has a cause in the
// record (rule 3b).
func (c *checker) cause(t *sim.TargetLog, tr logstream.TargetResult) {
	h, o := c.h, c.opts()
	if tr.RC == logstream.OK {
		return
	}
	end := c.giveUp(t)
	if len(t.Done) > 0 && t.Done[0].RC != logstream.OK && !t.Done[0].At.After(end) {
		// The receiver ended the stream first; rules 3 and 4 judge its
		// code.
		return
	}
	if !t.Shutdown.IsZero() && !t.Shutdown.After(end) {
		return // the receiving engine shut down
	}
	if c.endedByConsumer(t, tr.RC, end) {
		return // the consumer ended the stream with this code
	}
	why := ""
	switch tr.RC {
	case logstream.TaskAborted:
		if !h.AbortAt.IsZero() && !h.AbortAt.After(h.SenderEnd) {
			return
		}
		why = "no run abort before the sender ended"
	case logstream.NotReady:
		for _, sp := range t.NotReady {
			if !sp.To.After(end) && sp.To.Sub(sp.From) >= o.NotReadyTimeout-c.slack() {
				return
			}
		}
		why = fmt.Sprintf("no run of NOT_READY answers lasting NotReadyTimeout %v before it gave up at %v", o.NotReadyTimeout, c.rel(end))
	case logstream.Timeout, logstream.CommunicationError:
		for _, sp := range t.Lost {
			if !sp.To.After(end) && sp.N > o.RetryLimit {
				return
			}
		}
		most := 0
		for _, sp := range t.Lost {
			if !sp.To.After(end) {
				most = max(most, sp.N)
			}
		}
		why = fmt.Sprintf("at most %d lost attempts in a row before it gave up at %v, RetryLimit+1 = %d needed", most, c.rel(end), o.RetryLimit+1)
	case logstream.Error:
		if c.lagCause(t, end) || c.goneCause(t, end) {
			return
		}
		why = fmt.Sprintf("it lagged at most MaxLag (%d bytes), and no truncation (but copytruncates whose copy holds what it lacked), nor more than MaxQueuedFiles (%d) new files, after the first byte it lacked was written", o.MaxLag, o.MaxQueuedFiles)
	default:
		// No modelled fault explains another code: a receiver refuses a
		// chunk only when the sender skipped bytes or sent a bad one.
		why = "no fault in the record explains it"
	}
	c.violate(Violation{Property: PropCause, Target: t.Name, Step: c.stepAt(end), At: c.rel(end),
		Detail: fmt.Sprintf("sender gave up with %s (%s) without cause: %s", tr.RC, tr.Reason, why)})
}

// lagCause reports whether t lagged beyond what the declared config lets a
// sender serve by re-reading when it was given up at end (rule 3b): what was
// written by end minus what t was delivered exceeds
// MaxLag-(Window+1)*ChunkSize (the sender gives up at MaxLag bytes between
// what it read and what t acknowledged; up to Window chunks may have
// reached t unacknowledged, and arrive after the give-up).
func (c *checker) lagCause(t *sim.TargetLog, end time.Time) bool {
	o := c.opts()
	var written int64
	for _, w := range c.h.Writes {
		if !w.At.After(end) {
			written += w.N
		}
	}
	return written-t.Delivered > o.MaxLag-int64(o.Window+1)*int64(o.ChunkSize)
}

// goneCause reports whether bytes t still needed when it was given up at
// end may have been gone (rule 3b): after the write of the first byte t
// lacked (at write position t.Delivered, or earlier when bytes before it
// were lost, so the window only widens) and by end, a file was truncated
// (its bytes can no longer be read again, or read as they were) other than
// by a copytruncate whose copy holds them (copyLost), or more than
// MaxQueuedFiles files were created at the path or copied (a sender holds
// at most MaxQueuedFiles finished files for re-reading). A removal or
// rename alone is no cause: the sender holds the handle.
func (c *checker) goneCause(t *sim.TargetLog, end time.Time) bool {
	o := c.opts()
	var from time.Time
	found := false
	for _, w := range c.h.Writes {
		if w.Pos+w.N > t.Delivered {
			from, found = w.At, true
			break
		}
	}
	if !found {
		return false // every byte written was delivered: nothing was needed
	}
	files := 0
	for i, f := range c.h.Files {
		if f.At.Before(from) || f.At.After(end) {
			continue
		}
		switch f.Kind {
		case sim.FileTruncated:
			if f.Cause != FileCauseCopyTruncate || c.copyLost(t, i) {
				return true
			}
		case sim.FileCreated, sim.FileCopied:
			if files++; files > o.MaxQueuedFiles {
				return true
			}
		}
	}
	return false
}

// copyLost reports whether the copytruncate whose truncate is c.h.Files[i]
// can have taken bytes t still needed out of every file a sender holds
// (rule 3b): its copy holds the file's bytes as they were when the copy
// began, at the same offsets, so a sender reads them again there, unless
// t lacked bytes written between copy and truncate (only the file had
// those), the copy is not known (no FileCopied naming it) or not looked
// for (Rotated.Off), or it was
// removed before a correct tailer had it open: within a poll of the
// truncate (a tailer finds the copy at its first look after it), or later
// behind injected file-system errors (failed looks), generously.
func (c *checker) copyLost(t *sim.TargetLog, i int) bool {
	if c.opts().Rotated.Off {
		return true // the sender is told to look at the path only
	}
	tr := c.h.Files[i]
	j := i - 1
	for j >= 0 && !(c.h.Files[j].Kind == sim.FileCopied && c.h.Files[j].File == tr.File) {
		j--
	}
	if j < 0 || c.h.Files[j].Copy == (logstream.FileID{}) {
		return true
	}
	cp := c.h.Files[j]
	for _, w := range c.h.Writes {
		if w.File == tr.File && !w.At.Before(cp.At) && w.At.Before(tr.At) && w.Pos+w.N > t.Delivered {
			return true
		}
	}
	for _, g := range c.h.Files[i:] {
		if g.Kind != sim.FileRemoved || g.File != cp.Copy {
			continue
		}
		if g.At.Sub(tr.At) <= c.opts().PollInterval+c.h.Jitter {
			return true
		}
		for _, e := range c.h.FSFaults {
			if !e.At.Before(tr.At) && !e.At.After(g.At) {
				return true
			}
		}
		return false
	}
	return false
}

// faultCost returns how long faults on t's own path can have kept every
// message from reaching t in [from, to], beyond the healthy silence: a
// ChunkTimeout and the longest backoff per lost attempt (a timeout or an
// unreachable target), the longest backoff per NOT_READY answer, the part of
// a stall or unreachable window inside [from, to], and twice the lag of a
// delay window that overlaps it.
func (c *checker) faultCost(t string, from, to time.Time) time.Duration {
	h := c.h
	cs := c.costsFor(t)
	lo := sort.Search(len(cs), func(i int) bool { return !cs[i].at.Before(from) })
	hi := sort.Search(len(cs), func(i int) bool { return cs[i].at.After(to) })
	var d time.Duration
	if hi > lo {
		d = cs[hi-1].sum
		if lo > 0 {
			d -= cs[lo-1].sum
		}
	}
	for _, f := range c.windowsFor(t) {
		a, b := h.Start.Add(f.At), h.Start.Add(f.End()+f.Lag)
		if a.After(to) {
			break // sorted by start
		}
		if b.Before(from) {
			continue
		}
		switch f.Kind {
		case faults.Stall, faults.Unreachable:
			d += minTime(b, to).Sub(maxTime(a, from))
		case faults.Delay:
			d += 2 * f.Lag
		}
	}
	return d
}

// windowsFor returns the faults that faultCost counts for target t
// (stalls, unreachable and delay windows on t or on every target), sorted
// by start; computed once per target, so that faultCost does not scan every
// planned fault (rotations and all) for every silence it judges.
func (c *checker) windowsFor(t string) []faults.Fault {
	if fs, ok := c.windows[t]; ok {
		return fs
	}
	var fs []faults.Fault
	for _, f := range c.h.Faults {
		if f.Target != "" && f.Target != t {
			continue
		}
		switch f.Kind {
		case faults.Stall, faults.Unreachable, faults.Delay:
			fs = append(fs, f)
		}
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].At < fs[j].At })
	if c.windows == nil {
		c.windows = map[string][]faults.Fault{}
	}
	c.windows[t] = fs
	return fs
}

// cost is one network event that can hold a target's messages back, with
// the running sum of the costs up to it.
type cost struct {
	at  time.Time
	sum time.Duration
}

// costsFor returns t's network costs (its own events and those for every
// target), sorted by time with running sums, so that faultCost is a binary
// search: CT+B per lost attempt, B per NOT_READY answer.
func (c *checker) costsFor(t string) []cost {
	if cs, ok := c.costs[t]; ok {
		return cs
	}
	o := c.opts()
	var cs []cost
	// A dropped attempt costs from the drop, not from the TIMEOUT a
	// ChunkTimeout later: the stream may end before that is reported.
	// Each attempt (Seq) counts once.
	dropped := map[uint64]bool{}
	for _, es := range c.net(t) {
		for _, e := range es {
			if (e.Kind == sim.NetDropRequest || e.Kind == sim.NetDropReply) && e.Target == t {
				dropped[e.Seq] = true
			}
		}
	}
	for _, es := range c.net(t) {
		for _, e := range es {
			switch {
			case (e.Kind == sim.NetDropRequest || e.Kind == sim.NetDropReply) && e.Target == t:
				cs = append(cs, cost{e.At, o.ChunkTimeout + o.MaxRetryBackoff})
			case e.Kind == sim.NetTimeout && dropped[e.Seq] && e.Target == t:
				// counted at its drop
			case e.Kind == sim.NetTimeout, e.Kind == sim.NetUnreachable:
				cs = append(cs, cost{e.At, o.ChunkTimeout + o.MaxRetryBackoff})
			case e.Kind == sim.NetReply && e.RC == logstream.NotReady:
				cs = append(cs, cost{e.At, o.MaxRetryBackoff})
			}
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].at.Before(cs[j].at) })
	for i := 1; i < len(cs); i++ {
		cs[i].sum += cs[i-1].sum
	}
	if c.costs == nil {
		c.costs = map[string][]cost{}
	}
	c.costs[t] = cs
	return cs
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// quiet is the longest a healthy target may go without a message while
// the sender is alive: a heartbeat is due LivenessInterval after the last
// send, may wait a poll, and the previous round trip and the heartbeat's
// own flight take at most two of the largest delays.
func (c *checker) quiet() time.Duration {
	o := c.opts()
	return o.LivenessInterval + o.PollInterval + 2*c.maxDelay + c.slack()
}

// liveness checks rule 4 for a TIMEOUT done.
func (c *checker) liveness(t *sim.TargetLog, d *sim.Done) {
	h := c.h
	idle := h.Params.IdleTimeout
	if idle <= 0 {
		return
	}
	o := c.opts()
	D := d.At
	// The sender must be alive, and still trying t, through the window.
	for _, end := range []time.Time{h.CrashAt, h.AbortAt, h.SenderEnd, t.AbortSent} {
		if !end.IsZero() && !end.After(D) {
			return
		}
	}
	w0 := D.Add(-idle - o.ChunkTimeout - o.MaxRetryBackoff)
	cost := c.faultCost(t.Name, w0, D)
	if c.quiet()+cost >= idle {
		return
	}
	c.violate(Violation{Property: PropLiveness, Target: t.Name, Step: d.Step, At: c.rel(D), Callback: "done",
		Detail: fmt.Sprintf("idle timeout (last message at %v) while the sender was alive: the target's own faults in [%v,%v] explain a silence of at most %v, below IdleTimeout %v",
			c.rel(lastArrival(t, D)), c.rel(w0), c.rel(D), c.quiet()+cost, idle)})
}

// heartbeats checks the heartbeat rule: from the stream's creation until
// it ended (its first done, the sender's end, crash or abort, or the
// sender giving up on t), no two consecutive arrivals are further apart
// than quiet() plus what t's own faults explain; and no heartbeat follows
// the previous message to t sooner than LivenessInterval, unless that
// attempt failed (a retry after backoff).
func (c *checker) heartbeats(t *sim.TargetLog, d *sim.Done) {
	h, o := c.h, c.opts()
	for _, hb := range t.Heartbeats {
		if hb.Gap > 0 && !hb.Retry && hb.Gap < o.LivenessInterval-c.slack() {
			c.violate(Violation{Property: PropHeartbeat, Target: t.Name, Step: c.stepAt(hb.At), At: c.rel(hb.At),
				Detail: fmt.Sprintf("heartbeat %v after the previous message, LivenessInterval is %v (a storm)", hb.Gap, o.LivenessInterval)})
			break
		}
	}
	if t.Created.IsZero() {
		return
	}
	end := c.horizon
	for _, e := range []time.Time{h.CrashAt, h.AbortAt, h.SenderEnd, t.AbortSent} {
		if !e.IsZero() && e.Before(end) {
			end = e
		}
	}
	if d != nil && d.At.Before(end) {
		end = d.At
	}
	prev := t.Created
	i := sort.Search(len(t.Arrivals), func(i int) bool { return t.Arrivals[i].After(prev) })
	for ; i < len(t.Arrivals) && !t.Arrivals[i].After(end); i++ {
		a := t.Arrivals[i]
		if gap := a.Sub(prev); gap > c.quiet() {
			// A lost attempt shows as a NetTimeout a ChunkTimeout after it
			// went, which can be after the silence ended (another message,
			// not waiting for its reply, ended it): count those too.
			if cost := c.faultCost(t.Name, prev.Add(-o.ChunkTimeout-o.MaxRetryBackoff), a.Add(o.ChunkTimeout)); gap > c.quiet()+cost {
				c.violate(Violation{Property: PropHeartbeat, Target: t.Name, Step: c.stepAt(a), At: c.rel(a),
					Detail: fmt.Sprintf("no message reached the target for %v (from %v), more than LivenessInterval+PollInterval+2*maxDelay %v plus %v its own faults explain",
						gap, c.rel(prev), c.quiet(), cost)})
				return
			}
		}
		prev = a
	}
}

// crashDetection checks rule 5.
func (c *checker) crashDetection(t *sim.TargetLog, d *sim.Done) {
	h := c.h
	idle := h.Params.IdleTimeout
	if h.CrashAt.IsZero() || idle <= 0 || t.Created.IsZero() || t.Created.After(h.CrashAt) {
		return
	}
	if d != nil && !d.At.After(h.CrashAt) {
		return // ended before the crash
	}
	lim := c.horizon
	if d != nil {
		lim = d.At
	}
	deadline := lastArrival(t, lim).Add(idle + c.slack())
	switch {
	case d != nil && d.At.After(deadline):
		c.violate(Violation{Property: PropCrashDetection, Target: t.Name, Step: d.Step, At: c.rel(d.At), Callback: "done",
			Detail: fmt.Sprintf("sender crashed at %v; done %s came after the deadline %v (last message + IdleTimeout)",
				c.rel(h.CrashAt), d.RC, c.rel(deadline.Add(-c.slack())))})
	case d == nil && c.horizon.After(deadline):
		c.violate(Violation{Property: PropCrashDetection, Target: t.Name, Step: h.Steps, At: c.rel(deadline), Callback: "done",
			Detail: fmt.Sprintf("sender crashed at %v; no done by the deadline %v (run went to %v)",
				c.rel(h.CrashAt), c.rel(deadline.Add(-c.slack())), c.rel(c.horizon))})
	}
}

// TerminationBound returns the part of the termination bound that does not
// depend on the run's backlog or losses: after stop, the drain window and a
// poll, the not-ready budget and a backoff, and two round trips at the
// largest delay (the round in flight and the EOF round). See the package
// documentation, rule 6.
func TerminationBound(o logstream.TailOptions, maxDelay time.Duration) time.Duration {
	return o.DrainWindow + o.PollInterval + o.NotReadyTimeout + o.MaxRetryBackoff + 4*maxDelay
}

// backlogTime is how long a correct sender may need after stop beyond
// TerminationBound: one round trip per chunk of what was not yet delivered
// at stop or written within the drain window, per short read after stop and
// per target (a heartbeat round); a poll per injected file-system error
// after stop; and per lost attempt after stop a ChunkTimeout and the longest
// backoff, counting at most RetryLimit+1 lost attempts per target per
// message (a correct sender gives up on a target after that many).
func (c *checker) backlogTime() time.Duration {
	h, o := c.h, c.opts()
	if o.ChunkSize <= 0 {
		return 0
	}
	var written int64
	drainEnd := h.StopAt.Add(o.DrainWindow)
	for _, w := range h.Writes {
		if w.At.After(drainEnd) {
			continue
		}
		written += w.N
	}
	least := written
	for _, t := range h.Targets {
		if t == nil || t.Created.IsZero() {
			continue
		}
		least = min(least, t.DeliveredAtStop)
	}
	rounds := (written-least)/int64(o.ChunkSize) + 2 + int64(len(h.Targets))
	for _, t := range h.ShortReads {
		if !t.Before(h.StopAt) {
			rounds++ // a short read costs at most one more round
		}
	}
	d := time.Duration(rounds) * (2*c.maxDelay + c.slack())
	for _, f := range h.FSFaults {
		if !f.At.Before(h.StopAt) {
			d += o.PollInterval // a failed read or open waits a poll
		}
	}
	type msg struct {
		target string
		kind   logstream.Kind
		off    int64
	}
	lost := map[msg]int{}
	for _, e := range h.Net {
		if e.At.Before(h.StopAt) {
			continue
		}
		switch e.Kind {
		case sim.NetTimeout, sim.NetUnreachable:
			k := msg{e.Target, e.Msg, e.Offset}
			if lost[k] <= o.RetryLimit {
				lost[k]++
				d += o.ChunkTimeout + o.MaxRetryBackoff
			}
		}
	}
	return d
}

// termination checks rule 6.
func (c *checker) termination() {
	h := c.h
	if h.StopAt.IsZero() || !h.CrashAt.IsZero() || !h.AbortAt.IsZero() {
		return
	}
	bound := h.StopAt.Add(TerminationBound(c.opts(), c.maxDelay) + c.backlogTime())
	switch {
	case !h.SenderEnd.IsZero() && h.SenderEnd.After(bound):
		c.violate(Violation{Property: PropTermination, Step: c.stepAt(h.SenderEnd), At: c.rel(h.SenderEnd),
			Detail: fmt.Sprintf("stopped at %v, the sender ended at %v, after the bound %v",
				c.rel(h.StopAt), c.rel(h.SenderEnd), c.rel(bound))})
	case h.SenderEnd.IsZero() && c.horizon.After(bound):
		c.violate(Violation{Property: PropTermination, Step: c.stepAt(bound), At: c.rel(bound),
			Detail: fmt.Sprintf("stopped at %v, the sender had not ended by the bound %v (run went to %v)",
				c.rel(h.StopAt), c.rel(bound), c.rel(c.horizon))})
	}
}

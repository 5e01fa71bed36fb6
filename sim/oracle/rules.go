package oracle

import (
	"fmt"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// Slack is the tolerance on deadlines the simulator meets exactly (watchdog
// firing, done after shutdown).
const Slack = time.Millisecond

// slack is Slack plus the record's jitter allowance (a real-time run's).
func (c *checker) slack() time.Duration { return Slack + c.h.Jitter }

// opts returns the run's tail options with defaults filled in.
func (c *checker) opts() logstream.TailOptions {
	if o, err := c.h.Params.Tail.Normalize(); err == nil {
		return o
	}
	return c.h.Params.Tail
}

// netFor reports whether e concerns target name (an empty Target concerns all).
func netFor(e sim.NetEvent, name string) bool { return e.Target == name || e.Target == "" }

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
	if d == nil || d.RC != logstream.OK || tr.RC == logstream.OK {
		return
	}
	if !h.CrashAt.IsZero() || !h.AbortAt.IsZero() {
		return
	}
	for _, es := range c.net(t.Name) {
		for _, e := range es {
			if (e.Kind == sim.NetDropReply || e.Kind == sim.NetTimeout) && !e.At.Before(d.At) {
				return
			}
		}
	}
	c.violate(Violation{Property: PropAgreement, Target: t.Name, Step: step(), At: at,
		Detail: fmt.Sprintf("receiver done OK at %v but sender result %s (%s) with no reply lost after it",
			c.rel(d.At), tr.RC, tr.Reason)})
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
	// The sender must be alive through the window.
	for _, end := range []time.Time{h.CrashAt, h.AbortAt, h.SenderEnd} {
		if !end.IsZero() && !end.After(D) {
			return
		}
	}
	w0 := D.Add(-idle - o.ChunkTimeout)
	overlap := func(a, b time.Time) bool { return !a.After(D) && !b.Before(w0) }
	// Other targets' faults can hold the sender for a whole ChunkTimeout.
	others := o.LivenessInterval+o.PollInterval+o.ChunkTimeout+3*c.maxDelay >= idle
	slow := (idle - o.LivenessInterval - o.PollInterval) / 3
	for _, e := range h.Net {
		mine := netFor(e, t.Name)
		switch e.Kind {
		case sim.NetDropRequest, sim.NetDropReply, sim.NetUnreachable, sim.NetTimeout:
			if (mine || others) && overlap(e.At, e.At) {
				return
			}
		case sim.NetSend, sim.NetDuplicate, sim.NetStale:
			if e.Delay >= slow && overlap(e.At, e.At.Add(e.Delay)) {
				return
			}
		case sim.NetDeliver:
			if e.Delay >= slow && overlap(e.At.Add(-e.Delay), e.At) {
				return
			}
		}
	}
	for _, f := range h.Faults {
		switch f.Kind {
		case faults.Stall, faults.Unreachable, faults.Delay:
		default:
			continue
		}
		if (f.Target == "" || f.Target == t.Name || others) && overlap(h.Start.Add(f.At), h.Start.Add(f.End()+f.Lag)) {
			return
		}
	}
	c.violate(Violation{Property: PropLiveness, Target: t.Name, Step: d.Step, At: c.rel(D), Callback: "done",
		Detail: fmt.Sprintf("idle timeout (last message at %v) while the sender was alive and no network fault touched the target in [%v,%v]",
			c.rel(lastArrival(t, D)), c.rel(w0), c.rel(D))})
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

// TerminationBound returns how long after stop a correct sender may take to
// return its result under options o (normalized) when the largest network
// delay seen was maxDelay. See the package documentation, rule 6.
func TerminationBound(o logstream.TailOptions, maxDelay time.Duration) time.Duration {
	perMsg := time.Duration(o.RetryLimit+1) * (2*o.ChunkTimeout + o.MaxRetryBackoff)
	return o.DrainWindow + o.PollInterval + 2*perMsg + o.NotReadyTimeout + 2*maxDelay
}

// backlogTime is how long a correct sender may need after stop to send what
// was not yet delivered at stop, plus what the drain window may add: one
// round trip per chunk (the sender is stop-and-wait) and per short read, a
// poll interval per failed file operation, and for every attempt after stop
// that timed out or found its target unreachable, a chunk timeout and the
// longest backoff.
func (c *checker) backlogTime() time.Duration {
	h, o := c.h, c.opts()
	if o.ChunkSize <= 0 {
		return 0
	}
	var written int64
	drainEnd := h.StopAt.Add(o.DrainWindow)
	for _, w := range h.Writes {
		if w.At.After(drainEnd) {
			break
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
	rounds := (written-least)/int64(o.ChunkSize) + 2
	for _, t := range h.ShortReads {
		if !t.Before(h.StopAt) {
			rounds++ // a short read costs at most one more round
		}
	}
	d := time.Duration(rounds) * (2*c.maxDelay + c.slack())
	for _, e := range h.Tail {
		if e.Kind == logstream.TailError && !e.At.Before(h.StopAt) {
			d += o.PollInterval // a failed read or open waits a poll
		}
	}
	for _, e := range h.Net {
		if e.At.Before(h.StopAt) {
			continue
		}
		switch e.Kind {
		case sim.NetTimeout, sim.NetUnreachable:
			d += o.ChunkTimeout + o.MaxRetryBackoff
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

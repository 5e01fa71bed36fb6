package logstream

import (
	"fmt"
	"time"
)

type targetState uint8

const (
	targetActive targetState = iota
	targetDone               // acknowledged EOF
	targetFailed             // given up on
)

// target is the producer's view of one receiver.
type target struct {
	name    string
	state   targetState
	rc      ReturnCode
	reason  string
	started bool // acknowledged a message: stop sending the context
	acked   bool // acknowledged the current round's message
	ackedTo int64
	retryAt time.Time // when the round's message may go again (if !acked)
	nextHB  time.Time // when a heartbeat is due
	fails   int       // consecutive lost or timed-out attempts
	misses  int       // consecutive NOT_READY replies
	missAt  time.Time // first NOT_READY of the current run of them
}

// Source is what a LogProducer streams: normally a *Tailer. Tests and the
// simulator substitute other sources (for example a deliberately broken
// tailer, to show that the oracle catches it).
type Source interface {
	// Next says what to send at now: data, wait, or EOF.
	Next(now time.Time) TailAction
	// Stop starts the bounded drain that ends in EOF.
	Stop(now time.Time)
	// Offset is the number of bytes handed out so far.
	Offset() int64
	// Close releases the source's file handle.
	Close() error
}

var _ Source = (*Tailer)(nil)

// Watcher is implemented by sources that keep watching the file while the
// producer cannot take data (a round in flight): LogProducer calls Watch
// whenever it is asked for a step then.
type Watcher interface {
	Watch(now time.Time)
}

var _ Watcher = (*Tailer)(nil)

// LogProducer streams what a Source (a Tailer) reads to several targets. Every target
// gets every byte, in order: a round's message goes to all live targets and
// is retried, per target, until that target acknowledges it or is given up
// on. A target that already acknowledged gets heartbeats while it waits for
// the others. One failing target does not end the stream for the others.
//
// It implements Producer and is not safe for concurrent use.
type LogProducer struct {
	tail    Source
	opt     TailOptions
	ctx     StreamContext
	targets []*target

	round     *Message // the message every live target must acknowledge
	last      Message  // the last message handed out by Next
	lastTo    []string
	pending   []string // targets to send an Abort to
	done      bool
	result    Result
	sendCount int
}

// NewLogProducer returns a producer that streams tail's output to targets.
// opt must be normalized; targets must be distinct. With no targets the
// stream ends at once with RC Error: nobody acknowledged anything (H10).
func NewLogProducer(tail Source, opt TailOptions, sctx StreamContext, targets []string, now time.Time) *LogProducer {
	opt = opt.withDefaults()
	p := &LogProducer{tail: tail, opt: opt, ctx: sctx.Clone()}
	for _, name := range targets {
		p.targets = append(p.targets, &target{name: name, nextHB: now.Add(opt.LivenessInterval)})
	}
	return p
}

// Stop asks the producer to finish: drain the file, then send EOF.
func (p *LogProducer) Stop(now time.Time) { p.tail.Stop(now) }

// Source returns the producer's source.
func (p *LogProducer) Source() Source { return p.tail }

// Next implements Producer.
func (p *LogProducer) Next(now time.Time) Step {
	if len(p.pending) > 0 {
		to := p.pending
		p.pending = nil
		return p.send(now, Message{Kind: KindAbort, Offset: p.tail.Offset()}, to, 0)
	}
	if p.done {
		return Step{Kind: StepDone, Result: p.result}
	}
	until := time.Time{}
	if p.round == nil {
		if p.live() == 0 {
			return p.finish(now)
		}
		a := p.tail.Next(now)
		switch a.Kind {
		case TailData:
			p.startRound(now, Message{Kind: KindData, Offset: a.Offset, Size: len(a.Data), Data: a.Data})
		case TailEOF:
			p.startRound(now, Message{Kind: KindEOF, Offset: a.Offset})
		default:
			until = a.Until
		}
	} else if w, ok := p.tail.(Watcher); ok {
		// A round is in flight: the source reads nothing, but keeps
		// watching for new generations.
		w.Watch(now)
	}
	// Heartbeats first, for targets that would otherwise go quiet: a target
	// waiting for the others must not starve behind their retries, each of
	// which may take a whole ChunkTimeout.
	var hb []string
	for _, t := range p.targets {
		if t.state != targetActive || (p.round != nil && !t.acked) {
			continue
		}
		if !now.Before(t.nextHB) {
			hb = append(hb, t.name)
		} else {
			until = earliest(until, t.nextHB)
		}
	}
	if len(hb) > 0 {
		return p.send(now, Message{Kind: KindHeartbeat, Offset: p.tail.Offset()}, hb, p.opt.ChunkTimeout)
	}
	// Round message due for some targets?
	if p.round != nil {
		var due []string
		for _, t := range p.targets {
			if t.state != targetActive || t.acked {
				continue
			}
			if !now.Before(t.retryAt) {
				due = append(due, t.name)
			} else {
				until = earliest(until, t.retryAt)
			}
		}
		if len(due) > 0 {
			return p.send(now, *p.round, due, p.opt.ChunkTimeout)
		}
	}
	return Step{Kind: StepWait, Until: until}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func (p *LogProducer) startRound(now time.Time, m Message) {
	p.round = &m
	for _, t := range p.targets {
		t.acked = false
		t.retryAt = now
	}
}

func (p *LogProducer) send(now time.Time, m Message, to []string, timeout time.Duration) Step {
	if m.Kind != KindAbort {
		for _, name := range to {
			t := p.target(name)
			if !t.started {
				m.Ctx = p.ctx
			}
			// The next heartbeat is due a liveness interval after this send.
			t.nextHB = now.Add(p.opt.LivenessInterval)
		}
	}
	p.sendCount++
	p.last, p.lastTo = m, to
	return Step{Kind: StepSend, Msg: m, Targets: to, Timeout: timeout}
}

func (p *LogProducer) target(name string) *target {
	for _, t := range p.targets {
		if t.name == name {
			return t
		}
	}
	panic(fmt.Sprintf("logstream: unknown target %q", name))
}

func (p *LogProducer) live() int {
	n := 0
	for _, t := range p.targets {
		if t.state == targetActive {
			n++
		}
	}
	return n
}

// Replies implements Producer.
func (p *LogProducer) Replies(now time.Time, replies map[string]Reply) {
	m := p.last
	if m.Kind == KindAbort {
		return
	}
	for _, name := range p.lastTo {
		t := p.target(name)
		if t.state != targetActive {
			continue
		}
		r, ok := replies[name]
		if !ok {
			r = Reply{RC: Timeout}
		}
		p.reply(now, t, &m, r)
	}
	if p.round != nil && p.roundComplete() {
		p.round = nil
	}
}

func (p *LogProducer) roundComplete() bool {
	for _, t := range p.targets {
		if t.state == targetActive && !t.acked {
			return false
		}
	}
	return true
}

// reply applies one target's reply to message m.
func (p *LogProducer) reply(now time.Time, t *target, m *Message, r Reply) {
	rc := r.rc()
	isRound := m.Kind != KindHeartbeat
	if r.Closed {
		// The receiver's stream is over: nothing we send can change that.
		if m.Kind == KindEOF && rc == OK && r.Next == m.Offset {
			t.acked, t.ackedTo = true, r.Next
			p.end(t, targetDone, OK, "")
			return
		}
		if rc == OK {
			rc = Error
		}
		p.end(t, targetFailed, rc, "receiver ended the stream")
		return
	}
	switch {
	case rc == OK:
		if m.Kind != KindHeartbeat && r.Next != m.End() {
			p.fail(t, BadRequestData, fmt.Sprintf("receiver at offset %d after message ending at %d", r.Next, m.End()))
			return
		}
		t.started, t.fails, t.misses, t.missAt = true, 0, 0, time.Time{}
		t.ackedTo = max(t.ackedTo, r.Next)
		if isRound {
			t.acked = true
		}
		if m.Kind == KindEOF {
			p.end(t, targetDone, OK, "")
		}
	case rc == NotReady:
		if t.misses == 0 {
			t.missAt = now
		}
		t.misses++
		if now.Sub(t.missAt) >= p.opt.NotReadyTimeout {
			p.fail(t, NotReady, fmt.Sprintf("not ready for %v", now.Sub(t.missAt)))
			return
		}
		p.retryLater(now, t, isRound, t.misses)
	case rc.Retryable():
		t.fails++
		if t.fails > p.opt.RetryLimit {
			p.fail(t, rc, fmt.Sprintf("%d attempts failed", t.fails))
			return
		}
		p.retryLater(now, t, isRound, t.fails)
	default:
		p.fail(t, rc, "receiver refused the message")
	}
}

// retryLater schedules the next attempt with exponential backoff.
func (p *LogProducer) retryLater(now time.Time, t *target, isRound bool, attempt int) {
	d := p.opt.RetryBackoff
	for i := 1; i < attempt && d < p.opt.MaxRetryBackoff; i++ {
		d *= 2
	}
	d = min(d, p.opt.MaxRetryBackoff)
	if isRound {
		t.retryAt = now.Add(d)
	} else {
		t.nextHB = now.Add(d)
	}
}

// fail gives up on t and tells its receiver with an Abort.
func (p *LogProducer) fail(t *target, rc ReturnCode, reason string) {
	p.end(t, targetFailed, rc, reason)
	p.pending = append(p.pending, t.name)
}

func (p *LogProducer) end(t *target, s targetState, rc ReturnCode, reason string) {
	t.state, t.rc, t.reason = s, rc, reason
}

func (p *LogProducer) finish(now time.Time) Step {
	p.done = true
	p.tail.Close()
	p.result = p.collect(OK)
	return Step{Kind: StepDone, Result: p.result}
}

func (p *LogProducer) collect(rc ReturnCode) Result {
	res := Result{RC: rc}
	if len(p.targets) == 0 && rc == OK {
		// Nobody acknowledged anything: no replies is never success (H10).
		res.RC = Error
	}
	for _, t := range p.targets {
		tr := TargetResult{Target: t.name, RC: t.rc, Acked: t.ackedTo, Reason: t.reason}
		if t.state == targetActive {
			tr.RC, tr.Reason = TaskAborted, "run aborted"
		}
		if tr.RC != OK && res.RC == OK {
			res.RC = Error
		}
		res.Targets = append(res.Targets, tr)
	}
	return res
}

// Abort implements Producer: every target still streaming ends with
// TASK_ABORTED.
func (p *LogProducer) Abort(now time.Time) Result {
	if p.done {
		return p.result
	}
	p.done = true
	p.tail.Close()
	p.result = p.collect(TaskAborted)
	p.result.RC = TaskAborted
	return p.result
}

// Result returns the final result once Next returned StepDone.
func (p *LogProducer) Result() (Result, bool) { return p.result, p.done }

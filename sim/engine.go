package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
)

// Engine is a node of the simulated network; it implements logstream.Engine.
// The sender node's StreamObjects runs the world's event loop until the
// stream ends; a receiver node's RegisterStreamProcessing registers on its
// dispatcher at the current virtual time.
type Engine struct {
	w    *World
	name string
}

var _ logstream.Engine = (*Engine)(nil)

// Engine returns the node called name: "sender" or a target name.
func (w *World) Engine(name string) *Engine { return &Engine{w: w, name: name} }

// sender is the state of the one simulated stream's sending side.
type sender struct {
	p       logstream.Producer
	id      string
	channel string
	topic   string
	seq     uint64
	flights map[uint64]*flight // by Seq: sends whose replies are not all in
	waitGen uint64
	done    bool
	crashed bool
	stuck   bool // sent without end at one instant (maxSendsAtOnce)
	result  logstream.Result
}

// maxSendsAtOnce bounds the messages a producer may send at one virtual
// instant before the run is declared stuck.
const maxSendsAtOnce = 100000

// flight is a message the sender waits replies for.
type flight struct {
	id          uint64 // the producer's send ID
	seq         uint64
	msg         logstream.Message
	targets     []string
	outstanding map[string]bool
}

// StreamObjects implements logstream.Engine: it runs the world until p is
// done, the sender crashes (ErrCrashed) or nothing is left to run (ErrStuck).
func (e *Engine) StreamObjects(ctx context.Context, channel, topic string, sctx logstream.StreamContext,
	targets []string, p logstream.Producer) (logstream.Result, error) {
	w := e.w
	if w.sender != nil {
		return logstream.Result{}, fmt.Errorf("sim: one stream per world")
	}
	s := &sender{p: p, id: "stream-" + e.name, channel: channel, topic: topic, flights: map[uint64]*flight{}}
	w.sender = s
	w.after(0, w.pollSender)
	if !w.runUntil(func() bool { return s.done || s.crashed || s.stuck || ctx.Err() != nil }) || s.stuck {
		if !s.stuck {
			w.hist.Stuck = "no event left before the sender finished"
			if w.hist.Livelock != "" {
				w.hist.Stuck = "livelock: " + w.hist.Livelock
			} else if w.q.len() > 0 {
				w.hist.Stuck = "time limit reached before the sender finished"
			}
			w.trace("world", "stuck", str("why", w.hist.Stuck))
		}
		return logstream.Result{}, ErrStuck
	}
	if s.crashed {
		return logstream.Result{}, ErrCrashed
	}
	if ctx.Err() != nil && !s.done {
		w.abortSender()
	}
	return s.result, nil
}

// RegisterStreamProcessing implements logstream.Engine for a receiver node.
func (e *Engine) RegisterStreamProcessing(channel, topic string, f logstream.ConsumerFactory, done logstream.DoneFunc) error {
	r := e.w.receiver(e.name)
	if r == nil {
		return fmt.Errorf("sim: no receiver %q", e.name)
	}
	return r.recv.Register(channel, topic, f, done)
}

// pollSender asks the producer what to do now, sending until it says wait
// or done: sends do not wait for replies.
func (w *World) pollSender() {
	s := w.sender
	if s == nil || s.done || s.crashed {
		return
	}
	s.waitGen++
	for sends := 0; ; sends++ {
		if sends > maxSendsAtOnce {
			// A producer that never asks to wait would hold virtual time
			// still: report it as stuck, never spin.
			s.stuck = true
			w.hist.Stuck = fmt.Sprintf("the sender sent %d messages at %v without waiting", sends, w.now.Sub(Epoch))
			w.trace("world", "stuck", str("why", w.hist.Stuck))
			return
		}
		w.inTail = true
		st := s.p.Next(w.now)
		w.inTail = false
		switch st.Kind {
		case logstream.StepDone:
			w.finishSender(st.Result)
			return
		case logstream.StepWait:
			gen := s.waitGen
			w.atTime(st.Until, func() {
				if s.waitGen == gen {
					w.pollSender()
				}
			})
			return
		case logstream.StepSend:
			m := st.Msg
			m.StreamID, m.Channel, m.Topic, m.Seq = s.id, s.channel, s.topic, s.seq
			s.seq++
			if m.Kind == logstream.KindAbort {
				for _, t := range st.Targets {
					w.transmit(t, m, false)
				}
				continue
			}
			f := &flight{id: st.ID, seq: m.Seq, msg: m, targets: st.Targets, outstanding: map[string]bool{}}
			for _, t := range st.Targets {
				f.outstanding[t] = true
			}
			s.flights[m.Seq] = f
			for _, t := range st.Targets {
				w.transmit(t, m, true)
			}
			w.after(st.Timeout, func() { w.flightTimeout(f) })
		default:
			panic(fmt.Sprintf("sim: producer returned step kind %d", st.Kind))
		}
	}
}

// wakeSender makes a waiting sender poll now.
func (w *World) wakeSender() {
	s := w.sender
	if s == nil {
		return
	}
	s.waitGen++
	w.after(0, w.pollSender)
}

func (w *World) finishSender(res logstream.Result) {
	s := w.sender
	s.done, s.result = true, res
	w.hist.SenderEnd, w.hist.Result = w.now, res
	fields := []field{str("rc", string(res.RC))}
	for _, t := range res.Targets {
		fields = append(fields, str(t.Target, string(t.RC)))
	}
	w.trace("sender", "result", fields...)
}

func (w *World) stopSender() {
	s := w.sender
	if s == nil || s.done || s.crashed || !w.hist.StopAt.IsZero() {
		return
	}
	w.hist.StopAt = w.now
	for _, r := range w.receivers {
		r.log.DeliveredAtStop = r.log.Delivered
	}
	w.trace("sender", "stop")
	if st, ok := s.p.(interface{ Stop(time.Time) }); ok {
		st.Stop(w.now)
	}
	w.wakeSender()
}

func (w *World) abortSender() {
	s := w.sender
	if s == nil || s.done || s.crashed {
		return
	}
	w.hist.AbortAt = w.now
	w.trace("sender", "abort")
	w.inTail = true
	res := s.p.Abort(w.now)
	w.inTail = false
	m := logstream.Message{StreamID: s.id, Channel: s.channel, Topic: s.topic, Seq: s.seq, Kind: logstream.KindAbort}
	s.seq++
	for _, t := range w.cfg.Targets {
		w.transmit(t, m, false)
	}
	clear(s.flights)
	w.finishSender(res)
}

func (w *World) crashSender() {
	s := w.sender
	if s == nil || s.done || s.crashed {
		return
	}
	s.crashed = true
	w.hist.CrashAt = w.now
	w.trace("sender", "crash")
}

// reply hands one target's reply to the flight it answers, if still open.
func (w *World) reply(target string, seq uint64, r logstream.Reply) {
	w.noteReply(seq)
	s := w.sender
	if s == nil || s.crashed || s.done {
		return
	}
	f := s.flights[seq]
	if f == nil || !f.outstanding[target] {
		return
	}
	w.land(f, target, r)
	w.pollSender()
}

func (w *World) flightTimeout(f *flight) {
	s := w.sender
	if s.flights[f.seq] != f || s.crashed || s.done {
		return
	}
	for _, t := range f.targets {
		if f.outstanding[t] {
			w.netEvent(NetTimeout, t, &f.msg, 0, logstream.Timeout)
			// One reply per target: a missing one is a TIMEOUT reply.
			w.land(f, t, logstream.Reply{RC: logstream.Timeout})
		}
	}
	w.pollSender()
}

// land gives one target's reply to the producer.
func (w *World) land(f *flight, target string, r logstream.Reply) {
	s := w.sender
	delete(f.outstanding, target)
	if len(f.outstanding) == 0 {
		delete(s.flights, f.seq)
	}
	if w.replyMissing(f.seq, &f.msg, target, r.RC) {
		// The engine loses this reply (a missing-reply fault): the
		// producer gets TIMEOUT, as for a reply that never came.
		r = logstream.Reply{RC: logstream.Timeout}
		w.noteOutcome(target, f.seq, r, false)
	} else {
		w.noteOutcome(target, f.seq, r, true)
		if rv := w.receiver(target); rv != nil && f.msg.Kind == logstream.KindData && (r.RC == "" || r.RC == logstream.OK) {
			rv.noteAck(w.step, w.now, f.msg.Offset, f.msg.Offset+int64(f.msg.Size))
		}
	}
	w.inTail = true
	s.p.Reply(w.now, f.id, target, r)
	w.inTail = false
}

// noteOutcome records how one attempt to target t (seq: its place in send
// order) ended (its reply rep, or TIMEOUT when !ok): runs of lost attempts
// and of NOT_READY answers (TargetLog.Lost, NotReady). Attempts in a row
// are in send order: with a window, an answer to an attempt sent before
// the open run's losses (a reply still in flight when they were lost)
// does not end the run, and one sent among them splits it. An engine that
// lands replies some other way must call it too.
func (w *World) noteOutcome(t string, seq uint64, rep logstream.Reply, ok bool) {
	r := w.receiver(t)
	if r == nil {
		return
	}
	// Answers that come after the sender gave up on t (its abort went)
	// start runs of their own: a run the give-up ended is judged by the
	// answers before it.
	after := !r.log.AbortSent.IsZero() && w.now.After(r.log.AbortSent)
	extend := func(spans []Span, open bool) []Span {
		if n := len(spans); open && n > 0 && !(after && !spans[n-1].To.After(r.log.AbortSent)) {
			spans[n-1].To = w.now
			spans[n-1].N++
			return spans
		}
		return append(spans, Span{From: w.now, To: w.now, N: 1})
	}
	rc := logstream.Timeout
	if ok && rep.RC != "" {
		rc = rep.RC
	} else if ok {
		rc = logstream.OK
	}
	// A lost attempt and a NOT_READY answer each leave the other's run
	// open: the retry budget and the not-ready budget are separate. Any
	// other outcome closes both.
	switch rc {
	case logstream.Timeout, logstream.CommunicationError:
		if !r.lostOpen || after && len(r.log.Lost) > 0 && !r.log.Lost[len(r.log.Lost)-1].To.After(r.log.AbortSent) {
			r.lost = r.lost[:0]
		}
		r.log.Lost = extend(r.log.Lost, r.lostOpen)
		r.lostOpen = true
		r.lost = append(r.lost, lostAttempt{seq, w.now})
	case logstream.NotReady:
		r.log.NotReady = extend(r.log.NotReady, r.notReadyOpen)
		r.notReadyOpen = true
	default:
		r.notReadyOpen = false
		if r.lostOpen {
			r.splitLost(seq)
		}
	}
	r.lastFailed = rc != logstream.OK
}

// splitLost ends the open run of lost attempts at an answer to the attempt
// seq: the losses of attempts sent before it stay in the run's span; those
// of attempts sent after it (lost before it was answered) start the next
// run. An answer to an attempt sent before all of them leaves the run open.
func (r *receiver) splitLost(seq uint64) {
	var before, later []lostAttempt
	for _, l := range r.lost {
		if l.seq < seq {
			before = append(before, l)
		} else {
			later = append(later, l)
		}
	}
	if len(before) == 0 {
		return
	}
	// r.lost is in the order the losses came, so in time order.
	sp := &r.log.Lost[len(r.log.Lost)-1]
	sp.N, sp.To = len(before), before[len(before)-1].at
	r.lost = append(r.lost[:0], later...)
	r.lostOpen = len(later) > 0
	if r.lostOpen {
		r.log.Lost = append(r.log.Lost, Span{From: later[0].at, To: later[len(later)-1].at, N: len(later)})
	}
}

// noteSend records what the network saw of a message to target r.
func (w *World) noteSend(r *receiver, m *logstream.Message) {
	switch m.Kind {
	case logstream.KindEOF:
		if r.log.EOFSent.IsZero() {
			r.log.EOFSent = w.now
		}
	case logstream.KindAbort:
		if r.log.AbortSent.IsZero() {
			r.log.AbortSent = w.now
		}
	case logstream.KindHeartbeat:
		hb := HeartbeatSend{At: w.now, Retry: r.lastFailed}
		if !r.lastSend.IsZero() {
			hb.Gap = w.now.Sub(r.lastSend)
		}
		r.log.Heartbeats = append(r.log.Heartbeats, hb)
	}
	r.lastSend = w.now
}

// netEvent records a network event: every one in the trace, and in the
// history those the oracle reasons about (faults, timeouts, aborts and
// deliveries slow enough to matter for liveness).
func (w *World) netEvent(k NetKind, target string, m *logstream.Message, delay time.Duration, rc logstream.ReturnCode) {
	notable := k != NetSend && k != NetDeliver && k != NetReply ||
		k == NetReply && rc != logstream.OK && rc != "" ||
		m.Kind == logstream.KindAbort || delay >= w.slowDelay
	if notable {
		w.hist.Net = append(w.hist.Net, NetEvent{Step: w.step, At: w.now, Kind: k, Target: target, Msg: m.Kind,
			Seq: m.Seq, Offset: m.Offset, Len: len(m.Data), RC: rc, Delay: delay})
	}
	if w.tr != nil {
		fields := []field{str("target", target), str("msg", m.Kind.String()), num("seq", int64(m.Seq)), num("off", m.Offset), num("len", int64(len(m.Data)))}
		if rc != "" {
			fields = append(fields, str("rc", string(rc)))
		}
		if delay > 0 {
			fields = append(fields, str("delay", delay.String()))
		}
		w.trace("net", string(k), fields...)
	}
}

// delay draws one network delay to target.
func (w *World) delay(target string) time.Duration {
	d := w.cfg.Latency
	if w.cfg.Plan.Delay.Kind != faults.NoDelay {
		d = w.cfg.Plan.Delay.Sample(w.rng)
	}
	if f, ok := w.window(faults.Delay, target); ok {
		d += f.Lag
	}
	w.hist.MaxDelay = max(w.hist.MaxDelay, d)
	return d
}

// transmit sends m to target through the faulty network. wantReply is false
// for fire-and-forget messages.
func (w *World) transmit(target string, m logstream.Message, wantReply bool) {
	w.recordFlight(&m, wantReply)
	if r := w.receiver(target); r != nil {
		w.noteSend(r, &m)
	}
	if _, ok := w.window(faults.Unreachable, target); ok {
		d := w.delay(target)
		w.netEvent(NetUnreachable, target, &m, d, logstream.CommunicationError)
		if wantReply {
			seq := m.Seq
			w.after(d, func() { w.reply(target, seq, logstream.Reply{RC: logstream.CommunicationError}) })
		}
		return
	}
	if w.drawFault(faults.DropRequest, target) {
		w.netEvent(NetDropRequest, target, &m, 0, "")
		return
	}
	d := w.delay(target) + w.occupy(target, len(m.Data))
	w.netEvent(NetSend, target, &m, d, "")
	w.after(d, func() { w.deliver(target, m, d, wantReply) })
	if w.drawFault(faults.Duplicate, target) {
		m := detach(m)
		d2 := w.delay(target) + w.occupy(target, len(m.Data))
		w.netEvent(NetDuplicate, target, &m, d2, "")
		w.after(d2, func() { w.deliver(target, m, d2, wantReply) })
	}
	if w.drawFault(faults.Stale, target) {
		lag := w.cfg.Plan.StaleLag
		for _, f := range w.cfg.Plan.Faults {
			if f.Kind == faults.Stale && (f.Target == "" || f.Target == target) && !w.now.Before(Epoch.Add(f.At)) {
				lag = f.Lag
			}
		}
		m := detach(m)
		w.netEvent(NetStale, target, &m, lag, "")
		w.after(d+lag, func() { w.deliver(target, m, d+lag, false) })
	}
}

// deliver hands m to target's dispatcher and sends the reply back.
func (w *World) deliver(target string, m logstream.Message, d time.Duration, wantReply bool) {
	r := w.receiver(target)
	if f, ok := w.window(faults.Stall, target); ok {
		hold := Epoch.Add(f.At + f.For).Sub(w.now)
		if f.Lag > 0 {
			hold = min(hold, f.Lag)
		}
		if hold > 0 {
			w.after(hold, func() { w.deliverNow(r, m, d, wantReply) })
			return
		}
	}
	w.deliverNow(r, m, d, wantReply)
}

func (w *World) deliverNow(r *receiver, m logstream.Message, d time.Duration, wantReply bool) {
	w.netEvent(NetDeliver, r.name, &m, d, "")
	r.log.Arrivals = append(r.log.Arrivals, w.now)
	if m.Kind == logstream.KindEOF && r.log.EOFAt.IsZero() {
		r.log.EOFAt = w.now
	}
	if w.blocking {
		w.handleBlocking(r, m, d, wantReply)
		w.retryWaiting(r) // an Abort may have ended a stream with a suspended Consume
		return
	}
	r.cur = &m
	rep := r.recv.Handle(w.now, &m)
	r.cur = nil
	w.afterHandle(r, m, wantReply, rep)
}

// afterHandle sends back r's reply rep to m, if it wants one, once r's
// Dispatcher has handled m.
func (w *World) afterHandle(r *receiver, m logstream.Message, wantReply bool, rep logstream.Reply) {
	w.armWatchdog(r)
	if !wantReply {
		return
	}
	if w.drawFault(faults.DropReply, r.name) {
		w.netEvent(NetDropReply, r.name, &m, 0, rep.RC)
		return
	}
	back := w.delay(r.name) + w.occupy("<"+r.name, 0)
	seq, name := m.Seq, r.name
	w.after(back, func() {
		w.netEvent(NetReply, name, &m, back, rep.RC)
		w.reply(name, seq, rep)
	})
}

// detach copies m's data for a copy the network delivers after the sender
// may have reused its buffer (a duplicate, a stale copy).
func detach(m logstream.Message) logstream.Message {
	if m.Data != nil {
		m.Data = append([]byte(nil), m.Data...)
	}
	return m
}

// LinkOverhead is the size, in bytes, the bandwidth model adds to each
// message and reply for its header and framing.
const LinkOverhead = 64

// occupy returns how long a message with n data bytes waits for and then
// occupies the link (Config.Bandwidth): the queueing plus transmission time
// before its delay starts.
func (w *World) occupy(link string, n int) time.Duration {
	if w.cfg.Bandwidth <= 0 {
		return 0
	}
	if w.linkFree == nil {
		w.linkFree = map[string]time.Time{}
	}
	start := w.now
	if free := w.linkFree[link]; free.After(start) {
		start = free
	}
	tx := time.Duration((int64(n) + LinkOverhead) * int64(time.Second) / w.cfg.Bandwidth)
	w.linkFree[link] = start.Add(tx)
	return start.Add(tx).Sub(w.now)
}

package sim

import (
	"context"
	"iter"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Consumers that block in virtual time.
//
// With AllowBlocking, each delivery's Handle runs as a coroutine (iter.Pull:
// the world's goroutine and the coroutine hand control to each other, never
// run at once, so nothing depends on goroutine scheduling). A consumer that
// calls Engine.Block from inside Consume suspends its delivery: the world
// goes on with its events (other deliveries, watchdogs, Shutdown, an Abort)
// while the Consume is running in virtual time, and the Dispatcher sees a
// busy stream, as it would on a real engine. The delivery resumes at the
// world's first step after its release channel is closed; its reply then
// goes back from that instant.

// blockedCall is one delivery run as a coroutine.
type blockedCall struct {
	r         *receiver
	m         logstream.Message
	d         time.Duration
	wantReply bool
	rep       logstream.Reply

	next    func() (struct{}, bool)
	stop    func()
	yield   func(struct{}) bool
	release <-chan struct{} // set by Block
	parked  bool            // in World.parked
	// waiting are deliveries for the same stream that came while this
	// Consume was suspended: the Dispatcher would make them wait for it.
	waiting []pendingDelivery
}

type pendingDelivery struct {
	m         logstream.Message
	d         time.Duration
	wantReply bool
}

// contextHandler is a receiver that can be asked not to wait for a busy
// stream (logstream.Dispatcher.HandleContext).
type contextHandler interface {
	HandleContext(ctx context.Context, now time.Time, m *logstream.Message) logstream.Reply
}

// AllowBlocking makes the world run each delivery as a coroutine, so that
// consumers may call Engine.Block. It costs a goroutine hand-off per
// delivery, so it is off by default; call it before the run starts.
func (w *World) AllowBlocking() {
	w.blocking = true
	if w.noWait == nil {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		w.noWait = ctx
	}
}

// Block suspends the Consume that calls it (a consumer of this receiver
// node, during a delivery) in virtual time, until release is closed: the
// world goes on meanwhile, and the Consume resumes at its first step after
// that (World.Settle runs it when nothing else does). release must be closed
// from the goroutine that runs the world. Block also returns when the world
// is closed (World.Close). It implements enginetest.Blocker; it panics if
// called outside a Consume of this node or without World.AllowBlocking.
func (e *Engine) Block(release <-chan struct{}) {
	c := e.w.running
	if c == nil || c.r.name != e.name {
		panic("sim: Block called outside a Consume of " + e.name + " (World.AllowBlocking must be on)")
	}
	c.release = release
	for {
		select {
		case <-release:
			return
		default:
		}
		if !c.yield(struct{}{}) {
			return // the world is closed: let the Consume return
		}
	}
}

// handleBlocking is deliverNow's Handle with AllowBlocking: it runs the
// delivery as a coroutine, or, while a Consume of m's stream is suspended,
// queues m behind it unless the Dispatcher answers it without waiting (the
// stream ended, an Abort).
func (w *World) handleBlocking(r *receiver, m logstream.Message, d time.Duration, wantReply bool) {
	if c := w.parkedFor(r, m.StreamID); c != nil {
		if !w.answerWaiting(r, m, d, wantReply) {
			c.waiting = append(c.waiting, pendingDelivery{m, d, wantReply})
		}
		return
	}
	c := &blockedCall{r: r, m: m, d: d, wantReply: wantReply}
	c.next, c.stop = iter.Pull(func(yield func(struct{}) bool) {
		c.yield = yield
		c.rep = r.recv.Handle(w.now, &c.m)
	})
	w.resume(c)
}

// answerWaiting asks r's Dispatcher to handle m without waiting for the
// suspended Consume of its stream, and sends the answer if there is one.
func (w *World) answerWaiting(r *receiver, m logstream.Message, d time.Duration, wantReply bool) bool {
	h, ok := r.recv.(contextHandler)
	if !ok {
		return false // it could only wait: try when the Consume returns
	}
	r.cur = &m
	rep := h.HandleContext(w.noWait, w.now, &m)
	r.cur = nil
	if rep.RC == logstream.Timeout && !rep.Closed {
		return false // the stream is busy: it would wait
	}
	w.afterHandle(r, m, wantReply, rep)
	return true
}

// resume runs c until it returns or blocks again.
func (w *World) resume(c *blockedCall) {
	prev := w.running
	w.running = c
	c.r.cur = &c.m
	_, blocked := c.next()
	c.r.cur = nil
	w.running = prev
	if blocked {
		if !c.parked {
			c.parked = true
			w.parked = append(w.parked, c)
			w.trace("recv", "consume-blocked", str("target", c.r.name), num("seq", int64(c.m.Seq)))
		}
		w.armWatchdog(c.r) // the busy stream's deadline counts from its message
		return
	}
	if c.parked {
		c.parked = false
		for i, p := range w.parked {
			if p == c {
				w.parked = append(w.parked[:i], w.parked[i+1:]...)
				break
			}
		}
		w.trace("recv", "consume-returned", str("target", c.r.name), num("seq", int64(c.m.Seq)))
	}
	w.afterHandle(c.r, c.m, c.wantReply, c.rep)
	// The stream is free: what waited for this Consume goes on, in order.
	waiting := c.waiting
	c.waiting = nil
	for _, p := range waiting {
		w.handleBlocking(c.r, p.m, p.d, p.wantReply)
	}
}

// parkedFor returns the suspended Consume of stream id on r, if any.
func (w *World) parkedFor(r *receiver, id string) *blockedCall {
	for _, c := range w.parked {
		if c.r == r && c.m.StreamID == id {
			return c
		}
	}
	return nil
}

// retryWaiting answers the deliveries waiting behind r's suspended Consumes
// whose streams ended meanwhile (a watchdog, Shutdown, an Abort).
func (w *World) retryWaiting(r *receiver) {
	for _, c := range w.parked {
		if c.r != r || len(c.waiting) == 0 {
			continue
		}
		waiting := c.waiting
		c.waiting = nil
		for _, p := range waiting {
			if !w.answerWaiting(r, p.m, p.d, p.wantReply) {
				c.waiting = append(c.waiting, p)
			}
		}
	}
}

// resumeReleased resumes the suspended Consumes whose release is closed, in
// the order they blocked, and reports whether it resumed any.
func (w *World) resumeReleased() bool {
	var ready []*blockedCall
	for _, c := range w.parked {
		select {
		case <-c.release:
			ready = append(ready, c)
		default:
		}
	}
	for _, c := range ready {
		w.resume(c)
	}
	return len(ready) > 0
}

// Settle runs the world until nothing is left to run: the events in the
// queue (deliveries in flight, watchdogs) and the suspended Consumes whose
// release is closed.
func (w *World) Settle() { w.runUntil(func() bool { return false }) }

// Close unwinds every Consume still suspended in Block (Block returns in it,
// as if released; its reply is dropped), so that no goroutine is left. Run
// calls it at the end; call it after driving a world through its Engines.
func (w *World) Close() {
	for len(w.parked) > 0 {
		c := w.parked[0]
		w.parked = w.parked[1:]
		c.parked = false
		prev := w.running
		w.running = c
		c.stop()
		w.running = prev
	}
}

package enginetest

import (
	"context"
	"sync"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Clauses with a consumer that blocks in Consume (a chunk callback on a full
// disk): nothing that ends a stream waits for it.

func init() {
	cases = append(cases,
		kcase{"BlockedConsumerTimesOut", blockedConsumerTimesOut},
		kcase{"ShutdownWithBusyStream", shutdownWithBusyStream},
		kcase{"AbortWithBusyStream", abortWithBusyStream},
	)
}

// blocker makes target's consumer block on the data message at offset off
// until release, and arms an idle deadline of idle (if > 0) at every
// message, like LogConsumer's. The blocked Consume's result is OK (and
// ignored by a correct engine); it forwards nothing.
type blocker struct {
	mu      sync.Mutex
	gate    chan struct{}
	entered bool
	once    sync.Once
}

func (e *env) block(rec *recorder, target string, off int64, idle time.Duration) *blocker {
	b := &blocker{gate: make(chan struct{})}
	rec.hook = func(t string, c *consumer, now time.Time, m *logstream.Message) (bool, logstream.Reply, bool) {
		if idle > 0 && t == target {
			rec.mu.Lock()
			c.deadline = now.Add(idle)
			rec.mu.Unlock()
		}
		if t != target || m.Kind != logstream.KindData || m.Offset != off {
			return false, logstream.Reply{}, false
		}
		b.mu.Lock()
		b.entered = true
		b.mu.Unlock()
		rec.signal()
		if bl, ok := e.pair.Receivers[t].(Blocker); ok {
			bl.Block(b.gate) // in engine time; the engine's Stop unwinds it after a hang
		} else {
			select {
			case <-b.gate:
			case <-e.timedOut: // the case hung: let the engine go
			}
		}
		return true, logstream.Reply{RC: logstream.OK, Next: m.End()}, true
	}
	return b
}

func (b *blocker) release() { b.once.Do(func() { close(b.gate) }) }

func (b *blocker) blocked() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.entered
}

// needsBlocking skips the case unless consumers may block: on their own
// goroutines (Pair.ConsumeMayBlock), or in engine time (every receiver the
// case streams to is a Blocker).
func (e *env) needsBlocking() bool {
	if e.pair.ConsumeMayBlock || e.blockers() {
		return true
	}
	e.skipf("needs Pair.ConsumeMayBlock or Blocker receivers: a consumer that blocks must block only its own reply")
	return false
}

// blockers reports whether the receivers the blocked-consumer cases stream
// to block in engine time (Blocker).
func (e *env) blockers() bool {
	for _, t := range e.upTo(2) {
		if _, ok := e.pair.Receivers[t].(Blocker); !ok {
			return false
		}
	}
	return true
}

// blockSecond sends "hello" to targets, then "world" with the short
// timeout, on which victim's consumer blocks; it checks victim's reply is
// TIMEOUT. It returns false (having skipped the case) if victim's stream
// timed out before "world" arrived: an engine too slow for the case.
func (e *env) blockSecond(s *script, rec *recorder, b *blocker, to []string, victim string) bool {
	e.expect(clReply, "data", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
	r := s.send(data(5, "world", false), to, e.opt.Short)
	if got := r[victim]; got.Closed && rcOf(got) == logstream.Timeout && !b.blocked() {
		e.skipf("%s: the stream's idle deadline passed between two messages sent back to back", victim)
		return false
	}
	if got, ok := r[victim]; ok && (rcOf(got) != logstream.Timeout || got.Closed) {
		e.errorf(clTimeout, "%s: the reply withheld by a blocked consumer reported as %s, want TIMEOUT", victim, fmtReply(got))
	}
	if !s.await(b.blocked, e.opt.Short/4, 200*e.opt.Short) {
		e.errorf(clBlocked, "%s: the consumer never got the message it blocks on", victim)
	}
	return true
}

// afterRelease releases the blocked consumer, settles the engine (a
// Blocker resumes the Consume there) and waits for victim's Finalize (the
// late Consume returned).
func (e *env) afterRelease(rec *recorder, b *blocker, victim string) {
	b.release()
	e.settle()
	e.waitUntil(rec, victim+"'s Finalize after the blocked Consume returned", func() bool { return len(rec.finals(victim)) > 0 })
}

// blockedConsumerTimesOut: a consumer blocks longer than the stream's idle
// deadline (armed at each message, counted from the message it blocks on).
// The stream ends with TIMEOUT on time while it blocks; done runs once; a
// later message gets the Closed reply and no Consume; the sender is not
// stuck (the other target streams on); Finalize runs once the blocked
// Consume returns.
func blockedConsumerTimesOut(e *env) {
	if !e.needsBlocking() {
		return
	}
	to := e.upTo(2)
	a, others := to[0], to[1:]
	// Long enough that "hello" and "world", sent back to back, arrive
	// within it on a busy machine.
	idle := 20 * e.opt.Short
	rec := newRecorder(e)
	b := e.block(rec, a, 5, idle)
	defer b.release()
	rec.registerAll(to)
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		sent := s.now
		if !e.blockSecond(s, rec, b, to, a) {
			return logstream.Result{RC: logstream.Error}
		}
		if rec.doneCount(a) > 0 && s.now.Before(sent.Add(idle)) {
			e.errorf(clBlocked, "%s: the stream ended before its idle deadline (%v after the blocked message at the latest)", a, s.now.Sub(sent))
		}
		if s.await(func() bool { return rec.doneCount(a) > 0 }, e.opt.Short/4, idle+200*e.opt.Short) {
			e.expectClosed(clBlocked, "a heartbeat after the watchdog ended the stream", s.send(heartbeat(5), []string{a}, e.long()), []string{a}, logstream.Timeout)
		} else {
			e.errorf(clBlocked, "%s: the stream is still open %v after its idle deadline while its consumer blocks (the watchdog waits for the consumer)", a, 200*e.opt.Short)
		}
		if len(others) > 0 {
			e.expect(clNoHarm, "data sent again to the healthy target", s.send(data(5, "world", false), others, e.long()), others, logstream.OK, 10)
			e.expect(clReply, "EOF", s.send(eof(10, false), others, e.long()), others, logstream.OK, 10)
		}
		res := logstream.Result{RC: logstream.Error, Targets: []logstream.TargetResult{{Target: a, RC: logstream.Timeout}}}
		for _, t := range others {
			res.Targets = append(res.Targets, logstream.TargetResult{Target: t, RC: logstream.OK})
		}
		return res
	})
	e.afterRelease(rec, b, a)
	want := done(others, logstream.OK)
	want[a] = logstream.Timeout
	rec.verify(want)
	e.checkStream(rec, a, "exact", []logstream.Kind{kData, kData}, "hello")
	for _, t := range others {
		e.checkStream(rec, t, "exact", nil, "helloworld")
	}
	if f := rec.finals(a); len(f) > 0 && f[0] != logstream.Timeout {
		e.errorf(clFinalize, "%s: Finalize got %s, want TIMEOUT", a, f[0])
	}
}

// shutdownWithBusyStream: Shutdown of a receiver whose consumer blocks
// returns, and ends the stream with TASK_ABORTED, without waiting for it.
func shutdownWithBusyStream(e *env) {
	if !e.needsBlocking() {
		return
	}
	to := e.upTo(2)
	shut := to[len(to)-1]
	sd, ok := e.pair.Receivers[shut].(Shutdowner)
	if !ok {
		e.skipf("needs a receiving engine that implements Shutdowner")
		return
	}
	others := to[:len(to)-1]
	rec := newRecorder(e)
	b := e.block(rec, shut, 5, 0)
	defer b.release()
	rec.registerAll(to)
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		if !e.blockSecond(s, rec, b, to, shut) {
			return logstream.Result{RC: logstream.Error}
		}
		var mu sync.Mutex
		returned := false
		shutdown := func() {
			sd.Shutdown()
			mu.Lock()
			returned = true
			mu.Unlock()
			rec.signal()
		}
		if e.blockers() && !e.pair.ConsumeMayBlock {
			shutdown() // a Blocker runs everything on this goroutine
		} else {
			go shutdown()
		}
		if !s.await(func() bool { mu.Lock(); defer mu.Unlock(); return returned }, e.opt.Short/4, 200*e.opt.Short) {
			e.errorf(clBusyEnd, "%s: Shutdown did not return within %v while a consumer blocks", shut, 200*e.opt.Short)
		}
		if !s.await(func() bool { return rec.doneCount(shut) > 0 }, e.opt.Short/4, 200*e.opt.Short) {
			e.errorf(clBusyEnd, "%s: shut down, but its stream got no done callback while its consumer blocks", shut)
		}
		r := s.send(heartbeat(5), []string{shut}, e.long())
		if got, ok := r[shut]; ok && rcOf(got) == logstream.OK && !got.Closed {
			e.errorf(clShutdown, "%s: a shut-down receiver answered %s", shut, fmtReply(got))
		}
		res := logstream.Result{RC: logstream.Error}
		if len(others) > 0 {
			e.expect(clNoHarm, "data sent again to the receivers still up", s.send(data(5, "world", false), others, e.long()), others, logstream.OK, 10)
			e.expect(clReply, "EOF", s.send(eof(10, false), others, e.long()), others, logstream.OK, 10)
		}
		for _, t := range others {
			res.Targets = append(res.Targets, logstream.TargetResult{Target: t, RC: logstream.OK})
		}
		res.Targets = append(res.Targets, logstream.TargetResult{Target: shut, RC: logstream.TaskAborted})
		return res
	})
	e.afterRelease(rec, b, shut)
	want := done(others, logstream.OK)
	want[shut] = logstream.TaskAborted
	rec.verify(want)
	e.checkStream(rec, shut, "exact", nil, "hello")
	for _, t := range others {
		e.checkStream(rec, t, "exact", nil, "helloworld")
	}
}

// abortWithBusyStream: the sender's context is cancelled while a target's
// consumer blocks. StreamObjects returns the producer's Abort result without
// waiting for it, and both targets end with TASK_ABORTED while it blocks.
func abortWithBusyStream(e *env) {
	if !e.needsBlocking() {
		return
	}
	to := e.upTo(2)
	a := to[0]
	rec := newRecorder(e)
	b := e.block(rec, a, 5, 0)
	defer b.release()
	rec.registerAll(to)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := e.stream(ctx, to, func(s *script) logstream.Result {
		e.blockSecond(s, rec, b, to, a)
		cancel()
		for range 3 {
			s.wait(time.Minute)
		}
		e.errorf(clCancel, "the engine kept driving the producer for 3 minutes after its context ended")
		return okResult(to)
	})
	if s.aborts == 0 {
		e.errorf(clCancel, "Producer.Abort was not called after the context ended")
		return
	}
	e.waitUntil(rec, "the receivers' done callbacks after the abort, while a consumer blocks", func() bool { return rec.allDone(to) })
	if !b.blocked() || rec.doneCount(a) == 0 {
		e.errorf(clBusyEnd, "%s: no done callback after the abort while its consumer blocks", a)
	}
	e.afterRelease(rec, b, a)
	rec.verify(done(to, logstream.TaskAborted))
	e.checkStream(rec, a, "exact", nil, "hello")
}

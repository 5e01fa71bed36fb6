package enginetest

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

func init() {
	cases = append(cases,
		kcase{"ReplyPerTarget", replyPerTarget},
		kcase{"RepliesPassedThrough", repliesPassedThrough},
		kcase{"MissingReplyIsTimeout", missingReplyIsTimeout},
		kcase{"NotReadyBeforeRegistration", notReadyBeforeRegistration},
		kcase{"NotReadyWithoutMatch", notReadyWithoutMatch},
		kcase{"FallbackChannelWildcard", fallback([]reg{{kitChannel, "*", "channel:*"}, {"other_channel", kitTopic, "other"}}, "channel:*")},
		kcase{"FallbackAnyWildcard", fallback([]reg{{"other_channel", "*", "other:*"}, {"*", "*", "*:*"}, {"other_channel", kitTopic, "other"}}, "*:*")},
		kcase{"ExactBeforeWildcards", fallback([]reg{{"*", "*", "*:*"}, {kitChannel, kitTopic, "exact"}, {kitChannel, "*", "channel:*"}}, "exact")},
		kcase{"ChannelWildcardBeforeAny", fallback([]reg{{kitChannel, "*", "channel:*"}, {"*", "*", "*:*"}}, "channel:*")},
		kcase{"RegisterAgainReplaces", registerAgainReplaces},
		kcase{"DoneOnceAfterEOF", doneOnceAfterEOF},
		kcase{"ConsumerEndSetsDoneRC", consumerEndSetsDoneRC},
		kcase{"EndStreamHook", endStreamHook},
		kcase{"ConsumerDeadlineEndsStream", consumerDeadlineEndsStream},
		kcase{"AbortMessageEndsStream", abortMessageEndsStream},
		kcase{"ContextCancelAborts", contextCancelAborts},
		kcase{"ShutdownEndsOpenStreams", shutdownEndsOpenStreams},
		kcase{"DuplicateFirstMessage", duplicateFirstMessage},
		kcase{"PipelinedSends", pipelinedSends},
	)
}

// Messages as the kit's producers send them; withCtx adds the stream
// context, as a producer does until the target acknowledged a message.
func data(off int64, s string, withCtx bool) logstream.Message {
	m := logstream.Message{Kind: logstream.KindData, Offset: off, Size: len(s), Data: []byte(s)}
	if withCtx {
		m.Ctx = kitContext()
	}
	return m
}

func heartbeat(off int64) logstream.Message {
	return logstream.Message{Kind: logstream.KindHeartbeat, Offset: off}
}

func eof(off int64, withCtx bool) logstream.Message {
	m := logstream.Message{Kind: logstream.KindEOF, Offset: off}
	if withCtx {
		m.Ctx = kitContext()
	}
	return m
}

// long is the chunk timeout of sends that must be answered: only a hang
// detector.
func (e *env) long() time.Duration { return e.opt.Watchdog / 2 }

// upTo returns at most n targets.
func (e *env) upTo(n int) []string { return e.targets[:min(n, len(e.targets))] }

// expect checks each target's reply.
func (e *env) expect(clause, what string, r map[string]logstream.Reply, targets []string, rc logstream.ReturnCode, next int64) {
	for _, t := range targets {
		got, ok := r[t]
		if !ok {
			continue // reported by send
		}
		if rcOf(got) != rc || got.Next != next || got.Closed {
			e.errorf(clause, "%s: reply to %s is %s, want %s next=%d", t, what, fmtReply(got), rc, next)
		}
	}
}

// expectClosed checks that each target answered that its stream ended
// with rc.
func (e *env) expectClosed(clause, what string, r map[string]logstream.Reply, targets []string, rc logstream.ReturnCode) {
	for _, t := range targets {
		got, ok := r[t]
		if ok && (!got.Closed || rcOf(got) != rc) {
			e.errorf(clause, "%s: reply to %s after the stream ended is %s, want Closed with RC %s", t, what, fmtReply(got), rc)
		}
	}
}

func done(targets []string, rc logstream.ReturnCode) map[string]logstream.ReturnCode {
	m := map[string]logstream.ReturnCode{}
	for _, t := range targets {
		m[t] = rc
	}
	return m
}

// checkStream checks what target saw of a stream: one consumer with the
// kit's context, channel and topic, created by the factory tagged tag;
// stamped messages of the given kinds; and the bytes want.
func (e *env) checkStream(rec *recorder, target, tag string, kinds []logstream.Kind, want string) {
	t := rec.snapshot(target)
	if len(t.created) != 1 {
		e.errorf(clOnce, "%s: %d consumers made for one stream, want 1", target, len(t.created))
	}
	if len(t.created) > 0 {
		c := t.created[0]
		if c.f.tag != tag {
			e.errorf(clFallback, "%s: the stream went to the factory registered as %s, want %s", target, c.f.tag, tag)
		}
		if c.channel != kitChannel || c.topic != kitTopic {
			e.errorf(clStamp, "%s: StreamInfo has channel %q topic %q, want %q %q", target, c.channel, c.topic, kitChannel, kitTopic)
		}
		if c.id == "" {
			e.errorf(clStamp, "%s: StreamInfo has an empty ID", target)
		}
		if !sameCtx(c.ctx, kitContext()) {
			e.errorf(clStart, "%s: StreamInfo.Ctx is %v, want the sender's context %v", target, c.ctx, kitContext())
		}
	}
	var seq uint64
	var id string
	for i, c := range t.consumed {
		m := c.msg
		if m.StreamID == "" || (id != "" && m.StreamID != id) {
			e.errorf(clStamp, "%s: message %d (%s) has stream ID %q, want one non-empty ID for the stream (first %q)", target, i, &m, m.StreamID, id)
		}
		if id == "" {
			id = m.StreamID
		}
		if m.Channel != kitChannel || m.Topic != kitTopic {
			e.errorf(clStamp, "%s: message %d (%s) stamped with channel %q topic %q", target, i, &m, m.Channel, m.Topic)
		}
		if i > 0 && m.Seq <= seq {
			e.errorf(clStamp, "%s: message %d has Seq %d after Seq %d; Seq must increase", target, i, m.Seq, seq)
		}
		seq = m.Seq
	}
	if kinds != nil {
		var got []logstream.Kind
		for _, c := range t.consumed {
			got = append(got, c.msg.Kind)
		}
		if !equalKinds(got, kinds) {
			e.errorf(clOnce, "%s: consumed %v, want %v (each message sent to it once, and no other)", target, got, kinds)
		}
	}
	if !bytes.Equal(t.data, []byte(want)) {
		e.errorf(clExactly, "%s: forwarded %q, want %q", target, t.data, want)
	}
}

func equalKinds(a, b []logstream.Kind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameCtx(a, b logstream.StreamContext) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

var (
	kData = logstream.KindData
	kHB   = logstream.KindHeartbeat
	kEOF  = logstream.KindEOF
)

func replyPerTarget(e *env) {
	a, b, ok := e.two()
	if !ok {
		return
	}
	both := []string{a, b}
	rec := newRecorder(e)
	rec.registerAll(both)
	e.stream(context.Background(), both, func(s *script) logstream.Result {
		e.expect(clReply, "the first data message", s.send(data(0, "hello", true), both, e.long()), both, logstream.OK, 5)
		e.expect(clReply, "data sent to one target", s.send(data(5, " brave", false), []string{a}, e.long()), []string{a}, logstream.OK, 11)
		e.expect(clReply, "data sent to the other", s.send(data(5, " brave", false), []string{b}, e.long()), []string{b}, logstream.OK, 11)
		e.expect(clReply, "a heartbeat", s.send(heartbeat(11), both, e.long()), both, logstream.OK, 11)
		e.expect(clReply, "EOF", s.send(eof(11, false), both, e.long()), both, logstream.OK, 11)
		return okResult(both)
	})
	rec.verify(done(both, logstream.OK))
	for _, t := range both {
		e.checkStream(rec, t, "exact", []logstream.Kind{kData, kData, kHB, kEOF}, "hello brave")
	}
}

func repliesPassedThrough(e *env) {
	a := e.targets[0]
	rec := newRecorder(e)
	refused := false
	rec.hook = func(_ string, _ *consumer, _ time.Time, m *logstream.Message) (bool, logstream.Reply, bool) {
		if m.Kind == logstream.KindData && !refused {
			refused = true
			return true, logstream.Reply{RC: logstream.BadRequestData, Next: 0}, true
		}
		return false, logstream.Reply{}, false
	}
	rec.registerAll([]string{a})
	to := []string{a}
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		e.expect(clPass, "data the consumer refused", s.send(data(0, "hello", true), to, e.long()), to, logstream.BadRequestData, 0)
		e.expect(clPass, "the same data sent again", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
		e.expect(clReply, "EOF", s.send(eof(5, false), to, e.long()), to, logstream.OK, 5)
		return okResult(to)
	})
	rec.verify(done(to, logstream.OK))
	e.checkStream(rec, a, "exact", []logstream.Kind{kData, kData, kEOF}, "hello")
}

func missingReplyIsTimeout(e *env) {
	a, b, ok := e.two()
	if !ok {
		return
	}
	both := []string{a, b}
	rec := newRecorder(e)
	var stall func() (release func())
	if st, ok := e.pair.Receivers[b].(Staller); ok {
		stall = st.Stall
	} else if e.pair.ConsumeMayBlock {
		// Block b's consumer on the stalled message until released.
		var mu sync.Mutex
		var gate chan struct{}
		rec.hook = func(target string, _ *consumer, _ time.Time, m *logstream.Message) (bool, logstream.Reply, bool) {
			mu.Lock()
			g := gate
			mu.Unlock()
			if target == b && g != nil {
				<-g
			}
			return false, logstream.Reply{}, false
		}
		stall = func() func() {
			g := make(chan struct{})
			mu.Lock()
			gate = g
			mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					mu.Lock()
					gate = nil
					mu.Unlock()
					close(g)
				})
			}
		}
	} else {
		e.skipf("needs a receiver that implements Staller, or Pair.ConsumeMayBlock")
		return
	}
	rec.registerAll(both)
	release := func() {}
	defer func() { release() }()
	e.stream(context.Background(), both, func(s *script) logstream.Result {
		e.expect(clReply, "the first data message", s.send(data(0, "hello", true), both, e.long()), both, logstream.OK, 5)
		release = stall()
		r := s.send(data(5, "world", false), both, e.opt.Short)
		if got, ok := r[b]; ok && (rcOf(got) != logstream.Timeout || got.Closed) {
			e.errorf(clTimeout, "%s: withheld reply reported as %s, want TIMEOUT", b, fmtReply(got))
		}
		if got, ok := r[a]; ok && rcOf(got) != logstream.Timeout && (rcOf(got) != logstream.OK || got.Next != 10) {
			// TIMEOUT is allowed: the short timeout may pass first.
			e.errorf(clReply, "%s: reply is %s, want OK next=10 (or TIMEOUT)", a, fmtReply(got))
		}
		release()
		e.expect(clReply, "the message sent again after the timeout", s.send(data(5, "world", false), both, e.long()), both, logstream.OK, 10)
		e.expect(clReply, "EOF", s.send(eof(10, false), both, e.long()), both, logstream.OK, 10)
		return okResult(both)
	})
	rec.verify(done(both, logstream.OK))
	for _, t := range both {
		e.checkStream(rec, t, "exact", nil, "helloworld")
	}
}

func notReadyBeforeRegistration(e *env) {
	to := e.upTo(2)
	rec := newRecorder(e)
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		for range 2 {
			r := s.send(data(0, "hello", true), to, e.long())
			e.expect(clNotReady, "a message before any registration", r, to, logstream.NotReady, 0)
		}
		for _, t := range to {
			if n := len(rec.snapshot(t).created); n > 0 {
				e.errorf(clNotReady, "%s: a message before registration created %d consumers", t, n)
			}
		}
		rec.registerAll(to)
		e.expect(clStart, "the first message sent again after registration", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
		e.expect(clStart, "the next message", s.send(data(5, " there", false), to, e.long()), to, logstream.OK, 11)
		e.expect(clReply, "EOF", s.send(eof(11, false), to, e.long()), to, logstream.OK, 11)
		return okResult(to)
	})
	rec.verify(done(to, logstream.OK))
	for _, t := range to {
		e.checkStream(rec, t, "exact", []logstream.Kind{kData, kData, kEOF}, "hello there")
	}
}

func notReadyWithoutMatch(e *env) {
	a := e.targets[0]
	to := []string{a}
	rec := newRecorder(e)
	rec.register(a, "other_channel", kitTopic, "other:topic")
	rec.register(a, kitChannel, "other_topic", "channel:other")
	rec.register(a, "other_channel", "*", "other:*")
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		e.expect(clNotReady, "a message no registration matches", s.send(data(0, "hello", true), to, e.long()), to, logstream.NotReady, 0)
		if n := len(rec.snapshot(a).created); n > 0 {
			e.errorf(clNotReady, "%s: a message no registration matches created %d consumers", a, n)
		}
		rec.register(a, kitChannel, kitTopic, "exact")
		e.expect(clStart, "the first message sent again after registration", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
		e.expect(clReply, "EOF", s.send(eof(5, false), to, e.long()), to, logstream.OK, 5)
		return okResult(to)
	})
	rec.verify(done(to, logstream.OK))
	e.checkStream(rec, a, "exact", []logstream.Kind{kData, kEOF}, "hello")
}

type reg struct{ channel, topic, tag string }

// fallback registers regs on one receiver and checks that the stream goes
// to the factory tagged want.
func fallback(regs []reg, want string) func(e *env) {
	return func(e *env) {
		a := e.targets[0]
		to := []string{a}
		rec := newRecorder(e)
		for _, r := range regs {
			rec.register(a, r.channel, r.topic, r.tag)
		}
		e.stream(context.Background(), to, func(s *script) logstream.Result {
			e.expect(clFallback, "the first message", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
			e.expect(clReply, "EOF", s.send(eof(5, false), to, e.long()), to, logstream.OK, 5)
			return okResult(to)
		})
		rec.verify(done(to, logstream.OK))
		e.checkStream(rec, a, want, []logstream.Kind{kData, kEOF}, "hello")
	}
}

func registerAgainReplaces(e *env) {
	a := e.targets[0]
	to := []string{a}
	rec := newRecorder(e)
	rec.register(a, kitChannel, kitTopic, "first")
	rec.register(a, kitChannel, kitTopic, "second")
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		e.expect(clReply, "the first message", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
		rec.register(a, kitChannel, kitTopic, "third")
		e.expect(clReRegister, "a message after registering again", s.send(data(5, " world", false), to, e.long()), to, logstream.OK, 11)
		e.expect(clReply, "EOF", s.send(eof(11, false), to, e.long()), to, logstream.OK, 11)
		return okResult(to)
	})
	rec.verify(done(to, logstream.OK))
	t := rec.snapshot(a)
	for _, c := range t.consumed {
		if c.tag != "second" {
			e.errorf(clReRegister, "%s: %s consumed by the consumer of the registration %s, want second (the latest when the stream started)", a, &c.msg, c.tag)
		}
	}
	for _, c := range t.created {
		if c.f.tag != "second" {
			e.errorf(clReRegister, "%s: the registration %s made a consumer; only second should have", a, c.f.tag)
		}
	}
}

func doneOnceAfterEOF(e *env) {
	to := e.upTo(2)
	rec := newRecorder(e)
	rec.registerAll(to)
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		e.expect(clReply, "data", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
		e.expect(clReply, "EOF", s.send(eof(5, false), to, e.long()), to, logstream.OK, 5)
		for _, t := range to {
			if rec.doneCount(t) == 0 {
				// Engines may run done asynchronously: wait for it.
				s.await(func() bool { return rec.doneCount(t) > 0 }, e.opt.Short, 200*e.opt.Short)
			}
		}
		e.expectClosed(clDone, "a heartbeat", s.send(heartbeat(5), to, e.long()), to, logstream.OK)
		e.expectClosed(clDone, "EOF sent again with the context", s.send(eof(5, true), to, e.long()), to, logstream.OK)
		return okResult(to)
	})
	rec.verify(done(to, logstream.OK))
	for _, t := range to {
		e.checkStream(rec, t, "exact", []logstream.Kind{kData, kEOF}, "hello")
	}
}

func consumerEndSetsDoneRC(e *env) {
	a := e.targets[0]
	to := []string{a}
	rec := newRecorder(e)
	rec.hook = func(_ string, _ *consumer, _ time.Time, m *logstream.Message) (bool, logstream.Reply, bool) {
		if m.Kind == logstream.KindData && m.Offset == 5 {
			return false, logstream.Reply{RC: logstream.ExecutionException, Next: 5}, true
		}
		return false, logstream.Reply{}, false
	}
	rec.registerAll(to)
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		e.expect(clReply, "data", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
		r := s.send(data(5, "world", false), to, e.long())
		if got, ok := r[a]; ok && rcOf(got) != logstream.ExecutionException {
			e.errorf(clPass, "%s: reply to the message the consumer failed is %s, want EXECUTION_EXCEPTION", a, fmtReply(got))
		}
		s.await(func() bool { return rec.doneCount(a) > 0 }, e.opt.Short, 200*e.opt.Short)
		e.expectClosed(clDone, "data sent again with the context", s.send(data(5, "world", true), to, e.long()), to, logstream.ExecutionException)
		return logstream.Result{RC: logstream.Error, Targets: []logstream.TargetResult{{Target: a, RC: logstream.ExecutionException}}}
	})
	rec.verify(done(to, logstream.ExecutionException))
	e.checkStream(rec, a, "exact", []logstream.Kind{kData, kData}, "hello")
}

func endStreamHook(e *env) {
	a := e.targets[0]
	to := []string{a}
	rec := newRecorder(e)
	rec.registerAll(to)
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		e.expect(clReply, "data", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
		info := rec.info(a)
		if info == nil || info.EndStream == nil {
			e.errorf(clEndStream, "%s: StreamInfo.EndStream is nil", a)
			return okResult(to)
		}
		info.EndStream(logstream.BadRequestData)
		if !s.await(func() bool { return rec.doneCount(a) > 0 }, e.opt.Short, 200*e.opt.Short) {
			e.errorf(clEndStream, "%s: EndStream(BAD_REQUEST_DATA) did not end the stream (no done callback)", a)
		}
		info.EndStream(logstream.Timeout) // after the end: nothing
		e.expectClosed(clEndStream, "a heartbeat after EndStream", s.send(heartbeat(5), to, e.long()), to, logstream.BadRequestData)
		return logstream.Result{RC: logstream.Error, Targets: []logstream.TargetResult{{Target: a, RC: logstream.BadRequestData}}}
	})
	rec.verify(done(to, logstream.BadRequestData))
	e.checkStream(rec, a, "exact", []logstream.Kind{kData}, "hello")
}

func consumerDeadlineEndsStream(e *env) {
	a := e.targets[0]
	to := []string{a}
	rec := newRecorder(e)
	rec.hook = func(_ string, c *consumer, now time.Time, m *logstream.Message) (bool, logstream.Reply, bool) {
		if m.Kind == logstream.KindHeartbeat {
			rec.mu.Lock()
			c.deadline = now.Add(e.opt.Short)
			rec.mu.Unlock()
		}
		return false, logstream.Reply{}, false
	}
	rec.registerAll(to)
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		e.expect(clReply, "data", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
		e.expect(clReply, "the heartbeat that arms the deadline", s.send(heartbeat(5), to, e.long()), to, logstream.OK, 5)
		if !s.await(func() bool { return rec.doneCount(a) > 0 }, e.opt.Short/2, 200*e.opt.Short) {
			e.errorf(clDeadline, "%s: the consumer's deadline passed %v ago and the stream is still open", a, 199*e.opt.Short)
		}
		e.expectClosed(clDeadline, "EOF after the deadline", s.send(eof(5, false), to, e.long()), to, logstream.Timeout)
		return logstream.Result{RC: logstream.Error, Targets: []logstream.TargetResult{{Target: a, RC: logstream.Timeout}}}
	})
	rec.verify(done(to, logstream.Timeout))
	e.checkStream(rec, a, "exact", []logstream.Kind{kData, kHB}, "hello")
}

func abortMessageEndsStream(e *env) {
	to := e.upTo(2)
	rec := newRecorder(e)
	rec.registerAll(to)
	res := logstream.Result{RC: logstream.TaskAborted}
	for _, t := range to {
		res.Targets = append(res.Targets, logstream.TargetResult{Target: t, RC: logstream.TaskAborted})
	}
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		e.expect(clReply, "data", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
		s.send(logstream.Message{Kind: logstream.KindAbort, Offset: 5}, to, 0)
		return res
	})
	e.waitUntil(rec, "the done callbacks after an Abort message", func() bool { return rec.allDone(to) })
	rec.verify(done(to, logstream.TaskAborted))
	for _, t := range to {
		e.checkStream(rec, t, "exact", []logstream.Kind{kData}, "hello")
	}
}

func contextCancelAborts(e *env) {
	to := e.upTo(2)
	rec := newRecorder(e)
	rec.registerAll(to)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := e.stream(ctx, to, func(s *script) logstream.Result {
		e.expect(clReply, "data", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
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
	e.waitUntil(rec, "the receivers' done callbacks after the abort", func() bool { return rec.allDone(to) })
	rec.verify(done(to, logstream.TaskAborted))
	for _, t := range to {
		e.checkStream(rec, t, "exact", []logstream.Kind{kData}, "hello")
	}
}

func shutdownEndsOpenStreams(e *env) {
	to := e.upTo(2)
	shut := to[len(to)-1]
	sd, ok := e.pair.Receivers[shut].(Shutdowner)
	if !ok {
		e.skipf("needs a receiving engine that implements Shutdowner")
		return
	}
	others := to[:len(to)-1]
	rec := newRecorder(e)
	rec.registerAll(to)
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		e.expect(clReply, "data", s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
		sd.Shutdown()
		if !s.await(func() bool { return rec.doneCount(shut) > 0 }, e.opt.Short, 200*e.opt.Short) {
			e.errorf(clShutdown, "%s: shut down, but its open stream got no done callback", shut)
		}
		r := s.send(data(5, "world", false), to, e.long())
		if got, ok := r[shut]; ok && rcOf(got) == logstream.OK && !got.Closed {
			e.errorf(clShutdown, "%s: a shut-down receiver answered %s", shut, fmtReply(got))
		}
		e.expect(clReply, "data to the receivers still up", r, others, logstream.OK, 10)
		if len(others) > 0 {
			e.expect(clReply, "EOF", s.send(eof(10, false), others, e.long()), others, logstream.OK, 10)
		}
		res := logstream.Result{RC: logstream.Error}
		for _, t := range others {
			res.Targets = append(res.Targets, logstream.TargetResult{Target: t, RC: logstream.OK})
		}
		res.Targets = append(res.Targets, logstream.TargetResult{Target: shut, RC: logstream.TaskAborted})
		return res
	})
	want := done(others, logstream.OK)
	want[shut] = logstream.TaskAborted
	rec.verify(want)
	for _, t := range others {
		e.checkStream(rec, t, "exact", []logstream.Kind{kData, kData, kEOF}, "helloworld")
	}
	e.checkStream(rec, shut, "exact", []logstream.Kind{kData}, "hello")
}

func duplicateFirstMessage(e *env) {
	to := e.upTo(2)
	rec := newRecorder(e)
	rec.registerAll(to)
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		for i := range 3 {
			what := "the first message"
			if i > 0 {
				what = "the first message sent again"
			}
			e.expect(clDuplicate, what, s.send(data(0, "hello", true), to, e.long()), to, logstream.OK, 5)
		}
		e.expect(clDuplicate, "the second message", s.send(data(5, " again", false), to, e.long()), to, logstream.OK, 11)
		e.expect(clReply, "EOF", s.send(eof(11, false), to, e.long()), to, logstream.OK, 11)
		return okResult(to)
	})
	rec.verify(done(to, logstream.OK))
	for _, t := range to {
		snap := rec.snapshot(t)
		if len(snap.created) != 1 {
			e.errorf(clDuplicate, "%s: the duplicated first message made %d streams, want 1", t, len(snap.created))
		}
		if string(snap.data) != "hello again" {
			e.errorf(clDuplicate, "%s: forwarded %q, want %q", t, snap.data, "hello again")
		}
	}
}

// pipelinedSends: the producer emits several sends before any reply (a
// window); every send gets exactly one reply per target, with its own ID,
// whenever it comes. An engine that reorders a target's messages makes the
// consumer refuse a chunk that overtook an earlier one; the kit sends it
// again, as LogProducer does, and every byte arrives once, in order.
func pipelinedSends(e *env) {
	to := e.upTo(2)
	rec := newRecorder(e)
	rec.registerAll(to)
	chunks := []string{"hello", " brave", " new", " world"}
	e.stream(context.Background(), to, func(s *script) logstream.Result {
		var ids []uint64
		var msgs []logstream.Message
		off := int64(0)
		for _, c := range chunks {
			m := data(off, c, true)
			msgs = append(msgs, m)
			ids = append(ids, s.start(m, to, e.long()))
			off += int64(len(c))
		}
		ids = append(ids, s.start(heartbeat(0), to, e.long()))
		replies := s.collect(ids...)
		for _, t := range to {
			next := int64(0)
			for i, m := range msgs {
				r := replies[i][t]
				switch rc := rcOf(r); {
				case rc == logstream.OK:
					next = max(next, r.Next)
				case rc == logstream.BadRequestData && r.Next < m.Offset:
					// overtaken: sent again below
				default:
					e.errorf(clPipeline, "%s: chunk at %d answered %s", t, m.Offset, fmtReply(r))
				}
			}
			// Send again, one at a time, whatever the receiver is missing.
			for _, m := range msgs {
				if m.End() <= next {
					continue
				}
				m.Ctx = nil
				r := s.send(m, []string{t}, e.long())[t]
				if rcOf(r) != logstream.OK {
					e.errorf(clPipeline, "%s: chunk at %d sent again answered %s", t, m.Offset, fmtReply(r))
				}
				next = max(next, r.Next)
			}
		}
		e.expect(clReply, "EOF", s.send(eof(off, false), to, e.long()), to, logstream.OK, off)
		return okResult(to)
	})
	rec.verify(done(to, logstream.OK))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, t := range to {
		if got := string(rec.target(t).data); got != "hello brave new world" {
			e.errorf(clPipeline, "%s received %q, want %q", t, got, "hello brave new world")
		}
	}
}

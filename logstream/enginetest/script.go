package enginetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// The kit's streams use this channel, topic and stream context.
const (
	kitChannel = "kit_channel"
	kitTopic   = "kit_topic"
)

func kitContext() logstream.StreamContext {
	return logstream.StreamContext{"kit": "conformance", logstream.KeyFileName: "kit.log"}
}

// Clauses of the contract, as violations name them.
const (
	clReply      = "one reply per target"
	clStamp      = "messages are stamped"
	clResult     = "the producer decides the result"
	clOnce       = "each message is delivered once, only to its targets"
	clTimeout    = "a missing reply becomes TIMEOUT"
	clPass       = "replies are passed through, not interpreted"
	clNotReady   = "NOT_READY before registration"
	clStart      = "the stream starts once registered"
	clFallback   = "lookup falls back to channel:* then *:*"
	clReRegister = "registering again replaces the entry for new streams"
	clDone       = "done is called exactly once, with the RC"
	clFinalize   = "Finalize runs once, before done (or after the Consume running at the end)"
	clAfterDone  = "no Consume starts after the stream ended"
	clOverlap    = "Consume calls of a stream never overlap"
	clEndStream  = "END_STREAM ends the stream with its RC"
	clDeadline   = "a consumer's deadline ends the stream with TIMEOUT"
	clAbortMsg   = "an Abort message expects no reply and ends the stream"
	clCancel     = "a cancelled context aborts the stream"
	clShutdown   = "shutdown ends open streams"
	clDuplicate  = "a duplicate first message neither deadlocks nor duplicates"
	clExactly    = "every byte exactly once, in order"
	clNoHarm     = "one failing target does not end the stream for the others"
	clPipeline   = "sends before replies each get their own replies"
	clBlocked    = "a blocked consumer does not hold up the watchdog"
	clBusyEnd    = "shutdown and abort do not wait for a blocked consumer"
)

var errStopped = errors.New("enginetest: script stopped")

// script is a Producer whose steps come from a straight-line body run as a
// coroutine: the body calls send and wait and reads the engine's answers.
type script struct {
	e     *env
	next  func() (logstream.Step, bool)
	stop  func()
	yield func(logstream.Step) bool

	targets  []string
	now      time.Time
	lastID   uint64
	sends    map[uint64]*pendSend // sends whose replies the kit tracks
	waitFor  []uint64             // the body resumes once these have every reply
	aborts_  map[uint64]bool      // IDs of Abort sends
	result   logstream.Result
	finished bool
	aborts   int
	abortRes logstream.Result
	seen     int // Next calls
}

// pendSend is one send and the replies it got.
type pendSend struct {
	msg     logstream.Message
	to      []string
	sentAt  time.Time
	timeout time.Duration
	replies map[string]logstream.Reply
}

func (p *pendSend) complete() bool { return len(p.replies) == len(p.to) }

func newScript(e *env, targets []string, body func(s *script) logstream.Result) *script {
	s := &script{e: e, targets: slices.Clone(targets), sends: map[uint64]*pendSend{}, aborts_: map[uint64]bool{}}
	seq := func(yield func(logstream.Step) bool) {
		s.yield = yield
		defer func() {
			if r := recover(); r != nil && r != errStopped { //nolint:errorlint // sentinel panic value
				panic(r)
			}
		}()
		s.result = body(s)
	}
	s.next, s.stop = iter.Pull(seq)
	return s
}

// Next implements logstream.Producer. While the body waits for replies it
// answers StepWait; a reply still missing a Timeout (plus the kit's long
// wait) after its send is a violation, and counts as TIMEOUT.
func (s *script) Next(now time.Time) logstream.Step {
	s.now = now
	s.seen++
	if s.finished {
		return logstream.Step{Kind: logstream.StepDone, Result: s.result}
	}
	for {
		if st, ok := s.waiting(now); ok {
			return st
		}
		st, ok := s.next()
		if !ok {
			s.finished = true
			return logstream.Step{Kind: logstream.StepDone, Result: s.result}
		}
		if len(s.waitFor) == 0 {
			return st
		}
		// The body is collecting replies: see whether they are in.
	}
}

// waiting returns a StepWait while the replies the body waits for are due.
func (s *script) waiting(now time.Time) (logstream.Step, bool) {
	for _, id := range s.waitFor {
		ps := s.sends[id]
		if ps.complete() {
			continue
		}
		deadline := ps.sentAt.Add(ps.timeout + s.e.long())
		if now.Before(deadline) {
			return logstream.Step{Kind: logstream.StepWait, Until: deadline}, true
		}
		for _, t := range ps.to {
			if _, ok := ps.replies[t]; !ok {
				s.e.errorf(clReply, "no reply to %s from target %s %v after it was sent (a missing reply must be reported as TIMEOUT)",
					ps.msg.Kind, t, now.Sub(ps.sentAt))
				ps.replies[t] = logstream.Reply{RC: logstream.Timeout}
			}
		}
	}
	s.waitFor = nil
	return logstream.Step{}, false
}

// Reply implements logstream.Producer.
func (s *script) Reply(now time.Time, id uint64, target string, r logstream.Reply) {
	s.now = now
	ps := s.sends[id]
	switch {
	case s.aborts_[id]:
		s.e.errorf(clReply, "Reply(%s) called for an Abort message", target)
	case ps == nil:
		s.e.errorf(clReply, "Reply(%s) called with send ID %d, which no send had", target, id)
	case !slices.Contains(ps.to, target):
		s.e.errorf(clReply, "the replies to %s have an entry for %s, which it was not sent to", ps.msg.Kind, target)
	default:
		if _, dup := ps.replies[target]; dup {
			s.e.errorf(clReply, "Reply called twice for %s to target %s", ps.msg.Kind, target)
			return
		}
		ps.replies[target] = r
	}
}

// Abort implements logstream.Producer.
func (s *script) Abort(now time.Time) logstream.Result {
	s.now = now
	s.aborts++
	s.finished = true
	s.stop()
	s.abortRes = logstream.Result{RC: logstream.TaskAborted}
	for _, t := range s.targets {
		s.abortRes.Targets = append(s.abortRes.Targets, logstream.TargetResult{Target: t, RC: logstream.TaskAborted, Reason: "kit abort"})
	}
	return s.abortRes
}

// send hands m to the engine for targets and returns their replies, having
// checked that there is exactly one per target.
func (s *script) send(m logstream.Message, to []string, timeout time.Duration) map[string]logstream.Reply {
	id := s.start(m, to, timeout)
	if m.Kind == logstream.KindAbort {
		return nil
	}
	return s.collect(id)[0]
}

// start hands m to the engine for targets and returns the send's ID without
// waiting for its replies.
func (s *script) start(m logstream.Message, to []string, timeout time.Duration) uint64 {
	s.lastID++
	id := s.lastID
	if m.Kind == logstream.KindAbort {
		s.aborts_[id] = true
	} else {
		s.sends[id] = &pendSend{msg: m, to: slices.Clone(to), sentAt: s.now, timeout: timeout, replies: map[string]logstream.Reply{}}
	}
	if !s.yield(logstream.Step{Kind: logstream.StepSend, ID: id, Msg: m, Targets: slices.Clone(to), Timeout: timeout}) {
		panic(errStopped)
	}
	return id
}

// collect waits until the sends named ids have all their replies (or the
// kit gave up on them) and returns them.
func (s *script) collect(ids ...uint64) []map[string]logstream.Reply {
	s.waitFor = ids
	if !s.yield(logstream.Step{}) { // Next sees waitFor and answers the engine itself
		panic(errStopped)
	}
	out := make([]map[string]logstream.Reply, len(ids))
	for i, id := range ids {
		out[i] = s.sends[id].replies
	}
	return out
}

// wait lets d pass in engine time.
func (s *script) wait(d time.Duration) {
	if !s.yield(logstream.Step{Kind: logstream.StepWait, Until: s.now.Add(d)}) {
		panic(errStopped)
	}
}

// await waits in steps of poll until cond holds or bound passed (engine
// time), and reports whether cond held.
func (s *script) await(cond func() bool, poll, bound time.Duration) bool {
	start := s.now
	for !cond() {
		if s.now.Sub(start) > bound {
			return cond()
		}
		s.wait(poll)
	}
	return true
}

// stream runs body as a stream to targets and checks what StreamObjects
// returned; then it settles the engine.
func (e *env) stream(ctx context.Context, targets []string, body func(s *script) logstream.Result) *script {
	s := newScript(e, targets, body)
	defer s.stop()
	res, err := e.pair.Sender.StreamObjects(ctx, kitChannel, kitTopic, kitContext(), targets, s)
	switch {
	case err != nil:
		e.errorf(clResult, "StreamObjects returned error %v", err)
	case s.aborts > 0:
		if !sameResult(res, s.abortRes) {
			e.errorf(clResult, "StreamObjects returned %s, not the producer's Abort result %s", fmtResult(res), fmtResult(s.abortRes))
		}
	case !s.finished:
		e.errorf(clResult, "StreamObjects returned (%s) before the producer said StepDone", fmtResult(res))
	case !sameResult(res, s.result):
		e.errorf(clResult, "StreamObjects returned %s, not the producer's result %s", fmtResult(res), fmtResult(s.result))
	}
	if s.aborts > 1 {
		e.errorf(clResult, "Producer.Abort called %d times", s.aborts)
	}
	e.settle()
	return s
}

func okResult(targets []string) logstream.Result {
	r := logstream.Result{RC: logstream.OK}
	for _, t := range targets {
		r.Targets = append(r.Targets, logstream.TargetResult{Target: t, RC: logstream.OK})
	}
	return r
}

func sameResult(a, b logstream.Result) bool {
	return a.RC == b.RC && slices.Equal(a.Targets, b.Targets)
}

func fmtResult(r logstream.Result) string {
	s := string(r.RC)
	if s == "" {
		s = "<empty>"
	}
	for _, t := range r.Targets {
		s += fmt.Sprintf(" %s=%s", t.Target, t.RC)
	}
	return s
}

func rcOf(r logstream.Reply) logstream.ReturnCode {
	if r.RC == "" {
		return logstream.OK
	}
	return r.RC
}

func fmtReply(r logstream.Reply) string {
	s := fmt.Sprintf("%s next=%d", rcOf(r), r.Next)
	if r.Closed {
		s += " closed"
	}
	return s
}

// ---- the receiving side ----

// hookFunc may take over a Consume call: handled reports whether it did.
type hookFunc func(target string, c *consumer, now time.Time, m *logstream.Message) (more bool, reply logstream.Reply, handled bool)

// recorder records what every receiver's consumers saw.
type recorder struct {
	e       *env
	mu      sync.Mutex
	changed chan struct{}
	hook    hookFunc
	t       map[string]*trec
}

// trec is what one target saw.
type trec struct {
	created  []*consumer
	consumed []consumed
	dones    []doneRec
	data     []byte
}

type consumed struct {
	tag string
	msg logstream.Message
}

type doneRec struct {
	id string
	rc logstream.ReturnCode
}

func newRecorder(e *env) *recorder {
	return &recorder{e: e, changed: make(chan struct{}, 1), t: map[string]*trec{}}
}

func (r *recorder) target(name string) *trec {
	t := r.t[name]
	if t == nil {
		t = &trec{}
		r.t[name] = t
	}
	return t
}

func (r *recorder) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// register registers a recording factory tagged tag on target's engine for
// channel:topic.
func (r *recorder) register(target, channel, topic, tag string) {
	eng := r.e.pair.Receivers[target]
	f := &factory{r: r, target: target, tag: tag}
	if err := eng.RegisterStreamProcessing(channel, topic, f, f.done); err != nil {
		r.e.errorf("registration", "RegisterStreamProcessing(%s, %s) on %s: %v", channel, topic, target, err)
	}
}

func (r *recorder) registerAll(targets []string) {
	for _, t := range targets {
		r.register(t, kitChannel, kitTopic, "exact")
	}
}

type factory struct {
	r      *recorder
	target string
	tag    string
}

// NewConsumer implements logstream.ConsumerFactory.
func (f *factory) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	c := &consumer{f: f, info: info, ctx: info.Ctx.Clone(), channel: info.Channel, topic: info.Topic, id: info.ID}
	f.r.mu.Lock()
	t := f.r.target(f.target)
	t.created = append(t.created, c)
	f.r.mu.Unlock()
	f.r.signal()
	return c, nil
}

func (f *factory) done(info *logstream.StreamInfo) {
	r := f.r
	r.mu.Lock()
	t := r.target(f.target)
	t.dones = append(t.dones, doneRec{id: info.ID, rc: info.RC})
	var c *consumer
	for _, x := range t.created {
		if x.id == info.ID {
			c = x
		}
	}
	var finals []logstream.ReturnCode
	busy := false
	if c != nil {
		c.dones++
		finals = slices.Clone(c.finals)
		busy = c.busy
		if c.dones == 1 {
			c.busyAtDone, c.doneRC = busy, info.RC
			// Done before Finalize with no Consume running: a violation
			// unless a Consume admitted just before the end starts now
			// (Finalize then follows it); verify decides.
			c.doneEarly = len(finals) == 0 && !busy
		}
	}
	r.mu.Unlock()
	switch {
	case c == nil:
		r.e.errorf(clDone, "%s: done called for stream %q, which no consumer of this factory was made for", f.target, info.ID)
	case len(finals) == 0:
		// Finalize comes when the running Consume returns (busy), or a
		// Consume admitted just before the end starts now: verify judges.
	case finals[0] != info.RC:
		r.e.errorf(clFinalize, "%s: Finalize got %s but done's StreamInfo.RC is %s", f.target, finals[0], info.RC)
	}
	if info.RC == "" {
		r.e.errorf(clDone, "%s: done called with an empty StreamInfo.RC", f.target)
	}
	r.signal()
}

// consumer records its calls and forwards data like LogConsumer: each byte
// once, in order.
type consumer struct {
	f       *factory
	info    *logstream.StreamInfo
	ctx     logstream.StreamContext
	channel string
	topic   string
	id      string

	next     int64
	busy     bool
	finals   []logstream.ReturnCode
	dones    int
	deadline time.Time // zero: none
	// busyAtDone: a Consume ran when done was called; doneRC is done's RC.
	busyAtDone bool
	doneRC     logstream.ReturnCode
	// lateStart: a Consume started after done although none ran then (it
	// may have been admitted just before the end).
	lateStart bool
	// doneEarly: done ran before Finalize with no Consume running.
	doneEarly bool
}

// Consume implements logstream.Consumer.
func (c *consumer) Consume(now time.Time, m *logstream.Message) (bool, logstream.Reply) {
	r := c.f.r
	cp := *m
	cp.Data = slices.Clone(m.Data)
	cp.Ctx = m.Ctx.Clone()
	r.mu.Lock()
	t := r.target(c.f.target)
	t.consumed = append(t.consumed, consumed{c.f.tag, cp})
	// A Consume admitted just before the end may start just after done,
	// once, when none ran at done; any other start after done, and any
	// after Finalize, is a Consume the engine started after the end.
	ended, overlap := len(c.finals) > 0, c.busy
	if c.dones > 0 && !ended {
		ended = c.busyAtDone || c.lateStart
		if !ended {
			c.doneEarly = false // explained: Finalize follows this Consume
		}
		c.lateStart = true
	}
	c.busy = true
	hook := r.hook
	r.mu.Unlock()
	r.signal()
	if ended {
		r.e.errorf(clAfterDone, "%s: Consume(%s) called after the stream ended", c.f.target, m)
	}
	if overlap {
		r.e.errorf(clOverlap, "%s: Consume(%s) called while another Consume of the stream runs", c.f.target, m)
	}
	defer func() {
		r.mu.Lock()
		c.busy = false
		r.mu.Unlock()
	}()
	if hook != nil {
		if more, reply, ok := hook(c.f.target, c, now, m); ok {
			return more, reply
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch m.Kind {
	case logstream.KindHeartbeat:
		return true, logstream.Reply{RC: logstream.OK, Next: c.next}
	case logstream.KindEOF:
		if m.Offset != c.next {
			return true, logstream.Reply{RC: logstream.BadRequestData, Next: c.next}
		}
		return false, logstream.Reply{RC: logstream.OK, Next: c.next}
	case logstream.KindData:
	default:
		return false, logstream.Reply{RC: logstream.BadRequestData, Next: c.next}
	}
	if m.Size != len(m.Data) {
		return false, logstream.Reply{RC: logstream.ExecutionException, Next: c.next}
	}
	if m.Offset > c.next {
		return true, logstream.Reply{RC: logstream.BadRequestData, Next: c.next}
	}
	if skip := c.next - m.Offset; skip < int64(len(m.Data)) {
		t.data = append(t.data, m.Data[skip:]...)
		c.next += int64(len(m.Data)) - skip
	}
	return true, logstream.Reply{RC: logstream.OK, Next: c.next}
}

// Deadline implements logstream.Consumer.
func (c *consumer) Deadline() (time.Time, bool) {
	c.f.r.mu.Lock()
	defer c.f.r.mu.Unlock()
	return c.deadline, !c.deadline.IsZero()
}

// Finalize implements logstream.Consumer.
func (c *consumer) Finalize(rc logstream.ReturnCode) {
	r := c.f.r
	r.mu.Lock()
	c.finals = append(c.finals, rc)
	n, busy, dones, doneRC := len(c.finals), c.busy, c.dones, c.doneRC
	r.mu.Unlock()
	if n > 1 {
		r.e.errorf(clFinalize, "%s: Finalize called %d times", c.f.target, n)
	}
	if busy {
		r.e.errorf(clFinalize, "%s: Finalize(%s) called while Consume runs", c.f.target, rc)
	}
	if n == 1 && dones > 0 && doneRC != rc {
		r.e.errorf(clFinalize, "%s: Finalize got %s after done got RC %s", c.f.target, rc, doneRC)
	}
	r.signal()
}

// ---- queries ----

func (r *recorder) snapshot(target string) trec {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.target(target)
	return trec{created: slices.Clone(t.created), consumed: slices.Clone(t.consumed),
		dones: slices.Clone(t.dones), data: slices.Clone(t.data)}
}

func (r *recorder) doneCount(target string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.target(target).dones)
}

// allDone reports whether every target had its done callback.
func (r *recorder) allDone(targets []string) bool {
	for _, t := range targets {
		if r.doneCount(t) == 0 {
			return false
		}
	}
	return true
}

// finals returns the RCs Finalize got for target's first consumer.
func (r *recorder) finals(target string) []logstream.ReturnCode {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.target(target); len(t.created) > 0 {
		return slices.Clone(t.created[0].finals)
	}
	return nil
}

// info returns the StreamInfo of target's first consumer.
func (r *recorder) info(target string) *logstream.StreamInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.target(target); len(t.created) > 0 {
		return t.created[0].info
	}
	return nil
}

// verify checks the invariants every case shares: done at most once per
// stream (and for a stream that exists), and that done came with the RC
// wanted (empty: done must not have been called; "any": any RC).
func (r *recorder) verify(want map[string]logstream.ReturnCode) {
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t := r.snapshot(name)
		w := want[name]
		perID := map[string]int{}
		for _, d := range t.dones {
			perID[d.id]++
		}
		for id, n := range perID {
			if n > 1 {
				r.e.errorf(clDone, "%s: done called %d times for stream %q", name, n, id)
			}
		}
		r.mu.Lock()
		var early, never []*consumer
		for _, c := range r.target(name).created {
			switch {
			case c.doneEarly:
				early = append(early, c)
			case c.dones > 0 && len(c.finals) == 0 && !c.busy:
				never = append(never, c)
			}
		}
		r.mu.Unlock()
		for _, c := range early {
			r.e.errorf(clFinalize, "%s: done (RC %s) called before Finalize", name, c.doneRC)
		}
		for _, c := range never {
			r.e.errorf(clFinalize, "%s: done (RC %s) called, and Finalize never, though no Consume runs", name, c.doneRC)
		}
		switch {
		case w == "" && len(t.dones) > 0:
			r.e.errorf(clDone, "%s: done called (RC %s) for a stream that should still be open", name, t.dones[0].rc)
		case w == "" || w == anyRC:
		case len(t.dones) == 0:
			r.e.errorf(clDone, "%s: done never called (want RC %s)", name, w)
		case t.dones[0].rc != w:
			r.e.errorf(clDone, "%s: done called with RC %s, want %s", name, t.dones[0].rc, w)
		}
	}
}

const anyRC logstream.ReturnCode = "<any>"

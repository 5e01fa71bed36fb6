package logstream

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultEndedMemory is how long a Dispatcher remembers each ended stream by
// default. It must exceed the longest time a correct sender keeps retrying a
// stream's first message (with this package's defaults, NotReadyTimeout and
// RetryLimit attempts: a few minutes).
const DefaultEndedMemory = time.Hour

// ErrBadRegistration is returned for an empty channel or topic or a nil
// factory.
var ErrBadRegistration = errors.New("logstream: bad registration")

type registration struct {
	f    ConsumerFactory
	done DoneFunc
}

// rstream is one stream on the receiving side. Its mutex is never held while
// user code (factory, Consume, Finalize, done) runs, so nothing that ends a
// stream ever waits for user code.
type rstream struct {
	d    *Dispatcher
	info *StreamInfo
	done DoneFunc

	mu        sync.Mutex
	c         Consumer      // nil while the factory runs
	busy      bool          // the factory or a Consume is running
	busySince time.Time     // when the running call started
	wake      chan struct{} // made by a waiter; closed (and dropped) when busy clears or the stream ends
	ended     bool
	failed    bool // the factory failed: the stream never existed
	finalized bool
	rc        ReturnCode
	pendRC    ReturnCode // an end asked for while the factory ran
	next      int64      // last Next the consumer reported
	lastAt    time.Time  // when the last message was consumed (or the stream made)
	deadline  time.Time  // the consumer's deadline after that
	hasDL     bool
}

// closedStream is what a Dispatcher remembers of an ended stream.
type closedStream struct {
	rc   ReturnCode
	next int64
}

type endedAt struct {
	id string
	at time.Time
}

// Dispatcher is the receiving half of an engine: the registry of consumer
// factories by channel and topic, one consumer per stream, the END_STREAM
// hook, the idle deadlines, and the done callback, called exactly once per
// stream. It is safe for concurrent use. An engine calls Handle (or
// HandleContext) for every message, Expire when NextDeadline passes, and
// Shutdown when it stops.
//
// Guarantees: Consume calls of one stream never overlap; no Consume starts
// after the stream ended; done runs once per stream with no lock held, so a
// duplicated or reordered first message cannot deadlock it (H20). Nothing
// that ends a stream waits for user code of that stream: when the watchdog,
// END_STREAM, an Abort message or Shutdown ends a stream whose Consume is
// still running (a chunk callback that blocks), the stream ends at once,
// done runs, the late Consume's result is ignored (its message gets the
// Closed reply) and Finalize runs when it returns. While a Consume runs, the
// stream's idle deadline is the time its message arrived plus the idle period
// the consumer showed last (its Deadline minus the time of the message
// before), and messages for the stream wait for the running Consume (or for
// the end of the stream, or for HandleContext's context). An end asked for
// while the stream's factory runs takes effect when the factory returns.
//
// Ended streams are remembered, so that a late retry or duplicate gets the
// stream's final answer and never starts it again. An ended stream is kept for
// the ended memory (SetEndedMemory, DefaultEndedMemory) of Dispatcher time
// (the latest now it was given). After that, a stream ID made by NewStreamID
// is forgotten but stays refused: a message that would start a stream whose
// sequence number is not above that of a forgotten stream of the same sender
// process gets BAD_REQUEST_DATA, Closed (one number per sender process is
// kept for the Dispatcher's lifetime). Other stream IDs are remembered for
// the Dispatcher's lifetime.
type Dispatcher struct {
	mu       sync.Mutex
	reg      map[string]registration
	streams  map[string]*rstream
	closed   map[string]closedStream
	endedQ   []endedAt         // ended streams with NewStreamID IDs, oldest first
	floor    map[string]uint64 // per sender process: highest forgotten sequence number
	memory   time.Duration
	now      time.Time // latest time seen
	shutdown bool
	notify   func()
}

// Notify makes the Dispatcher call f (with no lock held) whenever
// NextDeadline may have moved earlier than anything it returned before:
// when a new stream starts, before its first Consume (a watchdog that
// re-read NextDeadline only after Handle returned would miss a stream whose
// first chunk callback blocks), and when a Consume leaves its stream's
// deadline earlier than it was before the message (or sets one where there
// was none). A message that moves its stream's deadline later, the common
// case, calls nothing: a watchdog armed for the old deadline wakes early,
// finds nothing to expire and reads NextDeadline again. So a watchdog needs
// to re-read NextDeadline only when f is called or its timer fires, not
// after every message.
func (d *Dispatcher) Notify(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notify = f
}

// NewDispatcher returns an empty Dispatcher.
func NewDispatcher() *Dispatcher {
	return &Dispatcher{
		reg:     map[string]registration{},
		streams: map[string]*rstream{},
		closed:  map[string]closedStream{},
		floor:   map[string]uint64{},
		memory:  DefaultEndedMemory,
	}
}

// SetEndedMemory sets how long ended streams are remembered (see Dispatcher);
// m <= 0 selects DefaultEndedMemory.
func (d *Dispatcher) SetEndedMemory(m time.Duration) {
	if m <= 0 {
		m = DefaultEndedMemory
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.memory = m
}

// Remembered returns how many ended streams the Dispatcher remembers by ID.
func (d *Dispatcher) Remembered() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.closed)
}

// Register routes new streams on channel:topic to f; channel or topic may be
// "*". It replaces an earlier registration for new streams only.
func (d *Dispatcher) Register(channel, topic string, f ConsumerFactory, done DoneFunc) error {
	if channel == "" || topic == "" || f == nil {
		return ErrBadRegistration
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reg[channel+":"+topic] = registration{f, done}
	return nil
}

func (d *Dispatcher) lookup(channel, topic string) (registration, bool) {
	for _, k := range []string{channel + ":" + topic, channel + ":*", "*:*"} {
		if r, ok := d.reg[k]; ok {
			return r, true
		}
	}
	return registration{}, false
}

// Handle consumes one message at now and returns the reply to send back. It
// is HandleContext without a context: a message for a stream whose Consume
// is running waits until that Consume returns or the stream ends.
func (d *Dispatcher) Handle(now time.Time, m *Message) Reply {
	return d.HandleContext(context.Background(), now, m)
}

// HandleContext is Handle, except that waiting for the stream's running
// Consume (or factory) also ends when ctx is done; the reply is then
// TIMEOUT and the message was not consumed. Engines pass the context of the
// delivery, so that no goroutine outlives a delivery the sender gave up on.
func (d *Dispatcher) HandleContext(ctx context.Context, now time.Time, m *Message) Reply {
	if m.StreamID == "" || m.Kind < KindData || m.Kind > KindAbort {
		return Reply{RC: BadRequestData}
	}
	s, r := d.stream(now, m)
	if s == nil {
		return r
	}
	s.mu.Lock()
	for {
		switch {
		case s.failed:
			s.mu.Unlock()
			return Reply{RC: ExecutionException}
		case s.ended:
			r := s.closedReply()
			s.mu.Unlock()
			return r
		case m.Kind == KindAbort:
			next := s.next
			d.endOrDefer(s, TaskAborted)
			return Reply{RC: OK, Next: next}
		}
		if !s.busy {
			break
		}
		if s.wake == nil {
			s.wake = make(chan struct{})
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return Reply{RC: Timeout}
		}
		s.mu.Lock()
	}
	s.busy, s.busySince = true, now
	// While Consume runs, NextDeadline gives this stream's deadline as
	// busyDL: a watchdog may have armed its timer for it.
	busyDL, busyHas := s.deadlineLocked()
	s.mu.Unlock()

	more, reply := s.c.Consume(now, m)
	dl, hasDL := s.c.Deadline() // still busy: no Consume overlaps this
	if hasDL && (!busyHas || dl.Before(busyDL)) {
		defer d.notifyWatchdog() // once the new deadline shows
	}

	s.mu.Lock()
	s.setIdle()
	if s.ended {
		// The stream ended while Consume ran: its result is ignored.
		r := s.closedReply()
		s.mu.Unlock()
		s.finalize()
		return r
	}
	if reply.RC == "" {
		reply.RC = OK
	}
	s.next, s.lastAt, s.deadline, s.hasDL = reply.Next, now, dl, hasDL
	if !more {
		d.end(s, reply.RC)
		return reply
	}
	s.mu.Unlock()
	return reply
}

// notifyWatchdog calls the Notify function, if any: NextDeadline may be
// earlier than a watchdog saw it (see Notify). Called once the deadline
// shows in NextDeadline, with no lock held.
func (d *Dispatcher) notifyWatchdog() {
	d.mu.Lock()
	notify := d.notify
	d.mu.Unlock()
	if notify != nil {
		notify()
	}
}

func (s *rstream) closedReply() Reply { return Reply{RC: s.rc, Next: s.next, Closed: true} }

// setIdle clears busy and wakes the messages waiting for it; s.mu is held.
func (s *rstream) setIdle() {
	s.busy = false
	s.wakeAll()
}

// wakeAll releases the messages waiting for s; s.mu is held.
func (s *rstream) wakeAll() {
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
}

// finalize runs the consumer's Finalize once, after the stream ended and no
// Consume runs; it sets the consumer's StreamInfo.RC first.
func (s *rstream) finalize() {
	s.mu.Lock()
	if s.finalized || !s.ended || s.busy || s.c == nil {
		s.mu.Unlock()
		return
	}
	s.finalized = true
	s.info.RC = s.rc
	s.mu.Unlock()
	s.c.Finalize(s.rc)
}

// stream finds or creates the stream m belongs to. With a nil stream, the
// reply is the answer to m.
func (d *Dispatcher) stream(now time.Time, m *Message) (*rstream, Reply) {
	d.mu.Lock()
	if now.After(d.now) {
		d.now = now
	}
	if s := d.streams[m.StreamID]; s != nil {
		d.mu.Unlock()
		return s, Reply{}
	}
	if c, ok := d.closed[m.StreamID]; ok {
		d.mu.Unlock()
		return nil, Reply{RC: c.rc, Next: c.next, Closed: true}
	}
	if d.shutdown {
		d.mu.Unlock()
		return nil, Reply{RC: TaskAborted, Closed: true}
	}
	if m.Kind == KindAbort {
		d.mu.Unlock()
		return nil, Reply{RC: OK}
	}
	if key, seq, ok := parseStreamID(m.StreamID); ok {
		if f, ok := d.floor[key]; ok && seq <= f {
			d.mu.Unlock()
			// Ended longer ago than the memory (or never started and now
			// older than a stream that did): never start it again.
			return nil, Reply{RC: BadRequestData, Closed: true}
		}
	}
	reg, ok := d.lookup(m.Channel, m.Topic)
	if !ok {
		d.mu.Unlock()
		// Bootstrap miss: create nothing, the sender retries.
		return nil, Reply{RC: NotReady}
	}
	if m.Ctx == nil {
		d.mu.Unlock()
		// A message for a stream we never saw, without the context to
		// start it.
		return nil, Reply{RC: BadRequestData}
	}
	// Insert the stream, busy, before its consumer exists, so that a
	// duplicate first message waits for this one instead of calling the
	// factory a second time.
	s := &rstream{d: d, done: reg.done, busy: true, busySince: now}
	s.info = &StreamInfo{ID: m.StreamID, Channel: m.Channel, Topic: m.Topic, Ctx: m.Ctx.Clone()}
	s.info.EndStream = s.endStream
	s.info.admit = s.open
	d.streams[m.StreamID] = s
	d.mu.Unlock()

	c, err := reg.f.NewConsumer(now, s.info)
	var dl time.Time
	var hasDL bool
	if err == nil && c != nil {
		dl, hasDL = c.Deadline()
	}
	s.mu.Lock()
	s.setIdle()
	if err != nil || c == nil {
		// No stream after all: forget it, so that a retry may try again.
		s.ended, s.failed = true, true
		s.mu.Unlock()
		d.mu.Lock()
		if d.streams[m.StreamID] == s {
			delete(d.streams, m.StreamID)
		}
		d.mu.Unlock()
		return nil, Reply{RC: ExecutionException}
	}
	s.c, s.lastAt, s.deadline, s.hasDL = c, now, dl, hasDL
	if rc := s.pendRC; rc != "" {
		d.end(s, rc)
		return nil, Reply{RC: rc, Closed: true}
	}
	s.mu.Unlock()
	if hasDL {
		d.notifyWatchdog()
	}
	return s, Reply{}
}

// open reports whether s has not ended: a LogConsumer asks right before each
// chunk callback, so that none starts after the end.
func (s *rstream) open() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended
}

// endStream is the END_STREAM hook handed to consumers. It ends the stream
// at once, also while a Consume runs (from inside it, too: done then runs on
// the caller's goroutine).
func (s *rstream) endStream(rc ReturnCode) {
	s.mu.Lock()
	s.d.endOrDefer(s, rc)
}

// endOrDefer ends s (whose mu is held, and released) with rc, or, while its
// factory runs, makes the end happen when the factory returns.
func (d *Dispatcher) endOrDefer(s *rstream, rc ReturnCode) {
	switch {
	case s.ended:
		s.mu.Unlock()
	case s.c == nil:
		if s.pendRC == "" {
			s.pendRC = rc
		}
		s.mu.Unlock()
	default:
		d.end(s, rc)
	}
}

// end ends s (whose mu is held) with rc, releases s.mu, then runs Finalize
// (unless a Consume runs: it finalizes when it returns) and the done
// callback.
func (d *Dispatcher) end(s *rstream, rc ReturnCode) {
	s.ended, s.rc = true, rc
	busy := s.busy
	info := s.info
	if busy {
		// The running Consume may read its StreamInfo: done gets a copy
		// with RC set; the consumer's copy gets it before Finalize.
		cp := *s.info
		cp.RC = rc
		info = &cp
	}
	next := s.next
	s.wakeAll() // waiting messages get the Closed reply
	s.mu.Unlock()

	d.mu.Lock()
	if d.streams[s.info.ID] == s {
		delete(d.streams, s.info.ID)
	}
	d.remember(s.info.ID, closedStream{rc, next})
	d.mu.Unlock()

	if !busy {
		s.finalize()
	}
	if s.done != nil {
		s.done(info)
	}
}

// remember records an ended stream and forgets those older than the memory;
// d.mu is held.
func (d *Dispatcher) remember(id string, c closedStream) {
	d.closed[id] = c
	if _, _, ok := parseStreamID(id); !ok {
		return // kept for the Dispatcher's lifetime
	}
	d.endedQ = append(d.endedQ, endedAt{id, d.now})
	n := 0
	for n < len(d.endedQ) && d.now.Sub(d.endedQ[n].at) > d.memory {
		old := d.endedQ[n].id
		key, seq, _ := parseStreamID(old)
		if f, ok := d.floor[key]; !ok || seq > f {
			d.floor[key] = seq
		}
		delete(d.closed, old)
		n++
	}
	if n > 0 {
		d.endedQ = slices.Delete(d.endedQ, 0, n)
	}
}

// parseStreamID splits an ID made by NewStreamID into its sender process
// (prefix and epoch) and sequence number.
func parseStreamID(id string) (key string, seq uint64, ok bool) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil || seq == 0 || strconv.FormatUint(seq, 10) != id[i+1:] {
		return "", 0, false
	}
	key = id[:i]
	j := strings.LastIndexByte(key, '-')
	if j < 0 || len(key)-j-1 != epochLen {
		return "", 0, false
	}
	for _, c := range key[j+1:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", 0, false
		}
	}
	return key, seq, true
}

// open returns the open streams sorted by ID, so that callers act on them in
// a deterministic order.
func (d *Dispatcher) open() []*rstream {
	d.mu.Lock()
	out := make([]*rstream, 0, len(d.streams))
	for _, s := range d.streams {
		out = append(out, s)
	}
	d.mu.Unlock()
	slices.SortFunc(out, func(a, b *rstream) int { return strings.Compare(a.info.ID, b.info.ID) })
	return out
}

// deadlineLocked is s's idle deadline; s.mu is held.
func (s *rstream) deadlineLocked() (time.Time, bool) {
	if s.ended || s.c == nil || !s.hasDL {
		return time.Time{}, false
	}
	if s.busy {
		return s.busySince.Add(s.deadline.Sub(s.lastAt)), true
	}
	return s.deadline, true
}

// NextDeadline returns the earliest idle deadline of the open streams (see
// Dispatcher for the deadline of a stream whose Consume runs). It never
// waits for user code; engines ask again after each message.
func (d *Dispatcher) NextDeadline() (time.Time, bool) {
	var best time.Time
	found := false
	for _, s := range d.open() {
		s.mu.Lock()
		if t, ok := s.deadlineLocked(); ok && (!found || t.Before(best)) {
			best, found = t, true
		}
		s.mu.Unlock()
	}
	return best, found
}

// Expire ends with TIMEOUT every open stream whose deadline is at or before
// now, and returns how many it ended. It does not wait for a running
// Consume.
func (d *Dispatcher) Expire(now time.Time) int {
	d.mu.Lock()
	if now.After(d.now) {
		d.now = now
	}
	d.mu.Unlock()
	n := 0
	for _, s := range d.open() {
		s.mu.Lock()
		if t, ok := s.deadlineLocked(); ok && !now.Before(t) {
			d.end(s, Timeout)
			n++
			continue
		}
		s.mu.Unlock()
	}
	return n
}

// Shutdown ends every open stream with TASK_ABORTED (H16) and answers later
// messages with TASK_ABORTED. It does not wait for a running Consume; a
// stream whose factory is running ends when the factory returns.
func (d *Dispatcher) Shutdown() {
	d.mu.Lock()
	d.shutdown = true
	d.mu.Unlock()
	for _, s := range d.open() {
		s.mu.Lock()
		d.endOrDefer(s, TaskAborted)
	}
}

// Open returns the number of open streams.
func (d *Dispatcher) Open() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.streams)
}

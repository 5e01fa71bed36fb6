package logstream

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// maxClosed bounds how many ended streams a Dispatcher remembers, so that a
// late retry of a finished stream gets the stream's final answer instead of
// starting it again.
const maxClosed = 4096

// ErrBadRegistration is returned for an empty channel or topic or a nil
// factory.
var ErrBadRegistration = errors.New("logstream: bad registration")

type registration struct {
	f    ConsumerFactory
	done DoneFunc
}

// rstream is one open stream on the receiving side.
type rstream struct {
	mu   sync.Mutex // serializes Consume, Deadline and the end
	info *StreamInfo
	c    Consumer
	done DoneFunc

	ended  bool
	failed bool // the factory failed: the stream never existed
	rc     ReturnCode
	next   int64 // last Next the consumer reported

	flag       sync.Mutex // guards consuming and pendEnd
	consuming  bool
	pendEndRC  ReturnCode
	dispatcher *Dispatcher
}

type closedStream struct {
	rc   ReturnCode
	next int64
}

// Dispatcher is the receiving half of an engine: the registry of consumer
// factories by channel and topic, one consumer per stream, the END_STREAM
// hook, the idle deadlines, and the done callback, called exactly once per
// stream. It is safe for concurrent use. An engine calls Handle for every
// message, Expire when NextDeadline passes, and Shutdown when it stops.
//
// Guarantees: Consume calls of one stream never overlap; no Consume runs
// after the stream ended; done runs once per stream, after Finalize, with no
// lock held; no lock is held while user code runs, so a duplicated or
// reordered first message cannot deadlock it (H20).
type Dispatcher struct {
	mu       sync.Mutex
	reg      map[string]registration
	streams  map[string]*rstream
	closed   map[string]closedStream
	closedQ  []string
	shutdown bool
}

// NewDispatcher returns an empty Dispatcher.
func NewDispatcher() *Dispatcher {
	return &Dispatcher{
		reg:     map[string]registration{},
		streams: map[string]*rstream{},
		closed:  map[string]closedStream{},
	}
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

// Handle consumes one message at now and returns the reply to send back.
func (d *Dispatcher) Handle(now time.Time, m *Message) Reply {
	if m.StreamID == "" || m.Kind < KindData || m.Kind > KindAbort {
		return Reply{RC: BadRequestData}
	}
	s, r := d.stream(now, m)
	if s == nil {
		return r
	}
	s.mu.Lock()
	if s.failed {
		s.mu.Unlock()
		return Reply{RC: ExecutionException}
	}
	if s.ended {
		r := Reply{RC: s.rc, Next: s.next, Closed: true}
		s.mu.Unlock()
		return r
	}
	if m.Kind == KindAbort {
		d.endLocked(s, TaskAborted)
		return Reply{RC: OK, Next: s.next}
	}
	s.setConsuming(true)
	more, reply := s.c.Consume(now, m)
	pend := s.setConsuming(false)
	if reply.RC == "" {
		reply.RC = OK
	}
	s.next = reply.Next
	switch {
	case !more:
		d.endLocked(s, reply.RC)
	case pend != "":
		d.endLocked(s, pend)
		reply = Reply{RC: pend, Next: s.next, Closed: true}
	default:
		s.mu.Unlock()
	}
	return reply
}

// stream finds or creates the stream m belongs to. With a nil stream, the
// reply is the answer to m.
func (d *Dispatcher) stream(now time.Time, m *Message) (*rstream, Reply) {
	d.mu.Lock()
	if d.shutdown {
		d.mu.Unlock()
		return nil, Reply{RC: TaskAborted, Closed: true}
	}
	if s := d.streams[m.StreamID]; s != nil {
		d.mu.Unlock()
		return s, Reply{}
	}
	if c, ok := d.closed[m.StreamID]; ok {
		d.mu.Unlock()
		return nil, Reply{RC: c.rc, Next: c.next, Closed: true}
	}
	if m.Kind == KindAbort {
		d.mu.Unlock()
		return nil, Reply{RC: OK}
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
	// Insert the stream before its consumer exists, holding its lock, so
	// that a duplicate first message waits for this one instead of calling
	// the factory a second time.
	s := &rstream{done: reg.done, dispatcher: d}
	s.info = &StreamInfo{ID: m.StreamID, Channel: m.Channel, Topic: m.Topic, Ctx: m.Ctx.Clone()}
	s.info.EndStream = s.endStream
	s.mu.Lock()
	d.streams[m.StreamID] = s
	d.mu.Unlock()

	s.setConsuming(true) // EndStream during NewConsumer is deferred
	c, err := reg.f.NewConsumer(now, s.info)
	pend := s.setConsuming(false)
	if err != nil || c == nil {
		// No stream after all: forget it, so that a retry may try again.
		s.ended, s.failed = true, true
		d.mu.Lock()
		if d.streams[m.StreamID] == s {
			delete(d.streams, m.StreamID)
		}
		d.mu.Unlock()
		s.mu.Unlock()
		return nil, Reply{RC: ExecutionException}
	}
	s.c = c
	if pend != "" {
		d.endLocked(s, pend)
		return nil, Reply{RC: pend, Closed: true}
	}
	s.mu.Unlock()
	return s, Reply{}
}

func (s *rstream) setConsuming(on bool) ReturnCode {
	s.flag.Lock()
	defer s.flag.Unlock()
	s.consuming = on
	rc := s.pendEndRC
	if on {
		s.pendEndRC = ""
	}
	return rc
}

// endStream is the END_STREAM hook handed to consumers.
func (s *rstream) endStream(rc ReturnCode) {
	s.flag.Lock()
	if s.consuming {
		if s.pendEndRC == "" {
			s.pendEndRC = rc
		}
		s.flag.Unlock()
		return
	}
	s.flag.Unlock()
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.dispatcher.endLocked(s, rc)
}

// endLocked ends s (whose mu is held) with rc, releases s.mu, then runs
// Finalize and the done callback.
func (d *Dispatcher) endLocked(s *rstream, rc ReturnCode) {
	s.ended, s.rc = true, rc
	s.info.RC = rc
	s.mu.Unlock()

	d.mu.Lock()
	if d.streams[s.info.ID] == s {
		delete(d.streams, s.info.ID)
	}
	d.closed[s.info.ID] = closedStream{rc, s.next}
	d.closedQ = append(d.closedQ, s.info.ID)
	if len(d.closedQ) > maxClosed {
		delete(d.closed, d.closedQ[0])
		d.closedQ = d.closedQ[1:]
	}
	d.mu.Unlock()

	s.c.Finalize(rc)
	if s.done != nil {
		s.done(s.info)
	}
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
	slices.SortFunc(out, func(a, b *rstream) int {
		switch {
		case a.info.ID < b.info.ID:
			return -1
		case a.info.ID > b.info.ID:
			return 1
		}
		return 0
	})
	return out
}

// NextDeadline returns the earliest idle deadline of the open streams. A
// stream busy in Consume is skipped: it is not idle, and its consumer will
// have a new deadline when Consume returns (engines ask again after each
// message). So a slow consumer never holds up the watchdog of other streams.
func (d *Dispatcher) NextDeadline() (time.Time, bool) {
	var best time.Time
	found := false
	for _, s := range d.open() {
		if !s.mu.TryLock() {
			continue
		}
		if !s.ended {
			if t, ok := s.c.Deadline(); ok && (!found || t.Before(best)) {
				best, found = t, true
			}
		}
		s.mu.Unlock()
	}
	return best, found
}

// Expire ends with TIMEOUT every open stream whose deadline is at or before
// now, and returns how many it ended. A stream busy in Consume is not idle
// and is left alone.
func (d *Dispatcher) Expire(now time.Time) int {
	n := 0
	for _, s := range d.open() {
		if !s.mu.TryLock() {
			continue
		}
		if s.ended {
			s.mu.Unlock()
			continue
		}
		if t, ok := s.c.Deadline(); ok && !now.Before(t) {
			d.endLocked(s, Timeout)
			n++
			continue
		}
		s.mu.Unlock()
	}
	return n
}

// Shutdown ends every open stream with TASK_ABORTED (H16) and answers later
// messages with TASK_ABORTED.
func (d *Dispatcher) Shutdown() {
	d.mu.Lock()
	d.shutdown = true
	d.mu.Unlock()
	for _, s := range d.open() {
		s.mu.Lock()
		if s.ended {
			s.mu.Unlock()
			continue
		}
		d.endLocked(s, TaskAborted)
	}
}

// Open returns the number of open streams.
func (d *Dispatcher) Open() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.streams)
}

package logstream

import (
	"fmt"
	"time"
)

// ChunkFunc receives log bytes, in stream order, each byte once. An error
// ends the stream with EXECUTION_EXCEPTION.
//
// data is valid only until the callback returns: the engine reuses the
// buffer for the next message (and the sender its read buffer), so a
// callback that keeps bytes (after it returns, or on another goroutine) must
// copy them.
//
// The callback may block (a full disk, a slow downstream): the stream's idle
// watchdog, END_STREAM, an Abort and the engine's shutdown do not wait for
// it. They end the stream at once and done runs while the callback still
// runs; its return is then ignored, and no callback is admitted after the
// end.
type ChunkFunc func(data []byte, info *StreamInfo) error

// DefaultReorderBytes bounds the out-of-order chunks a LogConsumer holds
// per stream.
const DefaultReorderBytes = 16 << 20

// LogConsumer is the receiving half of a log stream: it forwards each byte
// once, in order, absorbs heartbeats, rejects chunks whose size field lies,
// and keeps the idle deadline. A chunk that arrives before an earlier one
// (a sender's window, a transport that reorders) is held, up to a bound,
// and forwarded once the bytes before it are: its reply is OK with Next
// before the chunk. Past the bound it is refused (BAD_REQUEST_DATA with
// Next) and the sender sends it again. It implements Consumer.
type LogConsumer struct {
	info    *StreamInfo
	chunk   ChunkFunc
	idle    time.Duration
	last    time.Time // last message (or creation)
	next    int64     // stream offset of the next byte to forward
	dups    int64     // bytes received more than once and dropped
	refused int       // messages refused for a gap

	held      map[int64][]byte // out-of-order chunks (copies) by offset
	heldBytes int64
	maxHeld   int64
}

// NewLogConsumer returns a consumer that forwards data to chunk (which may be
// nil) and ends the stream after idle without a message (0: never). It
// holds at most DefaultReorderBytes of out-of-order chunks.
func NewLogConsumer(now time.Time, info *StreamInfo, chunk ChunkFunc, idle time.Duration) *LogConsumer {
	return &LogConsumer{info: info, chunk: chunk, idle: idle, last: now, maxHeld: DefaultReorderBytes}
}

// Next returns the stream offset of the next byte to forward.
func (c *LogConsumer) Next() int64 { return c.next }

// Duplicates returns how many received bytes were dropped as already
// forwarded.
func (c *LogConsumer) Duplicates() int64 { return c.dups }

// Consume implements Consumer.
func (c *LogConsumer) Consume(now time.Time, m *Message) (bool, Reply) {
	c.last = now
	switch m.Kind {
	case KindHeartbeat:
		return true, Reply{RC: OK, Next: c.next}
	case KindEOF:
		if m.Offset != c.next {
			// The sender says the stream is longer (or shorter) than what
			// we forwarded: refuse it, the sender decides.
			c.refused++
			return true, Reply{RC: BadRequestData, Next: c.next}
		}
		return false, Reply{RC: OK, Next: c.next}
	case KindData:
	default:
		return true, Reply{RC: BadRequestData, Next: c.next}
	}
	if m.Size != len(m.Data) {
		return false, Reply{RC: ExecutionException, Next: c.next}
	}
	if m.Offset > c.next {
		if c.hold(m) {
			return true, Reply{RC: OK, Next: c.next}
		}
		c.refused++
		return true, Reply{RC: BadRequestData, Next: c.next}
	}
	if rc := c.forward(m.Offset, m.Data); rc != "" {
		return false, Reply{RC: rc, Next: c.next}
	}
	// Held chunks that now follow on go out too.
	for len(c.held) > 0 {
		off, data, ok := c.nextHeld()
		if !ok {
			break
		}
		if rc := c.forward(off, data); rc != "" {
			return false, Reply{RC: rc, Next: c.next}
		}
	}
	return true, Reply{RC: OK, Next: c.next}
}

// forward hands the bytes of data (at stream offset off <= next) not
// forwarded yet to the chunk callback. It returns "" when they went out,
// else the code the stream ends with: EXECUTION_EXCEPTION when the callback
// failed, TASK_ABORTED when the stream ended while the message waited
// (nothing is forwarded then, H15; the Dispatcher ignores the result).
func (c *LogConsumer) forward(off int64, data []byte) ReturnCode {
	skip := c.next - off
	if skip >= int64(len(data)) {
		c.dups += int64(len(data))
		return ""
	}
	c.dups += skip
	data = data[skip:]
	if c.chunk != nil {
		if c.info != nil && c.info.admit != nil && !c.info.admit() {
			return TaskAborted
		}
		if err := c.chunk(data, c.info); err != nil {
			return ExecutionException
		}
	}
	c.next += int64(len(data))
	return ""
}

// hold keeps a copy of m, which starts past next, if the bound allows.
func (c *LogConsumer) hold(m *Message) bool {
	if _, dup := c.held[m.Offset]; dup {
		return true
	}
	if c.heldBytes+int64(len(m.Data)) > c.maxHeld {
		return false
	}
	if c.held == nil {
		c.held = map[int64][]byte{}
	}
	c.held[m.Offset] = append([]byte(nil), m.Data...)
	c.heldBytes += int64(len(m.Data))
	return true
}

// nextHeld removes and returns the held chunk that covers next, dropping
// those wholly before it; ok is false when none does.
func (c *LogConsumer) nextHeld() (off int64, data []byte, ok bool) {
	for {
		best := int64(-1)
		for o := range c.held {
			if o <= c.next && (best < 0 || o < best) {
				best = o
			}
		}
		if best < 0 {
			return 0, nil, false
		}
		d := c.held[best]
		delete(c.held, best)
		c.heldBytes -= int64(len(d))
		if best+int64(len(d)) > c.next {
			return best, d, true
		}
		c.dups += int64(len(d))
	}
}

// Deadline implements Consumer.
func (c *LogConsumer) Deadline() (time.Time, bool) {
	if c.idle <= 0 {
		return time.Time{}, false
	}
	return c.last.Add(c.idle), true
}

// Finalize implements Consumer.
func (c *LogConsumer) Finalize(ReturnCode) {}

// String describes the consumer's position.
func (c *LogConsumer) String() string {
	return fmt.Sprintf("next=%d dups=%d refused=%d held=%d", c.next, c.dups, c.refused, c.heldBytes)
}

// LogConsumerFactory makes a LogConsumer per stream, forwarding to Chunk
// with the idle timeout and reorder bound its ReceiveOptions select (zero:
// the defaults; see ReceiveOptions). RegisterStreamProcessing registers one.
type LogConsumerFactory struct {
	Chunk ChunkFunc
	ReceiveOptions
}

// NewConsumer implements ConsumerFactory.
func (f *LogConsumerFactory) NewConsumer(now time.Time, info *StreamInfo) (Consumer, error) {
	return f.NewLogConsumer(now, info), nil
}

// NewLogConsumer is NewConsumer for callers that wrap the LogConsumer.
func (f *LogConsumerFactory) NewLogConsumer(now time.Time, info *StreamInfo) *LogConsumer {
	c := NewLogConsumer(now, info, f.Chunk, f.Idle())
	switch {
	case f.ReorderBytes > 0:
		c.maxHeld = f.ReorderBytes
	case f.ReorderBytes < 0:
		c.maxHeld = 0
	}
	return c
}

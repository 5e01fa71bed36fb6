package logstream

import (
	"fmt"
	"time"
)

// ChunkFunc receives log bytes, in stream order, each byte once. An error
// ends the stream with EXECUTION_EXCEPTION.
//
// data is valid only until the callback returns: the engine reuses the
// buffer for the next message, so a callback that keeps bytes (after it
// returns, or on another goroutine) must copy them.
//
// The callback may block (a full disk, a slow downstream): the stream's idle
// watchdog, END_STREAM, an Abort and the engine's shutdown do not wait for
// it. They end the stream at once and done runs while the callback still
// runs; its return is then ignored, and no callback is admitted after the
// end.
type ChunkFunc func(data []byte, info *StreamInfo) error

// LogConsumer is the receiving half of a log stream: it forwards each byte
// once, in order, absorbs heartbeats, rejects chunks whose size field lies,
// and keeps the idle deadline. It implements Consumer.
type LogConsumer struct {
	info    *StreamInfo
	chunk   ChunkFunc
	idle    time.Duration
	last    time.Time // last message (or creation)
	next    int64     // stream offset of the next byte to forward
	dups    int64     // bytes received more than once and dropped
	refused int       // messages refused for a gap
}

// NewLogConsumer returns a consumer that forwards data to chunk (which may be
// nil) and ends the stream after idle without a message (0: never).
func NewLogConsumer(now time.Time, info *StreamInfo, chunk ChunkFunc, idle time.Duration) *LogConsumer {
	return &LogConsumer{info: info, chunk: chunk, idle: idle, last: now}
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
		c.refused++
		return true, Reply{RC: BadRequestData, Next: c.next}
	}
	skip := c.next - m.Offset
	if skip >= int64(len(m.Data)) {
		c.dups += int64(len(m.Data))
		return true, Reply{RC: OK, Next: c.next}
	}
	c.dups += skip
	data := m.Data[skip:]
	if c.chunk != nil {
		if c.info != nil && c.info.admit != nil && !c.info.admit() {
			// The stream ended while this message waited: forward
			// nothing (H15). The Dispatcher ignores this result.
			return false, Reply{RC: TaskAborted, Next: c.next}
		}
		if err := c.chunk(data, c.info); err != nil {
			return false, Reply{RC: ExecutionException, Next: c.next}
		}
	}
	c.next += int64(len(data))
	return true, Reply{RC: OK, Next: c.next}
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
	return fmt.Sprintf("next=%d dups=%d refused=%d", c.next, c.dups, c.refused)
}

// LogConsumerFactory makes a LogConsumer per stream.
type LogConsumerFactory struct {
	Chunk       ChunkFunc
	IdleTimeout time.Duration
}

// NewConsumer implements ConsumerFactory.
func (f *LogConsumerFactory) NewConsumer(now time.Time, info *StreamInfo) (Consumer, error) {
	return NewLogConsumer(now, info, f.Chunk, f.IdleTimeout), nil
}

package logstream

import (
	"context"
	"time"
)

// StepKind says what a Producer wants its engine to do.
type StepKind uint8

// Step kinds.
const (
	// StepSend: send Msg to Targets and report each target's reply when it
	// comes, without waiting for it before the next Next.
	StepSend StepKind = iota + 1
	// StepWait: nothing to send before Until.
	StepWait
	// StepDone: the stream is over; Result says how it ended.
	StepDone
)

// Step is a Producer's decision.
type Step struct {
	Kind StepKind
	// ID names a StepSend: the engine hands it back with each target's
	// reply (Producer.Reply). IDs of one stream are distinct and non-zero.
	ID      uint64
	Msg     Message
	Targets []string
	// Timeout bounds the wait for each target's reply (StepSend). An Abort
	// message expects no reply.
	Timeout time.Duration
	Until   time.Time
	Result  Result
}

// TargetResult is how the stream ended for one target.
type TargetResult struct {
	Target string
	// RC is OK when the target acknowledged EOF.
	RC ReturnCode
	// Acked is the stream offset the target acknowledged last.
	Acked int64
	// Reason explains a non-OK RC in a few words.
	Reason string
}

// Result is how a stream ended on the sending side.
type Result struct {
	// RC is OK when every target acknowledged EOF, TaskAborted when the run
	// was aborted, and Error otherwise.
	RC ReturnCode
	// Targets holds one entry per target, in the order they were given.
	Targets []TargetResult
}

// Target returns the result for the named target.
func (r Result) Target(name string) (TargetResult, bool) {
	for _, t := range r.Targets {
		if t.Target == name {
			return t, true
		}
	}
	return TargetResult{}, false
}

// Producer is the sending half of a stream, driven by an Engine: see the
// package documentation for the driver contract. Implementations never block.
// The engine calls its methods from one goroutine at a time.
type Producer interface {
	// Next says what to do at now. It may be called again before the
	// replies of earlier sends arrived: a producer bounds what it has in
	// flight itself.
	Next(now time.Time) Step
	// Reply reports target's reply to the send named id, once per target of
	// every StepSend except Abort messages, whenever it comes: replies of
	// different sends may come in any order. A reply that did not come
	// within the step's Timeout is reported as TIMEOUT.
	Reply(now time.Time, id uint64, target string, r Reply)
	// Abort ends the stream because the run was aborted and returns the
	// final Result.
	Abort(now time.Time) Result
}

// StreamInfo describes one received stream to its consumer and done callback.
type StreamInfo struct {
	ID      string
	Channel string
	Topic   string
	// Ctx is the stream context the sender sent.
	Ctx StreamContext
	// RC is how the stream ended; set before the done callback runs.
	RC ReturnCode
	// EndStream ends the stream with rc, like FLARE's END_STREAM hook. It
	// may be called from any goroutine. It does not wait for a running
	// Consume; called from inside Consume it ends the stream at once too
	// (done runs on the caller's goroutine and that Consume's result is
	// ignored: return false from Consume instead). Calls after the end do
	// nothing.
	EndStream func(rc ReturnCode)

	// admit, set by a Dispatcher, reports whether the stream is still open;
	// a LogConsumer asks it right before each chunk callback.
	admit func() bool
}

// Consumer is the receiving half of one stream. The Dispatcher calls Consume
// from one goroutine at a time and starts none after the stream ended; a
// Consume still running when the stream ends (watchdog, END_STREAM, Abort,
// Shutdown) is not waited for: done runs meanwhile and its result is
// ignored.
type Consumer interface {
	// Consume handles one message. It returns false when the stream is over;
	// the reply's RC is then the stream's RC. msg, and msg.Data in
	// particular, is valid only until Consume returns: engines reuse the
	// buffer, so a consumer that keeps bytes must copy them.
	Consume(now time.Time, msg *Message) (more bool, reply Reply)
	// Deadline is when the stream should end with TIMEOUT if nothing else
	// arrives; ok is false when there is no deadline. The Dispatcher reads
	// it after the factory and after each Consume.
	Deadline() (t time.Time, ok bool)
	// Finalize is called once, after the stream ended and no Consume runs:
	// before the done callback, unless the stream ended while a Consume ran;
	// then when that Consume returns (after done).
	Finalize(rc ReturnCode)
}

// ConsumerFactory makes one Consumer per stream.
type ConsumerFactory interface {
	NewConsumer(now time.Time, info *StreamInfo) (Consumer, error)
}

// DoneFunc is called exactly once per stream, after it ended, with info.RC
// set. It may run while a chunk callback admitted before the end still runs
// (one that blocks is not waited for); no chunk callback is admitted after
// the end. info is the stream's StreamInfo, or, when a Consume still runs,
// a copy of it (the consumer's gets RC before Finalize).
type DoneFunc func(info *StreamInfo)

// Sender sends streams: the sending half of an engine, FLARE's
// StreamableEngine.stream_objects. A send-only engine (a network client)
// implements Sender alone; StreamLog needs nothing more.
//
// StreamObjects runs one stream through p (see the package documentation for
// the contract) and blocks until it ends or ctx is done. It keeps asking p
// for steps while replies are outstanding, gives p exactly one reply per
// target of each send, turning a missing reply into TIMEOUT, should deliver
// each target's messages in the order p emitted them, and must not interpret
// the replies itself. The error is for the engine's own failures; how the
// stream ended is in the Result.
type Sender interface {
	StreamObjects(ctx context.Context, channel, topic string, sctx StreamContext, targets []string, p Producer) (Result, error)
}

// Receiver receives streams: the receiving half of an engine, FLARE's
// StreamableEngine.register_stream_processing. A receive-only engine (a
// network server) implements Receiver alone; RegisterStreamProcessing needs
// nothing more.
//
// RegisterStreamProcessing makes streams on channel:topic go to consumers from
// f; lookups fall back to channel:* and then *:*. Registering again replaces
// the entry for new streams. Until something is registered, messages get
// NOT_READY and create nothing. done is called once per stream when it ends.
// Dispatcher implements the receiving half for engines that want it.
type Receiver interface {
	RegisterStreamProcessing(channel, topic string, f ConsumerFactory, done DoneFunc) error
}

// Engine sends and receives streams, as io.ReadWriter reads and writes. It is
// modelled on FLARE's StreamableEngine; an in-process or simulated network
// node, which can be either end, implements it.
type Engine interface {
	Sender
	Receiver
}

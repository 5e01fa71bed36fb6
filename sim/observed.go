package sim

import (
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Observed are records of History that are the world's own observations,
// added for livelock detection, the adversarial swarm and the coverage
// classes (sim/coverage). None is the tailer's testimony.
type Observed struct {
	// Livelock is non-empty when the run stopped making progress: the step
	// budget (Config.MaxSteps) was exceeded, one virtual instant ran more
	// than SameInstantLimit events, or the sender's source made more than
	// StepCallLimit file-system calls in one step. The run was cut there.
	Livelock string
	// Flights are the messages the sender sent, one per message (an abort
	// message included), in send order.
	Flights []Flight
	// TailSteps are the distinct instants at which the world ran the
	// sender's source and the source made at least one file-system call.
	TailSteps []time.Time
	// Interleaved are file operations the world performed inside a tailer
	// step (step-rotate, step-truncate), before the step's Call-th
	// file-system call.
	Interleaved []Interleave
	// Holes are ranges of NUL bytes that a writer without O_APPEND left in
	// a file by writing past its end (after a truncation).
	Holes []Hole
	// Missing are replies the sending engine left out of the reply map it
	// handed the producer (missing-reply faults).
	Missing []MissingReply
}

// TargetObserved are records of a TargetLog that are the world's own
// observations, for the coverage classes.
type TargetObserved struct {
	// Progress has one entry per chunk callback: when, and the delivered
	// byte count after it.
	Progress []Progress
	// EOFAt is when an EOF message of the stream first reached the
	// receiver's dispatcher (zero: never).
	EOFAt time.Time
	// EndedByConsumer is when the world's consumer ended the stream
	// through the END_STREAM hook (an end-stream fault; zero: never).
	EndedByConsumer time.Time
}

// Flight is one message the sender sent and what became of it.
type Flight struct {
	Seq    uint64
	Kind   logstream.Kind
	Offset int64
	Len    int
	Sent   time.Time
	// Targets counts the targets the message was sent to expecting a
	// reply (0: fire-and-forget), Replies the replies that reached the
	// sender (late ones and duplicates' included), LastReply when the last
	// did (zero: none).
	Targets   int
	Replies   int
	LastReply time.Time
}

// Interleave is one file operation the world performed inside a tailer step.
type Interleave struct {
	Step int64
	At   time.Time
	// Call is the number of the tailer's file-system call of the step the
	// operation came before (1: the first), and Op that call's class
	// ("open", "stat", "read"...).
	Call int
	Op   string
	// Prev is the class of the call before it in the step ("" for the
	// first).
	Prev string
	// Action is "rename" or "truncate".
	Action string
}

// Hole is a range of NUL bytes in a file: N bytes at file offset Off.
type Hole struct {
	Step int64
	At   time.Time
	File logstream.FileID
	Off  int64
	N    int64
}

// MissingReply is a reply the engine left out of a reply map.
type MissingReply struct {
	Step   int64
	At     time.Time
	Target string
	Seq    uint64
	// All is set when the fault took every target's reply to the message
	// (an empty reply map).
	All bool
}

// Progress is a receiver's delivered byte count after one chunk callback.
type Progress struct {
	At        time.Time
	Delivered int64
}

// Package sim is the deterministic simulator: one seed gives one run, byte
// for byte. A World holds an in-memory POSIX file system (simfs), a
// writer and rotators acting on the tailed file, one sender running
// logstream's LogProducer and N receivers running logstream's Dispatcher,
// and a network between them that injects the faults of a faults.Plan.
// Simulate runs a Config and returns the History the oracle (sim/oracle)
// judges; the optional trace is JSON lines, one event per line, each with
// its step number, virtual time, actor and fields.
//
// Guarantees:
//
//  1. Determinism: one goroutine; an event queue ordered by (virtual time,
//     insertion sequence); one math/rand/v2 PCG seeded from Config.Seed and
//     passed down explicitly; no wall clock, no global rand, no goroutines
//     (with World.AllowBlocking, each delivery runs as an iter.Pull
//     coroutine, so that a consumer can block in virtual time with
//     Engine.Block: control passes from the world to a coroutine and back,
//     never both at once), no output that depends on map iteration order. The same Config gives
//     the same trace bytes (TestSameSeedSameTrace).
//  2. The simulator owns virtual time: it never steps a clock.Mock, so an
//     hour of virtual time costs tens of milliseconds.
//  3. Nothing keeps a second copy of what was written: content is a
//     function of its position (Content, Locate), and delivered bytes are
//     recorded as runs of content positions.
//  4. The History is the world's record: what the writer, the rotators,
//     the file system (reads served, errors injected) and the network did
//     and saw, and what the receivers got. What the streamer says about
//     itself (History.Tail, History.Checks) is kept for traces and
//     timelines only; the oracle never takes it as evidence, and decoding
//     delivered bytes uses no hint from the streamer.
//  5. A run that cannot go on (no event left, or the time limit passed)
//     while the sender is neither done nor crashed is reported in
//     History.Stuck, never waited out. A run that stops making progress is
//     cut and reported in History.Livelock (the oracle's livelock
//     property): more than Config.MaxSteps events, more than
//     SameInstantLimit events at one virtual instant (a timer re-armed at
//     the same instant forever), or more than StepCallLimit file-system
//     calls by the sender's source within one step (a tailer looping
//     inside Next). A source that loops without touching the file system
//     or the world cannot be cut from inside one goroutine.
//  5. Adversaries: the sender's source sees the file system through a
//     wrapper that counts its calls, so that a plan can act inside a
//     tailer step (step-rotate, step-truncate: before its k-th call); the
//     writer can pause, write without O_APPEND (holes after a truncation),
//     keep writing to a file logrotate's create mode renamed until it
//     reopens; the sending engine can hand the producer a partial or empty
//     reply map; a consumer can end its stream through END_STREAM. Every
//     such act is recorded in the History (Interleaved, Holes, Missing,
//     EndedByConsumer, FileEvent.NewSize), with Flights, TailSteps, each
//     target's Progress and EOFAt, for sim/coverage's hazard classes.
//
// The World is also a logstream.Engine (World.Engine): the sender node's
// StreamObjects runs the event loop until the stream ends.
//
// Package sim depends on logstream, faults, simfs, afero and the
// standard library. It must not import sim/oracle, scenarios, cmd or any
// test library.
package sim

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
//     passed down explicitly; no wall clock, no global rand, no goroutines,
//     no output that depends on map iteration order. The same Config gives
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
//     History.Stuck, never waited out.
//
// The World is also a logstream.Engine (World.Engine): the sender node's
// StreamObjects runs the event loop until the stream ends.
//
// Package sim depends on logstream, faults, simfs, afero and the
// standard library. It must not import sim/oracle, scenarios, cmd or any
// test library.
package sim

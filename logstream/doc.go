// Package logstream tails a growing log file and streams it, chunk by chunk,
// to one or more receivers through an Engine; receivers forward each byte
// exactly once and fire a done callback exactly once per stream.
//
// It is a Go port of NVIDIA FLARE's LogStreamer that keeps its behaviour
// (tail, rotation, truncation, heartbeats, idle watchdog, done callback) and
// fixes the places where the original loses, duplicates or hangs: the old
// handle is drained on rename rotation, generations rotated away before the
// tailer looked (or while it lags) are found under their rotated names and
// read in order, the copy of a copytruncate supplies what was unread, file
// identity is taken from the open handle, truncate-then-regrow is caught by
// a head fingerprint, file-system events wake the tailer, stop drains for
// a bounded window, requests and replies are retried with the same stream
// offset and deduplicated by the receiver, a receiver that is not ready yet
// is retried until it registers, one failing target does not end the stream
// for the others, and the watchdog and consume never overlap.
//
// # Layers
//
// The decisions live in a sans-I/O core that takes the current time as an
// argument and never sleeps or reads a clock:
//
//   - Tailer: what the file shows (through an afero.Fs) turned into data
//     chunks, waits and EOF.
//   - LogProducer: a Tailer plus per-target delivery state (retries,
//     backoff, heartbeats, outcomes); it implements Producer.
//   - LogConsumer: offset dedupe, chunk validation and the idle deadline;
//     it implements Consumer.
//   - Dispatcher: the receiving half of an engine (registry, one consumer
//     per stream, END_STREAM, done exactly once, shutdown).
//
// A driver runs the core: StreamLog and RegisterStreamProcessing run it for
// real with a Clock; package sim runs the same core in virtual time from one
// goroutine. An Engine implementation moves Messages and Replies between a
// sender and its receivers; package logstream/inproc is a small in-process one.
//
// # Driver contract for an Engine's StreamObjects
//
//  1. Call Producer.Next with the current time.
//  2. For StepSend, stamp the message (stream ID, channel, topic, sequence
//     number), deliver it to every target listed, and hand exactly one reply
//     per target to Producer.Replies (a target that did not answer within the
//     step's Timeout gets a TIMEOUT reply). An Abort message expects no reply.
//  3. For StepWait, wait until the given time (or until the context ends),
//     then go to 1.
//  4. For StepDone, return the step's Result.
//  5. When the context ends, send an Abort to every target and return
//     Producer.Abort.
//
// # Receiving side: user code never holds up the end of a stream
//
// A chunk callback (or any Consumer) may block. The idle watchdog, the
// END_STREAM hook, an Abort message and an engine's shutdown end such a
// stream at once: done runs exactly once, the late callback's return is
// ignored, Finalize runs when it returns, and no callback is admitted after
// the end (H15). A blocked stream's idle deadline counts from the message it
// blocks on; messages for it wait (Dispatcher.HandleContext bounds the wait
// by the delivery). The data a callback gets is valid only until it returns:
// engines reuse their buffers, so a callback that keeps bytes copies them.
// A Dispatcher remembers ended streams (by time, see DefaultEndedMemory), so
// a late retry or duplicate never starts an ended stream again.
//
// # Dependencies
//
// This package depends on the standard library, afero, a Clock interface
// satisfied by github.com/benbjohnson/clock, and, in the real driver only
// (events.go), github.com/fsnotify/fsnotify: the core takes "something
// changed" as an input (Tailer.Changed) and imports no event library. It
// must not import sim, faults, scenarios or any test library.
package logstream

// Package enginetest is a conformance kit for engines: a logstream.Sender
// and the logstream.Receivers it reaches (an engine that is both, a
// logstream.Engine, plays either part), in the manner of
// golang.org/x/net/nettest.TestConn and testing/fstest.TestFS.
//
//	func TestConformance(t *testing.T) {
//		enginetest.Run(t, func() (enginetest.Pair, error) {
//			// a fresh sender and receivers, connected to each other
//		})
//	}
//
// Run calls the Factory once per subtest (a fresh Pair each time, stopped at
// the end) and runs one behaviour-named subtest per clause of the engine
// contract (DESIGN.md section 3 and the logstream package documentation);
// Check does the same without a testing.T and returns one error that lists
// every violation, each prefixed with the subtest that found it, in the
// form "Subtest: clause: detail". Options sets the watchdog, the short
// timeout, a per-subtest wrapper for Run (for example testing/synctest.Test,
// for an engine whose clock is virtual inside a bubble; a hang then also
// fails the bubble) and a selection of subtests (Names lists them).
//
// # What it verifies
//
// The kit drives the engine with its own Producers, which emit exactly the
// messages a subtest wants (including a duplicate first message and an
// Abort), and its own ConsumerFactories, which record every call. The
// contract subtests are:
//
//   - ReplyPerTarget: each message reaches each listed target once, and
//     only those; Replies gets exactly one entry per target, with the
//     consumer's RC and Next; messages are stamped (one non-empty stream ID,
//     the channel and topic, increasing Seq); the consumer is made once per
//     stream and sees the stream context; StreamObjects returns the
//     producer's Result.
//   - RepliesPassedThrough: a refusal (BAD_REQUEST_DATA) reaches the producer
//     unchanged and the engine neither retries nor ends the stream itself.
//   - MissingReplyIsTimeout: a target that does not answer within the step's
//     Timeout gets a TIMEOUT reply (needs Staller or ConsumeMayBlock).
//   - NotReadyBeforeRegistration, NotReadyWithoutMatch: with no matching
//     registration a message gets NOT_READY and creates nothing; once
//     registered, a retry of the same message starts the stream correctly.
//   - FallbackChannelWildcard, FallbackAnyWildcard, ExactBeforeWildcards,
//     ChannelWildcardBeforeAny: the channel:topic, channel:*, *:* lookup.
//   - RegisterAgainReplaces: a second registration wins for new streams and
//     leaves the open stream with its consumer.
//   - DoneOnceAfterEOF: EOF ends the stream; Finalize then done run once,
//     with RC OK in the StreamInfo; later messages get a Closed reply.
//   - ConsumerEndSetsDoneRC: a consumer that ends the stream sets the done
//     RC; a later message carrying the context does not restart it.
//   - EndStreamHook: StreamInfo.EndStream ends the stream with its RC, once.
//   - ConsumerDeadlineEndsStream: a consumer's Deadline ends the stream with
//     TIMEOUT.
//   - AbortMessageEndsStream: an Abort message expects no reply and ends the
//     receivers' streams with TASK_ABORTED.
//   - ContextCancelAborts: when ctx ends, StreamObjects calls Producer.Abort,
//     returns its Result and the receivers end with TASK_ABORTED.
//   - ShutdownEndsOpenStreams: shutting a receiver down ends its open stream
//     with TASK_ABORTED (needs Shutdowner).
//   - DuplicateFirstMessage: the same first message sent again neither hangs
//     the engine nor creates a second stream nor duplicates bytes.
//   - PipelinedSends: the producer emits several sends before any reply (a
//     window); each gets exactly one reply per target with its own ID,
//     whenever it comes; a chunk the engine let overtake an earlier one is
//     held or refused by the consumer (and then sent again), and every
//     byte arrives once.
//   - BlockedConsumerTimesOut: a consumer blocks in Consume longer than the
//     stream's idle deadline (armed at each message, as LogConsumer does):
//     the stream ends with TIMEOUT on time while it blocks, done runs once,
//     a later message gets the Closed reply and no Consume, the other target
//     streams on, and Finalize runs once the blocked Consume returns (needs
//     ConsumeMayBlock).
//   - ShutdownWithBusyStream: Shutdown returns, and the stream ends with
//     TASK_ABORTED, while its consumer blocks (needs Shutdowner and
//     ConsumeMayBlock).
//   - AbortWithBusyStream: a cancelled context aborts the stream while a
//     target's consumer blocks: StreamObjects returns and the receivers end
//     with TASK_ABORTED without waiting for it (needs ConsumeMayBlock).
//
// Every subtest also checks the receiving side's invariants: done at most
// once per stream, with a non-empty RC; Consume calls of a stream never
// overlap and none starts after the stream ended (H15; one admitted just
// before the end may start just after done, when no Consume ran then);
// Finalize runs once and never during a Consume, before done, or, when the
// stream ended while a Consume ran (not waited for), when that Consume
// returns.
//
// and the end-to-end subtests, StreamLog*, run the real LogProducer (over a
// file the kit writes, grows and rotates in an in-memory file system) and
// LogConsumer through the engine wrapped by Faulty, which drops requests,
// loses replies, duplicates and delays messages by wrapping the Producer
// (no transport access needed; at most Faults.MaxInARow faults in a row per
// target, so the producer's retry budget is never spent); every target must
// get every byte exactly once, in order, with done OK and an OK result
// acknowledging every byte (StreamLogLateReceiver: one target registers a
// few steps into the stream; StreamLogFailingTarget: one never does, and
// must fail without hurting the other). Options.Window sets the
// LogProducer's window in these subtests: run the kit with the default and
// with 1 (stop-and-wait).
//
// The engine contract is asynchronous (logstream's package documentation):
// the kit's producer answers StepWait while it waits for replies, checks
// that each send gets exactly one Reply per target (a reply still missing
// its Timeout plus half the watchdog after the send is a violation), and
// that no Reply comes for an Abort or an unknown send ID.
//
// # Capabilities
//
// Some behaviours need something only some engines offer; the kit probes
// for it, fstest style, and skips the subtest with a message saying what is
// missing:
//
//   - Shutdowner, on a receiving engine: ShutdownEndsOpenStreams.
//   - Staller, on a receiving engine, or Pair.ConsumeMayBlock:
//     MissingReplyIsTimeout.
//   - Pair.ConsumeMayBlock, or Blocker on the receiving engines: the
//     blocked-consumer subtests. An engine that runs consumers on the
//     sender's goroutine (a single-goroutine virtual-time engine) cannot
//     have a consumer block on a channel without blocking everything; as a
//     Blocker it lets a consumer block in its own time instead (the kit's
//     blocked consumer calls Block), and the kit calls its Shutdown and
//     releases the consumer from the goroutine that runs the stream, then
//     calls Settle.
//   - Settler, on the sending engine: the kit calls Settle after
//     StreamObjects returns, before it checks what the receivers saw. An
//     engine that runs nothing outside StreamObjects (a single-goroutine
//     virtual-time engine) needs it to deliver what is still in flight.
//
// Subtests that stream to two targets use the first two receivers in name
// order and skip if the Pair has only one.
//
// # Time
//
// Engines may run in real or virtual time. The kit reads time only from the
// now its Producer is given and waits only with StepWait, so correctness
// never depends on wall-clock speed. Chunk timeouts are generous except
// where a reply is meant to be missing; deadlines are armed only when a
// subtest wants them to pass. The watchdog (Options.Watchdog, real time
// unless the subtest runs in a bubble) only detects hangs: a subtest that
// does not finish in time is reported as a hang, naming what it waited for.
// Inside a synctest bubble the watchdog runs on the bubble's clock, which
// stops while a goroutine waits on a sync.Mutex: such a hang is caught only
// by go test -timeout.
//
// # Guarantees
//
// No false positives: a violation is reported only for behaviour the
// contract forbids, so an engine that follows the contract passes whatever
// its speed, provided each subtest finishes within the watchdog. False
// negatives are possible: the kit cannot observe the transport, deliver two
// copies of a message concurrently, or try every interleaving of a
// concurrent engine, so passing it does not prove conformance.
//
// # Dependencies
//
// The kit imports logstream, simfs (an in-memory file system with file
// identity, which the tailer needs for rotation), afero and the standard
// library. It must not import sim, faults, scenarios or rapid, so that any
// engine's tests can use it cheaply.
package enginetest

// Package oracle judges a simulation run: Check reads the *sim.History a run
// recorded and returns a Report of violated properties (DESIGN.md section 4)
// and of accepted, inherent losses, each with its cause.
//
// Times in a Report are relative to History.Start. "Write position" means
// a position in the write stream W: the writer's bytes in the order a
// correct tailer delivers them, positions [0,total), given by History.Writes
// (sorted by Pos, contiguous). That is write order, except that bytes
// appended to a rotated file after the next generation got bytes (a late or
// second writer) count before that generation's: no tailer can interleave
// two files by write time, so the expected order is file by file, files in
// the order they appeared at the path (see inFileOrder).
// Intervals are written (a,b), [a,b] and so on with the usual meaning. Where
// records of different kinds share a time, the oracle orders them by step if
// both have one and otherwise takes the order that excuses the streamer.
//
// # Rules
//
//  1. bytes, per target. Each Run (consecutive content positions) is mapped
//     onto W: content position s goes to the lowest write position q >= p
//     whose write holds content s (q = s for ordinary writes, Pos+s-Src for
//     replayed heads), or, if none is >= p, to the highest one below p; p is
//     the next expected write position, starting at 0. A run is split where
//     W's content stops being consecutive. Then:
//     a run with Src -1, or content no write ever wrote, is invented;
//     a run mapped below p is duplicated (or reordered, if it falls in a hole
//     passed over earlier) for [q, min(q+len, p));
//     a run mapped above p leaves the hole [p,q), which must be justified
//     byte by byte. At the end the hole [p,total) must be justified too if
//     the target's first done is OK; otherwise its unjustified bytes are
//     reported as Losses with CauseStreamEnded, not as violations. When the
//     tailer gave up on persistent file errors after the drain window
//     (logstream.TailGaveUp), the unjustified part of the final hole is a
//     CauseGaveUp loss.
//     A byte of write w is justified by an inherent cause (next section).
//     Justified bytes become Losses, adjacent ranges of one cause merged.
//     Anything else is a "bytes" violation (lost), reported at the step of
//     the delivery that showed the hole (of the done for a trailing hole).
//  2. done-once: a target with Created set has exactly one Done, one
//     without has none. A missing done is a violation only once it was due
//     and the run went on past it (see Horizon below): due at the earliest of
//     the receiver's Shutdown, a delivered abort message, the sender's
//     SenderEnd if its result for the target is OK, and (IdleTimeout > 0)
//     last arrival + IdleTimeout; flagged if horizon > due + Slack.
//     done-after: AfterDone must be 0.
//  3. done-rc, for the first done at D: OK needs StopAt set and at or before
//     D (bytes: rule 1); TIMEOUT needs IdleTimeout > 0 and no arrival, nor
//     Created, in the open interval (D-IdleTimeout, D); TASK_ABORTED needs
//     AbortAt <= D, Shutdown <= D, or a NetDeliver of an abort message to the
//     target at or before D; any other code (EXECUTION_EXCEPTION,
//     BAD_REQUEST_DATA, ...) is a violation, since nothing in a History can
//     explain it yet.
//     agreement (only when SenderEnd is set): sender OK for a target implies
//     the receiver's first done is OK; a created target must have an entry in
//     the sender's result; receiver OK with sender not OK is a violation
//     unless CrashAt or AbortAt is set or a NetDropReply/NetTimeout for the
//     target is at or after D.
//  4. liveness, for a TIMEOUT done at D (IdleTimeout = I): a violation unless
//     one of these excuses holds.
//     The sender was not alive: CrashAt, AbortAt or SenderEnd set and <= D.
//     A fault touched the target in the window [D-I-ChunkTimeout, D]: a
//     NetDropRequest, NetDropReply, NetUnreachable or NetTimeout event for it
//     in the window, or a Stall, Unreachable or Delay fault for it (or for
//     all targets) whose [At, At+For+Lag] overlaps the window.
//     The network was slow: a message (any target) sent, duplicated or
//     delivered with Delay >= (I - LivenessInterval - PollInterval)/3 and a
//     flight overlapping the window. (A heartbeat is due LivenessInterval
//     after the last send, may wait a poll and a round trip for the previous
//     round, then travels: three delays.)
//     Another target's fault: when LivenessInterval + PollInterval +
//     ChunkTimeout + 3*maxDelay >= I (the sender may wait a whole
//     ChunkTimeout for another target's reply), the fault events above for
//     any target excuse it too.
//  5. crash-detection: with CrashAt and IdleTimeout set, a target created at
//     or before CrashAt and not done by then must be done (any code; rule 3
//     judges the code) by last arrival + IdleTimeout + Slack, where the last
//     arrival is the latest of Created and the arrivals up to the done. With
//     no done, flagged when the horizon passed that deadline.
//  6. termination: with StopAt set and neither CrashAt nor AbortAt, the
//     sender must end by StopAt + TerminationBound, where TerminationBound =
//     DrainWindow + PollInterval + 2*(RetryLimit+1)*(2*ChunkTimeout +
//     MaxRetryBackoff) + NotReadyTimeout + 2*maxDelay. After the drain
//     window at most the round in flight and the EOF round remain, each
//     bounded by RetryLimit+1 attempts of one reply wait plus one heartbeat
//     step (2*ChunkTimeout) plus the largest backoff; a target answering
//     NOT_READY may add NotReadyTimeout. To that comes the backlog at stop
//     (backlogTime): one round trip (2*maxDelay) per ChunkSize of bytes not
//     yet delivered at stop or written within the drain window, and per
//     short read after stop; PollInterval per failed tailer operation after
//     stop; ChunkTimeout+MaxRetryBackoff per timed-out or unreachable
//     attempt after stop. With SenderEnd zero, flagged only when the
//     horizon is past the bound.
//
// # Inherent causes (rule 1)
//
// A byte of write w (file F, file offset o) is justified by the first of
// these that holds:
//
//   - faults.CauseSameHeadRegrow: w replays earlier content (Src != Pos).
//   - faults.CauseCopyTruncateWindow if E.Cause is "copytruncate", else
//     faults.CauseTruncatedUnread: the first FileTruncated event E of F not
//     before w has o < E.Size and, for a hole before the last delivered
//     byte, E.At is not after the delivery that showed the hole.
//   - faults.CauseSameHeadRegrow: o < E.Size for the largest E.Size among
//     the FileTruncated events E of F not after w with Cause
//     "truncate-same-head" since the tailer last started reading F from 0
//     (TailOpened, TailTruncated or TailRegrown of F).
//   - faults.CauseDeletedUnread if F left by a delete, else
//     faults.CauseHiddenGeneration: F was never opened (no TailOpened for
//     F), it was created at the path at c and left it (renamed or deleted)
//     at l, and every History.Checks time in (c,l) fell while the tailer
//     held another file it had opened at or before c (it drains that one
//     before it opens the path; a failed open records no check). A file
//     still at the path is never hidden.
//   - faults.CauseLateWriteAfterSwitch: !w.AtPath and the tailer never
//     opened F or its first TailRotated for F is at or before w.At.
//   - faults.CauseAfterDrainWindow: StopAt is set and w.At >= StopAt.
//
// A record with no tailer evidence at all (no Tail events, no Checks: an
// external subject, package subject) is judged at the specification level:
// a generation is hidden only when its stint at the path (c,l) is shorter
// than PollInterval + History.Jitter (a poller looks at least that often);
// a write to a file away from the path is late-write-after-switch only at
// or after the next file appeared at the path (until then a correct tailer
// still reads the renamed file).
//
// maxDelay is the largest Delay of any NetEvent. Horizon: History has no
// end time, so the oracle uses the latest time any record mentions. It
// never exceeds the real end, so rules 2, 5 and 6 may miss a done or an end
// that never came when the run went quiet (for example a crashed sender and
// a broken watchdog): false negatives, not false positives.
//
// A History whose writes are not contiguous from 0 gets a "history"
// violation and an empty write stream.
//
// # Guarantees
//
// Check is meant to raise no false positives for histories produced by a
// correct streamer under the modelled faults: each rule above errs toward
// excusing. It can have false negatives, and these are the known generous
// spots: any byte in a file when it was truncated is excused, even one a
// tailer had time to read before a copytruncate's truncate; any write at or
// after StopAt is excused, even inside the drain window; a hidden generation
// is excused whenever no check fell strictly inside its stint; agreement
// accepts any disagreement once the sender crashed or aborted; liveness is
// excused by any fault on the target in a window longer than the idle
// timeout; the horizon rule above. The mapping of rule 1 follows the lowest
// candidate, so a replayed head delivered twice may be taken for the replay
// rather than a duplicate.
//
// Check runs in O((runs + writes + events) log n) time plus, for each run
// and hole, a scan of the replayed-head writes (few: one per same-head
// regrow) and, per TIMEOUT done, of the network events. It never
// materializes written bytes: content is a function of position (package
// sim).
//
// # Dependencies
//
// Package oracle imports sim (History), faults (LossCause, Fault) and
// logstream (return codes, options, events) and the standard library. It
// must not import scenarios, cmd or rapid (rapid is for tests only); sim
// must never import oracle.
package oracle

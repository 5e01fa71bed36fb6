// Package oracle judges a simulation run: Check reads the *sim.History a run
// recorded and returns a Report of violated properties (DESIGN.md section 4)
// and of accepted, inherent losses, each with its cause.
//
// # Evidence
//
// The oracle's evidence is what the world did and saw, and the streamer's
// declared configuration; never what the streamer says about itself:
//
//   - the writer's writes (file, file offset, time) and every file-system
//     operation the world performed (History.Files: created at the path,
//     renamed away, copied, truncated, deleted, a rotated sibling removed);
//   - the file-system errors the world injected (History.FSFaults, with how
//     many came in a row since the streamer last handed out data);
//   - the network: messages sent, lost, timed out, delivered and answered
//     (History.Net), and per target the first EOF and abort sent, the runs
//     of lost attempts and of NOT_READY answers, the heartbeats sent
//     (TargetLog);
//   - what each receiver got: arrivals, the bytes its chunk callback was
//     handed (decoded from the bytes themselves: content is a function of
//     position, package sim), done callbacks, shutdowns; the sender's
//     result, stop, abort and crash;
//   - History.Params: PollInterval P, LivenessInterval L, IdleTimeout I,
//     ChunkTimeout CT, MaxRetryBackoff B, RetryLimit R, NotReadyTimeout N,
//     DrainWindow DW and ChunkSize C, as declared.
//
// History.Tail and History.Checks (the tailer's events and poll times) are
// diagnostics for traces and timelines: Check never reads them, so a
// streamer in another language that reports nothing gets the same verdict
// (TestTailerTestimonyIsNoEvidence).
//
// # Guarantee
//
// No false positive for a correct streamer: each rule and each inherent
// cause below is a bound that no streamer meeting the specification with
// the declared configuration could beat, so a correct streamer passes under
// every modelled fault. Every loss beyond the specification's bound is
// reported: a byte is excused only by the bound of its cause, and a stream
// that ended early must show a cause for its end. The remaining slack is
// listed under "Bounds that are not tight"; each item is still a bound some
// correct streamer can reach.
//
// Times in a Report are relative to History.Start. "Write position" means a
// position in the write stream W: the writer's bytes in the order a correct
// tailer delivers them, positions [0,total), given by History.Writes
// (sorted by Pos, contiguous). That is write order, except that bytes
// appended to a rotated file after the next generation got bytes (a late or
// second writer) count before that generation's: no tailer can interleave
// two files by write time, so the expected order is file by file, files in
// the order they appeared at the path (see inFileOrder). Where records of
// different kinds share a time, the oracle orders them by step if both have
// one and otherwise takes the order that excuses the streamer.
// maxDelay is the largest network delay any message got.
//
// # Rules
//
//  1. bytes, per target. Each Run (consecutive content positions) is mapped
//     onto W: content position s goes to the lowest write position q >= p
//     whose write holds content s (q = s for ordinary writes, Pos+s-Src for
//     replayed heads; a replayed head written after the run was delivered
//     is no candidate: a truncation's kept head read again is not its later
//     same-head regrow), or, if none is >= p, to the highest one below p; p
//     is the next expected write position, starting at 0. A piece that a
//     replay at or after p and a kept head read again (rule 1b) could both
//     be is the kept head, within its bound, when what follows the piece
//     does not go on after the replay: a head delivered late, after the
//     regrow wrote the replay, is then no replay (swarm seeds 713 and
//     9244 of the files mix: the replay read after it was judged
//     duplicated, or a hole left before it). A piece mapped
//     elsewhere whose bytes equal W's bytes from p on, and after which the
//     delivery goes on at W's next position, is taken as those
//     bytes (bytes are judged by value: the decoder may read a chance
//     match at a run boundary, 1 in 256 per byte, as the wrong content;
//     the receiver got exactly the right bytes). The same holds at a
//     piece's other end: a duplicate piece's last bytes that equal W's
//     bytes from p on, with the delivery going on after them; a piece's
//     first bytes that equal a kept head's next bytes (rule 1b) after a
//     piece of that head; and bytes read as content that is NUL, which
//     are a hole's NULs by value (rule 1a, within its bound). A run is
//     split where
//     W's content stops being consecutive. Then: a run with Src -1, or
//     content no write ever wrote, is invented, except NUL bytes (Run.NUL)
//     within the hole bound below; a run mapped below p is
//     duplicated (or reordered, if it falls in a hole passed over earlier),
//     except a truncation's kept head read again (below);
//     a run mapped above p leaves the hole [p,q), which must be justified
//     byte by byte by an inherent cause (next section). At the end the hole
//     [p,total) must be justified too if the target's first done is OK;
//     otherwise its unjustified bytes are CauseStreamEnded losses: the
//     stream's end is judged by rules 3 and 3b, which require a cause for
//     it. Anything else is a "bytes" violation (lost).
//     1a. holes: a writer without O_APPEND that writes past the end of a
//     truncated file leaves a hole (Observed.Holes): NUL bytes that are no
//     write, so they are not in W and skipping them loses nothing. A
//     streamer that streams the file's bytes reads them, and a correct one
//     cannot tell a hole from NUL content, so delivered NUL bytes are
//     excused up to the holes' bytes the world made by the delivery, each
//     hole once, plus each truncation to a non-zero size's kept head once
//     (read again from 0, it may hold a hole); more NUL bytes than that, or
//     any before a hole exists, are invented.
//     1b. kept head: a truncation of file F to N > 0 bytes at T
//     (FileEvent.NewSize) leaves the size below a correct tailer's offset,
//     and the spec (DESIGN.md: "size below offset means truncated: reopen
//     from 0") reads [0,N) again: F's bytes at file offsets below N written
//     before T and delivered again at or after T are no duplicate, at most
//     N bytes per truncation; nor are they reordered when they were passed
//     over before (a same-head regrow's replay, which a tailer cannot tell
//     from what it read: swarm seed 4542 of the files mix), since the spec
//     reads [0,N) again whatever was delivered. A streamer that continues
//     from N (the head is unchanged) loses nothing either. More is
//     duplicated.
//  2. done-once: a target with Created set has exactly one Done, one
//     without has none. A missing done is flagged once it was due (the
//     receiver's Shutdown, a delivered abort message, the sender's OK
//     result for the target, or last arrival + I) and the run went on past
//     it by Slack. done-after: no chunk callback after done.
//  3. done-rc, for the receiver's first done at D: a code the world's
//     consumer chose when it ended the stream through END_STREAM at or
//     before D (TargetLog.EndedByConsumer, EndedRC) is caused; otherwise
//     OK needs StopAt <= D
//     (bytes: rule 1); TIMEOUT needs I > 0 and no arrival, nor Created, in
//     (D-I, D) (and rule 4); TASK_ABORTED needs AbortAt <= D, Shutdown <= D
//     or an abort message delivered by D; any other code is a violation
//     (no modelled fault explains it).
//     agreement: a sender OK for a target needs the receiver's done OK, and
//     a created target needs an entry in the sender's result.
//     3b. cause: every non-OK code in the sender's result for a target t
//     needs a cause in the record before the sender gave up on t (its
//     first abort message to t, else its end): the receiver ended the
//     stream first (a done, a shutdown, or its consumer's END_STREAM with
//     this very code); or, by code, TASK_ABORTED: a
//     run abort; NOT_READY: a run of NOT_READY answers from t lasting at
//     least N; TIMEOUT or COMMUNICATION_ERROR: a run of R+1 lost or
//     timed-out attempts to t in a row, in send order (TargetLog.Lost: with
//     a window, the OK reply to a chunk sent before the losses may come
//     after the first of them); any other code: none (no modelled
//     fault makes a correct receiver refuse a correct sender's message),
//     except ERROR, below. The read-ahead bound is no cause: a target that
//     falls behind it is served by re-reading from the handles the sender
//     holds (logstream.TailOptions.ReadAhead), so a sender that gives up a
//     retrying or not-ready target there, before its budget, is caught.
//     ERROR (a target the sender could not serve by re-reading) needs one
//     of: lag, t lagged beyond the declared bound (written by the give-up
//     minus delivered to t above MaxLag-(Window+1)*ChunkSize: the sender
//     gives up at MaxLag between what it read and what t acknowledged, and
//     up to Window chunks may reach t unacknowledged); or gone, the bytes
//     t still needed may have been gone before they could be read again:
//     after the write of the first byte t lacked (at write position
//     Delivered; earlier losses only widen the window) and by the
//     give-up, a file was truncated (its bytes are gone or changed), or
//     more than MaxQueuedFiles files were created at the path or copied (a
//     sender holds at most MaxQueuedFiles finished files). A removal or a
//     rename alone is no cause: the handle is held. Nor is a copytruncate
//     whose copy holds what t lacked (the file's bytes as they were when
//     the copy began, at the same offsets: a sender reads them again
//     there); it is one when t lacked bytes written between copy and
//     truncate, when the record names no copy, or when the copy was removed
//     within P of the truncate (before a correct tailer's first look had
//     it open) or later behind injected file-system errors (generously:
//     any error between truncate and removal).
//     A give-up without cause is a "cause" violation (a sender that
//     abandons a healthy target, treats the first NOT_READY as fatal or
//     drops a chunk it failed to send).
//  4. liveness, for a TIMEOUT done at D while the sender is alive and still
//     trying t (no crash, abort, end, or abort message to t by D): the
//     silence must be explained by t's own faults. A healthy target hears
//     something every quiet = L + P + 2*maxDelay (+Slack): a heartbeat is
//     due L after the last send, may wait a poll, and the previous round
//     trip and its own flight take at most two delays. t's own faults in
//     [D-I-CT-B, D] add: CT+B per lost attempt (at its NetDropRequest or
//     NetDropReply, else at its NetTimeout; NetUnreachable), each once,
//     B per NOT_READY answer, the overlap of a stall or unreachable window
//     for t (or all targets), and twice the lag of an overlapping delay
//     window. A violation unless quiet + that >= I. Faults on other
//     targets excuse nothing: one target never holds another (DESIGN H11).
//     4b. heartbeat: from Created until the stream's end (first done, sender
//     end, crash, abort, or abort message to t) no two consecutive arrivals
//     at t are further apart than quiet plus what t's own faults in
//     [a-CT-B, b] explain (as in rule 4); and no heartbeat is sent to t less
//     than L after the previous message to t, unless that attempt got no OK
//     answer (a retry after backoff): no storm.
//  5. crash-detection: with CrashAt and I > 0, a target created by CrashAt
//     and not done by then must be done by last arrival + I + Slack.
//  6. termination: with StopAt set and neither crash nor abort, the sender
//     ends by StopAt + DW + P + N + B + 4*maxDelay (TerminationBound: drain,
//     a last poll, a not-ready wait, and the round in flight and the EOF
//     round) + backlogTime: a round trip (2*maxDelay+Slack) per C bytes not
//     delivered at stop or written by StopAt+DW, per short read after stop,
//     plus two and one per target; P per injected file-system error after
//     stop; and CT+B per lost attempt after stop, counting at most R+1
//     lost attempts per target per message (a correct sender gives up on a
//     target after that many, so one that retries forever is caught).
//
// Slack, wherever the rules use it, is Slack plus History.Jitter, and the
// byte rule's poll margins (truncated-unread, hidden generation, after the
// drain window) are P plus History.Jitter: zero in simulation; for a
// real-time record (package subject), the harness's jitter allowance, which
// its report prints.
//
// # Inherent causes (rule 1), each a bound
//
// A byte of write w (file F, file offset o, written at time t) is justified
// by the first of these that holds; P, DW and R as above:
//
//   - faults.CauseSameHeadRegrow: w replays earlier content (Src != Pos).
//   - faults.CauseCopyTruncateWindow: the first truncate E of F not before w
//     is a copytruncate's (cause "copytruncate"), E.NewSize <= o < E.Size
//     (a truncation removes only the bytes above the size it leaves; the
//     kept head stays to be read), and w came at
//     or after the copy began (the last FileCopied of F before E). Bytes
//     written before the copy are in <name>.1: a correct tailer finishes
//     them from there, so they are not excused. Only the copy-to-truncate
//     window is.
//   - faults.CauseSameHeadRegrow, for a copy its file repeats: E is a
//     copytruncate's truncate of F to 0 (E.Size at most 4096), E.NewSize
//     <= o < E.Size, and the bytes F's writes gave offsets [0, E.Size)
//     after E (until F's next truncate) equal, byte for byte, those they
//     gave them before E: the copy holds nothing the file's next life does
//     not start with, so a tailer cannot tell it from a copy taken in its
//     copy-to-truncate window, when the file still holds the bytes, and
//     may read the file instead (rapid: a one-byte copy whose byte the
//     next life repeated by chance, 1 in 256).
//   - faults.CauseTruncatedUnread: E is any other truncate (truncate-to
//     included), E.NewSize <= o < E.Size, and
//     t >= E.At - P: a tailer that read ahead at its last poll before the
//     truncate could not have seen these bytes; older ones it had read.
//     Or, when the world failed the streamer's file operations (FSFaults)
//     in a chain e1 < ... < ek, each within P of the one before and ek
//     within P before E.At: t >= e1 - P. A tailer looks at least every P
//     and reads what is there at its first look that succeeds; only a
//     chain of failed looks reaching from within P after t to within P
//     before the truncate keeps it from the bytes.
//     Or, in a record with acknowledgements (History.AckRecord: the
//     simulated engine's), the byte's write position is at least
//     A + ReadAhead - ChunkSize - K: A the end of the target's
//     acknowledged run before E (TargetLog.Acked: OK replies to data
//     chunks that reached the sender), K the sum of the sizes the
//     truncations to a non-zero size before E left. A sender holds at
//     most ReadAhead bytes past what the target acknowledged (it reads a
//     chunk while the bytes it holds and the chunk fit), so with the
//     target slow, not ready or unreachable, bytes that far ahead may be
//     unread when the truncate comes; nearer ones it had room for
//     (receivers-mix seed 3552: a target not ready for 3 s, a 32 KiB
//     read-ahead, a truncate at 2.85 s). Stream offsets run ahead of
//     write positions by the kept heads a tailer reads again, hence K;
//     the bound is generous by the bytes lost before the byte (the
//     sender's offsets run behind the write positions by them) and
//     takes no account of other targets (a sender that paces every
//     target to the slowest has less room for a fast one; one that
//     passes the slow one to re-reading, as LogProducer does, has it).
//     A real-time record (package subject) has no acknowledgements: the
//     bound excuses nothing there.
//   - faults.CauseSameHeadRegrow: o < S, S the largest size a same-head
//     truncate ("truncate-same-head") of F cut before w: the head is the
//     same, so a tailer whose read offset was anywhere up to S cannot tell
//     the regrown file from the old one and skips the regrown bytes below
//     its offset.
//   - faults.CauseHiddenGeneration (CauseDeletedUnread if F left by a
//     delete): F sat at the path for at most P (created at c, renamed or
//     deleted at l, l-c <= P) AND it no longer existed anywhere the streamer
//     is told to look before the EOF message went to the target (deleted,
//     or its last rotated name <name>.N removed: sim.FileRemoved) or at all
//     if no EOF went. A polling tailer can miss a stint of P: its looks at
//     c and at c+P can come just before the create and just after the
//     removal at the same instants (swarm seed 1887: deletes at 0 and
//     250 ms, P 250 ms). Longer only behind failed looks, as for a
//     truncate above: a chain of injected file-system errors e1 < ... < ek,
//     each within P of the one before, e1 within P after c and ek within P
//     before l (rapid: open errors failing every look while a generation
//     sat at the path for 889 ms, P 500 ms, then a delete). A generation
//     that still exists under a rotated name must be read.
//   - faults.CauseDeletedUnread, for a copy removed young: the first truncate
//     E of F not before w is a copytruncate's whose copy C (the last
//     FileCopied of F before E, FileEvent.Copy) began after t, C was removed
//     (sim.FileRemoved: a rotation shifted it past its keep) at g, with
//     E.NewSize <= o < E.Size, and the bytes were visible for at most P, or
//     longer only behind failed looks: the bytes were in F from t until E
//     and in C from the copy until g, so visible from t until
//     G = max(E, g), and a tailer misses them only if none of its looks in
//     that time succeeded. So max(E, g) - t <= P (a tailer that looked
//     just before t and next a poll later saw them nowhere; swarm seed 366:
//     a copytruncate, and a rotation 31 ms later removing the copy), or, as
//     for a plain truncate above, a chain of injected file-system errors
//     e1 < ... < ek, each within P of the one before and ek within P before
//     G, with t >= e1 - P: each look in that time may have been one that
//     failed, and the next look after ek may come after G (swarm seed 1414
//     of the --known draw, mix wan: read errors failing a look every poll
//     from 27.4 s to 28.77 s, the tailer 111 KB behind its writer, a
//     copytruncate at 28.777 s and a second one 313 ms later removing the
//     first's copy; the same run without read errors loses nothing). A copy
//     still on disk, or bytes visible longer than P without such a chain,
//     must be read.
//     The simulator's rotator (rotate keep=K) renames <name>.k to <name>.k+1
//     for k = K-1..1, removes <name>.K, and renames the path to <name>.1;
//     copytruncate copies the path to <name>.1 the same way; delete unlinks
//     the path. So a generation exists until it is shifted past K or
//     deleted.
//   - faults.CauseLateWriteAfterSwitch: w went to F while F was not at the
//     path, and F was never at the path (a copy), or t >= l + DW (the spec
//     reads a renamed file for at most DW after the rename), or t is at or
//     after the first write at the path to a file created at or after l
//     (once the new file has data a correct tailer may switch).
//   - faults.CauseHoleBoundary: w starts where a hole of F ends (a hole of
//     Observed.Holes at [h, o0), w at file offset o0: the writer without
//     O_APPEND wrote it past the end of the truncated file), and the bytes
//     of w at file offsets [o0, o] are all NUL. They read exactly like the
//     hole before them, and nothing in the file tells where the hole ended
//     (the writer's offset is not in the file; a copy, when there is one,
//     may be longer by what came between copy and truncate), so a tailer
//     that skips holes as the spec requires skips them too. The first
//     non-NUL byte, and NUL bytes anywhere else, are not excused.
//   - faults.CauseAfterDrainWindow, in a trailing hole only: StopAt is set,
//     the EOF message went to the target at e, and t > min(e, StopAt+DW) -
//     P. Every byte written before stop, and every byte written afterwards
//     up to a poll before the EOF or the end of the drain window, must be
//     delivered.
//   - CauseGaveUp, in a trailing hole of an OK stream only: the world
//     injected a file-system error at or after StopAt+DW and not after the
//     EOF message that was the (R+1)-th in a row (FSFault.Run > R): a
//     correct tailer may then give up on an unreadable file.
//
// A stream that ended early (trailing hole, done not OK) names what it
// missed stream-ended; only faults up to its end explain earlier parts.
//
// # Bounds that are not tight
//
//   - Same-head regrow excuses regrown bytes below the largest size a
//     same-head truncate cut, whatever the tailer's offset was then: a
//     correct tailer that lagged (its reads wait on the network) can have
//     been at any offset up to that size, and then loses exactly these.
//   - Plain truncate excuses a full poll before the truncate, although a
//     tailer reading at that moment loses less.
//   - Liveness and heartbeat add every lost attempt of the target in the
//     window at its worst cost (CT+B), and maxDelay is the largest delay of
//     the whole run.
//   - Termination sums lost attempts per target although one ChunkTimeout
//     may cover several targets' losses at once.
//   - Horizon: when History.End is zero the oracle uses the latest time any
//     record mentions, which never exceeds the real end: rules 2, 5 and 6
//     may then miss an end that never came (false negatives only).
//   - The mapping of rule 1 follows the lowest candidate, so a replayed head
//     delivered twice may be taken for the replay rather than a duplicate.
//
// A History whose writes are not contiguous from 0 gets a "history"
// violation and an empty write stream.
//
// Check runs in O((runs + writes + events) log n) time plus, for each run
// and hole, a scan of the replayed-head writes (few: one per same-head
// regrow), per NUL run a scan of the holes and per duplicate write a scan
// of the truncations to a non-zero size (few: one per fault), and, per TIMEOUT done and per long arrival gap, a binary search
// over the target's network costs and a scan of the plan's timed faults (a
// plan is a handful of lines). It never materializes written bytes: content
// is a function of position (package sim).
//
// # Dependencies
//
// Package oracle imports sim (History), faults (LossCause, Fault) and
// logstream (return codes, options) and the standard library. It must not
// import scenarios, cmd or rapid (rapid is for tests only); sim must never
// import oracle.
package oracle

// Package live verifies the streamer against real rotators: real files in a
// temporary directory, the real clock, the in-process engine
// (logstream/inproc), and writers and rotators that are not ours.
//
// # Running
//
// The engine is logstream/inproc unless a check says otherwise. The
// checker's own tests always run. The live checks run only with -live or
// LIVE=1 (.ci/run runs `go test -race -count=1 -v ./live/ -live`), because
// they wait in real time for external processes and judge timing windows,
// which a machine busy with the rest of `go test ./...` would blur. Each
// takes one to a few seconds. logrotate and python3 must be installed: a
// check whose tool is missing is skipped, or fails when CI=true (.ci/run
// installs logrotate). Every wait is bounded by a deadline; writers end
// after a fixed number of lines, then the stream is stopped.
//
// # Lines and the checker
//
// Every writer emits lines "seq=<n> <padding>\n" for n = 0..N-1, where the
// padding (Pad) is 0 to 63 letters derived from n: lines are unique, vary in
// length (so chunk boundaries split them anywhere), and their content can be
// verified. Check parses what the receiver got and reports how many seqs
// were delivered intact, which were lost, and how many lines were
// duplicated, reordered, or malformed ("partial": a fragment, garbled text,
// an unterminated last line). Each check logs one line in a stable format:
//
//	live: NAME: written=W delivered=D lost=L[ (in window=I)] dup=U reordered=R partial=P EXTRA...
//
// # Settings
//
// Every rotator check runs twice: at fast settings (10 ms poll, 32 KiB
// chunks, 500 ms drain window) and at the README's defaults (every
// TailOptions field zero: 500 ms poll, FLARE's, 64 KiB chunks, 5 s drain
// window); a check's name ends in -defaults for the latter. Both must meet
// the same verdict: at the defaults the tailer finds the generations a
// writer rotated away between two polls under their rotated names, and
// follows the copy of a copytruncate.
//
// # The checks
//
//   - lumberjack-size: a Go writer writes 150,000 lines flat out into a
//     lumberjack.Logger of 1 MB files (6 rename rotations, made by the writer
//     itself). Zero loss, duplication, reordering, malformed lines. It runs
//     over the in-process engine and, as lumberjack-size-tcp, over
//     logstream/netengine on loopback.
//   - python-rotatingfilehandler: testdata/rotating_writer.py logs 40,000
//     lines through logging.handlers.RotatingFileHandler (256 KiB, about 6
//     rename rotations, made by the writer itself). Zero loss etc.
//   - logrotate-create: a Go writer appends 20,000 lines (O_APPEND, 20 lines
//     a millisecond) while `logrotate -f` runs four times in create mode
//     (rename app.log to app.log.1, shifting older copies, and create a new
//     app.log). The writer checks the path before each line and reopens it
//     once it names another file. Zero loss etc., except for the case below.
//   - logrotate-copytruncate: the same writer, never reopening, with
//     logrotate in copytruncate mode: losses are allowed inside the rotator's
//     windows only (below); no duplication or reordering; at most one
//     malformed fragment per truncation.
//
// # Late writes after a switch (create mode)
//
// A writer that learns of a rotation only after the new file exists (it
// stats the path, then writes; or it reopens on a postrotate signal) can
// append a line to the renamed file after the tailer drained it once. The
// tailer therefore keeps the old handle while every newer file is empty
// (however long) and reads it once more after a newer file got data, so
// with a single writer nothing is lost, and the rename checks fail on any
// loss. LIVE_LENIENT_RENAME=1 accepts, and counts as late-after-switch,
// lines appended to a rotated file after the tailer had switched away from
// it (inherent for a tailer: the oracle's faults.CauseLateWriteAfterSwitch),
// for writers that go on appending to the old file after writing to the new
// one. TestLateWriteAfterSwitch is the deterministic minimal case.
//
// # The copytruncate window
//
// copytruncate copies app.log to app.log.1, then truncates app.log, while the
// writer goes on appending. A line can be lost from the live path in two
// ways, both reported:
//
//   - in-no-file: written after the copy had read to its end and before the
//     truncate. It is in no file on disk at the end (neither a copy nor the
//     live file), so no reader of files could ever have it unless it read
//     the live file in that instant.
//   - unread-at-truncate: in the copy, but not delivered. The tailer reads
//     what it had not read from the live file when the truncate came from
//     the copy (a rotated sibling that starts with the head it read), so
//     this is 0 unless the copy was gone.
//
// The test cannot see when logrotate copies or truncates, only when the
// process started and exited; the truncate lies somewhere in between. A line
// written before the tailer's last look at the path (a TailChecked event;
// the tailer reads before it checks, in the same step) before logrotate
// started was readable then and must be delivered. So the window of a run
// is the lines written from that last check (or from one PollInterval
// before the start, if that is earlier) until logrotate exited, by the
// writer's and the tailer's timestamps on the same clock; every lost line
// must lie in some window ("in window" counts them, and must equal "lost").
// A loss after a window (a missed truncation, or the reread after
// truncate-then-regrow skipping bytes) or before one (a tailer that did not
// deliver what it had read) fails the check. max-lead reports how long
// before its run's start the earliest lost line was written. The writer
// paces itself (bursts of 100 lines every 5 ms) and may run at most 2,000
// lines ahead of a rotation in progress, so every run happens while it
// writes.
//
// In copytruncate mode each logrotate run starts only once the tailer has
// noticed the one before (a TailTruncated or TailRegrown): two truncations
// within one of its polls lose what was written between them unless it is
// in the copy the tailer follows. In create mode the runs do not wait (one
// every ~200 ms of writing): a generation rotated away before the tailer
// looked is read under its rotated name.
package live

// Package scenarios runs regression scenarios for the log streamer: small
// text files, each pinning one behaviour or hazard, that say how to set up a
// simulated run (package sim), which faults to inject (package faults), and
// what the run must produce, judged by the oracle (package sim/oracle) and
// compared with a checked-in expected block.
//
// A built-in suite is embedded in the binary (Builtin, Lookup); Load reads
// files, directories and built-in names; Run simulates one scenario and
// judges it; Format writes a scenario back with a fresh expected block
// (the package's test flag -rewrite does this for the built-in suite:
// go test ./scenarios -rewrite); FromConfig turns any sim.Config, such as a
// shrunk random failure, into a scenario that can be saved.
//
// # File format
//
// One scenario per file, named after the behaviour it pins
// (rename_rotation_drains_old_handle.txt); the name is the file's base name
// without ".txt". Lines:
//
//	file      = { header-line } [ "----" { expected-line } ]
//	header    = doc-comment | "config" KEY=VALUE { KEY=VALUE }
//	          | "expect" ( "ok" | "fail" PROPERTY )
//	          | "known-failure" "issue=" N
//	          | plan-line | "#" comment | blank
//	plan-line = "at" ... | "prob" ... | "delay" ...   (faults.Parse grammar, verbatim)
//
// The leading run of "#" lines (before any directive or blank line) is the
// scenario's Doc: say why the scenario exists and which behaviour or hazard
// it pins. Other "#" text, to the end of a header line, is a comment.
//
// Config keys may be spread over several config lines, each key at most
// once. Keys at their zero value take the simulator's default:
//
//	seed=N             PRNG seed (uint64; default 0)
//	targets=r1,r2      receivers (default r1)
//	path=/logs/app.log tailed file
//	horizon=D          writer's span and latest fault time (default 10m)
//	stop=D             when the sender is told to stop (default horizon;
//	                   an "at D stop" plan line overrides it)
//	limit=D            virtual time allowed after horizon (default 30m)
//	idle=D|off         receivers' idle timeout (default 30s)
//	latency=D          network delay without a plan delay line (default 1ms)
//	poll= liveness= tail-idle= chunk=SIZE chunk-timeout= drain= backoff=
//	max-backoff= retries=N not-ready=      the sender's logstream.TailOptions
//	rate=SIZE max-write=SIZE burst-every=D start=D until=D   the writer
//
// D is a Go duration (500ms, 2m, 1h30m) in [0, 1000h]; SIZE is a decimal
// integer, optionally with a KiB or MiB suffix. Plan lines follow
// faults.Parse exactly and may come in any order; a fault's target must be
// one of the config's targets. "expect fail PROPERTY" declares that the
// oracle must report a violation of PROPERTY (bytes, done-once, done-after,
// done-rc, agreement, cause, liveness, heartbeat, termination,
// crash-detection, history); the default is "expect ok", no violation at
// all.
//
// "known-failure issue=N" marks a scenario in which the oracle reports a
// real loss of the streamer that issue N fixes. While the oracle still
// reports a violation the run is a known failure (simrun's table says
// "known failure (issue N)" and the exit code stays 0); once it passes, the
// run fails with a note to remove the mark. The doc paragraph must name
// "issue N", and a scenario cannot both expect a failure and mark one.
//
// Everything after the "----" line is the expected block, compared line by
// line with what Run produces (trailing white space and trailing blank lines
// ignored). FormatOutcome documents its lines: bytes written, per target the
// bytes delivered and lost and every done callback with its virtual time and
// return code, the sender's result, each inherent loss with its byte range
// and named cause, the oracle's verdict and its first violation. Nothing in
// it depends on wall time.
//
// # Guarantees
//
//  1. Parse never panics. Its errors are *ParseError values that name the
//     file and line and say what was expected there
//     ("x.txt:3: config: unknown key "pol" (want one of seed, ...)"), and
//     wrap ErrSyntax (and the faults sentinel for a bad plan line).
//  2. Scenario.String prints canonical text, and for every scenario s that
//     Parse returns, Parse(s.File, s.String()) is Equal to s. The built-in
//     files are kept in canonical form by the package's tests.
//  3. Run is deterministic: the same scenario gives the same Output, byte
//     for byte (the simulator is deterministic per seed and plan).
//  4. Every built-in scenario starts with a Doc, passes (the oracle's
//     verdict is the declared one and the output matches), and the whole
//     suite runs in a few seconds under -race.
//  5. Unknown scenario names and unreadable inputs give errors that name
//     the input; an unknown name wraps ErrUnknown.
//
// Scenarios that reveal a suspected bug in the streamer or the simulator are
// kept out of the built-in suite, in testdata/pending/, each with a doc
// saying what fails.
//
// This package depends on sim, sim/oracle, faults and the standard library.
// It must not import cmd/ or any test library outside its tests.
package scenarios

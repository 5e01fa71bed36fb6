// Package subject runs an external subject (a log streamer and engine in any
// language, one process per site) in real, scaled time against a scenario,
// and records what the world did and saw as a *sim.History for the oracle.
//
// The subject speaks the JSON-lines protocol of PROTOCOL.md on its stdin and
// stdout. The harness is the network: every message and reply between sites
// crosses it, and it applies the scenario's fault plan (drop, delay,
// duplicate, stale copy, lost reply, unreachable, stall, not-ready by late
// registration, receiver shutdown, sender crash and abort). It is also the
// application and the rotator: it writes the log and renames, copies,
// truncates and deletes it on the real file system, in a temporary
// directory it removes afterwards.
//
// The record holds only world records: writes, file operations, network
// events, arrivals, the receivers' chunk and done callbacks and the sender's
// result, timed by the harness's monotonic clock and multiplied by the time
// factor. The subject's meta descriptions of its messages label network
// events; nothing the subject says about its own tailer is recorded.
//
// Every child is started in its own process group, killed (the whole group)
// when it does not exit after the run, and reaped; every wait is bounded.
// Scenarios whose faults act on the tailer's own system calls, or that are
// too long for real time, are skipped with SkipReason.
//
// Package subject depends on sim (History, content, decoder), faults and
// logstream (codes and kinds) and the standard library. It must not import
// the oracle's internals, scenarios or cmd.
package subject

package swarm

import (
	"github.com/logstream-sim/logstream-sim/sim"
)

// Restrict takes out of cfg the shapes of run in which the streamer has a
// known loss, each named with the issue whose fix removes it (the same
// shapes sim/simtest's restricted generator keeps out of the property
// tests), and returns the restricted config and the issues of what it took
// out. The default mixes are restricted so that the swarm stays a gate
// while the fixes are pending; MixSet.Known ("simrun swarm --known") runs
// the unrestricted worlds. Add a restriction, named with its issue, when a
// known loss is found; remove it when its issue lands.
//
// No restriction is left: cfg comes back as it is.
//
// Issue 10's restrictions (a sender blocked by a send, no truncation, a
// writer outliving stop or faster than the link, faults holding one of
// several targets) are gone: the producer reads ahead whether or not a
// target can take the bytes, holds the EOF until every target caught up,
// and paces each target alone. Issue 8's restrictions are gone: a late
// write within the drain window of a rotation runs (seed 4573 of the edges
// mix passes: the oracle judges bytes by value), and so does a generation
// removed within a poll of its creation (the oracle excuses what no
// polling tailer sees then: a file at the path for at most a poll, seed
// 1887 of the former draw; bytes in a copy removed within a poll of their
// write, seed 366, or behind a chain of failed looks, seed 1414 of the
// --known draw). Issue 9's truncate-to restriction is gone: the first
// truncate-to of a file, regrown past the read offset before the tailer's
// next look, kept size and head (seeds 3446, 3852 and 5409 of the files
// mix); the tailer checks the bytes before its read offset at every look
// now, and seeds 2024 and 4506 (the oracle took a kept head read again
// for a later same-head regrow; the tailer streamed the hole after a kept
// head) pass too.
func Restrict(cfg sim.Config) (sim.Config, []string) {
	return cfg, nil
}

// RestrictedClasses are the coverage classes (sim/coverage) that the
// restrictions make unreachable or rare, with the issue of the restriction:
// a restricted swarm does not require them ("--known" does).
var RestrictedClasses = map[string]string{}

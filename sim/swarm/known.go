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
// None is left:
//   - issue 10's (a sender blocked by a send, no truncation, a writer
//     outliving stop or faster than the link, faults holding one of several
//     targets) are gone: the producer reads ahead whether or not a target
//     can take the bytes, holds the EOF until every target caught up, and
//     paces each target alone;
//   - issue 8's are gone: a generation removed at most one PollInterval
//     after its creation runs (the oracle excuses what no polling tailer
//     sees: a file at the path for at most a poll, seed 1887; bytes in a
//     copy that a rotation removed within a poll of the write, seed 366),
//     and so does a late write within the drain window of a rotation (seed
//     4573 of the edges mix passes: the oracle judges bytes by value).
func Restrict(cfg sim.Config) (sim.Config, []string) {
	return cfg, nil
}

// RestrictedClasses are the coverage classes (sim/coverage) that the
// restrictions make unreachable or rare, with the issue of the restriction:
// a restricted swarm does not require them ("--known" does).
var RestrictedClasses = map[string]string{}

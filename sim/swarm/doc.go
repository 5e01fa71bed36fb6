// Package swarm explores the log streamer with random runs: each seed maps,
// by a pure function, to a simulated run (a sim.Config drawn from one of
// the weighted Mixes: gentle random plans from faults.Random, and
// adversarial worlds such as WAN links with lagging rotation, writers that
// outlive stop or pause, file operations inside a tailer step, blocked
// receivers, exhausted retry budgets and faults placed at the edges), the
// runs are spread over worker goroutines, the oracle judges each one, the
// coverage classes (sim/coverage) each run hit are counted, and a failing
// run is shrunk to a small case that still violates the same property.
// cmd/simrun drives it ("simrun swarm").
//
// While the streamer has known losses, the default draw keeps the swarm a
// gate: every run is passed through Restrict, which takes out the shapes
// of known losses, each named with its issue (none today: issue 9's
// truncation to a non-zero size was the last), and a mix that exposes a
// known defect is marked Known and left out (RestrictedClasses and
// Mix.Classes say which coverage classes that leaves unreachable).
// MixSet.Known ("simrun swarm --known") runs the unrestricted worlds of
// every mix; MixSet.Only picks mixes by name.
//
// # Guarantees
//
//  1. Config(seed) is a pure function of seed: it draws every choice from a
//     math/rand/v2 PCG seeded with (seed, MixStream) and nothing else, and
//     sets the simulator's own seed to seed. "simrun replay --seed S"
//     rebuilds exactly the run the swarm ran for seed S.
//  2. Each run is single-threaded and deterministic (package sim); workers
//     only decide when a run happens, never what it does.
//  3. Run reports results in seed order, whatever order the workers finish
//     in, and stops at a deterministic point: after the seed range, after
//     the MaxFailures-th failure in seed order, or, when its context ends,
//     after every seed already handed out. So the output for a given seed
//     range does not depend on the number of workers.
//  4. A Shard i/n takes the seeds s of the range with s % n == i: shards are
//     disjoint, together cover the range, and each can run for a duration
//     without overlapping the others.
//  5. Shrink is deterministic: the shrunk case depends only on the failing
//     config, the property and the attempt budget, not on the number of
//     workers evaluating candidates.
//
// Package swarm depends on sim, sim/oracle, sim/coverage, faults and the
// standard library.
// It must not import scenarios, cmd/ or any test library outside its tests.
package swarm

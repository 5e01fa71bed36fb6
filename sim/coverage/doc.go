// Package coverage names the hazard classes the simulation harness claims to
// exercise, each a predicate over a run's recorded sim.History: rotation
// while the tailer lags, a rotation mid-chunk, two rotations within one
// poll, a copytruncate during a read, file operations between the tailer's
// own system calls, truncation during the post-stop drain, a same-head
// regrow, a lost first message, NOT_READY then a rotation, EOF at the
// watchdog deadline, a chunk callback blocked past the idle timeout, and
// more (see Classes).
//
// A predicate reads only the world's record (writes, file events, network
// events, flights, arrivals, chunk callbacks, the plan's faults, the
// declared configuration), never what the tailer says about itself, so a
// class counts as hit only when the world really did it. "simrun swarm"
// prints how many seeds hit each class, carries the counts in its JUnit
// report, and with --require-coverage fails a run in which a class was hit
// too rarely: a green swarm then proves the hazards were exercised.
//
// Package coverage depends on sim, faults and logstream. It must not import
// sim/oracle, sim/swarm, scenarios, cmd or any test library outside its
// tests.
package coverage

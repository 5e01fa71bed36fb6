// Package simtest holds what the simulator's property tests share with other
// tests: a rapid generator of random but meaningful configurations (fault
// plans included), and deliberately broken streamer variants that the
// oracle must catch.
//
// Config draws only worlds in which the streamer has no known loss; each
// restriction names the issue whose fix removes it (issue 9: copytruncate,
// file errors, rotations close together or close to the stop, deletes and
// file errors before a late registration; issue 10: truncates, writers
// faster than the link or outliving stop, faults that hold one of several
// targets). Unrestricted draws from everything, for tests of the oracle
// itself. Variants include streamers that lie about themselves (announce a
// give-up, a cap) or cut corners (one chunk per poll, no path checks while
// draining, a chunk skipped after a lost attempt, EOF acknowledged before
// the last chunk); each carries the worlds that expose it.
//
// It is a test helper package: production code must not import it. It
// depends on sim, sim/oracle, faults, logstream, afero and
// pgregory.net/rapid, and must not import scenarios or cmd (the writer that
// saves a failing run as a scenario file is scenarios.Failure).
package simtest

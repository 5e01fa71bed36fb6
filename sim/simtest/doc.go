// Package simtest holds what the simulator's property tests share with other
// tests: a rapid generator of random but meaningful configurations (fault
// plans included), and deliberately broken streamer variants that the
// oracle must catch.
//
// It is a test helper package: production code must not import it. It
// depends on sim, sim/oracle, faults, logstream, afero and
// pgregory.net/rapid, and must not import scenarios or cmd (the writer that
// saves a failing run as a scenario file is scenarios.Failure).
package simtest

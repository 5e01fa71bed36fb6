// Package simtest holds what the simulator's property tests share with other
// tests: a rapid generator of random but meaningful configurations (fault
// plans included), and deliberately broken streamer variants that the
// oracle must catch.
//
// It is a test helper package: production code must not import it. It
// depends on sim, faults, logstream and pgregory.net/rapid.
package simtest

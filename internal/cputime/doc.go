// Package cputime reads the CPU time the process has used, for benchmarks
// that report CPU per unit of work beside wall-clock rates: on a machine
// shared with other work, wall time stretches and CPU time much less.
//
// It must not depend on any package of this module; it is for tests and
// benchmarks only.
package cputime

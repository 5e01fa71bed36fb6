// Package layers holds no code, only the test that enforces the layering
// table in the module's README.md: for every package of the module, the
// packages of this module it may import directly, and what it must not depend
// on even indirectly. A package that is not in the table fails the test, so a
// new package or a new arrow is a decision written down in the README.
//
// Only non-test imports are checked. Tests may import any package below
// cmd: an external test package (package x_test) is how, for example, the
// simulator's property tests save a failing run with scenarios.Failure.
//
// It depends on the standard library only (go/build reads the imports; no
// go command is run).
package layers

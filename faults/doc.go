// Package faults models the faults a logstream simulation injects, as plain
// data: a Kind per sort of fault, a timed Fault with typed parameters, and a
// Plan that gathers timed faults, per-message and per-operation
// probabilities, and a message latency distribution.
//
// The simulator (package sim) interprets a Plan; this package only describes
// it. Scenario files and failure reports carry plans as text.
//
// Guarantees:
//
//  1. A Plan prints itself as line-oriented text (Plan.String) and Parse reads
//     it back: for every valid p, Parse(p.String()) is Equal to p, and
//     p.String() is a fixed point of Parse followed by String. The grammar is
//     documented on Parse.
//  2. Parse never panics. Its errors name the line (`line 3: unknown fault
//     kind "rotat"`); callers prefix the file name. Whatever Parse accepts is
//     valid (Plan.Validate).
//  3. Random draws a valid plan from the *rand.Rand it is given and from
//     nothing else: the same seed gives the same plan. No global randomness,
//     no clock, no map iteration order reaches any output.
//  4. Plan.Len, Plan.Item, Plan.Without and Plan.Simpler let a shrinker
//     enumerate, drop and simplify items (timed faults and probabilities
//     alike) without knowing the kinds.
//  5. Kind.LossCauses and Plan.LossCauses say which faults can cause inherent
//     loss, bytes no tailer could deliver, and LossCause names each cause for
//     the oracle.
//
// Package faults uses the standard library only (pgregory.net/rapid in tests).
// It must not import sim, logstream, scenarios or any other package of this
// module: they depend on it, not the other way round.
package faults

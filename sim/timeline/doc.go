// Package timeline renders a simulated run's trace as one self-contained
// HTML page holding an SVG timeline in virtual time.
//
// # Input
//
// The input is the simulator's trace (sim.Config.Trace): JSON lines, one
// event per line, each with "step" (integer), "t" (virtual time since start
// as a Go duration string such as "1m2.5s"), "actor" and "ev", then fields
// that depend on the event:
//
//	writer write        pos len file foff
//	file   created|renamed|copied|truncated|deleted   file size to cause
//	tail   opened|rotated|truncated|regrown|error|drain-expired|end   file gen foff off [err]
//	net    send|deliver|reply|drop-request|drop-reply|timeout|unreachable|duplicate|stale
//	                    target msg(data|heartbeat|eof|abort) seq off len [rc] [delay]
//	sender stop|abort|crash|result [rc] [<target>: rc]
//	recv   registered|created|done|watchdog|shutdown|chunk-after-done   target [rc]
//	fault  <kind>       fault (the fault as the plan writes it)
//	fs     inject|short-read   op path want got
//	world  stuck|end    why written
//
// Unknown actors and events are kept and drawn on an "other" lane, so a
// newer simulator does not break the page.
//
// # Page
//
// Write lays the run out in lanes sharing one time axis: the plan's faults
// (with their windows), one lane per file generation (by file identity,
// from its creation at the path to its rename or deletion, with the bytes
// written to it per pixel column and its truncations), the tailer (which
// generation it reads, rotations, truncations, errors, end), one lane per
// target (bytes delivered per pixel column, heartbeats, lost requests and
// replies, timeouts, unreachable sends, retries, duplicates, the watchdog
// and done with their return codes) and the sender (stop, abort, crash,
// result). Every mark carries an SVG <title> with the events behind it, and
// Options.Highlight draws one step prominently. Writes and deliveries are
// aggregated as they are read (into fixed-count buckets that coarsen as time
// grows), so the trace is read once, memory stays small and the page stays
// small even for hours of virtual time.
//
// The page uses no external resource: no script, style sheet or font is
// fetched. The package imports nothing but the standard library.
package timeline

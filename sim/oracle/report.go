package oracle

import (
	"fmt"
	"strings"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
)

// Property names a rule of the oracle (see the package documentation).
type Property string

// Properties, in the order the package documentation lists them.
const (
	// PropBytes: bytes lost without an inherent cause, duplicated,
	// reordered or invented.
	PropBytes Property = "bytes"
	// PropDoneOnce: a created stream did not get exactly one done callback,
	// or a stream never created got one.
	PropDoneOnce Property = "done-once"
	// PropDoneAfter: a chunk callback ran after the done callback.
	PropDoneAfter Property = "done-after"
	// PropDoneRC: the done callback's return code is not implied by the history.
	PropDoneRC Property = "done-rc"
	// PropAgreement: the sender's result for a target disagrees with the
	// receiver's outcome.
	PropAgreement Property = "agreement"
	// PropLiveness: an idle timeout while the sender was alive and the
	// network healthy.
	PropLiveness Property = "liveness"
	// PropCause: a stream ended (on the sender's side) with a code that
	// nothing in the record explains: a give-up without cause.
	PropCause Property = "cause"
	// PropHeartbeat: a target went without any message longer than the
	// declared liveness interval allows, or got heartbeats faster than it.
	PropHeartbeat Property = "heartbeat"
	// PropTermination: the sender did not end in bounded time after stop.
	PropTermination Property = "termination"
	// PropCrashDetection: a crashed sender was not detected by a receiver's
	// watchdog in time.
	PropCrashDetection Property = "crash-detection"
	// PropHistory: the history itself is malformed (writes not sorted or
	// not contiguous); nothing else about the bytes can be trusted.
	PropHistory Property = "history"
	// PropLivelock: the run stopped making progress (sim's History.Livelock:
	// a step budget exceeded, one instant re-armed without end, a source
	// step that never returns to the world) and was cut.
	PropLivelock Property = "livelock"
)

// CauseStreamEnded marks bytes a target did not get because its stream ended
// early with a code other than OK (or never ended). It is informational: the
// stream's outcome, not the loss, is what the other rules judge.
const CauseStreamEnded faults.LossCause = "stream-ended"

// CauseGaveUp marks bytes at the end of a stream that no correct tailer
// could read: after stop plus the drain window, and before the EOF message,
// the world had failed more than RetryLimit of the streamer's file
// operations in a row (History.FSFaults).
const CauseGaveUp faults.LossCause = "gave-up-unreadable"

// Violation is one broken rule.
type Violation struct {
	Property Property
	// Target is the receiver involved; empty for sender-wide rules.
	Target string
	// Step and At locate the event where the violation became visible; At
	// is relative to History.Start.
	Step int64
	At   time.Duration
	// From and To are the write-stream positions [From,To) involved, when
	// Ranged. For invented bytes the range is empty at the write position
	// where they appeared.
	From, To int64
	Ranged   bool
	// Off is the receiver's stream offset of the first byte involved (byte
	// violations only).
	Off int64
	// Callback names the callback involved ("done", "chunk"), if any.
	Callback string
	// Detail says what went wrong in one line.
	Detail string
}

// String formats v on one line:
// "bytes r1 step 12 at 1.5s: write [100,200) recv@96: lost: ...".
func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(string(v.Property))
	if v.Target != "" {
		b.WriteString(" ")
		b.WriteString(v.Target)
	}
	fmt.Fprintf(&b, " step %d at %v:", v.Step, v.At)
	if v.Ranged {
		if v.From == v.To {
			fmt.Fprintf(&b, " write @%d recv@%d:", v.From, v.Off)
		} else {
			fmt.Fprintf(&b, " write [%d,%d) recv@%d:", v.From, v.To, v.Off)
		}
	}
	if v.Callback != "" {
		fmt.Fprintf(&b, " %s callback:", v.Callback)
	}
	b.WriteString(" ")
	b.WriteString(v.Detail)
	return b.String()
}

// Loss is a range of the write stream a target did not get, with its
// accepted cause.
type Loss struct {
	Target   string
	From, To int64
	Cause    faults.LossCause
}

// String formats l as "r1 [100,200) copytruncate-window".
func (l Loss) String() string {
	return fmt.Sprintf("%s [%d,%d) %s", l.Target, l.From, l.To, l.Cause)
}

// TargetSummary is the outcome for one target.
type TargetSummary struct {
	Target string
	// Written is the length of the write stream.
	Written int64
	// Delivered counts bytes delivered in order, each write position once.
	Delivered int64
	// Lost counts bytes not delivered with an accepted cause (see Losses).
	Lost int64
	// Missing counts bytes not delivered without a cause.
	Missing int64
	// Extra counts bytes delivered again, out of order, or invented.
	Extra int64
	// Dones is the number of done callbacks; Done and DoneAt describe the
	// first ("" and 0 when there was none).
	Dones  int
	Done   logstream.ReturnCode
	DoneAt time.Duration
	// Sender is the sender's result code for this target ("" when the
	// sender returned no result).
	Sender logstream.ReturnCode
}

// String formats s on one line.
func (s TargetSummary) String() string {
	done := "none"
	if s.Dones > 0 {
		done = fmt.Sprintf("%s@%v", s.Done, s.DoneAt)
		if s.Dones > 1 {
			done += fmt.Sprintf("(x%d)", s.Dones)
		}
	}
	sender := string(s.Sender)
	if sender == "" {
		sender = "none"
	}
	return fmt.Sprintf("%s: written=%d delivered=%d lost=%d missing=%d extra=%d done=%s sender=%s",
		s.Target, s.Written, s.Delivered, s.Lost, s.Missing, s.Extra, done, sender)
}

// Report is the oracle's verdict on one History.
type Report struct {
	// Violations are sorted by time, then step.
	Violations []Violation
	// Losses are the accepted losses, per target in write order.
	Losses []Loss
	// Targets has one summary per receiver, in History order, then any
	// target only the sender's result names.
	Targets []TargetSummary
}

// OK reports whether no rule was violated.
func (r *Report) OK() bool { return len(r.Violations) == 0 }

// First returns the earliest violation, or nil.
func (r *Report) First() *Violation {
	if len(r.Violations) == 0 {
		return nil
	}
	return &r.Violations[0]
}

// String renders the report for people: a verdict line, then the
// violations, losses and per-target summaries, one per line.
func (r *Report) String() string {
	var b strings.Builder
	if r.OK() {
		b.WriteString("oracle: ok\n")
	} else {
		fmt.Fprintf(&b, "oracle: %d violation(s); first: %s\n", len(r.Violations), r.Violations[0].Property)
	}
	section(&b, "violations", r.Violations)
	section(&b, "losses", r.Losses)
	section(&b, "targets", r.Targets)
	return b.String()
}

// section writes a titled, indented list, one item a line; nothing when the
// list is empty.
func section[T fmt.Stringer](b *strings.Builder, title string, items []T) {
	if len(items) == 0 {
		return
	}
	b.WriteString(title + ":\n")
	for _, it := range items {
		b.WriteString("  " + it.String() + "\n")
	}
}

package coverage

import (
	"sort"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// Class is one hazard class: a name, what it means, and a predicate over a
// run's History that says whether the run exercised it.
type Class struct {
	// Name is stable, kebab-case; reports and flags use it.
	Name string
	// Doc says, in one sentence, what the predicate looks for in the record.
	Doc string
	// Hit reports whether h exercised the class.
	Hit func(h *sim.History) bool
}

// Classes are the hazard classes the harness claims to exercise, in report
// order.
var Classes = []Class{
	{"rotation-while-lagging", "a rename rotation while some registered target had more than one chunk of written bytes not yet delivered", rotationWhileLagging},
	{"rotation-mid-chunk", "a rename rotation while a data message was in flight (sent; not every reply back, chunk timeout not passed)", rotationMidChunk},
	{"two-rotations-one-poll", "two rename rotations less than one poll interval apart", twoRotationsOnePoll},
	{"copytruncate-during-read", "a copytruncate's truncate while a data message was in flight", copytruncateDuringRead},
	{"rename-between-open-and-fstat", "the world renamed the file inside a tailer step, after its open and before its fstat", renameOpenFstat},
	{"truncate-between-fstat-and-read", "the world truncated the file inside a tailer step, after its fstat and before its read", truncateFstatRead},
	{"file-op-inside-tailer-step", "the world renamed or truncated the file inside a tailer step, at any call", fileOpInStep},
	{"truncate-during-post-stop-drain", "a truncation after stop, before the sender ended", truncateDuringDrain},
	{"same-head-regrow", "a truncation regrown with the same head, then written to", sameHeadRegrow},
	{"truncate-to-nonzero", "a truncation that left a non-zero size", truncateToNonzero},
	{"sparse-hole", "a writer without O_APPEND left a hole of NUL bytes in a file", sparseHole},
	{"inode-reused", "a file appeared at the path with the inode number of another file of the run (a file system that reuses numbers)", inodeReused},
	{"create-rotation-late-reopen", "logrotate create: the writer went on writing to the renamed file after a new file appeared at the path", createLateReopen},
	{"writer-long-after-stop", "writes more than the drain window after stop", writerLongAfterStop},
	{"writer-pause-resume", "the writer paused (a pause fault) with writes before and after the pause", writerPauseResume},
	{"lost-first-message", "the stream's first message (seq 0) was dropped, unreachable, timed out or lost its reply", lostFirstMessage},
	{"not-ready-then-rotation", "a target got messages before it registered (NOT_READY) and a rotation happened before its stream was created", notReadyThenRotation},
	{"eof-at-watchdog-deadline", "EOF reached a receiver within one poll interval of its idle deadline (or a TIMEOUT done came within one poll interval of the EOF)", eofAtDeadline},
	{"callback-blocked-past-idle", "a receiver's consume was stalled longer than the idle timeout and a message arrived through the stall", callbackBlockedPastIdle},
	{"shutdown-during-callback", "a receiving engine shut down during a stall of its consume, with its stream created", shutdownDuringCallback},
	{"outage-exhausts-retries", "a target was unreachable for at least RetryLimit+1 attempts in one outage", outageExhaustsRetries},
	{"reread", "a data message went to a target with bytes more than ReadAhead older than bytes already sent to a target: the sender served them from behind its read-ahead (read again, or kept in flight)", reread},
	{"partial-reply-map", "the engine handed the producer a reply map missing some target's reply", partialReplyMap},
	{"empty-reply-map", "the engine handed the producer an empty reply map", emptyReplyMap},
	{"consumer-ended-stream", "a consumer ended its stream through END_STREAM mid-way", consumerEndedStream},
	{"fault-at-poll-instant", "a file operation by the world at an instant the tailer also touched the file system", faultAtPollInstant},
	{"fault-at-stop", "a file operation or a timed fault within 1ns of stop", faultAtStop},
	{"reply-at-chunk-deadline", "a reply reached the sender within 1ns of its message's chunk timeout", replyAtChunkDeadline},
}

// Lookup returns the class named name.
func Lookup(name string) (Class, bool) {
	for _, c := range Classes {
		if c.Name == name {
			return c, true
		}
	}
	return Class{}, false
}

// Hits returns the names of the classes h exercised, in Classes order.
func Hits(h *sim.History) []string {
	var out []string
	for _, c := range Classes {
		if h != nil && c.Hit(h) {
			out = append(out, c.Name)
		}
	}
	return out
}

// Counts tallies how many runs hit each class.
type Counts map[string]int

// Add counts the classes of one run.
func (c Counts) Add(hits []string) {
	for _, n := range hits {
		c[n]++
	}
}

// Below returns the classes hit fewer than k times, in Classes order.
func (c Counts) Below(k int) []string {
	var out []string
	for _, cl := range Classes {
		if c[cl.Name] < k {
			out = append(out, cl.Name)
		}
	}
	return out
}

// --- helpers over the record

func renames(h *sim.History) []sim.FileEvent {
	var out []sim.FileEvent
	for _, e := range h.Files {
		if e.Kind == sim.FileRenamed {
			out = append(out, e)
		}
	}
	return out
}

// writtenBy is how many bytes the writer wrote at or before t.
func writtenBy(h *sim.History, t time.Time) int64 {
	i := sort.Search(len(h.Writes), func(i int) bool { return h.Writes[i].At.After(t) })
	if i == 0 {
		return 0
	}
	w := h.Writes[i-1]
	return w.Pos + w.N
}

// deliveredBy is how many bytes target tl had delivered at or before t.
func deliveredBy(tl *sim.TargetLog, t time.Time) int64 {
	i := sort.Search(len(tl.Progress), func(i int) bool { return tl.Progress[i].At.After(t) })
	if i == 0 {
		return 0
	}
	return tl.Progress[i-1].Delivered
}

// dataInFlight reports whether a data message was in flight at t: sent,
// and neither every reply back nor its chunk timeout passed.
func dataInFlight(h *sim.History, t time.Time) bool {
	for _, f := range h.Flights {
		if f.Kind != logstream.KindData || f.Sent.After(t) || f.Targets == 0 {
			continue
		}
		end := f.Sent.Add(h.Params.Tail.ChunkTimeout)
		if f.Replies >= f.Targets && f.LastReply.Before(end) {
			end = f.LastReply
		}
		if t.Before(end) {
			return true
		}
	}
	return false
}

func within(a, b time.Time, d time.Duration) bool {
	x := a.Sub(b)
	return x <= d && x >= -d
}

// --- predicates

func rotationWhileLagging(h *sim.History) bool {
	for _, e := range renames(h) {
		w := writtenBy(h, e.At)
		for _, t := range h.Targets {
			if t.Registered.IsZero() || t.Registered.After(e.At) {
				continue
			}
			if w-deliveredBy(t, e.At) > int64(h.Params.Tail.ChunkSize) {
				return true
			}
		}
	}
	return false
}

func rotationMidChunk(h *sim.History) bool {
	for _, e := range renames(h) {
		if dataInFlight(h, e.At) {
			return true
		}
	}
	return false
}

func twoRotationsOnePoll(h *sim.History) bool {
	rs := renames(h)
	for i := 1; i < len(rs); i++ {
		if rs[i].At.Sub(rs[i-1].At) < h.Params.Tail.PollInterval {
			return true
		}
	}
	return false
}

func copytruncateDuringRead(h *sim.History) bool {
	for _, e := range h.Files {
		if e.Kind == sim.FileTruncated && e.Cause == "copytruncate" && dataInFlight(h, e.At) {
			return true
		}
	}
	return false
}

func interleaved(h *sim.History, action, prev, op string) bool {
	for _, x := range h.Interleaved {
		if x.Action == action && (prev == "" || x.Prev == prev) && (op == "" || x.Op == op) {
			return true
		}
	}
	return false
}

func renameOpenFstat(h *sim.History) bool   { return interleaved(h, "rename", "open", "fstat") }
func truncateFstatRead(h *sim.History) bool { return interleaved(h, "truncate", "fstat", "read") }
func fileOpInStep(h *sim.History) bool      { return len(h.Interleaved) > 0 }

func truncateDuringDrain(h *sim.History) bool {
	if h.StopAt.IsZero() {
		return false
	}
	for _, e := range h.Files {
		if e.Kind == sim.FileTruncated && !e.At.Before(h.StopAt) && (h.SenderEnd.IsZero() || e.At.Before(h.SenderEnd)) {
			return true
		}
	}
	return false
}

func sameHeadRegrow(h *sim.History) bool {
	for _, e := range h.Files {
		if e.Kind != sim.FileTruncated || e.Cause != "truncate-same-head" {
			continue
		}
		for _, w := range h.Writes {
			if w.File == e.File && !w.At.Before(e.At) && w.Src != w.Pos {
				return true
			}
		}
	}
	return false
}

func truncateToNonzero(h *sim.History) bool {
	for _, e := range h.Files {
		if e.Kind == sim.FileTruncated && e.NewSize > 0 {
			return true
		}
	}
	return false
}

func sparseHole(h *sim.History) bool { return len(h.Holes) > 0 }

func inodeReused(h *sim.History) bool {
	owner := map[uint64]logstream.FileID{} // inode number -> the file last seen with it
	for _, e := range h.Files {
		ino := e.File.Ino
		if e.Ino != 0 {
			ino = e.Ino
		}
		if f, ok := owner[ino]; ok && f != e.File && e.Kind == sim.FileCreated {
			return true
		}
		owner[ino] = e.File
	}
	return false
}

func createLateReopen(h *sim.History) bool {
	for _, e := range h.Files {
		if e.Kind != sim.FileRenamed || e.Cause != "rotate-create" {
			continue
		}
		for _, w := range h.Writes {
			if w.File == e.File && w.At.After(e.At) {
				return true
			}
		}
	}
	return false
}

func writerLongAfterStop(h *sim.History) bool {
	if h.StopAt.IsZero() || len(h.Writes) == 0 {
		return false
	}
	return h.Writes[len(h.Writes)-1].At.After(h.StopAt.Add(h.Params.Tail.DrainWindow))
}

func writerPauseResume(h *sim.History) bool {
	for _, f := range h.Faults {
		if f.Kind != faults.Pause {
			continue
		}
		from, to := h.Start.Add(f.At), h.Start.Add(f.End())
		before, after := false, false
		for _, w := range h.Writes {
			before = before || w.At.Before(from)
			after = after || !w.At.Before(to)
		}
		if before && after {
			return true
		}
	}
	return false
}

func lostFirstMessage(h *sim.History) bool {
	for _, e := range h.Net {
		if e.Seq == 0 && (e.Kind == sim.NetDropRequest || e.Kind == sim.NetDropReply || e.Kind == sim.NetUnreachable || e.Kind == sim.NetTimeout) {
			return true
		}
	}
	return false
}

func notReadyThenRotation(h *sim.History) bool {
	for _, t := range h.Targets {
		if len(t.Arrivals) == 0 || !t.Arrivals[0].Before(t.Registered) {
			continue
		}
		end := t.Created
		if end.IsZero() {
			end = h.End
		}
		for _, e := range renames(h) {
			if !e.At.Before(t.Arrivals[0]) && !e.At.After(end) {
				return true
			}
		}
	}
	return false
}

func eofAtDeadline(h *sim.History) bool {
	idle, poll := h.Params.IdleTimeout, h.Params.Tail.PollInterval
	if idle <= 0 {
		return false
	}
	for _, t := range h.Targets {
		if t.EOFAt.IsZero() {
			continue
		}
		i := sort.Search(len(t.Arrivals), func(i int) bool { return !t.Arrivals[i].Before(t.EOFAt) })
		if i > 0 && t.EOFAt.Sub(t.Arrivals[i-1]) >= idle-poll {
			return true
		}
		for _, d := range t.Done {
			if d.RC == logstream.Timeout && within(d.At, t.EOFAt, poll) {
				return true
			}
		}
	}
	return false
}

func callbackBlockedPastIdle(h *sim.History) bool {
	idle := h.Params.IdleTimeout
	if idle <= 0 {
		return false
	}
	for _, f := range h.Faults {
		if f.Kind != faults.Stall {
			continue
		}
		hold := f.Lag
		if hold == 0 {
			hold = f.For
		}
		if hold <= idle {
			continue
		}
		from, to := h.Start.Add(f.At+idle), h.Start.Add(f.End()+f.Lag)
		for _, t := range h.Targets {
			if f.Target != "" && f.Target != t.Name {
				continue
			}
			for _, a := range t.Arrivals {
				if !a.Before(from) && !a.After(to) {
					return true
				}
			}
		}
	}
	return false
}

func shutdownDuringCallback(h *sim.History) bool {
	for _, t := range h.Targets {
		if t.Shutdown.IsZero() || t.Created.IsZero() || t.Created.After(t.Shutdown) {
			continue
		}
		for _, f := range h.Faults {
			if f.Kind == faults.Stall && (f.Target == "" || f.Target == t.Name) &&
				!t.Shutdown.Before(h.Start.Add(f.At)) && t.Shutdown.Before(h.Start.Add(f.End())) {
				return true
			}
		}
	}
	return false
}

func outageExhaustsRetries(h *sim.History) bool {
	need := h.Params.Tail.RetryLimit + 1
	for _, f := range h.Faults {
		if f.Kind != faults.Unreachable {
			continue
		}
		from, to := h.Start.Add(f.At), h.Start.Add(f.End())
		n := map[string]int{}
		for _, e := range h.Net {
			if e.Kind == sim.NetUnreachable && !e.At.Before(from) && e.At.Before(to) {
				n[e.Target]++
				if n[e.Target] >= need {
					return true
				}
			}
		}
	}
	return false
}

// reread: a sender holds at most ReadAhead bytes of buffers and reads no
// further while they are full, so a chunk it sends that starts more than
// ReadAhead before the end of a chunk it sent earlier was not in its
// buffer then.
func reread(h *sim.History) bool {
	o, err := h.Params.Tail.Normalize()
	if err != nil {
		return false
	}
	var hi int64
	for _, f := range h.Flights {
		if f.Kind != logstream.KindData {
			continue
		}
		if hi-f.Offset > o.ReadAhead {
			return true
		}
		hi = max(hi, f.Offset+int64(f.Len))
	}
	return false
}

func partialReplyMap(h *sim.History) bool {
	for _, m := range h.Missing {
		if !m.All {
			return true
		}
	}
	return false
}

func emptyReplyMap(h *sim.History) bool {
	for _, m := range h.Missing {
		if m.All {
			return true
		}
	}
	return false
}

func consumerEndedStream(h *sim.History) bool {
	for _, t := range h.Targets {
		if !t.EndedByConsumer.IsZero() {
			return true
		}
	}
	return false
}

func faultAtPollInstant(h *sim.History) bool {
	for _, e := range h.Files {
		if e.Kind == sim.FileCreated {
			continue
		}
		i := sort.Search(len(h.TailSteps), func(i int) bool { return !h.TailSteps[i].Before(e.At) })
		if i < len(h.TailSteps) && h.TailSteps[i].Equal(e.At) {
			return true
		}
	}
	return false
}

func faultAtStop(h *sim.History) bool {
	if h.StopAt.IsZero() {
		return false
	}
	for _, e := range h.Files {
		if e.Kind != sim.FileCreated && within(e.At, h.StopAt, time.Nanosecond) {
			return true
		}
	}
	for _, f := range h.Faults {
		if f.Kind != faults.Stop && within(h.Start.Add(f.At), h.StopAt, time.Nanosecond) {
			return true
		}
	}
	return false
}

func replyAtChunkDeadline(h *sim.History) bool {
	ct := h.Params.Tail.ChunkTimeout
	for _, f := range h.Flights {
		if !f.LastReply.IsZero() && within(f.LastReply, f.Sent.Add(ct), time.Nanosecond) {
			return true
		}
	}
	return false
}

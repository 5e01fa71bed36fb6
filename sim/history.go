package sim

import (
	"time"

	"github.com/logstream-sim/logstream-sim/faults"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// History is everything a run recorded that the oracle needs: the writer's
// bytes and where they went, what happened to the files, when the tailer
// looked, what each receiver got and how each stream ended. It holds no copy
// of the written bytes: content is a function of position (see Content).
type History struct {
	// Key selects the content function of this run.
	Key uint64
	// Start is virtual time zero.
	Start time.Time
	// Params are the timing rules the run used.
	Params Params
	// Observed are the world's records for livelock detection, the
	// adversarial swarm and the coverage classes.
	Observed

	Writes []Write
	Files  []FileEvent
	// Checks are the times the tailer said it examined the path (poll,
	// open) and Tail is everything else it said about itself. Both are the
	// subject's testimony: diagnostics for traces and timelines, never
	// evidence for the oracle.
	Checks []time.Time
	Tail   []logstream.TailEvent
	// FSFaults are the file-system errors the world injected into the
	// streamer's operations, in order.
	FSFaults []FSFault

	// StopAt, AbortAt and CrashAt are zero when the event did not happen.
	StopAt  time.Time
	AbortAt time.Time
	CrashAt time.Time
	// SenderEnd is when the producer returned its Result (zero if never).
	SenderEnd time.Time
	Result    logstream.Result

	Targets []*TargetLog
	// Net holds the network events the oracle reasons about: drops,
	// unreachable targets, timeouts, duplicates, stale copies, abort
	// messages, and deliveries with a delay of a second or more (or of
	// IdleTimeout-LivenessInterval-PollInterval, if less). The trace has
	// every event.
	Net []NetEvent
	// Faults are the plan's timed faults as they took effect, with At
	// relative to Start.
	Faults []faults.Fault
	// Steps is the number of events the run processed.
	Steps int64
	// End is the virtual time the run was observed until: nothing the
	// history does not show happened before End (the queue ran dry, or the
	// time limit was reached).
	End time.Time
	// LastEvent is the virtual time of the last event processed.
	LastEvent time.Time
	// Stuck is non-empty when the run ended with the sender neither done
	// nor crashed: no event was left to run (a deadlock) or the time limit
	// was reached.
	Stuck string
	// ShortReads are the times the tailer got a short read (a fault).
	ShortReads []time.Time
	// MaxDelay is the largest network delay any message got.
	MaxDelay time.Duration
	// Written is the number of bytes the writer wrote.
	Written int64
	// AckRecord is set when the record has TargetLog.Acked (the simulated
	// engine's): without it, no loss is excused by the read-ahead bound.
	AckRecord bool
	// Jitter is how far the record's times may be off: zero in simulation;
	// for a real-time run (package subject), the harness's measured timer
	// lateness, scaled. The oracle adds it to every deadline's slack.
	Jitter time.Duration
}

// FSFault is one file-system error the world injected into an operation of
// the streamer.
type FSFault struct {
	Step int64
	At   time.Time
	// Op is the operation (open, read, stat) and Path the name it used.
	Op   string
	Path string
	// Run counts the errors injected since the streamer last handed out
	// data it read (this one included): how many failed in a row.
	Run int
}

// Span is a run of consecutive attempts to one target with the same
// outcome: the first at From, the last at To, N in all.
type Span struct {
	From, To time.Time
	N        int
}

// HeartbeatSend is one heartbeat the sender put on the network to a target.
type HeartbeatSend struct {
	At time.Time
	// Gap is the time since the previous message the sender sent to the
	// target (zero: none before).
	Gap time.Duration
	// Retry is set when the previous attempt to the target got no OK
	// answer (lost, timed out, not ready): a heartbeat may then be resent
	// after a backoff.
	Retry bool
}

// Params are the timing parameters the oracle's rules depend on.
type Params struct {
	Tail        logstream.TailOptions // normalized
	IdleTimeout time.Duration         // receivers' watchdog (0: off)
}

// Write is one write by the simulated writer.
type Write struct {
	Step int64
	At   time.Time
	// Pos is the write-stream position of the first byte: the number of
	// bytes the writer wrote before this write.
	Pos int64
	N   int64
	// Src is the content position of the first byte: Pos, except for a
	// replayed head (a truncate-then-regrow with the same head), whose bytes
	// repeat earlier content.
	Src     int64
	File    logstream.FileID
	FileOff int64
	// AtPath is true if the file was at the tailed path when written.
	AtPath bool
}

// FileEventKind classifies a FileEvent.
type FileEventKind string

// File events.
const (
	// FileCreated: File appeared at the tailed path.
	FileCreated FileEventKind = "created"
	// FileRenamed: File was renamed away from the path (rotation) to To.
	FileRenamed FileEventKind = "renamed"
	// FileCopied: a copytruncate copied File (Size bytes) to To.
	FileCopied FileEventKind = "copied"
	// FileTruncated: File was truncated from Size bytes to NewSize (0
	// except for truncate-to).
	FileTruncated FileEventKind = "truncated"
	// FileDeleted: File was removed from the path.
	FileDeleted FileEventKind = "deleted"
	// FileRemoved: a rotator removed the last name of File (a rotated
	// sibling <path>.N dropped as the oldest generation): it exists
	// nowhere the streamer is told to look.
	FileRemoved FileEventKind = "removed"
)

// FileEvent is one thing a rotator did to a file.
type FileEvent struct {
	Step int64
	At   time.Time
	Kind FileEventKind
	File logstream.FileID
	// Size is the file's size just before the event.
	Size int64
	To   string
	// Cause names the fault that did it (rotate, copytruncate, truncate...).
	Cause string
	// NewSize is the size a truncation left (0 unless truncate-to).
	NewSize int64
	// Copy is the identity of the copy a FileCopied event made (zero when
	// the recorder does not know it).
	Copy logstream.FileID
	// Ino is the inode number the file system reports for File where it
	// is not File's own (a number the file system reused,
	// Config.ReuseInodes); zero otherwise. File stays unique in the run.
	Ino uint64
}

// TargetLog is what one receiver saw.
type TargetLog struct {
	Name string
	// TargetObserved are the world's records for the coverage classes.
	TargetObserved
	// Created is when the receiver created the stream (zero: never).
	Created time.Time
	// Runs are the delivered bytes, decoded into runs of content positions.
	Runs []Run
	// Delivered counts the bytes handed to the chunk callback.
	Delivered int64
	// DeliveredAtStop is Delivered when the sender was told to stop.
	DeliveredAtStop int64
	// Arrivals are the times messages of the stream reached the receiver's
	// dispatcher.
	Arrivals []time.Time
	Done     []Done
	// AfterDone counts chunk callbacks that ran after done.
	AfterDone int
	// Registered is when the receiver registered its handler.
	Registered time.Time
	// Shutdown is when the receiver's engine shut down (zero: never).
	Shutdown time.Time

	// What the world's network saw of the sender's attempts to this
	// target (all times are when the sender put a message on the network
	// or got its outcome):
	//
	// EOFSent is when an EOF message was first sent (zero: never).
	EOFSent time.Time
	// AbortSent is when an abort message was first sent (zero: never).
	AbortSent time.Time
	// Lost are the runs of consecutive attempts, in send order, that got
	// no answer (a request or reply lost, a timeout, an unreachable
	// target): with a window, an answer to an attempt sent before a run's
	// losses does not end it, and one sent among them splits it; To is
	// when the sender learnt of the last loss. NotReady are the runs of
	// consecutive NOT_READY answers; From and To are when the sender got
	// the first and the last. A NOT_READY answer neither counts in nor
	// ends a run of lost attempts, nor a loss a run of NOT_READY answers
	// (the budgets are separate); any other answer ends both.
	Lost     []Span
	NotReady []Span
	// Heartbeats are the heartbeats sent to the target.
	Heartbeats []HeartbeatSend
	// Acked is what the sender learnt the target accepted: each time an OK
	// reply to a data chunk reached the sender and made the run of stream
	// bytes from 0 it had OK replies for longer, the run's new end. The
	// simulated engine records it (the chunk's offset and size as the
	// network carried them, the receiver's answer); a real-time record
	// (package subject) has none.
	Acked []Ack
}

// Ack is one step of TargetLog.Acked: from At (and Step) on, the sender had
// OK replies for the target's stream bytes [0, End).
type Ack struct {
	Step int64
	At   time.Time
	End  int64
}

// Done is one call of the done callback.
type Done struct {
	Step int64
	At   time.Time
	RC   logstream.ReturnCode
}

// Run is a stretch of delivered bytes whose content positions are
// consecutive. Src is -1 for bytes that are no content at all (invented).
type Run struct {
	Step int64 // step of the delivery that started the run
	At   time.Time
	Off  int64 // receiver's stream offset of the first byte
	Src  int64
	Len  int64
	// NUL is set on an invented run (Src -1) whose bytes are all NUL: what
	// a sparse file's hole reads as (Observed.Holes).
	NUL bool
}

// NetKind classifies a NetEvent.
type NetKind string

// Network events.
const (
	NetSend        NetKind = "send"
	NetDeliver     NetKind = "deliver"
	NetDropRequest NetKind = "drop-request"
	NetDropReply   NetKind = "drop-reply"
	NetReply       NetKind = "reply"
	NetTimeout     NetKind = "timeout"
	NetUnreachable NetKind = "unreachable"
	NetDuplicate   NetKind = "duplicate"
	NetStale       NetKind = "stale"
)

// NetEvent is one message event on the simulated network.
type NetEvent struct {
	Step   int64
	At     time.Time
	Kind   NetKind
	Target string
	Msg    logstream.Kind
	Seq    uint64
	Offset int64
	Len    int
	RC     logstream.ReturnCode
	// Delay is the network delay the message got (send and deliver).
	Delay time.Duration
}

// Target returns the log of the named target, or nil.
func (h *History) Target(name string) *TargetLog {
	for _, t := range h.Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// decoder turns delivered bytes into Runs as they arrive. It tries, in
// order: continuing the last run; the content of the message being handled
// at the receiver's offset (hint, checked byte by byte); locating the bytes
// from their content; a recent read the file system served (guess, for a
// piece too short to locate); the content that followed the last run's in
// its file (follow, checked byte by byte: a short piece after a jump whose
// read is out of guess's window); and otherwise counts them as invented.
// No hint comes from what the streamer says about itself.
type decoder struct {
	key   uint64
	hint  func(off int64) (src, n int64, ok bool)
	guess func(data []byte) (src, n int64, ok bool)
	// follow, if set, says what content came next in its file after
	// content position c-1 (World.follow).
	follow func(c int64) (src, n int64, ok bool)
	// written, if set, says how many of n content positions from src on
	// were written, in a row: a match into content that never existed is
	// no match (a chance equality of a few bytes).
	written  func(src, n int64) int64
	pending  []byte // bytes not yet placed (too few to locate)
	pendAt   time.Time
	pendStep int64
	// pendSrc, pendN: the guess for the pending bytes when they came.
	pendSrc, pendN int64
	pendOK         bool
	off            int64
	placed         int
}

// add decodes data delivered at at, appending to runs.
func (d *decoder) add(runs []Run, at time.Time, step int64, data []byte) []Run {
	if len(d.pending) > 0 {
		data = append(d.pending, data...)
		d.pending = nil
	}
	for len(data) > 0 {
		var last *Run
		k := 0
		if n := len(runs); n > 0 && runs[n-1].Src >= 0 {
			last = &runs[n-1]
			k = d.match(last.Src+last.Len, data)
		}
		if last != nil && k == len(data) {
			last.Len += int64(k)
			d.off += int64(k)
			return runs
		}
		if d.hint != nil {
			if src, n, ok := d.hint(d.off); ok {
				want := min(n, int64(len(data)))
				if k := int64(d.match(src, data[:want])); k == want {
					if last != nil && src == last.Src+last.Len {
						last.Len += k
					} else {
						runs = append(runs, Run{Step: step, At: at, Off: d.off, Src: src, Len: k})
					}
					d.off += k
					data = data[k:]
					continue
				}
			}
		}
		if len(data) < MinLocate {
			d.pending = append([]byte(nil), data...)
			d.pendAt, d.pendStep = at, step
			// What the file system served lately places the piece if no
			// more bytes come to locate it (flush, maybe much later).
			d.pendSrc, d.pendN, d.pendOK = 0, 0, false
			if d.guess != nil {
				d.pendSrc, d.pendN, d.pendOK = d.guess(data)
			}
			return runs
		}
		if pos, ok := Locate(d.key, data[:MinLocate]); ok && d.match(pos, data) >= MinLocate {
			k2 := d.match(pos, data)
			if last != nil && pos == last.Src+last.Len {
				last.Len += int64(k2)
			} else {
				runs = append(runs, Run{Step: step, At: at, Off: d.off, Src: pos, Len: int64(k2)})
			}
			d.off += int64(k2)
			data = data[k2:]
			continue
		}
		if k > 0 && k < MinLocate && d.guess != nil {
			// A few bytes that continue the last run may match by chance
			// (a byte in 256): a read the file system served that the
			// piece starts with, and that covers more of it, wins (a
			// regrown head after a truncation, read right after it).
			if _, n, ok := d.guess(data); ok && n > int64(k) && d.place(&runs, step, at, data) {
				data = data[d.placed:]
				continue
			}
		}
		if k > 0 {
			// The first k bytes continue the last run; a jump follows.
			last.Len += int64(k)
			d.off += int64(k)
			data = data[k:]
			continue
		}
		if d.place(&runs, step, at, data[:d.jump(data)]) || d.placeNext(&runs, step, at, data) {
			data = data[d.placed:]
			continue
		}
		// Not content: an invented byte.
		runs = d.invent(runs, step, at, data[0])
		data = data[1:]
	}
	return runs
}

// jump returns where the content of data, which cannot be located at its
// start, jumps to a stretch that can (within its first MinLocate bytes,
// where the jump must be), or len(data): the piece before the jump is
// placed by guess as a whole, so that a stretch read only in part (a file
// truncated after the read) matches it without a chance equality of the
// bytes after the jump extending it. The piece is at least minJumpPiece
// bytes: a shorter one matches some read or stretch by chance.
func (d *decoder) jump(data []byte) int {
	for p := minJumpPiece; p < MinLocate && p+MinLocate <= len(data); p++ {
		if pos, ok := Locate(d.key, data[p:p+MinLocate]); ok && d.match(pos, data[p:]) >= MinLocate {
			return p
		}
	}
	return len(data)
}

// minJumpPiece is the shortest piece jump cuts off (a chance match of
// minJumpPiece bytes: one in 2^32 per candidate).
const minJumpPiece = 4

// match returns how many leading bytes of data equal the content at src
// and were written (d.written).
func (d *decoder) match(src int64, data []byte) int {
	k := MatchLen(d.key, src, data)
	if d.written != nil && k > 0 {
		k = int(d.written(src, int64(k)))
	}
	return k
}

// invent appends one invented byte b, keeping NUL bytes (a hole's) and
// other invented bytes in separate runs, and NUL bytes of different
// deliveries too (the oracle weighs them against the holes made by then).
func (d *decoder) invent(runs []Run, step int64, at time.Time, b byte) []Run {
	if n := len(runs); n > 0 && runs[n-1].Src < 0 && runs[n-1].NUL == (b == 0) && (b != 0 || runs[n-1].Step == step) {
		runs[n-1].Len++
	} else {
		runs = append(runs, Run{Step: step, At: at, Off: d.off, Src: -1, Len: 1, NUL: b == 0})
	}
	d.off++
	return runs
}

// flush places bytes still pending at the end of a run: they continue the
// last run if they match it, else they are invented.
func (d *decoder) flush(runs []Run) []Run {
	data := d.pending
	d.pending = nil
	if len(data) == 0 {
		return runs
	}
	if n := len(runs); n > 0 && runs[n-1].Src >= 0 {
		last := &runs[n-1]
		if k := d.match(last.Src+last.Len, data); k == len(data) {
			last.Len += int64(k)
			d.off += int64(k)
			return runs
		}
	}
	if d.pendOK && d.pendN > 0 && d.pendN <= int64(len(data)) {
		if n := len(runs); n > 0 && runs[n-1].Src >= 0 && runs[n-1].Src+runs[n-1].Len == d.pendSrc {
			runs[n-1].Len += d.pendN
		} else {
			runs = append(runs, Run{Step: d.pendStep, At: d.pendAt, Off: d.off, Src: d.pendSrc, Len: d.pendN})
		}
		d.off += d.pendN
		data = data[d.pendN:]
	}
	for len(data) > 0 && (d.place(&runs, d.pendStep, d.pendAt, data) || d.placeNext(&runs, d.pendStep, d.pendAt, data)) {
		data = data[d.placed:]
	}
	if len(data) == 0 {
		return runs
	}
	for _, b := range data {
		runs = d.invent(runs, d.pendStep, d.pendAt, b)
	}
	return runs
}

// placeNext places a leading piece of data at the content that followed
// the last run's in its file (follow), if the piece starts with it; the
// number of bytes placed is left in d.placed.
func (d *decoder) placeNext(runs *[]Run, step int64, at time.Time, data []byte) bool {
	n := len(*runs)
	if d.follow == nil || n == 0 || (*runs)[n-1].Src < 0 {
		return false
	}
	end := (*runs)[n-1].Src + (*runs)[n-1].Len
	src, k, ok := d.follow(end)
	if !ok || src == end {
		return false // consecutive: the last run would have gone on
	}
	k = min(k, int64(len(data)))
	if k <= 0 || int64(d.match(src, data[:k])) != k {
		return false
	}
	*runs = append(*runs, Run{Step: step, At: at, Off: d.off, Src: src, Len: k})
	d.off += k
	d.placed = int(k)
	return true
}

// place places a leading piece of data by guess, appending to runs; the
// number of bytes placed is left in d.placed.
func (d *decoder) place(runs *[]Run, step int64, at time.Time, data []byte) bool {
	if d.guess == nil {
		return false
	}
	src, k, ok := d.guess(data)
	if !ok || k <= 0 {
		return false
	}
	if n := len(*runs); n > 0 && (*runs)[n-1].Src >= 0 && (*runs)[n-1].Src+(*runs)[n-1].Len == src {
		(*runs)[n-1].Len += k
	} else {
		*runs = append(*runs, Run{Step: step, At: at, Off: d.off, Src: src, Len: k})
	}
	d.off += k
	d.placed = int(k)
	return true
}

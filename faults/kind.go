package faults

import (
	"fmt"
	"strconv"
)

// Kind names one sort of fault. The zero Kind is not a valid kind.
type Kind int

// Network faults. The simulated engine implements them; a Target names the
// receiver affected, and an empty Target means every receiver.
const (
	// DropRequest loses requests (chunks or heartbeats) on their way to a receiver.
	DropRequest Kind = iota + 1
	// DropReply loses the receiver's replies on their way back to the sender.
	DropReply
	// Duplicate delivers a request twice.
	Duplicate
	// Stale delivers a copy of a request again, Lag after the original.
	Stale
	// Delay adds Lag of latency to every message during a window.
	Delay
	// Unreachable makes a target unreachable during a window: requests to it time out.
	Unreachable
	// NotRegistered keeps a receiver's stream handler unregistered until the fault's time.
	NotRegistered
	// Stall makes a receiver consume slowly, or not at all, during a window.
	Stall
	// Shutdown shuts a receiving engine down.
	Shutdown
	// Crash silences the sender for good, without an abort.
	Crash
	// Abort aborts the run on the sender (context cancel).
	Abort

	// Rotate renames the file: path.(N-1) -> path.N ... path -> path.1, keeping
	// Keep generations, and creates a new file at the path after Gap.
	Rotate
	// CopyTruncate copies the file to path.1, lets the writer append during a
	// window, then truncates the file to zero length.
	CopyTruncate
	// Truncate truncates the file to zero length and optionally regrows it.
	Truncate
	// Delete removes the path and recreates it after Gap.
	Delete
	// LateWrite makes the writer append bytes to the most recently rotated file.
	LateWrite
	// OpenError makes opening the file fail.
	OpenError
	// ReadError makes a read of the file fail.
	ReadError
	// ShortRead makes a read of the file return fewer bytes than available.
	ShortRead
	// StatError makes a stat of the file (by path or by handle) fail.
	StatError

	// Stop raises the sender's stop signal.
	Stop

	// Pause makes the writer write nothing during a window (For); it
	// resumes afterwards.
	Pause
	// NoAppend makes the writer write through a handle without O_APPEND
	// from then on, as a shell ">" redirect does: it keeps its own offset,
	// so after a truncation its next write leaves a hole (NUL bytes) below it.
	NoAppend
	// RotateCreate renames the file as Rotate does and creates a new, empty
	// file at the path at once (logrotate's create mode); the writer keeps
	// writing to the renamed file until it reopens the path after Gap, or,
	// with no Gap, at the next Reopen signal.
	RotateCreate
	// Reopen signals the writer to reopen the path (logrotate's postrotate
	// kill -HUP) if a RotateCreate left it writing to the renamed file.
	Reopen
	// TruncateTo truncates the file to N bytes, if it is longer.
	TruncateTo
	// StepRotate renames the file away (keep 1) in the middle of a tailer
	// step: just before the tailer's N-th file-system call of its first
	// step at or after At that makes that many calls; the writer reopens
	// the path right after the step.
	StepRotate
	// StepTruncate truncates the file to zero in the middle of a tailer
	// step, just before its N-th file-system call, as StepRotate.
	StepTruncate
	// MissingReply makes the sending engine hand the producer a reply map
	// without the target's reply (no target: an empty map) for the next N
	// messages that target got a reply to, as if the reply was lost.
	MissingReply
	// EndStream makes the receiver's consumer end its stream through the
	// END_STREAM hook (with TASK_ABORTED), mid-way.
	EndStream

	kindEnd // one past the last kind; keep last
)

// Class groups kinds by what they act on.
type Class int

// Classes of kinds.
const (
	// ClassNetwork faults act on messages, receivers and the sender's liveness.
	ClassNetwork Class = iota + 1
	// ClassFile faults act on the tailed file and on file system calls.
	ClassFile
	// ClassControl faults drive the sender's own controls.
	ClassControl
)

// String returns "network", "file" or "control".
func (c Class) String() string {
	switch c {
	case ClassNetwork:
		return "network"
	case ClassFile:
		return "file"
	case ClassControl:
		return "control"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// LossCause names why bytes could be lost without any tailer being at fault.
// The oracle names one for every inherent loss it accepts.
type LossCause string

// Causes of inherent loss.
const (
	// CauseCopyTruncateWindow: bytes written between a copytruncate's copy and its
	// truncate and not yet read are gone from the live path.
	CauseCopyTruncateWindow LossCause = "copytruncate-window"
	// CauseHiddenGeneration: two rotations within one poll leave a middle
	// generation that was never visible at the path.
	CauseHiddenGeneration LossCause = "hidden-generation"
	// CauseSameHeadRegrow: a truncate regrown within one poll with the same head
	// as before is indistinguishable from growth.
	CauseSameHeadRegrow LossCause = "same-head-regrow"
	// CauseTruncatedUnread: bytes not yet read when the file was truncated.
	CauseTruncatedUnread LossCause = "truncated-unread"
	// CauseLateWriteAfterSwitch: bytes appended to a rotated file after the
	// tailer drained it and switched to the new file.
	CauseLateWriteAfterSwitch LossCause = "late-write-after-switch"
	// CauseAfterDrainWindow: bytes written after stop, beyond the drain window.
	CauseAfterDrainWindow LossCause = "after-drain-window"
	// CauseDeletedUnread: bytes not yet read when their file was removed (by
	// delete, or by rotation dropping the oldest generation) and no handle was open.
	CauseDeletedUnread LossCause = "deleted-unread"
	// CauseHoleBoundary: NUL bytes a writer without O_APPEND wrote right
	// after the hole it left in a truncated file: a tailer that skips the
	// hole cannot tell them from it.
	CauseHoleBoundary LossCause = "hole-boundary"
)

// Causes returns every LossCause, in a fixed order.
func Causes() []LossCause {
	return []LossCause{
		CauseCopyTruncateWindow, CauseHiddenGeneration, CauseSameHeadRegrow,
		CauseTruncatedUnread, CauseLateWriteAfterSwitch, CauseAfterDrainWindow,
		CauseDeletedUnread, CauseHoleBoundary,
	}
}

// param is a set of Fault parameters.
type param uint8

const (
	pTarget param = 1 << iota
	pFor
	pGap
	pLag
	pN
	pSameHead
)

// kindSpec describes one kind: its text name and which parameters apply.
type kindSpec struct {
	name     string
	class    Class
	params   param  // parameters that may be set
	required param  // parameters that must be > 0
	nKey     string // text key of N, when pN applies
	random   bool   // may carry a per-message or per-op probability
	causes   []LossCause
}

var specs = [kindEnd]kindSpec{
	DropRequest:   {name: "drop-request", class: ClassNetwork, params: pTarget | pN, nKey: "count", random: true},
	DropReply:     {name: "drop-reply", class: ClassNetwork, params: pTarget | pN, nKey: "count", random: true},
	Duplicate:     {name: "duplicate", class: ClassNetwork, params: pTarget | pN, nKey: "count", random: true},
	Stale:         {name: "stale", class: ClassNetwork, params: pTarget | pLag, required: pLag, random: true},
	Delay:         {name: "delay", class: ClassNetwork, params: pTarget | pFor | pLag, required: pFor | pLag},
	Unreachable:   {name: "unreachable", class: ClassNetwork, params: pTarget | pFor, required: pFor},
	NotRegistered: {name: "not-registered", class: ClassNetwork, params: pTarget},
	Stall:         {name: "stall", class: ClassNetwork, params: pTarget | pFor | pLag, required: pFor},
	Shutdown:      {name: "shutdown", class: ClassNetwork, params: pTarget},
	Crash:         {name: "crash", class: ClassNetwork},
	Abort:         {name: "abort", class: ClassNetwork},

	Rotate: {name: "rotate", class: ClassFile, params: pGap | pN, nKey: "keep",
		causes: []LossCause{CauseHiddenGeneration, CauseDeletedUnread}},
	CopyTruncate: {name: "copytruncate", class: ClassFile, params: pFor | pN, nKey: "keep",
		causes: []LossCause{CauseCopyTruncateWindow, CauseDeletedUnread}},
	Truncate: {name: "truncate", class: ClassFile, params: pN | pSameHead, nKey: "regrow",
		causes: []LossCause{CauseTruncatedUnread, CauseSameHeadRegrow}},
	Delete: {name: "delete", class: ClassFile, params: pGap,
		causes: []LossCause{CauseDeletedUnread}},
	LateWrite: {name: "late-write", class: ClassFile, params: pN, required: pN, nKey: "bytes",
		causes: []LossCause{CauseLateWriteAfterSwitch}},
	OpenError: {name: "open-error", class: ClassFile, params: pN, nKey: "count"},
	ReadError: {name: "read-error", class: ClassFile, params: pN, nKey: "count", random: true},
	ShortRead: {name: "short-read", class: ClassFile, params: pN, nKey: "count", random: true},
	StatError: {name: "stat-error", class: ClassFile, params: pN, nKey: "count"},

	Stop: {name: "stop", class: ClassControl, causes: []LossCause{CauseAfterDrainWindow}},

	Pause:    {name: "pause", class: ClassFile, params: pFor, required: pFor},
	NoAppend: {name: "no-append", class: ClassFile, causes: []LossCause{CauseHoleBoundary}},
	RotateCreate: {name: "rotate-create", class: ClassFile, params: pGap | pN, nKey: "keep",
		causes: []LossCause{CauseHiddenGeneration, CauseDeletedUnread, CauseLateWriteAfterSwitch}},
	Reopen: {name: "reopen", class: ClassFile},
	TruncateTo: {name: "truncate-to", class: ClassFile, params: pN, required: pN, nKey: "size",
		causes: []LossCause{CauseTruncatedUnread}},
	StepRotate: {name: "step-rotate", class: ClassFile, params: pN, required: pN, nKey: "call",
		causes: []LossCause{CauseHiddenGeneration, CauseDeletedUnread}},
	StepTruncate: {name: "step-truncate", class: ClassFile, params: pN, required: pN, nKey: "call",
		causes: []LossCause{CauseTruncatedUnread}},
	MissingReply: {name: "missing-reply", class: ClassNetwork, params: pTarget | pN, nKey: "count"},
	EndStream:    {name: "end-stream", class: ClassNetwork, params: pTarget},
}

// Kinds returns every valid kind, in declaration order.
func Kinds() []Kind {
	ks := make([]Kind, 0, kindEnd-1)
	for k := Kind(1); k < kindEnd; k++ {
		ks = append(ks, k)
	}
	return ks
}

// RandomKinds returns the kinds that may carry a probability in a Plan, in
// declaration order: drop-request, drop-reply, duplicate, stale, read-error
// and short-read.
func RandomKinds() []Kind {
	var ks []Kind
	for k := Kind(1); k < kindEnd; k++ {
		if specs[k].random {
			ks = append(ks, k)
		}
	}
	return ks
}

// Valid reports whether k is one of the declared kinds.
func (k Kind) Valid() bool { return k > 0 && k < kindEnd }

// String returns the kind's stable kebab-case name, such as "drop-request",
// or "kind(N)" for an invalid kind.
func (k Kind) String() string {
	if !k.Valid() {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return specs[k].name
}

// Class returns the class of k, or 0 for an invalid kind.
func (k Kind) Class() Class {
	if !k.Valid() {
		return 0
	}
	return specs[k].class
}

// Random reports whether k may carry a per-message or per-operation
// probability in a Plan (see Plan.Prob).
func (k Kind) Random() bool { return k.Valid() && specs[k].random }

// Inherent reports whether a fault of kind k can cause inherent loss: bytes
// that no tailer could deliver. LossCauses says which causes apply.
func (k Kind) Inherent() bool { return len(k.LossCauses()) > 0 }

// LossCauses returns the causes of inherent loss a fault of kind k can
// produce, or nil. Stop only concerns bytes written after the stop.
func (k Kind) LossCauses() []LossCause {
	if !k.Valid() {
		return nil
	}
	return append([]LossCause(nil), specs[k].causes...)
}

// ParseKind returns the kind named s, as printed by Kind.String. The error
// wraps ErrUnknownKind.
func ParseKind(s string) (Kind, error) {
	for k := Kind(1); k < kindEnd; k++ {
		if specs[k].name == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownKind, s)
}

// MarshalText encodes k as its name; it fails for an invalid kind.
func (k Kind) MarshalText() ([]byte, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("%w %d", ErrUnknownKind, int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText decodes a kind name as ParseKind does.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

package sim

import (
	"fmt"
	"os"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
)

// adversary is the state of the adversarial faults: file operations inside
// a tailer step, a writer without O_APPEND, a writer waiting for a reopen
// signal, and the records of flights.
type adversary struct {
	// calls counts the source's file-system calls in the current step
	// (the event step, of World.step, it runs in); prev is the class of
	// the last one.
	step  int64
	calls int
	prev  string
	// steps are the step-rotate and step-truncate faults not yet fired, in
	// plan order.
	steps []faults.Fault
	// noAppend: the writer writes at its own offset woff.
	noAppend bool
	woff     int64
	// flightIdx maps a message's Seq to its index in History.Flights.
	flightIdx map[uint64]int
	// infos are the receivers' live streams, for end-stream faults.
	infos map[string]*logstream.StreamInfo
	// emptied maps a missing-reply fault on every target (by index in
	// World.counts) to 1 + the Seq of the message whose replies it loses.
	emptied map[int]uint64
}

// tailFS is the file system the sender's source sees: the world's, with every
// call of the source counted (the StepCallLimit livelock budget) and a hook
// that lets the world act before the k-th call of a step.
type tailFS struct {
	afero.Fs
	w *World
}

func (f *tailFS) Open(name string) (afero.File, error) {
	f.w.tailCall("open")
	h, err := f.Fs.Open(name)
	return f.wrap(h, err)
}

func (f *tailFS) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	f.w.tailCall("open")
	h, err := f.Fs.OpenFile(name, flag, perm)
	return f.wrap(h, err)
}

func (f *tailFS) Stat(name string) (os.FileInfo, error) {
	f.w.tailCall("stat")
	return f.Fs.Stat(name)
}

func (f *tailFS) wrap(h afero.File, err error) (afero.File, error) {
	if err != nil {
		return nil, err
	}
	return &tailFile{File: h, w: f.w}, nil
}

// tailFile is a handle of the source's, counted as tailFS.
type tailFile struct {
	afero.File
	w *World
}

func (h *tailFile) Read(p []byte) (int, error) {
	h.w.tailCall("read")
	return h.File.Read(p)
}

func (h *tailFile) ReadAt(p []byte, off int64) (int, error) {
	h.w.tailCall("read")
	return h.File.ReadAt(p, off)
}

func (h *tailFile) Stat() (os.FileInfo, error) {
	h.w.tailCall("fstat")
	return h.File.Stat()
}

func (h *tailFile) Seek(off int64, whence int) (int64, error) {
	h.w.tailCall("seek")
	return h.File.Seek(off, whence)
}

func (h *tailFile) Close() error {
	h.w.tailCall("close")
	return h.File.Close()
}

// tailCall counts one file-system call of the source and runs a due
// step-rotate or step-truncate fault before it.
func (w *World) tailCall(op string) {
	if !w.inTail {
		return
	}
	a := &w.adv
	if a.step != w.step { // a new step of the source: each runs in one event
		a.step, a.calls, a.prev = w.step, 0, ""
		if n := len(w.hist.TailSteps); n == 0 || !w.hist.TailSteps[n-1].Equal(w.now) {
			w.hist.TailSteps = append(w.hist.TailSteps, w.now)
		}
	}
	a.calls++
	prev := a.prev
	a.prev = op
	if a.calls > StepCallLimit {
		panic(livelockPanic{fmt.Sprintf("the source made more than %d file-system calls in one step at %v", StepCallLimit, w.now.Sub(Epoch))})
	}
	if len(a.steps) == 0 {
		return
	}
	f := a.steps[0]
	if w.now.Before(Epoch.Add(f.At)) || a.calls != f.N {
		return
	}
	a.steps = a.steps[1:]
	w.inTail = false // the world's own operations are not the tailer's
	defer func() { w.inTail = true }()
	action := "rename"
	if f.Kind == faults.StepTruncate {
		action = "truncate"
	}
	if _, _, ok := w.pathID(); !ok {
		return
	}
	w.trace("fault", f.Kind.String(), str("fault", f.String()), num("call", int64(a.calls)), str("op", op))
	w.hist.Interleaved = append(w.hist.Interleaved, Interleave{Step: w.step, At: w.now, Call: a.calls, Op: op, Prev: prev, Action: action})
	if f.Kind == faults.StepTruncate {
		w.truncate(faults.Fault{Kind: faults.Truncate})
		return
	}
	w.rotate(faults.Fault{Kind: faults.Rotate})
}

// writerPaused reports whether a pause fault holds the writer now.
func (w *World) writerPaused() bool {
	_, ok := w.window(faults.Pause, "")
	return ok
}

// applyAdversarial applies the adversarial timed faults; it reports whether
// f was one of them.
func (w *World) applyAdversarial(f faults.Fault) bool {
	switch f.Kind {
	case faults.NoAppend:
		w.setNoAppend()
	case faults.RotateCreate:
		w.rotateCreate(f)
	case faults.Reopen:
		if w.writer.pendingReopen {
			w.openLog()
		}
	case faults.TruncateTo:
		w.truncateTo(int64(f.N))
	case faults.EndStream:
		for _, r := range w.receivers {
			if f.Target == "" || f.Target == r.name {
				w.endStream(r)
			}
		}
	case faults.Pause, faults.StepRotate, faults.StepTruncate, faults.MissingReply:
		// consulted where they apply
	default:
		return false
	}
	return true
}

// setNoAppend reopens the writer's file without O_APPEND, at its end.
func (w *World) setNoAppend() {
	wr := &w.writer
	if w.adv.noAppend {
		return
	}
	w.adv.noAppend = true
	if wr.f == nil || !w.pathOK || w.pathFile != wr.id {
		return // the next openLog opens without O_APPEND
	}
	f, err := w.fs.OpenFile(w.cfg.Path, os.O_WRONLY, 0)
	if err != nil {
		return
	}
	if _, err := f.Seek(wr.size, 0); err != nil {
		f.Close()
		return
	}
	wr.f.Close()
	wr.f, w.adv.woff = f, wr.size
}

// rotateCreate renames the log away, creates an empty file at the path at
// once, and lets the writer go on with the renamed file until it reopens
// (after the gap, or at a reopen signal when there is none).
func (w *World) rotateCreate(f faults.Fault) {
	id, size, ok := w.pathID()
	if !ok {
		return
	}
	w.shiftGenerations(f.Count())
	if err := w.fs.Rename(w.cfg.Path, w.rotated(1)); err != nil {
		return
	}
	w.fileEvent(FileRenamed, id, size, w.rotated(1), "rotate-create")
	h, err := w.fs.OpenFile(w.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		w.pathOK = false
		return
	}
	fi, _ := h.Stat()
	h.Close()
	w.pathFile, w.pathOK = w.fileID(fi), true
	w.fileEvent(FileCreated, w.pathFile, 0, "", "rotate-create")
	w.writer.pendingReopen = true
	if f.Gap > 0 {
		w.after(f.Gap, func() {
			if w.writer.pendingReopen {
				w.openLog()
			}
		})
	}
}

// truncateTo truncates the log to n bytes if it is longer.
func (w *World) truncateTo(n int64) {
	id, size, ok := w.pathID()
	if !ok || size <= n {
		return
	}
	if err := w.fs.Truncate(w.cfg.Path, n); err != nil {
		return
	}
	es := w.extents[id]
	keep := es[:0]
	for _, e := range es {
		if e.off >= n {
			break
		}
		e.n = min(e.n, n-e.off)
		keep = append(keep, e)
	}
	w.extents[id] = keep
	if w.writer.id == id {
		w.writer.size = min(w.writer.size, n)
	}
	w.hist.Files = append(w.hist.Files, FileEvent{Step: w.step, At: w.now, Kind: FileTruncated, File: id, Size: size, Cause: "truncate-to", NewSize: n})
	w.trace("file", string(FileTruncated), str("file", id.String()), num("size", size), num("new-size", n), str("cause", "truncate-to"))
}

// endStream makes r's consumer end its stream through END_STREAM.
func (w *World) endStream(r *receiver) {
	info := w.adv.infos[r.name]
	if info == nil || info.EndStream == nil || r.ended {
		return
	}
	r.log.EndedByConsumer, r.log.EndedRC = w.now, logstream.TaskAborted
	w.trace("recv", "end-stream", str("target", r.name))
	info.EndStream(r.log.EndedRC)
}

// replyMissing reports whether a missing-reply fault makes the engine lose
// target's reply to message seq, and records it. A fault on one target
// counts one of its replies; a fault on every target counts one message,
// all of whose replies it loses (an empty reply map).
func (w *World) replyMissing(seq uint64, m *logstream.Message, target string, rc logstream.ReturnCode) bool {
	a := &w.adv
	hit := -1
	for i, c := range w.counts {
		if c.f.Kind != faults.MissingReply || w.now.Before(Epoch.Add(c.f.At)) {
			continue
		}
		if c.f.Target == "" && a.emptied[i] == seq+1 {
			hit = i // this message's map is already being emptied
			break
		}
		if c.left > 0 && (c.f.Target == "" || c.f.Target == target) {
			c.left--
			if c.f.Target == "" {
				if a.emptied == nil {
					a.emptied = map[int]uint64{}
				}
				a.emptied[i] = seq + 1
			}
			hit = i
			break
		}
	}
	if hit < 0 {
		return false
	}
	w.hist.Missing = append(w.hist.Missing, MissingReply{Step: w.step, At: w.now, Target: target, Seq: seq, All: w.counts[hit].f.Target == ""})
	w.netEvent(NetDropReply, target, m, 0, rc)
	return true
}

// recordFlight notes a message the sender sent, at its first transmission
// (to the first target), and counts the targets it expects replies from.
func (w *World) recordFlight(m *logstream.Message, wantReply bool) {
	a := &w.adv
	if a.flightIdx == nil {
		a.flightIdx = map[uint64]int{}
	}
	i, ok := a.flightIdx[m.Seq]
	if !ok {
		i = len(w.hist.Flights)
		a.flightIdx[m.Seq] = i
		w.hist.Flights = append(w.hist.Flights, Flight{Seq: m.Seq, Kind: m.Kind, Offset: m.Offset, Len: len(m.Data), Sent: w.now})
	}
	if wantReply {
		w.hist.Flights[i].Targets++
	}
}

// noteReply records a reply to message seq reaching the sender.
func (w *World) noteReply(seq uint64) {
	if i, ok := w.adv.flightIdx[seq]; ok {
		f := &w.hist.Flights[i]
		f.Replies++
		f.LastReply = w.now
	}
}

package timeline

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

// Table sizes: the events table lists at most maxTable events, and the
// table around the highlighted step aroundHL before and aroundHL after it.
const (
	maxTable = 400
	aroundHL = 12
)

// histBuckets is the number of buckets of a hist.
const histBuckets = 4096

// hist sums values over time in histBuckets equal buckets starting at 0.
// When a value comes past the last bucket, pairs of buckets merge and the
// bucket width doubles, so the whole run fits whatever its length.
type hist struct {
	w time.Duration
	b []float64
}

func newHist() *hist { return &hist{w: time.Millisecond, b: make([]float64, histBuckets)} }

func (h *hist) add(at time.Duration, v float64) {
	if at < 0 {
		at = 0
	}
	for at >= h.w*histBuckets {
		for i := 0; i < histBuckets/2; i++ {
			h.b[i] = h.b[2*i] + h.b[2*i+1]
		}
		clear(h.b[histBuckets/2:])
		h.w *= 2
	}
	h.b[at/h.w] += v
}

// columns spreads the hist over n columns covering [0, end), each bucket's
// value split in proportion to its overlap with the columns.
func (h *hist) columns(n int, end time.Duration) []float64 {
	cols := make([]float64, n)
	if h == nil || end <= 0 {
		return cols
	}
	cw := float64(end) / float64(n)
	for i, v := range h.b {
		if v == 0 {
			continue
		}
		a, b := float64(time.Duration(i)*h.w)/cw, float64(time.Duration(i+1)*h.w)/cw
		for c := int(a); c < n && float64(c) < b; c++ {
			lo, hi := max(a, float64(c)), min(b, float64(c+1))
			if hi > lo {
				cols[c] += v * (hi - lo) / (b - a)
			}
		}
	}
	return cols
}

// mark is one event the page draws individually (after merging marks of
// one kind that fall on the same few pixels).
type mark struct {
	at     time.Duration
	step   int64
	kind   string // a key of styles
	label  string // short text drawn next to the mark, if its style has labels
	detail string // the full event, for the hover title
}

// window is a fault's time window, drawn as a span.
type window struct {
	from, to time.Duration
	label    string
	target   string // "" for all targets
	network  bool   // shades the target lanes
}

// fileLane is one file generation: a file identity seen at the path.
type fileLane struct {
	id      string
	n       int           // 1-based order of creation
	created time.Duration // when it appeared (first event)
	left    time.Duration // when it left the path (renamed or deleted)
	gone    bool          // left is set
	movedTo string        // where it was renamed to
	marks   []mark
	bytes   *hist
	writes  *hist
}

// targetLane is one receiver.
type targetLane struct {
	name   string
	marks  []mark
	bytes  *hist // data bytes delivered
	chunks *hist // data messages delivered
	hbs    *hist // heartbeats delivered
	maxEnd int64 // end of the furthest data offset attempted
	sent   bool  // a data message was attempted
}

// genSpan is a stretch during which the tailer reads one file.
type genSpan struct {
	from, to time.Duration
	gen      int64
	file     string
	open     bool
}

// model is what the page shows, built from the trace in one pass.
type model struct {
	end      time.Duration // last event time
	lines    int
	maxStep  int64
	written  int64
	result   string
	files    []*fileLane
	fileIdx  map[string]*fileLane
	targets  []*targetLane
	tgtIdx   map[string]*targetLane
	faults   []mark
	windows  []window
	tail     []mark
	gens     []genSpan
	sender   []mark
	other    []mark
	notable  []mark // the first maxTable events drawn as marks, for the table
	nNotable int    // how many events were drawn as marks
	before   []mark // the last aroundHL marks before the highlighted step
	after    []mark // the first aroundHL marks from the highlighted step on
	hlFound  bool
	hlAt     time.Duration
	hlEvents []string
	hlStep   int64
}

// Lane keys, as laneOf returns them.
const (
	laneFaults = "faults"
	laneTail   = "tailer"
	laneSender = "sender"
	laneOther  = "other"
	laneNone   = ""
)

// laneOf returns the lane an event belongs to: "faults", "file:<id>",
// "tailer", "target:<name>", "sender", "other", or "" for an event drawn on
// no lane (the world's end, which sets the axis).
func laneOf(e *event) string {
	switch e.Actor {
	case "writer":
		if e.File != "" {
			return "file:" + e.File
		}
	case "file":
		return "file:" + e.File
	case "fault":
		return laneFaults
	case "tail", "fs":
		return laneTail
	case "net", "recv":
		if e.Target != "" {
			return "target:" + e.Target
		}
	case "sender":
		return laneSender
	case "world":
		if e.Ev == "end" {
			return laneNone
		}
		return laneSender
	}
	return laneOther
}

func newModel(highlight int64) *model {
	return &model{fileIdx: map[string]*fileLane{}, tgtIdx: map[string]*targetLane{}, hlStep: highlight}
}

func (m *model) file(id string, at time.Duration) *fileLane {
	f := m.fileIdx[id]
	if f == nil {
		f = &fileLane{id: id, n: len(m.files) + 1, created: at, bytes: newHist(), writes: newHist()}
		m.fileIdx[id] = f
		m.files = append(m.files, f)
	}
	return f
}

func (m *model) target(name string) *targetLane {
	t := m.tgtIdx[name]
	if t == nil {
		t = &targetLane{name: name, bytes: newHist(), chunks: newHist(), hbs: newHist()}
		m.tgtIdx[name] = t
		m.targets = append(m.targets, t)
	}
	return t
}

// read builds the model from a trace.
func read(r io.Reader, highlight int64) (*model, error) {
	m := newModel(highlight)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		m.lines++
		if len(line) == 0 {
			continue
		}
		e, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("timeline: trace line %d: %w", m.lines, err)
		}
		m.add(&e, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("timeline: reading trace: %w", err)
	}
	m.finish()
	return m, nil
}

// add takes one event into the model; line is its raw text, only read for
// the events drawn as marks.
func (m *model) add(e *event, line []byte) {
	m.end = max(m.end, e.at)
	m.maxStep = max(m.maxStep, e.Step)
	if m.hlStep != 0 && e.Step == m.hlStep {
		if !m.hlFound {
			m.hlFound, m.hlAt = true, e.at
		}
		if len(m.hlEvents) < 8 {
			m.hlEvents = append(m.hlEvents, e.Actor+" "+e.Ev+" "+details(line))
		}
	}
	// The bulk of a trace: aggregated, never kept.
	switch {
	case e.Actor == "writer" && e.Ev == "write" && e.File != "":
		f := m.file(e.File, e.at)
		f.bytes.add(e.at, float64(e.Len))
		f.writes.add(e.at, 1)
		return
	case e.Actor == "net" && (e.Ev == "reply"):
		m.target(e.Target)
		return
	case e.Actor == "net" && e.Ev == "deliver" && (e.Msg == "data" || e.Msg == "heartbeat"):
		t := m.target(e.Target)
		if e.Msg == "data" {
			t.bytes.add(e.at, float64(e.Len))
			t.chunks.add(e.at, 1)
		} else {
			t.hbs.add(e.at, 1)
		}
		return
	case e.Actor == "net" && e.Ev == "send" && e.Msg == "heartbeat":
		m.target(e.Target)
		return
	}
	retry := false
	if e.Actor == "net" && e.Msg == "data" && (e.Ev == "send" || e.Ev == "drop-request" || e.Ev == "unreachable") {
		retry = m.isRetry(e)
		if e.Ev == "send" && !retry {
			return
		}
	}
	mk := mark{at: e.at, step: e.Step, kind: kindOf(e)}
	mk.detail = fmt.Sprintf("step %d · %s · %s %s %s", e.Step, e.T, e.Actor, e.Ev, details(line))
	mk.label = labelOf(e, line)
	if retry && e.Ev != "send" {
		mk.detail += " (a retry)"
		t := m.target(e.Target)
		t.marks = append(t.marks, mark{at: e.at, step: e.Step, kind: "retry", detail: mk.detail})
	}
	switch lane := laneOf(e); {
	case lane == laneNone:
		if e.Actor == "world" && e.Ev == "end" {
			m.written = e.Written
		}
		return
	case lane == laneFaults:
		m.faults = append(m.faults, mk)
		m.addWindow(e)
	case lane == laneTail:
		m.tail = append(m.tail, mk)
		m.addGen(e)
	case lane == laneSender:
		m.sender = append(m.sender, mk)
		if e.Ev == "result" {
			m.result = e.RC
		}
	case len(lane) > 5 && lane[:5] == "file:":
		f := m.file(e.File, e.at)
		f.marks = append(f.marks, mk)
		if (e.Ev == "renamed" || e.Ev == "deleted") && !f.gone {
			f.gone, f.left, f.movedTo = true, e.at, e.To
		}
	case len(lane) > 7 && lane[:7] == "target:":
		t := m.target(e.Target)
		t.marks = append(t.marks, mk)
	default:
		m.other = append(m.other, mk)
	}
	m.nNotable++
	if len(m.notable) < maxTable {
		m.notable = append(m.notable, mk)
	}
	if m.hlStep != 0 {
		switch {
		case e.Step < m.hlStep:
			if len(m.before) == aroundHL {
				copy(m.before, m.before[1:])
				m.before = m.before[:aroundHL-1]
			}
			m.before = append(m.before, mk)
		case len(m.after) < aroundHL:
			m.after = append(m.after, mk)
		}
	}
}

// isRetry reports whether a data transmission attempt (send, drop-request
// or unreachable) re-sends stream bytes already attempted to its target, and
// records the attempt. Stream offsets only grow between attempts, so an
// offset below the furthest end attempted is a re-send.
func (m *model) isRetry(e *event) bool {
	t := m.target(e.Target)
	retry := t.sent && e.Off < t.maxEnd
	t.sent = true
	t.maxEnd = max(t.maxEnd, e.Off+e.Len)
	return retry
}

// kindOf maps an event to its mark kind (a key of styles).
func kindOf(e *event) string {
	switch e.Actor {
	case "file":
		return "file-" + e.Ev
	case "tail":
		return "tail-" + e.Ev
	case "fs":
		return "fs"
	case "fault":
		return "fault"
	case "net":
		switch e.Ev {
		case "send":
			if e.Msg == "data" {
				return "retry"
			}
			return "msg-" + e.Msg
		case "deliver", "reply":
			return "msg-" + e.Msg
		}
		return "net-" + e.Ev
	case "recv":
		if e.Ev == "done" && e.RC != "OK" {
			return "recv-done-bad"
		}
		return "recv-" + e.Ev
	case "sender":
		return "sender-" + e.Ev
	case "world":
		return "world-" + e.Ev
	}
	return "other"
}

// labelOf is the short text drawn next to a mark of a labelled kind.
func labelOf(e *event, line []byte) string {
	switch e.Actor {
	case "file":
		switch e.Ev {
		case "renamed":
			return "renamed → " + e.To
		case "copied":
			return "copied → " + e.To
		case "truncated":
			return "truncated (" + fmtBytes(float64(e.Size)) + ", " + e.Cause + ")"
		}
		return e.Ev
	case "tail":
		if e.Ev == "error" && e.Err != "" {
			return "error: " + e.Err
		}
		return e.Ev
	case "fault":
		return faultLabel(e.Fault)
	case "recv":
		switch e.Ev {
		case "done":
			return "done " + e.RC
		case "created":
			return "stream"
		}
		return e.Ev
	case "sender":
		if e.Ev == "result" {
			s := "result " + e.RC
			if rcs := resultRCs(line); rcs != "" {
				s += " (" + rcs + ")"
			}
			return s
		}
		return e.Ev
	case "world":
		if e.Why != "" {
			return e.Ev + ": " + e.Why
		}
		return e.Ev
	case "net":
		return e.Msg
	}
	return e.Actor + " " + e.Ev
}

// addWindow records the window of a fault with a for= parameter.
func (m *model) addWindow(e *event) {
	d, err := time.ParseDuration(faultParam(e.Fault, "for"))
	if err != nil || d <= 0 {
		return
	}
	net := false
	switch e.Ev {
	case "unreachable", "delay", "stall":
		net = true
	}
	m.windows = append(m.windows, window{from: e.at, to: e.at + d, label: faultLabel(e.Fault),
		target: faultParam(e.Fault, "target"), network: net})
}

// addGen follows which file the tailer reads.
func (m *model) addGen(e *event) {
	if e.Actor != "tail" {
		return
	}
	closeOpen := func() {
		if n := len(m.gens); n > 0 && m.gens[n-1].open {
			m.gens[n-1].to, m.gens[n-1].open = e.at, false
		}
	}
	switch e.Ev {
	case "opened":
		closeOpen()
		m.gens = append(m.gens, genSpan{from: e.at, gen: e.Gen, file: e.File, open: true})
	case "end":
		closeOpen()
	}
}

// finish closes what is still open at the end of the trace.
func (m *model) finish() {
	for i := range m.gens {
		if m.gens[i].open {
			m.gens[i].to = m.end
		}
	}
}

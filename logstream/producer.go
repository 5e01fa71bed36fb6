package logstream

import (
	"errors"
	"fmt"
	"hash/crc64"
	"time"
)

type targetState uint8

const (
	targetActive targetState = iota
	targetDone               // acknowledged EOF
	targetFailed             // given up on
)

// chunk is one message of the stream (data or EOF), held from the moment it
// is read until every live target acknowledged it.
type chunk struct {
	n      int64 // position in the stream's sequence of chunks
	msg    Message
	readAt time.Time
	file   FileID // where the source read it (Rereader)
	foff   int64
	// pending counts attempts sent and not yet answered; timedOut is set
	// when an attempt's reply was TIMEOUT or COMMUNICATION_ERROR. The
	// engine may still hold Data then, so such a chunk's buffer is never
	// handed back for reuse.
	pending  int
	timedOut bool
}

// flight is one chunk a target has not acknowledged yet.
type flight struct {
	n       int64     // chunk number
	id      uint64    // the send ID of the attempt in flight; 0: none
	retryAt time.Time // earliest next attempt (when not in flight)
	sent    bool      // sent at least once
	sentAt  time.Time // when the attempt in flight went
	retried bool      // sent more than once: its round trip is not sampled
	gap     bool      // refused for a gap: send again after progress
	held    bool      // the receiver holds it until the bytes before it arrive
	gaps    int       // gap refusals while it was the oldest
}

// target is the producer's view of one receiver. Each target has its own
// window and pace: nothing one target does or fails to do holds back
// another, except the read-ahead bound (TailOptions.ReadAhead).
type target struct {
	name    string
	state   targetState
	rc      ReturnCode
	reason  string
	started bool  // acknowledged a message: stop sending the context
	ackedTo int64 // the receiver's highest acknowledged Next
	sendN   int64 // the next chunk never sent to this target
	win     []flight
	// probing is set by a lost or refused attempt and cleared by an
	// acknowledgement: meanwhile only the oldest chunk is sent, so a
	// target in trouble gets one message at a time, as with W=1.
	probing bool
	fails   int        // consecutive lost attempts of the oldest chunk
	lastRC  ReturnCode // the code of the last of them
	misses  int        // consecutive NOT_READY replies to the oldest chunk
	missAt  time.Time  // first NOT_READY of the current run of them
	hbID    uint64     // heartbeat in flight; 0: none
	hbAt    time.Time  // when it went
	sentAt  time.Time  // the last send of any message
	nextHB  time.Time  // when a heartbeat is due
	hbFails int        // heartbeats lost in a row (since any OK reply)
	st      TargetStats
	// reread: t fell behind the read-ahead buffer while retrying; the
	// chunks it needs that left the buffer are read again (Rereader).
	// Cleared when it catches up with the buffer.
	reread bool
	// Pace: the shortest recent round trip of a chunk, and the smoothed
	// time between acknowledgements while others were in flight (see
	// window).
	minRTT   time.Duration
	minRTTAt time.Time
	gap      time.Duration
	lastAck  time.Time
	cwnd     int // the window in use, once measured (see window)
}

// Source is what a LogProducer streams: normally a *Tailer. Tests and the
// simulator substitute other sources (for example a deliberately broken
// tailer, to show that the oracle catches it).
type Source interface {
	// Next says what to send at now: data, wait, or EOF.
	Next(now time.Time) TailAction
	// Stop starts the bounded drain that ends in EOF.
	Stop(now time.Time)
	// Offset is the number of bytes handed out so far.
	Offset() int64
	// Close releases the source's file handle.
	Close() error
}

// Recycler is implemented by a Source that can reuse the buffers of the data
// it handed out. A LogProducer gives a chunk's buffer back once every target
// answered every attempt of it and none of those answers was TIMEOUT or
// COMMUNICATION_ERROR (an engine may still hold a message then).
type Recycler interface {
	Recycle(buf []byte)
}

var _ Source = (*Tailer)(nil)

// Rereader is implemented by a Source that can read again, from the file
// handles it still holds, bytes it handed out. A LogProducer uses it for a
// target that fell behind its read-ahead buffer: instead of giving the
// target up, it lets the buffer go on, keeps a small record of each chunk
// released that the target still needs (file, file offset, size, CRC-64),
// and reads the chunk again when the target is to be sent it. The bytes
// are checked against the record: bytes that are gone (ErrGone, or
// changed since) end the target with ERROR, never a skip.
type Rereader interface {
	// Reread reads len(p) bytes of file at off, or, where the file no
	// longer holds them, at off of a copy of it (a copytruncate's), and
	// returns the first reading that want accepts. An error wrapping
	// ErrGone says they cannot be read again (no reading was accepted);
	// another error is worth a retry.
	Reread(p []byte, file FileID, off int64, want func([]byte) bool) (int, error)
	// Release says no target needs the bytes before stream offset off:
	// the handles that only hold such bytes may be closed.
	Release(off int64)
}

var _ Rereader = (*Tailer)(nil)

// Watcher is implemented by sources that keep watching the file while the
// producer cannot take data from them (no target can take more): LogProducer
// calls Watch whenever it is asked for a step then.
type Watcher interface {
	Watch(now time.Time)
}

var _ Watcher = (*Tailer)(nil)

// EOFHolder is implemented by sources whose quiet end after Stop can be put
// off. LogProducer holds it while a live target has not acknowledged every
// chunk read so far: the EOF goes to a target only when it has acknowledged
// everything before it, so the source's last look at the file must be taken
// then, not when the fastest target caught up (a stale EOF would cut bytes
// written in between, inside the drain window).
type EOFHolder interface {
	HoldEOF(hold bool)
}

var _ EOFHolder = (*Tailer)(nil)

// LogProducer streams what a Source (a Tailer) reads to several targets.
// Every target gets every byte, in order, at its own pace: it reads ahead
// into a buffer bounded by ReadAhead bytes; each target has up to Window
// chunks awaiting its reply, each retried for that target alone until it is
// acknowledged or the target is given up on; heartbeats go to any target
// that was sent nothing for LivenessInterval, whatever it has in flight. A
// receiver that refuses a chunk because an earlier one has not arrived yet
// (BAD_REQUEST_DATA with Next before the chunk) gets it again once the
// earlier ones are acknowledged. One failing target does not end the stream
// for the others. A target that holds the buffer full while others want
// to read on is passed and served by re-reading (Rereader), checked against
// a 40-byte record per chunk; it is given up with ERROR if those bytes are
// gone, or once it is MaxLag behind. Memory: buffers for ReadAhead bytes
// (from a Tailer, at most twice that: a read of less than half a chunk
// gets a buffer of its size), plus up to Window chunks read again per target behind the
// buffer, plus the records (one per chunk within MaxLag of the read
// position).
//
// It implements Producer and is not safe for concurrent use.
type LogProducer struct {
	tail    Source
	rec     Recycler
	rr      Rereader
	holder  EOFHolder
	held    bool // the source's EOF is held (holder.HoldEOF(true))
	opt     TailOptions
	ctx     StreamContext
	targets []*target

	buf       []*chunk // chunks bufN, bufN+1, ...
	bufN      int64
	bufBytes  int64 // capacity of the held buffers (memory)
	bufLen    int64 // bytes in them (the ReadAhead bound's measure)
	peakBuf   int64
	tailEOF   bool
	tailUntil time.Time // the source asked to be asked again then
	paced     int       // reads put off by the ReadAhead bound
	// partialAt is set when a read returned less than a chunk and the
	// reader caught up with the writer (not a short read): until a reply comes or a poll interval
	// passes, the next read waits while every target that wants it has
	// chunks in flight, so that a fast writer makes full chunks, not a
	// stream of small ones (Nagle's rule).
	partialAt time.Time

	// Re-reading (Rereader): recs are the records of chunks recN,
	// recN+1, ..., bufN-1, released from the buffer while a live target
	// still needed them; recFiles the files they name; rereads the chunks
	// read again (or kept at their release) that some live target has in
	// its window, by chunk number. rereadAt: a re-read failed with a read
	// error, try again then (rereadErrs in a row).
	recs       []chunkRec
	recN       int64
	recFiles   []FileID
	rereads    []*chunk
	rereadAt   time.Time
	rereadErrs int

	sends   map[uint64]sendRec
	lastID  uint64
	pending []string // targets to send an Abort to
	done    bool
	result  Result
}

// chunkRec is what a LogProducer keeps of a data chunk released from its
// buffer while a lagging target still needs it: enough to read it again and
// check what it reads (40 bytes).
type chunkRec struct {
	off  int64  // stream offset
	foff int64  // offset in the file
	crc  uint64 // CRC-64 (ECMA) of the bytes
	at   int64  // when it was read (UnixNano), for Stats' LagAge
	size int32
	file int32 // index in LogProducer.recFiles
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// sendRec is a send whose replies are not all in.
type sendRec struct {
	n    int64 // chunk number; -1 for a heartbeat
	left int   // replies still due
}

// NewLogProducer returns a producer that streams tail's output to targets.
// opt must be normalized; targets must be distinct. With no targets the
// stream ends at once with RC Error: nobody acknowledged anything (H10).
func NewLogProducer(tail Source, opt TailOptions, sctx StreamContext, targets []string, now time.Time) *LogProducer {
	opt = opt.withDefaults()
	p := &LogProducer{tail: tail, opt: opt, ctx: sctx.Clone(), sends: map[uint64]sendRec{}}
	p.rec, _ = tail.(Recycler)
	p.holder, _ = tail.(EOFHolder)
	p.rr, _ = tail.(Rereader)
	for _, name := range targets {
		p.targets = append(p.targets, &target{name: name, nextHB: now.Add(opt.LivenessInterval)})
	}
	return p
}

// Stop asks the producer to finish: drain the file, then send EOF.
func (p *LogProducer) Stop(now time.Time) {
	p.tail.Stop(now)
	p.tailUntil = time.Time{}
}

// Poll makes the next Next ask the source at once instead of at the time of
// its last wait (for a driver that learned the file changed).
func (p *LogProducer) Poll() { p.tailUntil, p.partialAt = time.Time{}, time.Time{} }

// Changed passes a file-system event on to the source, if it takes them
// (Tailer.Changed), and makes the next Next consult the source at once
// (Poll): read if a target can take data, Watch otherwise. The source's
// last wait was chosen before the event, so it must not hold the look up.
func (p *LogProducer) Changed(now time.Time) {
	if c, ok := p.tail.(interface{ Changed(time.Time) }); ok {
		c.Changed(now)
	}
	p.Poll()
}

// Source returns the producer's source.
func (p *LogProducer) Source() Source { return p.tail }

// Next implements Producer.
func (p *LogProducer) Next(now time.Time) Step {
	if len(p.pending) > 0 {
		to := p.pending
		p.pending = nil
		return p.send(now, p.newID(), Message{Kind: KindAbort, Offset: p.tail.Offset()}, to, 0)
	}
	if p.done {
		return Step{Kind: StepDone, Result: p.result}
	}
	if p.live() == 0 {
		return p.finish(now)
	}
	var until time.Time
	// Heartbeats first: they are never held back by chunks in flight or by
	// other targets' retries.
	var hb []string
	for _, t := range p.targets {
		if t.state != targetActive || t.hbID != 0 {
			continue
		}
		if !now.Before(t.nextHB) {
			hb = append(hb, t.name)
		} else {
			until = earliest(until, t.nextHB)
		}
	}
	if len(hb) > 0 {
		return p.sendHeartbeat(now, hb)
	}
	p.readAhead(now, &until)
	if len(p.pending) > 0 { // a laggard was given up on: tell it first
		return p.Next(now)
	}
	if p.dropFarBehind() {
		return p.Next(now)
	}
	// The oldest chunk some target may be sent now goes to every target
	// that may be sent it now.
	best := int64(-1)
	var to []string
	for _, t := range p.targets {
		if t.state != targetActive {
			continue
		}
		n, at, ok := p.candidate(t)
		if !ok {
			continue
		}
		if now.Before(at) {
			until = earliest(until, at)
			continue
		}
		switch {
		case best < 0 || n < best:
			best, to = n, append(to[:0], t.name)
		case n == best:
			to = append(to, t.name)
		}
	}
	if best >= 0 {
		return p.sendChunk(now, best, to)
	}
	if until.IsZero() {
		// Everything is in flight: the engine asks again with each reply.
		until = now.Add(p.opt.LivenessInterval)
	}
	return Step{Kind: StepWait, Until: until}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// candidate returns the chunk t may be sent next and from when.
func (p *LogProducer) candidate(t *target) (n int64, at time.Time, ok bool) {
	for i := range t.win {
		f := &t.win[i]
		if f.id != 0 || f.held {
			continue // in flight, or held by the receiver
		}
		if i == 0 {
			return f.n, f.retryAt, true
		}
		if !t.probing && !f.gap {
			return f.n, time.Time{}, true
		}
	}
	if len(t.win) >= p.window(t) || (t.probing && len(t.win) > 0) {
		return 0, time.Time{}, false
	}
	c := p.chunkAt(t.sendN)
	if c == nil && p.recorded(t.sendN) {
		return t.sendN, p.rereadAt, true // read again when sent
	}
	if c == nil || (c.msg.Kind == KindEOF && len(t.win) > 0) {
		// EOF goes alone, once every data chunk is acknowledged.
		return 0, time.Time{}, false
	}
	return t.sendN, time.Time{}, true
}

// wantsRead reports whether t could be sent a chunk not read yet.
func (p *LogProducer) wantsRead(t *target) bool {
	end := p.bufN + int64(len(p.buf))
	return t.state == targetActive && t.sendN == end && len(t.win) < p.window(t) &&
		(!t.probing || len(t.win) == 0)
}

// readAhead reads one chunk from the source when the ReadAhead bound allows
// it, whether or not a target can take it now: bytes left in the file while
// targets are not ready or retrying could be truncated or rotated away
// before they are read. Data no target wants yet is read until the source
// has nothing more; data a target wants, one chunk at a time, with the
// partial-chunk rule below.
func (p *LogProducer) readAhead(now time.Time, until *time.Time) {
	if p.tailEOF {
		return
	}
	p.holdEOF()
	want, idle := false, false
	for _, t := range p.targets {
		if p.wantsRead(t) {
			want = true
			idle = idle || len(t.win) == 0
		}
	}
	// A target that wants data gets one chunk now; for no one, read on
	// until the source waits or the bound is hit.
	for !p.tailEOF {
		if want && !p.partialAt.IsZero() && !idle {
			if at := p.partialAt.Add(p.opt.PollInterval); now.Before(at) {
				*until = earliest(*until, at)
				p.watch(now)
				return
			}
		}
		if len(p.buf) > 0 && p.bufLen+int64(p.opt.ChunkSize) > p.opt.ReadAhead && (!want || !p.dropLaggards()) {
			// The slowest live target is ReadAhead behind and cannot
			// be passed (every live target is, or the source cannot
			// read again and it still acknowledges): wait for it (its
			// acknowledgements or its failure come as replies).
			if want {
				p.paced++
			}
			p.watch(now)
			return
		}
		if now.Before(p.tailUntil) {
			*until = earliest(*until, p.tailUntil)
			p.watch(now)
			return
		}
		a := p.tail.Next(now)
		switch a.Kind {
		case TailData:
			p.push(now, Message{Kind: KindData, Offset: a.Offset, Size: len(a.Data), Data: a.Data}, a.File, a.FileOffset)
			if !want && len(a.Data) > 0 {
				// Read on: the reads no target waits for are the ones a
				// truncation or a rotation can take away. (An empty read
				// ends the loop: the bound counts buffers, and a source
				// that hands out nothing would never reach it.)
				continue
			}
			p.partialAt = time.Time{}
			if len(a.Data) < p.opt.ChunkSize && !p.moreToRead() {
				p.partialAt = now
			}
			return
		case TailEOF:
			p.tailEOF = true
			p.push(now, Message{Kind: KindEOF, Offset: a.Offset}, FileID{}, 0)
		default:
			p.tailUntil = a.Until
			*until = earliest(*until, a.Until)
			return
		}
	}
}

// moreToRead reports whether the source says the file it reads holds more
// than it handed out (a short read, not the writer's pace): the partial-
// chunk rule does not wait for those bytes.
func (p *LogProducer) moreToRead() bool {
	u, ok := p.tail.(interface{ Unread() int64 })
	return ok && u.Unread() > 0
}

// holdEOF holds the source's EOF while a live target has not acknowledged
// every chunk read so far, and lets it go, with a look at the file at once,
// when they all have.
func (p *LogProducer) holdEOF() {
	if p.holder == nil {
		return
	}
	end := p.bufN + int64(len(p.buf))
	hold := false
	for _, t := range p.targets {
		if t.state == targetActive && (len(t.win) > 0 || t.sendN < end) {
			hold = true
			break
		}
	}
	if hold != p.held {
		p.held = hold
		p.holder.HoldEOF(hold)
		if !hold {
			p.tailUntil = time.Time{}
		}
	}
}

// watch lets a Watcher source look for new generations while the producer
// takes no data from it.
func (p *LogProducer) watch(now time.Time) {
	if w, ok := p.tail.(Watcher); ok {
		w.Watch(now)
	}
}

// dropLaggards passes the targets that hold the oldest buffered chunk
// while others are ahead of them. With a Rereader source the buffer goes on
// without them (target.reread: what they still need is read again when
// they can take it), whatever holds them back: a slow, not-ready, retrying
// or dead target never delays a healthy one, and what the healthy ones
// hold stays ReadAhead bytes past their own acknowledgements (so a
// truncation takes from them only what no sender bounded by ReadAhead could
// have read). With another source, retrying ones (their oldest chunk lost
// two attempts in a row, or got NOT_READY twice) are given up on, and a
// slow one that still acknowledges, or has just lost one attempt, sets the
// pace. It reports whether reading may go on.
func (p *LogProducer) dropLaggards() bool {
	low, high := int64(-1), int64(-1)
	for _, t := range p.targets {
		if t.state != targetActive || t.reread {
			continue // a target served by re-reading holds no buffer
		}
		n := t.lowN()
		if low < 0 || n < low {
			low = n
		}
		high = max(high, n)
	}
	if low == high {
		return false // nobody is ahead: the bound is everyone's window
	}
	dropped := false
	for _, t := range p.targets {
		if t.state != targetActive || t.reread || t.lowN() != low {
			continue
		}
		if p.rr != nil {
			// Read its chunks again when it is ready for them: the
			// buffer goes on without it.
			t.reread = true
			dropped = true
		} else if t.fails >= 2 {
			p.fail(t, t.lastRC, fmt.Sprintf("%d attempts failed while ReadAhead (%d bytes) behind the other targets", t.fails, p.opt.ReadAhead))
			dropped = true
		} else if t.misses >= 2 {
			p.fail(t, NotReady, fmt.Sprintf("not ready while ReadAhead (%d bytes) behind the other targets", p.opt.ReadAhead))
			dropped = true
		}
	}
	if !dropped {
		return false
	}
	p.release()
	return p.bufLen+int64(p.opt.ChunkSize) <= p.opt.ReadAhead
}

// lowN is the oldest chunk t still needs.
func (t *target) lowN() int64 {
	if len(t.win) > 0 {
		return t.win[0].n
	}
	return t.sendN
}

func (p *LogProducer) push(now time.Time, m Message, file FileID, foff int64) {
	c := &chunk{n: p.bufN + int64(len(p.buf)), msg: m, readAt: now, file: file, foff: foff}
	p.buf = append(p.buf, c)
	p.bufBytes += int64(cap(m.Data))
	p.bufLen += int64(len(m.Data))
	p.peakBuf = max(p.peakBuf, p.bufBytes)
}

func (p *LogProducer) chunkAt(n int64) *chunk {
	if n < p.bufN {
		for _, c := range p.rereads {
			if c.n == n {
				return c
			}
		}
		return nil
	}
	if n >= p.bufN+int64(len(p.buf)) {
		return nil
	}
	return p.buf[n-p.bufN]
}

// recorded reports whether chunk n left the buffer and can be read again.
func (p *LogProducer) recorded(n int64) bool {
	return n >= p.recN && n < p.recN+int64(len(p.recs))
}

func (p *LogProducer) newID() uint64 {
	p.lastID++
	return p.lastID
}

func (p *LogProducer) sendHeartbeat(now time.Time, to []string) Step {
	id := p.newID()
	for _, name := range to {
		t := p.target(name)
		t.hbID, t.hbAt = id, now
		t.st.Heartbeats++
	}
	p.sends[id] = sendRec{n: -1, left: len(to)}
	off := p.tail.Offset()
	return p.send(now, id, Message{Kind: KindHeartbeat, Offset: off}, to, p.opt.ChunkTimeout)
}

func (p *LogProducer) sendChunk(now time.Time, n int64, to []string) Step {
	c := p.chunkAt(n)
	if c == nil {
		var ok bool
		if c, ok = p.reread(now, n, to); !ok {
			return p.Next(now) // gone (an Abort first) or retried later
		}
	}
	id := p.newID()
	for _, name := range to {
		t := p.target(name)
		if n == t.sendN {
			t.win = append(t.win, flight{n: n})
			t.sendN++
		}
		f := t.flight(n)
		if f.sent {
			t.st.Retries++
			f.retried = true
		}
		f.id, f.sent, f.gap, f.sentAt = id, true, false, now
	}
	c.pending += len(to)
	p.sends[id] = sendRec{n: n, left: len(to)}
	return p.send(now, id, c.msg, to, p.opt.ChunkTimeout)
}

func (p *LogProducer) send(now time.Time, id uint64, m Message, to []string, timeout time.Duration) Step {
	if m.Kind != KindAbort {
		for _, name := range to {
			t := p.target(name)
			if !t.started {
				m.Ctx = p.ctx
			}
			// The next heartbeat is due a liveness interval after this send.
			t.nextHB, t.sentAt = now.Add(p.opt.LivenessInterval), now
		}
	}
	return Step{Kind: StepSend, ID: id, Msg: m, Targets: to, Timeout: timeout}
}

func (p *LogProducer) target(name string) *target {
	for _, t := range p.targets {
		if t.name == name {
			return t
		}
	}
	panic(fmt.Sprintf("logstream: unknown target %q", name))
}

func (t *target) flight(n int64) *flight {
	if len(t.win) == 0 || n < t.win[0].n || n >= t.win[0].n+int64(len(t.win)) {
		return nil
	}
	return &t.win[n-t.win[0].n]
}

func (p *LogProducer) live() int {
	n := 0
	for _, t := range p.targets {
		if t.state == targetActive {
			n++
		}
	}
	return n
}

// Reply implements Producer.
func (p *LogProducer) Reply(now time.Time, id uint64, name string, r Reply) {
	rec, ok := p.sends[id]
	if !ok {
		return // an Abort, or a reply reported twice
	}
	if rec.left--; rec.left == 0 {
		delete(p.sends, id)
	} else {
		p.sends[id] = rec
	}
	p.partialAt = time.Time{}
	var t *target
	for _, x := range p.targets {
		if x.name == name {
			t = x
		}
	}
	if t == nil || p.done {
		return
	}
	if rec.n < 0 {
		if t.hbID == id {
			t.hbID = 0
		}
		if t.state == targetActive {
			p.heartbeatReply(now, t, r)
			p.release()
		}
		return
	}
	c := p.chunkAt(rec.n)
	if c != nil {
		c.pending--
		if rc := r.rc(); rc == Timeout || rc == CommunicationError {
			c.timedOut = true
		}
	}
	if t.state != targetActive {
		return
	}
	f := t.flight(rec.n)
	current := f != nil && f.id == id
	if current {
		f.id = 0
	}
	p.chunkReply(now, t, c, f, current, r)
	p.release()
}

// chunkReply applies t's reply to chunk c (nil when every target is past
// it); f is t's flight for c, if any, and current says whether the reply
// answers its latest attempt.
func (p *LogProducer) chunkReply(now time.Time, t *target, c *chunk, f *flight, current bool, r Reply) {
	rc := r.rc()
	if r.Closed {
		p.closed(t, r)
		return
	}
	if c == nil {
		if rc == OK {
			t.ackedTo = max(t.ackedTo, r.Next)
		}
		return
	}
	m := &c.msg
	switch {
	case rc == OK && m.Kind == KindData && r.Next <= m.Offset && r.Next < m.End() && r.Next >= t.ackedTo:
		// Held: the receiver keeps the chunk until the bytes before it
		// arrive; an acknowledgement past it follows.
		t.st.Held++
		if current {
			f.held = true
		}
		t.started = true
		p.ackTo(t, r.Next)
	case rc == OK && m.Kind == KindData && r.Next <= m.Offset && r.Next < m.End():
		// "Held" by a receiver that is behind what it acknowledged: it
		// lost bytes (or lied); treat it as a gap, bounded by RetryLimit.
		p.gapReply(now, t, f, m, current, r)
	case rc == OK:
		if r.Next < m.End() || (m.Kind == KindEOF && r.Next != m.Offset) {
			if f == nil {
				return // a late answer to a chunk acknowledged since
			}
			p.fail(t, BadRequestData, fmt.Sprintf("receiver at offset %d after message ending at %d", r.Next, m.End()))
			return
		}
		t.started, t.probing = true, false
		t.fails, t.hbFails, t.misses, t.missAt = 0, 0, 0, time.Time{}
		if current && m.Kind == KindData {
			p.sample(now, t, f)
		}
		p.ackTo(t, r.Next)
		if m.Kind == KindEOF {
			t.win = t.win[:0]
			p.end(t, targetDone, OK, "")
		}
	case rc == NotReady:
		t.st.NotReady++
		if !current {
			return
		}
		t.probing = true
		if t.missAt.IsZero() {
			t.missAt = now
		}
		if now.Sub(t.missAt) >= p.opt.NotReadyTimeout {
			p.fail(t, NotReady, fmt.Sprintf("not ready for %v", now.Sub(t.missAt)))
			return
		}
		f.retryAt = time.Time{}
		if f == &t.win[0] {
			t.misses++
			f.retryAt = now.Add(p.backoff(t.misses))
		}
	case rc.Retryable():
		t.st.lost(rc)
		if !current {
			return
		}
		t.probing = true
		f.retryAt = time.Time{}
		if f == &t.win[0] {
			t.fails++
			t.lastRC = rc
			if t.fails > p.opt.RetryLimit {
				p.fail(t, rc, fmt.Sprintf("%d attempts failed", t.fails))
				return
			}
			f.retryAt = now.Add(p.backoff(t.fails))
		}
	case rc == BadRequestData && m.Kind == KindData && r.Next < m.Offset:
		// An earlier chunk has not arrived yet (or was lost): send this one
		// again once the earlier ones are acknowledged.
		p.gapReply(now, t, f, m, current, r)
	default:
		p.fail(t, rc, "receiver refused the message")
	}
}

// closed handles a reply (to any message) saying the receiver's stream is
// over: nothing we send can change that. It ended well only if it ended
// with OK at the EOF this target was sent, whichever reply says so first
// (a heartbeat's may overtake the EOF's).
func (p *LogProducer) closed(t *target, r Reply) {
	rc := r.rc()
	if rc == OK && len(t.win) > 0 && t.win[0].sent {
		if c := p.chunkAt(t.win[0].n); c.msg.Kind == KindEOF && r.Next == c.msg.Offset {
			t.ackedTo = r.Next
			p.end(t, targetDone, OK, "")
			return
		}
	}
	if rc == OK {
		rc = Error
	}
	p.end(t, targetFailed, rc, "receiver ended the stream")
}

// gapReply handles a chunk the receiver did not take because it has not
// got the bytes before it.
func (p *LogProducer) gapReply(now time.Time, t *target, f *flight, m *Message, current bool, r Reply) {
	t.st.OutOfOrder++
	if !current {
		return
	}
	n := f.n
	p.ackTo(t, r.Next)
	f = t.flight(n)
	f.gap, f.held, f.retryAt = true, false, time.Time{}
	if f == &t.win[0] {
		// The receiver is behind what it acknowledged, or this answer
		// crossed the acknowledgement that made the chunk the oldest.
		f.gaps++
		if f.gaps > p.opt.RetryLimit {
			p.fail(t, BadRequestData, fmt.Sprintf("receiver at offset %d refused offset %d %d times", r.Next, m.Offset, f.gaps))
			return
		}
		if f.gaps > 1 {
			f.retryAt = now.Add(p.backoff(f.gaps - 1))
		}
	}
}

func (p *LogProducer) heartbeatReply(now time.Time, t *target, r Reply) {
	rc := r.rc()
	if r.Closed {
		p.closed(t, r)
		return
	}
	switch {
	case rc == OK:
		t.started, t.hbFails = true, 0
		t.misses, t.missAt = 0, time.Time{}
		p.ackTo(t, r.Next)
	case rc == NotReady:
		t.st.NotReady++
		if t.missAt.IsZero() {
			t.missAt = now
		}
		if now.Sub(t.missAt) >= p.opt.NotReadyTimeout {
			p.fail(t, NotReady, fmt.Sprintf("not ready for %v", now.Sub(t.missAt)))
			return
		}
		// Not a lost attempt (NotReadyTimeout bounds these): back off by
		// the NOT_READY replies in a row.
		t.misses++
		p.retryHeartbeat(now, t, t.misses)
	case rc.Retryable():
		t.st.lost(rc)
		t.hbFails++
		if t.hbFails > p.opt.RetryLimit {
			p.fail(t, rc, fmt.Sprintf("%d attempts failed", t.hbFails))
			return
		}
		p.retryHeartbeat(now, t, t.hbFails)
	default:
		p.fail(t, rc, "receiver refused the message")
	}
}

// window is how many chunks t may have awaiting replies, at most Window:
// minWindow while its pipe (minRTT/gap, the round trip in times between
// acknowledgements) is shorter than that, as on a short round trip, where
// more in flight only queue up and cost CPU; on a longer pipe, enough to
// keep it full twice over (2*pipe + 2). It starts at minWindow and grows
// by one chunk per acknowledgement (doubling each round trip), so that an
// acknowledgement gap measured short for a moment, as when replies arrive
// in a burst, does not send a burst of chunks; it shrinks at once (fit).
func (p *LogProducer) window(t *target) int {
	if t.cwnd == 0 {
		return min(p.opt.Window, minWindow)
	}
	return min(p.opt.Window, t.cwnd)
}

// fit moves t's window towards its pipe's measure after an
// acknowledgement (see window).
func (p *LogProducer) fit(t *target) {
	if t.minRTT <= 0 || t.gap <= 0 {
		return
	}
	need := minWindow
	if pipe := int64(t.minRTT) / int64(t.gap); pipe >= minWindow {
		need = int(min(2*pipe+2, int64(p.opt.Window)))
	}
	switch {
	case t.cwnd == 0:
		t.cwnd = minWindow
	case need > t.cwnd:
		t.cwnd++
	default:
		t.cwnd = need
	}
}

// minWindow is the fewest chunks the window fitted to a target's pipe
// keeps in flight (see window). On a short round trip the measured pipe is
// mostly the chunk's own transfer, and the formula gives 3 or 4; the
// stages of the stream (read, send, receive, reply) then wait for each
// other. Measured over loopback (BenchmarkBacklog1M and 64K, 2 cores,
// window forced): 1 MiB chunks gave 1346 MiB/s at 4, 1700 at 8, 1939 at
// 16; 64 KiB chunks 1059 at 6, 1114 at 8, and 644 at 10, where the socket
// buffers fill and the sender's writes turn into the receiver's softirq
// work. 8 takes most of the first gain and stays clear of the second.
const minWindow = 8

// sample measures t's pace from the acknowledgement of f's attempt (not a
// retried chunk's: which attempt is answered is unknown).
func (p *LogProducer) sample(now time.Time, t *target, f *flight) {
	busy := false
	for i := range t.win {
		if &t.win[i] != f && t.win[i].id != 0 {
			busy = true
			break
		}
	}
	if !f.retried {
		rtt := now.Sub(f.sentAt)
		// The minimum of the last 10 s: a path that got slower shows.
		if t.minRTT <= 0 || rtt < t.minRTT || now.Sub(t.minRTTAt) > 10*time.Second {
			t.minRTT, t.minRTTAt = rtt, now
		}
	}
	if busy && !t.lastAck.IsZero() {
		g := now.Sub(t.lastAck)
		if t.gap <= 0 {
			t.gap = g
		} else {
			t.gap += (g - t.gap) / 8
		}
	}
	t.lastAck = now
	p.fit(t)
}

// retryHeartbeat schedules a failed heartbeat again with the backoff for n
// failures in a row, unless something else went to t since it: then the
// liveness interval after that send stands (a heartbeat then would be one
// too many).
func (p *LogProducer) retryHeartbeat(now time.Time, t *target, n int) {
	if t.sentAt.After(t.hbAt) {
		return
	}
	t.nextHB = now.Add(p.backoff(n))
}

// ackTo notes that t's receiver forwarded every byte before next.
func (p *LogProducer) ackTo(t *target, next int64) {
	t.ackedTo = max(t.ackedTo, next)
	k := 0
	for k < len(t.win) {
		c := p.chunkAt(t.win[k].n)
		if c.msg.Kind != KindData || c.msg.End() > next {
			break
		}
		k++
	}
	if k > 0 {
		t.win = append(t.win[:0], t.win[k:]...)
		// Progress: chunks refused for a gap may go again, in order.
		for i := range t.win {
			t.win[i].gap = false
		}
	}
	if len(t.win) > 0 && t.win[0].held && next >= p.chunkAt(t.win[0].n).msg.Offset {
		// The receiver reached a chunk it said it held, without it: send
		// it again.
		t.win[0].held = false
	}
}

// backoff is the delay before attempt+1: exponential, capped.
func (p *LogProducer) backoff(attempt int) time.Duration {
	d := p.opt.RetryBackoff
	for i := 1; i < attempt && d < p.opt.MaxRetryBackoff; i++ {
		d *= 2
	}
	return min(d, p.opt.MaxRetryBackoff)
}

// release drops the chunks every live target is past, handing their buffers
// back to the source when no engine can still hold them. A target served by
// re-reading (target.reread) does not hold the buffer: the chunks it still
// needs leave it as records (and, while in its window, as chunks in
// rereads). It also drops the records and re-read chunks no live target
// needs and tells the source (Rereader.Release).
func (p *LogProducer) release() {
	end := p.bufN + int64(len(p.buf))
	low, lowAll, pinned := end, end, false
	for _, t := range p.targets {
		if t.state != targetActive {
			continue
		}
		n := t.lowN()
		lowAll = min(lowAll, n)
		if !t.reread {
			low, pinned = min(low, n), true
		}
	}
	if !pinned {
		low = lowAll
	}
	for _, t := range p.targets {
		if t.state == targetActive && t.reread && pinned && t.lowN() >= low {
			t.reread = false // caught up with the buffer
		}
	}
	k := 0
	for k < len(p.buf) && p.buf[k].n < low {
		c := p.buf[k]
		p.bufBytes -= int64(cap(c.msg.Data))
		p.bufLen -= int64(len(c.msg.Data))
		if c.n >= lowAll && c.msg.Kind == KindData {
			p.record(c)
		}
		if c.n >= lowAll && p.inWindow(c.n) {
			p.rereads = append(p.rereads, c) // in flight: kept as it is
		} else {
			p.recycle(c)
		}
		p.buf[k] = nil
		k++
	}
	if k > 0 {
		p.buf = append(p.buf[:0], p.buf[k:]...)
		p.bufN += int64(k)
	}
	if p.rr == nil {
		return
	}
	if drop := min(lowAll-p.recN, int64(len(p.recs))); drop > 0 {
		p.recs = p.recs[drop:]
		p.recN += drop
	}
	j := 0
	for _, c := range p.rereads {
		if c.n >= lowAll && p.inWindow(c.n) {
			p.rereads[j] = c
			j++
		} else {
			p.recycle(c)
		}
	}
	clear(p.rereads[j:])
	p.rereads = p.rereads[:j]
	off := p.tail.Offset()
	if p.recorded(lowAll) {
		off = p.recs[lowAll-p.recN].off
	} else if c := p.chunkAt(lowAll); c != nil {
		off = c.msg.Offset
	}
	p.rr.Release(off)
}

// recycle hands c's buffer back to the source when no engine can still
// hold it.
func (p *LogProducer) recycle(c *chunk) {
	if p.rec != nil && c.pending == 0 && !c.timedOut && c.msg.Data != nil {
		p.rec.Recycle(c.msg.Data)
	}
}

// inWindow reports whether a live target awaits the reply to chunk n.
func (p *LogProducer) inWindow(n int64) bool {
	for _, t := range p.targets {
		if t.state == targetActive && t.flight(n) != nil {
			return true
		}
	}
	return false
}

// record keeps what it takes to read c again, after c.
func (p *LogProducer) record(c *chunk) {
	if p.rr == nil {
		return
	}
	if len(p.recs) == 0 {
		p.recN, p.recFiles = c.n, p.recFiles[:0]
	}
	if c.n != p.recN+int64(len(p.recs)) {
		panic(fmt.Sprintf("logstream: record of chunk %d after chunk %d", c.n, p.recN+int64(len(p.recs))-1))
	}
	if k := len(p.recFiles); k == 0 || p.recFiles[k-1] != c.file {
		p.recFiles = append(p.recFiles, c.file)
	}
	p.recs = append(p.recs, chunkRec{
		off: c.msg.Offset, foff: c.foff, crc: crc64.Checksum(c.msg.Data, crcTable),
		at: c.readAt.UnixNano(), size: int32(len(c.msg.Data)), file: int32(len(p.recFiles) - 1),
	})
}

// reread reads recorded chunk n again for the targets to, and checks it
// against its record. Bytes that are gone or changed end those targets
// with ERROR (ok false, an Abort pending); a read error is tried again
// after a backoff (ok false, p.rereadAt set). Unchecked bytes never go.
func (p *LogProducer) reread(now time.Time, n int64, to []string) (c *chunk, ok bool) {
	r := p.recs[n-p.recN]
	file := p.recFiles[r.file]
	buf := make([]byte, r.size, max(int(r.size), p.opt.ChunkSize))
	// want is the check: the bytes are summed once, by the reading the
	// source accepts (a source that accepts without asking is caught).
	accepted := false
	k, err := p.rr.Reread(buf, file, r.foff, func(b []byte) bool {
		accepted = crc64.Checksum(b, crcTable) == r.crc
		return accepted
	})
	if err == nil && (k != len(buf) || !accepted) {
		err = fmt.Errorf("%w: file %v changed at [%d,%d) (checksum)", ErrGone, file, r.foff, r.foff+int64(r.size))
	}
	if err != nil && !errors.Is(err, ErrGone) {
		p.rereadErrs++
		p.rereadAt = now.Add(p.backoff(p.rereadErrs))
		return nil, false
	}
	if err != nil {
		for _, name := range to {
			t := p.target(name)
			t.st.Gone++
			p.fail(t, Error, fmt.Sprintf("stream bytes [%d,%d) to be read again are gone: %v", r.off, r.off+int64(r.size), err))
		}
		p.release()
		return nil, false
	}
	p.rereadErrs, p.rereadAt = 0, time.Time{}
	for _, name := range to {
		p.target(name).st.Rereads++
	}
	c = &chunk{n: n, msg: Message{Kind: KindData, Offset: r.off, Size: int(r.size), Data: buf},
		readAt: time.Unix(0, r.at), file: file, foff: r.foff}
	i := len(p.rereads)
	for i > 0 && p.rereads[i-1].n > n {
		i--
	}
	p.rereads = append(p.rereads, nil)
	copy(p.rereads[i+1:], p.rereads[i:])
	p.rereads[i] = c
	return c, true
}

// dropFarBehind gives up, with ERROR, on the targets served by re-reading
// that are more than MaxLag bytes behind what the source handed out: it
// bounds the records kept for them. It reports whether it gave one up.
func (p *LogProducer) dropFarBehind() bool {
	dropped := false
	for _, t := range p.targets {
		if t.state == targetActive && t.reread && p.tail.Offset()-t.ackedTo > p.opt.MaxLag {
			p.fail(t, Error, fmt.Sprintf("more than MaxLag (%d bytes) behind", p.opt.MaxLag))
			dropped = true
		}
	}
	if dropped {
		p.release()
	}
	return dropped
}

// fail gives up on t and tells its receiver with an Abort.
func (p *LogProducer) fail(t *target, rc ReturnCode, reason string) {
	p.end(t, targetFailed, rc, reason)
	p.pending = append(p.pending, t.name)
}

func (p *LogProducer) end(t *target, s targetState, rc ReturnCode, reason string) {
	t.state, t.rc, t.reason = s, rc, reason
	t.win = nil
}

func (p *LogProducer) finish(now time.Time) Step {
	p.done = true
	p.tail.Close()
	p.result = p.collect(OK)
	return Step{Kind: StepDone, Result: p.result}
}

func (p *LogProducer) collect(rc ReturnCode) Result {
	res := Result{RC: rc}
	if len(p.targets) == 0 && rc == OK {
		// Nobody acknowledged anything: no replies is never success (H10).
		res.RC = Error
	}
	for _, t := range p.targets {
		tr := TargetResult{Target: t.name, RC: t.rc, Acked: t.ackedTo, Reason: t.reason}
		if t.state == targetActive {
			tr.RC, tr.Reason = TaskAborted, "run aborted"
		}
		if tr.RC != OK && res.RC == OK {
			res.RC = Error
		}
		res.Targets = append(res.Targets, tr)
	}
	return res
}

// Abort implements Producer: every target still streaming ends with
// TASK_ABORTED.
func (p *LogProducer) Abort(now time.Time) Result {
	if p.done {
		return p.result
	}
	p.done = true
	p.tail.Close()
	p.result = p.collect(TaskAborted)
	p.result.RC = TaskAborted
	return p.result
}

// Result returns the final result once Next returned StepDone.
func (p *LogProducer) Result() (Result, bool) { return p.result, p.done }

package logstream_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Window tests drive a LogProducer by hand, replying to sends in any order,
// as an asynchronous engine does. Chunks are 8 bytes (prodOpts).

// winRun records every send by offset, so that a test can answer any of
// them.
type winRun struct {
	*prodRun
	sent []logstream.Step
}

func newWinRun(t *testing.T, content string, opt logstream.TailOptions, targets ...string) *winRun {
	w := newWorld(t)
	w.appendTo(logPath, content)
	return &winRun{prodRun: newProdRun(t, w, opt, targets...)}
}

// sends expects n sends of the given kind at d, to targets, and returns
// their offsets.
func (r *winRun) sends(d time.Duration, n int, k logstream.Kind, targets ...string) []int64 {
	r.t.Helper()
	var offs []int64
	for range n {
		st := r.next(d)
		if st.Kind != logstream.StepSend || st.Msg.Kind != k || !slices.Equal(st.Targets, targets) {
			r.t.Fatalf("at %v after %d sends: %s, want send %s to %v", d, len(offs), stepString(st), k, targets)
		}
		r.sent = append(r.sent, st)
		offs = append(offs, st.Msg.Offset)
	}
	return offs
}

// idle expects no send at d.
func (r *winRun) idle(d time.Duration) {
	r.t.Helper()
	if st := r.next(d); st.Kind != logstream.StepWait {
		r.t.Fatalf("at %v: %s, want a wait", d, stepString(st))
	}
}

// answer replies rep from target to the last send of kind k at offset off.
func (r *winRun) answer(d time.Duration, k logstream.Kind, off int64, target string, rep logstream.Reply) {
	r.t.Helper()
	for i := len(r.sent) - 1; i >= 0; i-- {
		st := r.sent[i]
		if st.Msg.Kind == k && st.Msg.Offset == off && slices.Contains(st.Targets, target) {
			r.w.now = at(d)
			r.p.Reply(at(d), st.ID, target, rep)
			return
		}
	}
	r.t.Fatalf("no %s send at offset %d to %s", k, off, target)
}

func winOpts(w int) logstream.TailOptions {
	o := prodOpts()
	o.Window = w
	return o
}

// A window of W: W chunks go out before any reply; an acknowledgement of a
// later chunk acknowledges the earlier ones too (the receiver forwards in
// order) and opens the window; EOF goes alone once every chunk is
// acknowledged.
func TestProducerWindowPipelines(t *testing.T) {
	r := newWinRun(t, strings.Repeat("x", 36), winOpts(3), "a") // chunks at 0, 8, 16, 24, 32
	if offs := r.sends(0, 3, logstream.KindData, "a"); !slices.Equal(offs, []int64{0, 8, 16}) {
		t.Fatalf("first window: %v", offs)
	}
	r.idle(0)
	// The window is full; the rest of the file is read ahead all the same.
	if s := r.p.Stats(at(0)); s.Read != 36 || s.Unread != 0 || s.Targets[0].LagBytes != 36 || s.Targets[0].InFlight != 3 {
		t.Fatalf("stats %+v", s)
	}
	r.answer(0, logstream.KindData, 8, "a", ok(16)) // covers 0 and 8
	if offs := r.sends(0, 2, logstream.KindData, "a"); !slices.Equal(offs, []int64{24, 32}) {
		t.Fatalf("after the acknowledgement: %v", offs)
	}
	r.idle(0)
	r.answer(0, logstream.KindData, 0, "a", ok(16)) // a late reply changes nothing
	r.answer(0, logstream.KindData, 16, "a", ok(24))
	r.answer(0, logstream.KindData, 24, "a", ok(32))
	r.p.Stop(at(0))
	r.idle(0) // chunk 32 in flight: no EOF yet
	r.answer(0, logstream.KindData, 32, "a", ok(36))
	r.idle(0)
	r.sends(poll, 1, logstream.KindEOF, "a")
	r.answer(poll, logstream.KindEOF, 36, "a", ok(36))
	if res := r.done(poll); res.RC != logstream.OK || res.Targets[0].Acked != 36 {
		t.Fatalf("%+v", res)
	}
}

// Out-of-order arrival inside the window: a receiver that refuses a chunk
// because an earlier one has not arrived (BAD_REQUEST_DATA with Next before
// it) gets it again, in order, once the earlier one is acknowledged; the
// stream is not failed.
func TestProducerWindowGapResends(t *testing.T) {
	r := newWinRun(t, strings.Repeat("y", 24), winOpts(3), "a")
	r.sends(0, 3, logstream.KindData, "a")
	gap := logstream.Reply{RC: logstream.BadRequestData, Next: 0}
	r.answer(0, logstream.KindData, 8, "a", gap)
	r.answer(0, logstream.KindData, 16, "a", gap)
	r.idle(0) // chunk 0 still in flight
	r.answer(0, logstream.KindData, 0, "a", ok(8))
	if offs := r.sends(0, 2, logstream.KindData, "a"); !slices.Equal(offs, []int64{8, 16}) {
		t.Fatalf("resent %v, want 8 then 16", offs)
	}
	r.answer(0, logstream.KindData, 8, "a", ok(16))
	r.answer(0, logstream.KindData, 16, "a", ok(24))
	if st := r.p.Stats(at(0)).Targets[0]; st.OutOfOrder != 2 || st.Retries != 2 || st.Acked != 24 {
		t.Fatalf("stats %+v", st)
	}
}

// A receiver that keeps refusing its oldest chunk for a gap (it lost state)
// is given up on after RetryLimit refusals, not retried forever.
func TestProducerWindowEndlessGapFails(t *testing.T) {
	r := newWinRun(t, strings.Repeat("z", 16), winOpts(2), "a")
	r.sends(0, 2, logstream.KindData, "a")
	r.answer(0, logstream.KindData, 0, "a", ok(8))
	r.answer(0, logstream.KindData, 8, "a", logstream.Reply{RC: logstream.BadRequestData, Next: 0})
	d := time.Duration(0)
	for i := range 10 {
		st := r.next(d)
		for st.Kind == logstream.StepWait {
			d = st.Until.Sub(t0)
			st = r.next(d)
		}
		if st.Kind == logstream.StepSend && st.Msg.Kind == logstream.KindAbort {
			res := r.done(d)
			if a := res.Targets[0]; a.RC != logstream.BadRequestData || i < 3 {
				t.Fatalf("after %d refusals: %+v", i, res)
			}
			return
		}
		r.sent = append(r.sent, st)
		if st.Msg.Offset != 8 {
			t.Fatalf("sent %s", stepString(st))
		}
		r.answer(d, logstream.KindData, 8, "a", logstream.Reply{RC: logstream.BadRequestData, Next: 0})
	}
	t.Fatal("never given up on")
}

// A target that lost an attempt gets one chunk at a time (its oldest, with
// backoff) until it acknowledges again, as with W=1; then the rest of its
// window goes again at once.
func TestProducerWindowProbesAfterLoss(t *testing.T) {
	r := newWinRun(t, strings.Repeat("p", 24), winOpts(3), "a")
	r.sends(0, 3, logstream.KindData, "a")
	for _, off := range []int64{16, 0, 8} {
		r.answer(0, logstream.KindData, off, "a", rc(logstream.Timeout))
	}
	r.wait(0, backoff)
	if offs := r.sends(backoff, 1, logstream.KindData, "a"); offs[0] != 0 {
		t.Fatalf("probe %v", offs)
	}
	r.idle(backoff)
	r.answer(backoff, logstream.KindData, 0, "a", ok(8))
	if offs := r.sends(backoff, 2, logstream.KindData, "a"); !slices.Equal(offs, []int64{8, 16}) {
		t.Fatalf("after recovery %v", offs)
	}
	if st := r.p.Stats(at(backoff)).Targets[0]; st.Timeouts != 3 || st.InFlight != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// Heartbeats are not held back by a chunk in flight: a chunk awaiting its
// reply for the liveness interval does not keep the target silent.
func TestProducerHeartbeatWhileChunkInFlight(t *testing.T) {
	r := newWinRun(t, strings.Repeat("h", 8), winOpts(1), "a")
	r.sends(0, 1, logstream.KindData, "a")
	r.wait(0, liveness)
	r.sends(liveness, 1, logstream.KindHeartbeat, "a")
}

// The read-ahead bound: a slow target that still has chunks in flight
// (none lost) no longer holds the others back once the buffer is full: the
// buffer goes on without it (its chunks are read again when it can take
// them, see reread_test.go), and the healthy target goes on. Before, it
// set everyone's pace, and a truncation took bytes the healthy target's
// own ReadAhead had room for (receivers-mix seed 142).
func TestProducerReadAheadPassesSlowLaggard(t *testing.T) {
	opt := winOpts(2)
	opt.ReadAhead = 16 // two chunks
	r := newWinRun(t, strings.Repeat("r", 48), opt, "a", "b")
	r.sends(0, 2, logstream.KindData, "a", "b") // 0 and 8
	r.answer(0, logstream.KindData, 0, "a", ok(8))
	r.answer(0, logstream.KindData, 8, "a", ok(16))
	// b holds both chunks, in flight (its window is full): it is passed,
	// and a goes on.
	if offs := r.sends(0, 2, logstream.KindData, "a"); !slices.Equal(offs, []int64{16, 24}) {
		t.Fatalf("healthy target beside a slow one: %v", offs)
	}
	if s := r.p.Stats(at(0)); s.Buffered > 16 || s.Targets[1].RC != "" {
		t.Fatalf("stats %s", s)
	}
	// b's replies come: it is served the rest, read again.
	r.answer(0, logstream.KindData, 0, "b", ok(8))
	r.answer(0, logstream.KindData, 8, "b", ok(16))
	if offs := r.sends(0, 2, logstream.KindData, "b"); !slices.Equal(offs, []int64{16, 24}) {
		t.Fatalf("slow target once it acknowledged: %v", offs)
	}
}

// Without a source that can read again, a slow target that still has
// chunks in flight (none lost) sets the pace once the buffer is full; a
// retrying one (two lost attempts of its oldest chunk) is given up, and
// the healthy target goes on.
func TestProducerReadAheadPacesThenGivesUpRetryingLaggard(t *testing.T) {
	opt := winOpts(4)
	opt.ReadAhead = 16 // two chunks
	w := newWorld(t)
	w.appendTo(logPath, strings.Repeat("r", 48))
	p := newPlainRun(t, w, opt, "a", "b").p
	var ids []uint64
	for range 2 {
		st := p.Next(at(0))
		if st.Kind != logstream.StepSend || len(st.Targets) != 2 {
			t.Fatalf("first sends: %s", stepString(st))
		}
		ids = append(ids, st.ID)
	}
	p.Reply(at(0), ids[0], "a", ok(8))
	p.Reply(at(0), ids[1], "a", ok(16))
	if st := p.Next(at(0)); st.Kind != logstream.StepWait {
		t.Fatalf("b holds both chunks, in flight: a is paced; got %s", stepString(st))
	}
	if s := p.Stats(at(0)); s.Paced == 0 {
		t.Fatalf("stats %s", s)
	}
	p.Reply(at(0), ids[0], "b", rc(logstream.CommunicationError))
	p.Reply(at(0), ids[1], "b", rc(logstream.CommunicationError))
	st := p.Next(at(backoff))
	if st.Kind != logstream.StepSend || st.Msg.Offset != 0 {
		t.Fatalf("retry to b: %s", stepString(st))
	}
	p.Reply(at(backoff), st.ID, "b", rc(logstream.CommunicationError))
	var offs []int64
	for len(offs) < 2 {
		st := p.Next(at(backoff))
		if st.Kind == logstream.StepSend && st.Msg.Kind == logstream.KindAbort && slices.Equal(st.Targets, []string{"b"}) {
			continue // b given up: told so
		}
		if st.Kind != logstream.StepSend || !slices.Equal(st.Targets, []string{"a"}) {
			t.Fatalf("after b was given up: %s", stepString(st))
		}
		offs = append(offs, st.Msg.Offset)
	}
	if !slices.Equal(offs, []int64{16, 24}) {
		t.Fatalf("healthy target after the laggard was given up: %v", offs)
	}
	if s := p.Stats(at(backoff)); s.Targets[1].RC == "" {
		t.Fatalf("b not given up: %s", s)
	}
}

// recyclingSource hands out chunks and records the buffers handed back.
type recyclingSource struct {
	off      int64
	n        int
	recycled int
}

func (s *recyclingSource) Next(time.Time) logstream.TailAction {
	if s.n == 0 {
		return logstream.TailAction{Kind: logstream.TailWait, Until: at(time.Hour)}
	}
	s.n--
	a := logstream.TailAction{Kind: logstream.TailData, Data: make([]byte, 8), Offset: s.off}
	s.off += 8
	return a
}
func (s *recyclingSource) Stop(time.Time)   {}
func (s *recyclingSource) Offset() int64    { return s.off }
func (s *recyclingSource) Close() error     { return nil }
func (s *recyclingSource) Recycle(b []byte) { s.recycled++ }

// Buffers go back to the source once every target acknowledged the chunk,
// and never after a TIMEOUT reply (the engine may still hold the message).
func TestProducerRecyclesAcknowledgedBuffers(t *testing.T) {
	src := &recyclingSource{n: 2}
	opt, _ := winOpts(2).Normalize()
	p := logstream.NewLogProducer(src, opt, testCtx, []string{"a"}, at(0))
	s0, s1 := p.Next(at(0)), p.Next(at(0))
	p.Reply(at(0), s0.ID, "a", ok(8))
	if src.recycled != 1 {
		t.Fatalf("recycled %d after the first acknowledgement", src.recycled)
	}
	p.Reply(at(0), s1.ID, "a", rc(logstream.Timeout))
	s2 := p.Next(at(backoff))
	if s2.Kind != logstream.StepSend || s2.Msg.Offset != 8 {
		t.Fatalf("retry: %s", stepString(s2))
	}
	p.Reply(at(backoff), s2.ID, "a", ok(16))
	if src.recycled != 1 {
		t.Fatalf("recycled %d: a timed-out chunk's buffer went back", src.recycled)
	}
}

// The receiver's reorder bound: past ReorderBytes a chunk that overtook an
// earlier one is refused with BAD_REQUEST_DATA and the receiver's Next (the
// sender sends it again); with a negative bound every one is.
func TestConsumerReorderBound(t *testing.T) {
	var got []byte
	chunk := func(b []byte, _ *logstream.StreamInfo) error { got = append(got, b...); return nil }
	msg := func(off int64, s string) *logstream.Message {
		return &logstream.Message{Kind: logstream.KindData, Offset: off, Size: len(s), Data: []byte(s)}
	}
	f := &logstream.LogConsumerFactory{Chunk: chunk, ReceiveOptions: logstream.ReceiveOptions{ReorderBytes: 4}}
	c, _ := f.NewConsumer(at(0), &logstream.StreamInfo{})
	for i, tc := range []struct {
		off  int64
		s    string
		want logstream.Reply
	}{
		{2, "cd", ok(0)},
		{4, "ef", ok(0)}, // 4 bytes held: the bound
		{6, "gh", logstream.Reply{RC: logstream.BadRequestData, Next: 0}},
		{0, "ab", ok(6)},
		{6, "gh", ok(8)},
	} {
		if _, r := c.Consume(at(0), msg(tc.off, tc.s)); r != tc.want {
			t.Fatalf("message %d: %+v, want %+v", i, r, tc.want)
		}
	}
	if string(got) != "abcdefgh" {
		t.Fatalf("forwarded %q", got)
	}
	none, _ := (&logstream.LogConsumerFactory{ReceiveOptions: logstream.ReceiveOptions{ReorderBytes: -1}}).NewConsumer(at(0), &logstream.StreamInfo{})
	if _, r := none.Consume(at(0), msg(2, "cd")); r.RC != logstream.BadRequestData {
		t.Fatalf("no holding: %+v", r)
	}
}

// A chunk the receiver holds is not sent again; the acknowledgement of the
// chunk before it covers both. If the receiver reaches a chunk it said it
// held without forwarding it (it lost it), the chunk goes again.
func TestProducerWindowHeldChunks(t *testing.T) {
	r := newWinRun(t, strings.Repeat("q", 24), winOpts(3), "a")
	r.sends(0, 3, logstream.KindData, "a")
	r.answer(0, logstream.KindData, 8, "a", ok(0))  // held
	r.answer(0, logstream.KindData, 16, "a", ok(0)) // held
	r.idle(0)
	r.answer(0, logstream.KindData, 0, "a", ok(8)) // the receiver reached 8 without it
	if offs := r.sends(0, 1, logstream.KindData, "a"); offs[0] != 8 {
		t.Fatalf("resent %v", offs)
	}
	r.idle(0) // 16 is still held
	r.answer(0, logstream.KindData, 8, "a", ok(24))
	r.idle(0)
	if st := r.p.Stats(at(0)).Targets[0]; st.Acked != 24 || st.InFlight != 0 || st.Retries != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A heartbeat's reply can overtake the EOF's: if it says the receiver's
// stream is over with OK at the EOF this target was sent, the target is
// done, not failed (found by rapid: a stall released a heartbeat and the
// EOF together).
func TestProducerClosedReplyBeforeEOFReply(t *testing.T) {
	r := newWinRun(t, "", winOpts(4), "a")
	r.p.Stop(at(0))
	r.idle(0)
	r.sends(poll, 1, logstream.KindEOF, "a")
	r.wait(poll, poll+liveness)
	r.sends(poll+liveness, 1, logstream.KindHeartbeat, "a")
	r.answer(poll+liveness, logstream.KindHeartbeat, 0, "a", logstream.Reply{RC: logstream.OK, Next: 0, Closed: true})
	if res := r.done(poll + liveness); res.RC != logstream.OK {
		t.Fatalf("%+v", res)
	}
}

// On a short round trip the window in use is minWindow (8), not Window:
// with chunks answered 10 ms after they went and 10 ms apart, the pipe
// holds one chunk, and 16 in flight would only queue up (over loopback,
// 64 KiB chunks ran at 0.6x the rate of 8 in flight). It starts at 8.
func TestProducerWindowFitsAShortPipe(t *testing.T) {
	r := newWinRun(t, strings.Repeat("w", 320), winOpts(16), "a")
	ms := time.Millisecond
	r.sends(0, 8, logstream.KindData, "a")
	r.idle(0)
	for i := range 10 {
		d := time.Duration(10+10*i) * ms
		r.answer(d, logstream.KindData, int64(8*i), "a", ok(int64(8*i+8)))
		if st := r.p.Stats(at(d)).Targets[0]; st.Window != 8 || st.InFlight != 7 {
			t.Fatalf("at %v: stats %+v, want window 8", d, st)
		}
		if offs := r.sends(d, 1, logstream.KindData, "a"); offs[0] != int64(64+8*i) {
			t.Fatalf("at %v: sent %v", d, offs)
		}
		r.idle(d)
	}
}

// On a long round trip the window grows towards Window by one chunk per
// acknowledgement: chunks answered 100 ms after they went, 1 ms apart,
// make a pipe of 100 chunks (2*100+2 wanted, Window 32 allowed); the
// window goes 8 (the gap not measured yet), 8, 9, 10, ..., and each
// acknowledgement lets two chunks go, not a burst of 24.
func TestProducerWindowGrowsOnALongPipe(t *testing.T) {
	r := newWinRun(t, strings.Repeat("w", 8*200), winOpts(32), "a")
	ms := time.Millisecond
	r.sends(0, 8, logstream.KindData, "a")
	r.idle(0)
	next := int64(64) // the next offset to go
	for i, want := range []int{8, 8, 9, 10, 11, 12, 13, 14} {
		d := 100*ms + time.Duration(i)*ms
		r.answer(d, logstream.KindData, int64(8*i), "a", ok(int64(8*i+8)))
		st := r.p.Stats(at(d)).Targets[0]
		if st.Window != want {
			t.Fatalf("ack %d at %v: window %d, want %d (%+v)", i+1, d, st.Window, want, st)
		}
		n := want - st.InFlight
		if offs := r.sends(d, n, logstream.KindData, "a"); offs[0] != next {
			t.Fatalf("ack %d: sent %v, want from %d", i+1, offs, next)
		}
		next += int64(8 * n)
		r.idle(d)
	}
}

// After Stop, the tailer's quiet end waits for every target to acknowledge
// what was read (issue 10's stale EOF): while b has not answered, no EOF
// goes to a either, and bytes written meanwhile, inside the drain window,
// go to both before the EOF. A producer that took the quiet end while b
// lagged would send a the EOF at offset 8 and lose "yyyy" for both.
func TestProducerHoldsEOFWhileATargetLags(t *testing.T) {
	r := newWinRun(t, strings.Repeat("x", 8), winOpts(4), "a", "b")
	if offs := r.sends(0, 1, logstream.KindData, "a", "b"); !slices.Equal(offs, []int64{0}) {
		t.Fatalf("first chunk: %v", offs)
	}
	r.answer(0, logstream.KindData, 0, "a", ok(8))
	r.p.Stop(at(0))
	r.idle(0)
	r.idle(poll)     // two empty reads a poll apart, but b lags: no EOF
	r.idle(2 * poll) // and still none
	r.w.appendTo(logPath, "yyyy")
	d := 2*poll + 10*time.Millisecond
	r.answer(d, logstream.KindData, 0, "b", ok(8))
	if offs := r.sends(d, 1, logstream.KindData, "a", "b"); !slices.Equal(offs, []int64{8}) {
		t.Fatalf("after b caught up: %v", offs)
	}
	r.answer(d, logstream.KindData, 8, "a", ok(12))
	r.answer(d, logstream.KindData, 8, "b", ok(12))
	r.idle(d)
	if offs := r.sends(d+poll, 1, logstream.KindEOF, "a", "b"); !slices.Equal(offs, []int64{12}) {
		t.Fatalf("EOF: %v", offs)
	}
	r.answer(d+poll, logstream.KindEOF, 12, "a", ok(12))
	r.answer(d+poll, logstream.KindEOF, 12, "b", ok(12))
	if res := r.done(d + poll); res.RC != logstream.OK || res.Targets[0].Acked != 12 || res.Targets[1].Acked != 12 {
		t.Fatalf("%+v", res)
	}
}

// sparseSource hands out chunks of 2 bytes in buffers of 8 (a chunk's
// capacity), as a recycled buffer holds a short read.
type sparseSource struct{ off int64 }

func (s *sparseSource) Next(time.Time) logstream.TailAction {
	a := logstream.TailAction{Kind: logstream.TailData, Data: make([]byte, 2, 8), Offset: s.off}
	s.off += 2
	return a
}
func (s *sparseSource) Stop(time.Time) {}
func (s *sparseSource) Offset() int64  { return s.off }
func (s *sparseSource) Close() error   { return nil }

// The read-ahead bound counts bytes, not buffers: partly filled buffers do
// not stop reading while the bytes they hold leave room for a chunk
// (receivers-mix seed 2244: eight 64 KiB buffers of a few KiB each held a
// 512 KiB read-ahead "full", and a truncate took what was left unread).
func TestProducerReadAheadCountsBytes(t *testing.T) {
	opt := winOpts(1)
	opt.ChunkSize, opt.ReadAhead = 8, 16
	opt, err := opt.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	src := &sparseSource{}
	p := logstream.NewLogProducer(src, opt, testCtx, []string{"a"}, at(0))
	for range 10 {
		if st := p.Next(at(0)); st.Kind == logstream.StepWait {
			break
		}
	}
	// It reads while the bytes held and a chunk fit: 0, 2, ..., 8 held.
	if s := p.Stats(at(0)); s.Read != 10 {
		t.Fatalf("read %d bytes of 2-byte chunks under a 16-byte read-ahead, want 10: %s", s.Read, s)
	}
}

// A Tailer recycling buffers reads less than half a chunk into a buffer of
// its size, so a sender's buffers take at most twice the bytes it holds.
func TestTailerShortReadGetsItsOwnSize(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, strings.Repeat("x", 64))
	r := newTailRun(t, w, tailOpts(64))
	a := r.next(0)
	if a.Kind != logstream.TailData || cap(a.Data) != 64 {
		t.Fatalf("first read: kind %d, cap %d", a.Kind, cap(a.Data))
	}
	r.tl.Recycle(a.Data)
	w.appendTo(logPath, strings.Repeat("y", 40)) // more than half a chunk
	if a = r.next(0); cap(a.Data) != 64 {
		t.Fatalf("read of 40 bytes: cap %d, want a recycled 64", cap(a.Data))
	}
	r.tl.Recycle(a.Data)
	w.appendTo(logPath, "zz")
	if a = r.next(0); len(a.Data) != 2 || cap(a.Data) != 2 {
		t.Fatalf("read of 2 bytes: len %d cap %d, want 2 and 2", len(a.Data), cap(a.Data))
	}
}

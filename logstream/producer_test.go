package logstream_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// LogProducer tests drive Next and Replies by hand with explicit times and
// simulated replies.

const (
	backoff  = 10 * time.Millisecond
	liveness = time.Second
)

func prodOpts() logstream.TailOptions {
	return logstream.TailOptions{
		PollInterval: poll, LivenessInterval: liveness, ChunkSize: 8, ChunkTimeout: 50 * time.Millisecond,
		DrainWindow: time.Second, RetryBackoff: backoff, MaxRetryBackoff: 50 * time.Millisecond,
		RetryLimit: 3, NotReadyTimeout: 2 * time.Second, Window: 1,
	}
}

var testCtx = logstream.StreamContext{"job": "j1"}

type prodRun struct {
	t    *testing.T
	w    *world
	p    *logstream.LogProducer
	last logstream.Step // the last StepSend
}

func newProdRun(t *testing.T, w *world, opt logstream.TailOptions, targets ...string) *prodRun {
	t.Helper()
	return newProdRunOver(t, w, opt, func(tl *logstream.Tailer) logstream.Source { return tl }, targets...)
}

// newProdRunOver is newProdRun with the producer reading through wrap's
// view of the Tailer.
func newProdRunOver(t *testing.T, w *world, opt logstream.TailOptions, wrap func(*logstream.Tailer) logstream.Source, targets ...string) *prodRun {
	t.Helper()
	opt, err := opt.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	tl := logstream.NewTailer(w.fs, logPath, opt, nil)
	t.Cleanup(func() { tl.Close() })
	return &prodRun{t: t, w: w, p: logstream.NewLogProducer(wrap(tl), opt, testCtx, targets, at(0))}
}

func (r *prodRun) next(d time.Duration) logstream.Step {
	r.w.now = at(d)
	st := r.p.Next(at(d))
	if st.Kind == logstream.StepSend {
		r.last = st
	}
	return st
}

func (r *prodRun) replies(d time.Duration, rs map[string]logstream.Reply) {
	r.w.now = at(d)
	for _, t := range r.last.Targets {
		rep, ok := rs[t]
		if !ok {
			rep = logstream.Reply{RC: logstream.Timeout}
		}
		r.p.Reply(at(d), r.last.ID, t, rep)
	}
}

// send expects a StepSend of kind k to exactly targets at d.
func (r *prodRun) send(d time.Duration, k logstream.Kind, targets ...string) logstream.Message {
	r.t.Helper()
	st := r.next(d)
	if st.Kind != logstream.StepSend || st.Msg.Kind != k || !slices.Equal(st.Targets, targets) {
		r.t.Fatalf("at %v: %s, want send %s to %v", d, stepString(st), k, targets)
	}
	if k != logstream.KindAbort && st.Timeout != 50*time.Millisecond {
		r.t.Fatalf("at %v: timeout %v", d, st.Timeout)
	}
	if k == logstream.KindData && (st.Msg.Size != len(st.Msg.Data) || st.Msg.Size > 8) {
		r.t.Fatalf("at %v: bad chunk %s", d, st.Msg.String())
	}
	return st.Msg
}

// wait expects nothing to send from d until u: StepWaits, the last until
// u (earlier ones end where the producer asks its source again: it reads
// ahead whether or not a target can take the bytes).
func (r *prodRun) wait(d, u time.Duration) {
	r.t.Helper()
	for {
		st := r.next(d)
		if st.Kind != logstream.StepWait || st.Until.After(at(u)) || !st.Until.After(at(d)) {
			r.t.Fatalf("at %v: %s, want wait until %v", d, stepString(st), u)
		}
		if st.Until.Equal(at(u)) {
			return
		}
		d = st.Until.Sub(t0)
	}
}

func (r *prodRun) done(d time.Duration) logstream.Result {
	r.t.Helper()
	st := r.next(d)
	if st.Kind != logstream.StepDone {
		r.t.Fatalf("at %v: %s, want done", d, stepString(st))
	}
	return st.Result
}

func stepString(st logstream.Step) string {
	switch st.Kind {
	case logstream.StepSend:
		return fmt.Sprintf("send %s to %v ctx=%v", st.Msg.String(), st.Targets, st.Msg.Ctx)
	case logstream.StepWait:
		return fmt.Sprintf("wait until %v", st.Until.Sub(t0))
	case logstream.StepDone:
		return fmt.Sprintf("done %+v", st.Result)
	}
	return fmt.Sprintf("step kind %d", st.Kind)
}

func ok(next int64) logstream.Reply { return logstream.Reply{RC: logstream.OK, Next: next} }

func rc(c logstream.ReturnCode) logstream.Reply { return logstream.Reply{RC: c} }

// H9 and the heartbeat rule: a target gets a heartbeat after LivenessInterval
// without a send, also while the file is absent and before its first OK;
// until that OK every message carries the stream context, so a heartbeat can
// start the stream (in the reference, an accepted heartbeat at seq 0 or a
// missed one broke the bootstrap).
func TestProducerHeartbeats(t *testing.T) {
	w := newWorld(t)
	r := newProdRun(t, w, prodOpts(), "a", "b")
	// File absent: poll every 100ms until the first heartbeat at 1s.
	for d := time.Duration(0); d < liveness; d += poll {
		r.wait(d, d+poll)
	}
	hb := r.send(liveness, logstream.KindHeartbeat, "a", "b")
	if hb.Ctx["job"] != "j1" || hb.Offset != 0 {
		t.Fatalf("heartbeat before the first OK must carry the context: %+v", hb)
	}
	// a accepts it (and starts), b is not ready yet.
	r.replies(liveness, map[string]logstream.Reply{"a": ok(0), "b": rc(logstream.NotReady)})
	// b's heartbeat is retried after the backoff, still with the context.
	r.wait(liveness, liveness+backoff)
	hb = r.send(liveness+backoff, logstream.KindHeartbeat, "b")
	if hb.Ctx == nil {
		t.Fatal("retry to a target that has not started lost the context (H8)")
	}
	r.replies(liveness+backoff, map[string]logstream.Reply{"b": ok(0)})
	// Next heartbeats: one liveness after each target's last send, no ctx.
	st, d := r.untilSend(liveness + backoff)
	if d != 2*liveness || st.Msg.Kind != logstream.KindHeartbeat || !slices.Equal(st.Targets, []string{"a"}) || st.Msg.Ctx != nil {
		t.Fatalf("at %v: %s", d, stepString(st))
	}
	r.replies(d, map[string]logstream.Reply{"a": ok(0)})
	st, d = r.untilSend(d)
	if d != 2*liveness+backoff || st.Msg.Kind != logstream.KindHeartbeat || !slices.Equal(st.Targets, []string{"b"}) || st.Msg.Ctx != nil {
		t.Fatalf("at %v: %s", d, stepString(st))
	}
	r.replies(d, map[string]logstream.Reply{"b": ok(0)})

	// Data resets the liveness timer of the targets it went to.
	w.appendTo(logPath, "data")
	st, d = r.untilSend(d)
	if st.Msg.Kind != logstream.KindData || st.Msg.Ctx != nil || string(st.Msg.Data) != "data" || d > 2*liveness+backoff+poll {
		t.Fatalf("at %v: %s", d, stepString(st))
	}
	sent := d
	r.replies(d, map[string]logstream.Reply{"a": ok(4), "b": ok(4)})
	st, d = r.untilSend(d)
	if d != sent+liveness || st.Msg.Kind != logstream.KindHeartbeat || len(st.Targets) != 2 || st.Msg.Offset != 4 {
		t.Fatalf("at %v: %s, want a heartbeat to both at %v", d, stepString(st), sent+liveness)
	}
}

// untilSend follows StepWaits from d, checking that no wait is longer than
// a poll, and returns the first send and its time.
func (r *prodRun) untilSend(d time.Duration) (logstream.Step, time.Duration) {
	r.t.Helper()
	for range 100000 {
		st := r.next(d)
		switch st.Kind {
		case logstream.StepSend:
			return st, d
		case logstream.StepWait:
			u := st.Until.Sub(t0)
			if u <= d || u > d+poll {
				r.t.Fatalf("at %v: wait until %v", d, u)
			}
			d = u
		default:
			r.t.Fatalf("at %v: %s", d, stepString(st))
		}
	}
	r.t.Fatal("no send")
	return logstream.Step{}, 0
}

// H8: a receiver that is not ready (no handler registered) answers NOT_READY;
// the same message is retried with backoff and with the context until the
// target's first OK, so the stream starts correctly once the receiver
// registers; nothing is lost or duplicated.
func TestProducerNotReadyThenStart(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "0123456789")
	r := newProdRun(t, w, prodOpts(), "a")
	m0 := r.send(0, logstream.KindData, "a")
	if m0.Ctx["job"] != "j1" || m0.Offset != 0 || string(m0.Data) != "01234567" {
		t.Fatalf("%+v", m0)
	}
	d := time.Duration(0)
	// Backoff doubles from 10ms and is capped at 50ms.
	for i, wantGap := range []time.Duration{10, 20, 40, 50, 50} {
		r.replies(d, map[string]logstream.Reply{"a": rc(logstream.NotReady)})
		r.wait(d, d+wantGap*time.Millisecond)
		d += wantGap * time.Millisecond
		m := r.send(d, logstream.KindData, "a")
		if m.Offset != 0 || !bytes.Equal(m.Data, m0.Data) || m.Ctx == nil {
			t.Fatalf("retry %d: %+v, want the same chunk with the context", i, m)
		}
	}
	r.replies(d, map[string]logstream.Reply{"a": ok(8)})
	m := r.send(d, logstream.KindData, "a")
	if m.Ctx != nil || m.Offset != 8 || string(m.Data) != "89" {
		t.Fatalf("after the first OK: %+v", m)
	}
}

// H8 budget: a target that stays NOT_READY for NotReadyTimeout is given up
// on with an Abort and reported NOT_READY.
func TestProducerNotReadyTimeout(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "x")
	r := newProdRun(t, w, prodOpts(), "a")
	d := time.Duration(0)
	for {
		st := r.next(d)
		if st.Kind == logstream.StepWait {
			d = st.Until.Sub(t0)
			continue
		}
		if st.Kind != logstream.StepSend {
			t.Fatalf("%s", stepString(st))
		}
		if st.Msg.Kind == logstream.KindAbort {
			break
		}
		r.replies(d, map[string]logstream.Reply{"a": rc(logstream.NotReady)})
	}
	if d < 2*time.Second || d > 2*time.Second+50*time.Millisecond {
		t.Fatalf("gave up at %v, want about NotReadyTimeout (2s)", d)
	}
	res := r.done(d)
	if tr, _ := res.Target("a"); res.RC != logstream.Error || tr.RC != logstream.NotReady {
		t.Fatalf("%+v", res)
	}
}

// A consume failure (EXECUTION_EXCEPTION) is not a bootstrap miss: it is
// never retried (a retry would duplicate bytes the failed callback may have
// written); the target gets an Abort and fails, the others go on.
func TestProducerExecutionExceptionNotRetried(t *testing.T) {
	for _, bad := range []logstream.ReturnCode{logstream.ExecutionException, logstream.BadRequestData, logstream.TaskAborted, logstream.Error} {
		t.Run(string(bad), func(t *testing.T) {
			w := newWorld(t)
			w.appendTo(logPath, "0123456789")
			r := newProdRun(t, w, prodOpts(), "a", "b")
			r.send(0, logstream.KindData, "a", "b")
			r.replies(0, map[string]logstream.Reply{"a": rc(bad), "b": ok(8)})
			r.send(0, logstream.KindAbort, "a")
			if m := r.send(0, logstream.KindData, "b"); m.Offset != 8 {
				t.Fatalf("%+v", m)
			}
			r.replies(0, map[string]logstream.Reply{"b": ok(10)})
			r.p.Stop(at(0))
			r.wait(0, poll)
			r.send(poll, logstream.KindEOF, "b")
			r.replies(poll, map[string]logstream.Reply{"b": ok(10)})
			res := r.done(poll)
			a, _ := res.Target("a")
			b, _ := res.Target("b")
			if res.RC != logstream.Error || a.RC != bad || a.Acked != 0 || b.RC != logstream.OK || b.Acked != 10 {
				t.Fatalf("%+v", res)
			}
		})
	}
}

// H6 (lost reply), H7 (dropped request), H11 (one failing target must not end
// or delay the stream for the healthy one): TIMEOUT is retried with the same
// offset and bytes, with backoff, RetryLimit times; then that target fails
// with an Abort sent to it; meanwhile the healthy target gets its next chunk
// at once, not after the other's retries (lockstep rounds held it back);
// results are per target.
func TestProducerTimeoutRetriesThenFailsOneTarget(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "0123456789")
	r := newProdRun(t, w, prodOpts(), "a", "b")
	m0 := r.send(0, logstream.KindData, "a", "b")
	// a answers; b's reply is missing (counts as TIMEOUT).
	r.replies(0, map[string]logstream.Reply{"a": ok(8)})
	// a is not held back by b.
	m := r.send(0, logstream.KindData, "a")
	if m.Offset != 8 || string(m.Data) != "89" {
		t.Fatalf("healthy target: %+v", m)
	}
	r.replies(0, map[string]logstream.Reply{"a": ok(10)})
	d := time.Duration(0)
	for i, gap := range []time.Duration{10, 20, 40} {
		r.wait(d, d+gap*time.Millisecond)
		d += gap * time.Millisecond
		m := r.send(d, logstream.KindData, "b")
		if m.Offset != m0.Offset || !bytes.Equal(m.Data, m0.Data) || m.Ctx == nil {
			t.Fatalf("retry %d: %+v", i, m)
		}
		r.replies(d, map[string]logstream.Reply{"b": rc(logstream.Timeout)})
	}
	// Fourth failure > RetryLimit (3): b is given up on.
	r.send(d, logstream.KindAbort, "b")
	r.p.Stop(at(d))
	r.wait(d, d+poll)
	r.send(d+poll, logstream.KindEOF, "a")
	r.replies(d+poll, map[string]logstream.Reply{"a": ok(10)})
	res := r.done(d + poll)
	a, _ := res.Target("a")
	b, _ := res.Target("b")
	if res.RC != logstream.Error || a.RC != logstream.OK || b.RC != logstream.Timeout || b.Acked != 0 || b.Reason == "" {
		t.Fatalf("%+v", res)
	}
	if res.Targets[0].Target != "a" || res.Targets[1].Target != "b" {
		t.Fatalf("targets not in the given order: %+v", res.Targets)
	}
}

// A success resets the failure budget: RetryLimit counts consecutive
// failures, and COMMUNICATION_ERROR counts like TIMEOUT.
func TestProducerRetryBudgetIsConsecutive(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, strings.Repeat("z", 40))
	r := newProdRun(t, w, prodOpts(), "a")
	d := time.Duration(0)
	// advance lets time pass through waits (backoff, the source's polls)
	// to the next send.
	advance := func() logstream.Step {
		for {
			st := r.next(d)
			if st.Kind != logstream.StepWait {
				return st
			}
			d = st.Until.Sub(t0)
		}
	}
	var next int64
	for chunk := range 5 {
		for range 3 { // 3 failures per chunk: within the budget each time
			st := advance()
			if st.Kind != logstream.StepSend || st.Msg.Offset != next {
				t.Fatalf("chunk %d: %s, want data at %d", chunk, stepString(st), next)
			}
			r.replies(d, map[string]logstream.Reply{"a": rc(logstream.CommunicationError)})
		}
		st := advance()
		if st.Kind != logstream.StepSend || st.Msg.Offset != next {
			t.Fatalf("chunk %d: %s, want data at %d", chunk, stepString(st), next)
		}
		next = st.Msg.End()
		r.replies(d, map[string]logstream.Reply{"a": ok(next)})
	}
	if next != 40 {
		t.Fatalf("next %d", next)
	}
}

// Result RC is OK only when every target acknowledged EOF. A lost EOF reply is
// retried, and the receiver's "already closed with OK at this offset"
// answer counts as the acknowledgement; a closed stream with another RC or
// offset fails the target.
func TestProducerResult(t *testing.T) {
	for _, tc := range []struct {
		name   string
		eofA   logstream.Reply
		wantA  logstream.ReturnCode
		wantRC logstream.ReturnCode
	}{
		{"both ack EOF", ok(3), logstream.OK, logstream.OK},
		{"EOF reply lost, retry finds stream closed OK", logstream.Reply{RC: logstream.OK, Next: 3, Closed: true}, logstream.OK, logstream.OK},
		{"closed with TIMEOUT", logstream.Reply{RC: logstream.Timeout, Next: 3, Closed: true}, logstream.Timeout, logstream.Error},
		{"closed OK short of the end", logstream.Reply{RC: logstream.OK, Next: 2, Closed: true}, logstream.Error, logstream.Error},
		{"EOF refused", logstream.Reply{RC: logstream.BadRequestData, Next: 2}, logstream.BadRequestData, logstream.Error},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.appendTo(logPath, "abc")
			r := newProdRun(t, w, prodOpts(), "a", "b")
			r.send(0, logstream.KindData, "a", "b")
			r.replies(0, map[string]logstream.Reply{"a": ok(3), "b": ok(3)})
			r.p.Stop(at(0))
			r.wait(0, poll)
			eof := r.send(poll, logstream.KindEOF, "a", "b")
			if eof.Offset != 3 {
				t.Fatalf("%+v", eof)
			}
			// a's EOF reply is lost first, then tc.eofA arrives for the retry.
			r.replies(poll, map[string]logstream.Reply{"b": ok(3)})
			r.wait(poll, poll+backoff)
			r.send(poll+backoff, logstream.KindEOF, "a")
			r.replies(poll+backoff, map[string]logstream.Reply{"a": tc.eofA})
			st := r.next(poll + backoff)
			if st.Kind == logstream.StepSend && st.Msg.Kind == logstream.KindAbort {
				st = r.next(poll + backoff)
			}
			if st.Kind != logstream.StepDone {
				t.Fatalf("%s", stepString(st))
			}
			res := st.Result
			a, _ := res.Target("a")
			b, _ := res.Target("b")
			if res.RC != tc.wantRC || a.RC != tc.wantA || b.RC != logstream.OK {
				t.Fatalf("%+v", res)
			}
			if got, done := r.p.Result(); !done || got.RC != res.RC {
				t.Fatalf("Result() = %+v, %v", got, done)
			}
			// Done is final; Abort after done returns the same result.
			if again := r.done(time.Hour); again.RC != res.RC {
				t.Fatalf("%+v", again)
			}
			if ab := r.p.Abort(at(time.Hour)); ab.RC != res.RC {
				t.Fatalf("Abort after done changed the result: %+v", ab)
			}
		})
	}
}

// An OK reply whose Next does not match the end of the message means the
// receiver and sender disagree about the stream: the target fails.
func TestProducerOKAtWrongOffsetFails(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "abc")
	r := newProdRun(t, w, prodOpts(), "a")
	r.send(0, logstream.KindData, "a")
	r.replies(0, map[string]logstream.Reply{"a": ok(1)})
	r.send(0, logstream.KindAbort, "a")
	res := r.done(0)
	if a, _ := res.Target("a"); a.RC != logstream.BadRequestData {
		t.Fatalf("%+v", res)
	}
}

// Abort ends every live target with TASK_ABORTED and the stream with
// TASK_ABORTED; targets already done keep their result.
func TestProducerAbort(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "abc")
	r := newProdRun(t, w, prodOpts(), "a", "b")
	r.send(0, logstream.KindData, "a", "b")
	r.replies(0, map[string]logstream.Reply{"a": rc(logstream.ExecutionException), "b": ok(3)})
	res := r.p.Abort(at(time.Second))
	a, _ := res.Target("a")
	b, _ := res.Target("b")
	if res.RC != logstream.TaskAborted || a.RC != logstream.ExecutionException || b.RC != logstream.TaskAborted || b.Acked != 3 {
		t.Fatalf("%+v", res)
	}
	if st := r.next(2 * time.Second); st.Kind == logstream.StepSend && st.Msg.Kind != logstream.KindAbort {
		t.Fatalf("send after Abort: %s", stepString(st))
	}
}

// Rule: a target gets its heartbeat when nothing was sent to it for the
// liveness interval, before any due retry and whatever it has in flight, so
// retries that each wait a whole ChunkTimeout cannot starve it into the
// receiver's idle timeout (found by rapid: two targets losing requests, a
// third timing out).
func TestProducerHeartbeatBeforeRetries(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "01234567")
	opt := prodOpts()
	r := newProdRun(t, w, opt, "a", "b", "c")
	r.send(0, logstream.KindData, "a", "b", "c")
	r.replies(0, map[string]logstream.Reply{"a": ok(8)}) // b and c time out
	// The liveness interval passes while b and c wait for their retries.
	norm, _ := opt.Normalize()
	d := norm.LivenessInterval
	st := r.next(d)
	if st.Kind != logstream.StepSend || st.Msg.Kind != logstream.KindHeartbeat || !slices.Equal(st.Targets, []string{"a", "b", "c"}) {
		t.Fatalf("at %v with retries due for b and c: %s, want heartbeats first", d, stepString(st))
	}
	if st := r.next(d); st.Kind != logstream.StepSend || st.Msg.Kind != logstream.KindData || len(st.Targets) != 2 {
		t.Fatalf("then, before the heartbeats' replies, the retry to b and c: %s", stepString(st))
	}
}

// H10: a producer with no targets has nobody to acknowledge anything: its
// result is an error, never OK.
func TestProducerNoTargetsIsError(t *testing.T) {
	w := newWorld(t)
	tl := logstream.NewTailer(w.fs, logPath, logstream.TailOptions{}, nil)
	defer tl.Close()
	p := logstream.NewLogProducer(tl, logstream.TailOptions{}, testCtx, nil, at(0))
	p.Stop(at(0))
	var st logstream.Step
	for i := 0; i < 100; i++ {
		if st = p.Next(at(time.Duration(i) * time.Minute)); st.Kind == logstream.StepDone {
			break
		}
	}
	if st.Kind != logstream.StepDone || st.Result.RC == logstream.OK {
		t.Fatalf("step %v result %+v, want done with an error", st.Kind, st.Result)
	}
}

// NoRetries: the first lost attempt gives the target up (an Abort goes to
// it at once), while the zero RetryLimit beside it would mean the default.
func TestProducerNoRetries(t *testing.T) {
	w := newWorld(t)
	w.appendTo(logPath, "0123456789")
	opt := prodOpts()
	opt.RetryLimit, opt.NoRetries = 0, true
	r := newProdRun(t, w, opt, "a", "b")
	r.send(0, logstream.KindData, "a", "b")
	r.replies(0, map[string]logstream.Reply{"a": ok(8)}) // b: TIMEOUT
	if st := r.next(0); st.Kind != logstream.StepSend || st.Msg.Kind != logstream.KindAbort || !slices.Equal(st.Targets, []string{"b"}) {
		t.Fatalf("after b's first lost attempt: %s, want an Abort to b", stepString(st))
	}
	r.send(0, logstream.KindData, "a")
	r.replies(0, map[string]logstream.Reply{"a": ok(10)})
	r.p.Stop(at(0))
	r.wait(0, poll)
	r.send(poll, logstream.KindEOF, "a")
	r.replies(poll, map[string]logstream.Reply{"a": ok(10)})
	res := r.done(poll)
	if b, _ := res.Target("b"); b.RC != logstream.Timeout {
		t.Fatalf("%+v", res)
	}
}

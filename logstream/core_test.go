package logstream_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Core end-to-end: a LogProducer and one Dispatcher per target, driven from
// this goroutine with explicit times (a tiny deterministic engine), with
// faults chosen per message.

type event struct {
	at time.Duration
	do func()
}

type coreNet struct {
	t      *testing.T
	w      *world
	p      *logstream.LogProducer
	rx     map[string]*logstream.Dispatcher
	events []event // sorted by time
	// fault decides, per delivery, whether the request or the reply is lost.
	fault func(n int, target string, m *logstream.Message) (dropReq, dropReply bool)
	sends int
}

func (c *coreNet) run(limit time.Duration) (logstream.Result, time.Duration) {
	c.t.Helper()
	now := time.Duration(0)
	var seq uint64
	for now <= limit {
		for len(c.events) > 0 && c.events[0].at <= now {
			c.w.now = at(now)
			c.events[0].do()
			c.events = c.events[1:]
		}
		for _, d := range c.rx {
			d.Expire(at(now))
		}
		c.w.now = at(now)
		st := c.p.Next(at(now))
		switch st.Kind {
		case logstream.StepDone:
			return st.Result, now
		case logstream.StepWait:
			next := st.Until.Sub(t0)
			if next <= now {
				c.t.Fatalf("at %v: wait until %v", now, next)
			}
			if len(c.events) > 0 && c.events[0].at < next {
				next = c.events[0].at
			}
			if dl, ok := c.deadline(); ok && dl < next && dl > now {
				next = dl
			}
			now = next
		case logstream.StepSend:
			m := st.Msg
			m.StreamID, m.Channel, m.Topic, m.Seq = "s1", "ch", "topic", seq
			seq++
			replies := map[string]logstream.Reply{}
			lost := false
			for _, to := range st.Targets {
				c.sends++
				dropReq, dropReply := false, false
				if c.fault != nil {
					dropReq, dropReply = c.fault(c.sends, to, &m)
				}
				if dropReq {
					lost = true
					continue
				}
				cp := m
				r := c.rx[to].Handle(at(now), &cp)
				if dropReply {
					lost = true
					continue
				}
				replies[to] = r
			}
			if m.Kind == logstream.KindAbort {
				continue
			}
			if lost {
				now += st.Timeout // the engine waited for the missing replies
			}
			for _, to := range st.Targets {
				r, ok := replies[to]
				if !ok {
					r = logstream.Reply{RC: logstream.Timeout}
				}
				c.p.Reply(at(now), st.ID, to, r)
			}
		}
	}
	c.t.Fatalf("stream not done by %v", limit)
	return logstream.Result{}, 0
}

func (c *coreNet) deadline() (time.Duration, bool) {
	var best time.Duration
	found := false
	for _, d := range c.rx {
		if t, ok := d.NextDeadline(); ok && (!found || t.Sub(t0) < best) {
			best, found = t.Sub(t0), true
		}
	}
	return best, found
}

// newCore sets up targets with a recorder each (registered unless listed in
// late), a writer that appends a numbered line every 30ms until 2s, and a
// stop at 2s. It returns the text written.
func newCore(t *testing.T, targets []string) (*coreNet, map[string]*recorder, *string) {
	w := newWorld(t)
	opt := prodOpts()
	opt.LivenessInterval = 500 * time.Millisecond
	opt.IdleTimeout = idle
	opt.RetryLimit = 5
	opt, err := opt.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	tl := logstream.NewTailer(w.fs, logPath, opt, nil)
	t.Cleanup(func() { tl.Close() })
	c := &coreNet{t: t, w: w, p: logstream.NewLogProducer(tl, opt, testCtx, targets, at(0)), rx: map[string]*logstream.Dispatcher{}}
	recs := map[string]*recorder{}
	for _, name := range targets {
		c.rx[name] = logstream.NewDispatcher()
		recs[name] = newRecorder()
	}
	var written strings.Builder
	for i := range 66 {
		line := fmt.Sprintf("line %02d\n", i)
		c.events = append(c.events, event{time.Duration(i) * 30 * time.Millisecond, func() {
			w.appendTo(logPath, line)
			written.WriteString(line)
		}})
	}
	c.events = append(c.events, event{2 * time.Second, func() { c.p.Stop(at(2 * time.Second)) }})
	s := new(string)
	t.Cleanup(func() {})
	c.events = append(c.events, event{2 * time.Second, func() { *s = written.String() }})
	return c, recs, s
}

func (c *coreNet) register(name string, rec *recorder) {
	if err := c.rx[name].Register("ch", "topic", rec, rec.done); err != nil {
		c.t.Fatal(err)
	}
}

func (c *coreNet) registerAt(d time.Duration, name string, rec *recorder) {
	c.events = append(c.events, event{d, func() { c.register(name, rec) }})
	sortEvents(c.events)
}

func sortEvents(es []event) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].at < es[j-1].at; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// H6 (lost reply) and H7 (dropped request), end to end through the real
// consumer: every third request and every fifth reply are lost; each byte is
// still forwarded exactly once, in order, done fires once with OK, and the
// result is OK.
func TestCoreLostRequestsAndReplies(t *testing.T) {
	c, recs, written := newCore(t, []string{"a"})
	c.register("a", recs["a"])
	c.fault = func(n int, _ string, _ *logstream.Message) (bool, bool) { return n%3 == 0, n%5 == 0 }
	res, _ := c.run(time.Minute)
	if res.RC != logstream.OK {
		t.Fatalf("%+v", res)
	}
	if got := recs["a"].got("s1"); got != *written {
		t.Fatalf("receiver got %d bytes, want %d (loss or duplication)", len(got), len(*written))
	}
	if rcs := recs["a"].doneRCs("s1"); len(rcs) != 1 || rcs[0] != logstream.OK {
		t.Fatalf("done %v", rcs)
	}
}

// H8: the receiver registers 700ms after the stream started (several NOT_READY
// misses, data and heartbeats queued meanwhile): the stream starts from the
// retry and nothing is lost or duplicated.
func TestCoreReceiverRegistersLate(t *testing.T) {
	c, recs, written := newCore(t, []string{"a"})
	c.registerAt(700*time.Millisecond, "a", recs["a"])
	res, _ := c.run(time.Minute)
	if res.RC != logstream.OK || recs["a"].got("s1") != *written || len(recs["a"].doneRCs("s1")) != 1 {
		t.Fatalf("%+v got %d want %d, done %v", res, len(recs["a"].got("s1")), len(*written), recs["a"].doneRCs("s1"))
	}
}

// H11 and H17-style loss of everything to one target: b stops answering at
// 500ms (all requests lost). b is given up on after its retry budget, its
// Abort is lost too, so b's watchdog ends it with TIMEOUT; a gets every byte
// and EOF; the result reports both.
func TestCoreOneTargetFails(t *testing.T) {
	c, recs, written := newCore(t, []string{"a", "b"})
	c.register("a", recs["a"])
	c.register("b", recs["b"])
	cut := false
	c.events = append(c.events, event{500 * time.Millisecond, func() { cut = true }})
	sortEvents(c.events)
	c.fault = func(_ int, to string, _ *logstream.Message) (bool, bool) { return cut && to == "b", false }
	res, end := c.run(time.Minute)
	a, _ := res.Target("a")
	b, _ := res.Target("b")
	if res.RC != logstream.Error || a.RC != logstream.OK || b.RC != logstream.Timeout {
		t.Fatalf("%+v", res)
	}
	if recs["a"].got("s1") != *written || !strings.HasPrefix(*written, recs["b"].got("s1")) {
		t.Fatal("a incomplete or b out of order")
	}
	if int64(len(recs["b"].got("s1"))) != b.Acked {
		t.Fatalf("b forwarded %d, sender says acked %d", len(recs["b"].got("s1")), b.Acked)
	}
	// b's receiver: the watchdog ends the stream (the Abort was lost).
	c.rx["b"].Expire(at(end + idle))
	if rcs := recs["b"].doneRCs("s1"); len(rcs) != 1 || rcs[0] != logstream.Timeout {
		t.Fatalf("b done %v", rcs)
	}
}

// A consume failure on one target is not retried (no duplicate, no second
// done) and does not end the stream for the other; the failed target gets an
// Abort, which finds its stream already closed.
func TestCoreConsumeFailureOnOneTarget(t *testing.T) {
	c, recs, written := newCore(t, []string{"a", "b"})
	c.register("a", recs["a"])
	c.register("b", recs["b"])
	calls := 0
	recs["b"].onChunk = func([]byte, *logstream.StreamInfo) error {
		if calls++; calls == 3 {
			return errors.New("disk full")
		}
		return nil
	}
	res, _ := c.run(time.Minute)
	a, _ := res.Target("a")
	b, _ := res.Target("b")
	if a.RC != logstream.OK || b.RC != logstream.ExecutionException || recs["a"].got("s1") != *written {
		t.Fatalf("%+v", res)
	}
	if rcs := recs["b"].doneRCs("s1"); len(rcs) != 1 || rcs[0] != logstream.ExecutionException || recs["b"].factory.Load() != 1 {
		t.Fatalf("b done %v factory %d", rcs, recs["b"].factory.Load())
	}
}

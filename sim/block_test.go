package sim

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// blockProducer sends three data messages at once (a window), then, at
// releaseAt if > 0, closes release (a world event: the producer runs on the world's
// goroutine) and, at shutdownAt if set, shuts r1 down; it ends at 10 s and
// records each reply with its time.
type blockProducer struct {
	w          *World
	release    chan struct{}
	releaseAt  time.Duration
	shutdownAt time.Duration
	sent       int
	released   bool
	shut       bool
	replies    []string
}

func (p *blockProducer) Next(now time.Time) logstream.Step {
	at := now.Sub(Epoch)
	if p.sent < 3 {
		i := uint64(p.sent)
		p.sent++
		m := logstream.Message{Kind: logstream.KindData, Offset: int64(i), Size: 1, Data: []byte{"abc"[i]},
			Ctx: logstream.StreamContext{logstream.KeyFileName: "x"}}
		return logstream.Step{Kind: logstream.StepSend, ID: i + 1, Msg: m, Targets: []string{"r1"}, Timeout: time.Minute}
	}
	if p.shutdownAt > 0 && !p.shut {
		if at < p.shutdownAt {
			return logstream.Step{Kind: logstream.StepWait, Until: Epoch.Add(p.shutdownAt)}
		}
		p.shut = true
		p.w.shutdownReceiver(p.w.receiver("r1"))
	}
	if !p.released && p.releaseAt > 0 {
		if at < p.releaseAt {
			return logstream.Step{Kind: logstream.StepWait, Until: Epoch.Add(p.releaseAt)}
		}
		p.released = true
		close(p.release)
	}
	if at < 10*time.Second {
		return logstream.Step{Kind: logstream.StepWait, Until: Epoch.Add(10 * time.Second)}
	}
	return logstream.Step{Kind: logstream.StepDone, Result: logstream.Result{RC: logstream.OK}}
}

func (p *blockProducer) Reply(now time.Time, id uint64, target string, r logstream.Reply) {
	p.replies = append(p.replies, fmt.Sprintf("%d:%s@%v", id, rcString(r), now.Sub(Epoch)))
}

func (p *blockProducer) Abort(time.Time) logstream.Result {
	return logstream.Result{RC: logstream.TaskAborted}
}

func rcString(r logstream.Reply) string {
	if r.Closed {
		return string(r.RC) + "(closed)"
	}
	return string(r.RC)
}

// blockConsumer records what it consumes and blocks on offset 1.
type blockConsumer struct {
	e   *Engine
	rel chan struct{}
	got *[]string
}

func (c *blockConsumer) Consume(now time.Time, m *logstream.Message) (bool, logstream.Reply) {
	*c.got = append(*c.got, fmt.Sprintf("%s@%v", m.Data, now.Sub(Epoch)))
	if m.Offset == 1 {
		c.e.Block(c.rel)
		*c.got = append(*c.got, "returned")
	}
	return true, logstream.Reply{RC: logstream.OK, Next: m.End()}
}
func (c *blockConsumer) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *blockConsumer) Finalize(rc logstream.ReturnCode) {
	*c.got = append(*c.got, "finalize "+string(rc))
}

type blockFactory struct{ c *blockConsumer }

func (f blockFactory) NewConsumer(time.Time, *logstream.StreamInfo) (logstream.Consumer, error) {
	return f.c, nil
}

// runBlocked runs blockProducer against r1, whose consumer blocks on the
// second message, and returns the replies, what the consumer saw, the done
// callbacks and the trace.
func runBlocked(t *testing.T, releaseAt, shutdownAt time.Duration) (replies, got, dones []string, trace []byte) {
	t.Helper()
	var tr bytes.Buffer
	w, err := New(Config{Targets: []string{"r1"}, Trace: &tr})
	if err != nil {
		t.Fatal(err)
	}
	w.AllowBlocking()
	rel := make(chan struct{})
	e := w.Engine("r1")
	c := &blockConsumer{e: e, rel: rel, got: &got}
	if err := e.RegisterStreamProcessing(Channel, Topic, blockFactory{c}, func(info *logstream.StreamInfo) {
		dones = append(dones, fmt.Sprintf("%s@%v", info.RC, w.Now().Sub(Epoch)))
	}); err != nil {
		t.Fatal(err)
	}
	p := &blockProducer{w: w, release: rel, releaseAt: releaseAt, shutdownAt: shutdownAt}
	if _, err := w.Engine("sender").StreamObjects(context.Background(), Channel, Topic, nil, []string{"r1"}, p); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	w.Close()
	if err := w.tr.flush(); err != nil {
		t.Fatal(err)
	}
	return p.replies, got, dones, tr.Bytes()
}

// TestBlockedConsumeHoldsItsStream: a Consume blocked in virtual time holds
// the messages of its stream that arrive meanwhile (they wait, as on a real
// Dispatcher) and its own reply, until it is released; then its reply goes
// back from that instant and the waiting message is consumed. The run is
// the same, byte for byte, every time, and leaves no goroutine.
func TestBlockedConsumeHoldsItsStream(t *testing.T) {
	defer goleak.VerifyNone(t)
	replies, got, _, tr := runBlocked(t, 3*time.Second, 0)
	// One-way delay 1 ms: a at 1ms, its reply at 2ms; b blocks from 1ms to
	// 3s; c waits behind it and is consumed at the release.
	wantReplies := "1:OK@2ms 2:OK@3.001s 3:OK@3.001s"
	wantGot := "a@1ms b@1ms returned c@3s"
	if g := strings.Join(replies, " "); g != wantReplies {
		t.Errorf("replies %s, want %s", g, wantReplies)
	}
	if g := strings.Join(got, " "); g != wantGot {
		t.Errorf("consumed %s, want %s", g, wantGot)
	}
	_, _, _, tr2 := runBlocked(t, 3*time.Second, 0)
	if !bytes.Equal(tr, tr2) {
		t.Errorf("two runs of the same world differ:\n%s\n---\n%s", tr, tr2)
	}
}

// TestShutdownDoesNotWaitForBlockedConsume: Shutdown while a Consume is
// blocked ends the stream at once (done, TASK_ABORTED), answers the message
// waiting behind it with the Closed reply, ignores the late Consume's result
// and runs Finalize when it returns.
func TestShutdownDoesNotWaitForBlockedConsume(t *testing.T) {
	defer goleak.VerifyNone(t)
	replies, got, dones, _ := runBlocked(t, 5*time.Second, 2*time.Second)
	wantReplies := "1:OK@2ms 3:TASK_ABORTED(closed)@2.001s 2:TASK_ABORTED(closed)@5.001s"
	wantGot := "a@1ms b@1ms returned finalize TASK_ABORTED"
	wantDones := "TASK_ABORTED@2s"
	if g := strings.Join(replies, " "); g != wantReplies {
		t.Errorf("replies %s, want %s", g, wantReplies)
	}
	if g := strings.Join(got, " "); g != wantGot {
		t.Errorf("consumed %s, want %s", g, wantGot)
	}
	if g := strings.Join(dones, " "); g != wantDones {
		t.Errorf("done %s, want %s", g, wantDones)
	}
}

// TestCloseUnwindsBlockedConsume: a Consume never released is unwound by
// Close (Block returns in it); no goroutine is left.
func TestCloseUnwindsBlockedConsume(t *testing.T) {
	defer goleak.VerifyNone(t)
	replies, got, _, _ := runBlocked(t, 0, 0)
	if g := strings.Join(got, " "); g != "a@1ms b@1ms returned" {
		t.Errorf("consumed %s, want the blocked Consume unwound by Close", g)
	}
	if g := strings.Join(replies, " "); g != "1:OK@2ms" {
		t.Errorf("replies %s, want only the first: the others were held", g)
	}
}

package enginetest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/enginetest"
)

// vnet is a minimal virtual-time engine, the kind a third party writes in a
// page: the sender delivers each message synchronously to receivers that are
// logstream.Dispatchers; time is a value that StepWait and timeouts advance,
// running the receivers' deadlines on the way. Its broken knob makes it
// misbehave in one way the kit must catch.
type vnet struct {
	broken  string
	now     time.Time
	nodes   map[string]*vnode
	streams int
	unblock chan struct{}
}

type vnode struct {
	net     *vnet
	d       *logstream.Dispatcher
	stalled bool
	held    []logstream.Message
	first   map[string]bool // streams whose first message arrived
}

type vsender struct{ net *vnet }

func newVnet(broken string) *vnet {
	n := &vnet{broken: broken, now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		nodes: map[string]*vnode{}, unblock: make(chan struct{})}
	for _, name := range []string{"r1", "r2"} {
		n.nodes[name] = &vnode{net: n, d: logstream.NewDispatcher(), first: map[string]bool{}}
	}
	return n
}

func vfactory(broken string) enginetest.Factory {
	return func() (enginetest.Pair, error) {
		n := newVnet(broken)
		var once sync.Once
		return enginetest.Pair{
			Sender:    &vsender{n},
			Receivers: map[string]logstream.Receiver{"r1": n.nodes["r1"], "r2": n.nodes["r2"]},
			Stop:      func() { once.Do(func() { close(n.unblock) }) },
		}, nil
	}
}

func (s *vsender) RegisterStreamProcessing(string, string, logstream.ConsumerFactory, logstream.DoneFunc) error {
	return errors.New("vnet: the sender does not receive")
}

func (s *vsender) StreamObjects(ctx context.Context, channel, topic string, _ logstream.StreamContext,
	targets []string, p logstream.Producer) (logstream.Result, error) {
	n := s.net
	n.streams++
	id := fmt.Sprintf("vnet-%d", n.streams)
	var seq uint64
	for {
		if ctx.Err() != nil && n.broken != "ignores-cancel" {
			res := p.Abort(n.now)
			m := logstream.Message{StreamID: id, Channel: channel, Topic: topic, Seq: seq, Kind: logstream.KindAbort}
			for _, t := range res.Targets {
				if r := n.nodes[t.Target]; r != nil && n.broken != "drops-aborts" {
					cp := m
					r.handle(&cp)
				}
			}
			return res, nil
		}
		st := p.Next(n.now)
		switch st.Kind {
		case logstream.StepDone:
			return st.Result, nil
		case logstream.StepWait:
			n.advance(st.Until)
		case logstream.StepSend:
			m := st.Msg
			m.StreamID, m.Channel, m.Topic, m.Seq = id, channel, topic, seq
			if n.broken != "no-seq" {
				seq++
			}
			replies := map[string]logstream.Reply{}
			omitted := map[string]bool{}
			stalled := false
			for _, t := range st.Targets {
				r := n.nodes[t]
				switch {
				case r == nil:
					replies[t] = logstream.Reply{RC: logstream.CommunicationError}
				case m.Kind == logstream.KindAbort && n.broken == "drops-aborts":
				case r.stalled:
					r.held = append(r.held, m)
					stalled = true
					switch n.broken {
					case "stalled-reply-ok":
						replies[t] = logstream.Reply{}
					case "stalled-reply-omitted":
						omitted[t] = true
					default:
						replies[t] = logstream.Reply{RC: logstream.Timeout}
					}
				case n.broken == "fake-acks" && m.Kind == logstream.KindData && m.Seq%4 == 3:
					replies[t] = logstream.Reply{RC: logstream.OK, Next: m.End()}
				default:
					cp := m
					replies[t] = r.handle(&cp)
				}
			}
			if m.Kind == logstream.KindAbort && n.broken != "replies-to-abort" {
				continue
			}
			if stalled {
				n.advance(n.now.Add(st.Timeout))
			}
			for _, t := range st.Targets {
				if r, ok := replies[t]; ok {
					p.Reply(n.now, st.ID, t, r)
				} else if !omitted[t] {
					p.Reply(n.now, st.ID, t, logstream.Reply{RC: logstream.Timeout})
				}
			}
		default:
			return logstream.Result{}, fmt.Errorf("vnet: step kind %d", st.Kind)
		}
	}
}

// advance moves time to until, ending idle streams at their deadlines.
func (n *vnet) advance(until time.Time) {
	for n.broken != "no-deadlines" {
		var next *vnode
		var at time.Time
		for _, name := range []string{"r1", "r2"} {
			r := n.nodes[name]
			if t, ok := r.d.NextDeadline(); ok && !t.After(until) && (next == nil || t.Before(at)) {
				next, at = r, t
			}
		}
		if next == nil {
			break
		}
		if at.After(n.now) {
			n.now = at
		}
		next.d.Expire(n.now)
	}
	if until.After(n.now) {
		n.now = until
	}
}

func (r *vnode) handle(m *logstream.Message) logstream.Reply {
	n := r.net
	if m.Ctx != nil && m.Kind != logstream.KindAbort {
		if r.first[m.StreamID] {
			switch n.broken {
			case "deadlocks-on-duplicate-first":
				<-n.unblock // as if it re-took a lock it holds (H20)
			case "restarts-on-duplicate-first":
				m.StreamID += "-again"
			}
		}
		r.first[m.StreamID] = true
	}
	rep := r.d.Handle(n.now, m)
	if n.broken == "not-ready-as-exception" && rep.RC == logstream.NotReady {
		rep.RC = logstream.ExecutionException
	}
	return rep
}

func (r *vnode) StreamObjects(context.Context, string, string, logstream.StreamContext, []string, logstream.Producer) (logstream.Result, error) {
	return logstream.Result{}, errors.New("vnet: receivers do not send")
}

func (r *vnode) RegisterStreamProcessing(channel, topic string, f logstream.ConsumerFactory, done logstream.DoneFunc) error {
	switch r.net.broken {
	case "ignores-channel-wildcard":
		if topic == "*" && channel != "*" {
			return nil
		}
	case "done-twice":
		inner := done
		done = func(info *logstream.StreamInfo) { inner(info); inner(info) }
	case "end-stream-ignored":
		f = noEndStream{f}
	}
	return r.d.Register(channel, topic, f, done)
}

// Shutdown implements enginetest.Shutdowner.
func (r *vnode) Shutdown() {
	if r.net.broken != "shutdown-leaves-streams-open" {
		r.d.Shutdown()
	}
}

// Stall implements enginetest.Staller: messages are held, and delivered
// (their replies lost) on release.
func (r *vnode) Stall() func() {
	r.stalled = true
	return func() {
		if !r.stalled {
			return
		}
		r.stalled = false
		held := r.held
		r.held = nil
		for i := range held {
			r.handle(&held[i])
		}
	}
}

type noEndStream struct{ logstream.ConsumerFactory }

func (f noEndStream) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	info.EndStream = func(logstream.ReturnCode) {}
	return f.ConsumerFactory.NewConsumer(now, info)
}

// TestReference runs the kit against the reference engine: every subtest
// must pass; only the blocked-consumer ones skip (vnet runs consumers on the
// sender's goroutine; gnet_test.go runs them).
func TestReference(t *testing.T) {
	enginetest.Run(t, vfactory(""))
}

func TestCheckReference(t *testing.T) {
	if err := enginetest.Check(vfactory("")); err != nil {
		t.Fatal(err)
	}
}

// TestBrokenEngines checks that Check catches each broken engine, in the
// subtests named.
func TestBrokenEngines(t *testing.T) {
	for _, b := range []struct {
		broken string
		caught []string
		cases  []string // all if empty
	}{
		{"stalled-reply-ok", []string{"MissingReplyIsTimeout: a missing reply becomes TIMEOUT"}, nil},
		{"stalled-reply-omitted", []string{"MissingReplyIsTimeout: one reply per target"}, nil},
		{"not-ready-as-exception", []string{"NotReadyBeforeRegistration: NOT_READY", "NotReadyWithoutMatch: NOT_READY"}, nil},
		{"ignores-channel-wildcard", []string{"FallbackChannelWildcard:", "ChannelWildcardBeforeAny:"}, nil},
		{"done-twice", []string{"DoneOnceAfterEOF: done is called exactly once"}, nil},
		{"shutdown-leaves-streams-open", []string{"ShutdownEndsOpenStreams: shutdown ends open streams"}, nil},
		// Each hang costs a watchdog period: run a few cases only.
		{"deadlocks-on-duplicate-first", []string{"DuplicateFirstMessage: hang"}, []string{"ReplyPerTarget", "DuplicateFirstMessage", "NotReadyBeforeRegistration"}},
		{"restarts-on-duplicate-first", []string{"DuplicateFirstMessage: a duplicate first message"}, nil},
		{"no-deadlines", []string{"ConsumerDeadlineEndsStream: a consumer's deadline"}, nil},
		{"ignores-cancel", []string{"ContextCancelAborts: a cancelled context"}, nil},
		{"drops-aborts", []string{"AbortMessageEndsStream: hang", "ContextCancelAborts: hang"}, nil},
		{"replies-to-abort", []string{"AbortMessageEndsStream: one reply per target"}, nil},
		{"no-seq", []string{"ReplyPerTarget: messages are stamped"}, nil},
		{"end-stream-ignored", []string{"EndStreamHook: END_STREAM"}, nil},
		{"fake-acks", []string{"StreamLogExactlyOnce: every byte exactly once"}, nil},
	} {
		t.Run(b.broken, func(t *testing.T) {
			t.Parallel()
			err := enginetest.Options{Watchdog: time.Second, Cases: b.cases}.Check(vfactory(b.broken))
			if err == nil {
				t.Fatalf("Check passed a broken engine")
			}
			msg := err.Error()
			for _, c := range b.caught {
				if !strings.Contains(msg, c) {
					t.Errorf("no violation %q in:\n%s", c, msg)
				}
			}
			if testing.Verbose() {
				t.Logf("violations:\n%s", msg)
			}
		})
	}
}

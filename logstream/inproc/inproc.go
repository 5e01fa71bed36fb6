// Package inproc is a small in-process logstream.Engine: engines attached to
// one Network deliver messages to each other through goroutines and
// channels, with no network. It exists to run the streamer for real between
// goroutines (examples, end-to-end tests, the conformance kit's reference).
//
// It depends on logstream and the standard library only.
package inproc

import (
	"context"
	"sync"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Network connects Engines by name.
type Network struct {
	clk   logstream.Clock
	mu    sync.Mutex
	peers map[string]*Engine
}

// NewNetwork returns an empty Network whose engines use clk for timeouts and
// idle deadlines.
func NewNetwork(clk logstream.Clock) *Network {
	return &Network{clk: clk, peers: map[string]*Engine{}}
}

// Engine returns the engine called name, creating it on first use.
func (n *Network) Engine(name string) *Engine {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e := n.peers[name]; e != nil {
		return e
	}
	e := &Engine{name: name, net: n, disp: logstream.NewDispatcher(),
		kick: make(chan struct{}, 1), closed: make(chan struct{})}
	e.disp.Notify(e.wake)
	n.peers[name] = e
	return e
}

func (n *Network) peer(name string) *Engine {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.peers[name]
}

// Engine is one endpoint: it can send streams and receive them (a
// logstream.Engine).
type Engine struct {
	name string
	net  *Network
	disp *logstream.Dispatcher

	once     sync.Once // starts the watchdog
	kick     chan struct{}
	closed   chan struct{}
	shutOnce sync.Once
	wg       sync.WaitGroup
}

var _ logstream.Engine = (*Engine)(nil)

// Name returns the engine's name, the target name others use for it.
func (e *Engine) Name() string { return e.name }

// StreamObjects implements logstream.Sender. Each target's messages go
// through a queue of their own, in the order the producer emitted them, so a
// target whose consumer is slow delays no other target. A queue's goroutine
// exits when the queue is empty. Each delivery runs on a goroutine of its
// own, waited for until its timeout: one whose chunk callback blocks keeps
// its goroutine until the callback returns, and nothing waits for it. When
// the stream ends, deliveries still waiting for their stream give up and
// queued ones are dropped; a message whose reply would come after its
// timeout is not delivered. An Abort goes at once, on its own goroutine.
func (e *Engine) StreamObjects(ctx context.Context, channel, topic string, sctx logstream.StreamContext,
	targets []string, p logstream.Producer) (logstream.Result, error) {
	id := logstream.NewStreamID(e.name)
	dctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lanes := map[string]*lane{}
	send := func(_ context.Context, m *logstream.Message, to []string, timeout time.Duration, reply func(string, logstream.Reply)) {
		for _, t := range to {
			p := e.net.peer(t)
			if p == nil {
				if reply != nil {
					reply(t, logstream.Reply{RC: logstream.CommunicationError})
				}
				continue
			}
			if m.Kind == logstream.KindAbort {
				cp := *m
				go p.deliver(context.Background(), &cp)
				continue
			}
			l := lanes[t]
			if l == nil {
				l = &lane{}
				lanes[t] = l
			}
			e.enqueue(l, job{ctx: dctx, peer: p, target: t, msg: *m, reply: reply, deadline: e.net.clk.Now().Add(timeout)})
		}
	}
	return logstream.RunProducer(ctx, e.net.clk, id, channel, topic, p, send)
}

// job is one message for one target.
type job struct {
	ctx      context.Context // ends with the stream
	peer     *Engine
	target   string
	msg      logstream.Message
	reply    func(string, logstream.Reply)
	deadline time.Time // the producer stops waiting for the reply then
}

// lane is one target's queue of a stream; a goroutine drains it while it is
// not empty.
type lane struct {
	mu      sync.Mutex
	q       []job
	running bool
}

func (e *Engine) enqueue(l *lane, j job) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q = append(l.q, j)
	if !l.running {
		l.running = true
		go e.drain(l)
	}
}

func (e *Engine) drain(l *lane) {
	for {
		l.mu.Lock()
		if len(l.q) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		j := l.q[0]
		l.q[0] = job{}
		l.q = l.q[1:]
		l.mu.Unlock()
		now := e.net.clk.Now()
		if j.ctx.Err() != nil || now.After(j.deadline) {
			continue // nobody waits for it any more
		}
		// Deliver on a goroutine of its own and wait for it only until the
		// producer stops waiting: a chunk callback that blocks keeps that
		// goroutine, not the queue (later messages, an end-of-stream
		// answer, still go).
		dctx, cancel := context.WithCancel(j.ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			j.reply(j.target, j.peer.deliver(dctx, &j.msg))
		}()
		select {
		case <-done:
		case <-j.ctx.Done():
		case <-e.net.clk.After(j.deadline.Sub(now)):
		}
		cancel() // a delivery still waiting for its stream gives up
	}
}

// deliver hands m to this engine's dispatcher; waiting for the stream ends
// with ctx.
func (e *Engine) deliver(ctx context.Context, m *logstream.Message) logstream.Reply {
	return e.disp.HandleContext(ctx, e.net.clk.Now(), m)
}

// wake makes the watchdog read the next deadline again.
func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// RegisterStreamProcessing implements logstream.Receiver.
func (e *Engine) RegisterStreamProcessing(channel, topic string, f logstream.ConsumerFactory, done logstream.DoneFunc) error {
	if err := e.disp.Register(channel, topic, f, done); err != nil {
		return err
	}
	e.once.Do(func() {
		e.wg.Add(1)
		go e.watchdog()
	})
	return nil
}

// watchdog ends idle streams when their deadline passes.
func (e *Engine) watchdog() {
	defer e.wg.Done()
	for {
		var timer <-chan time.Time
		if t, ok := e.disp.NextDeadline(); ok {
			timer = e.net.clk.After(t.Sub(e.net.clk.Now()))
		}
		select {
		case <-e.closed:
			return
		case <-e.kick:
		case <-timer:
			e.disp.Expire(e.net.clk.Now())
		}
	}
}

// Open returns the number of streams this engine is receiving.
func (e *Engine) Open() int { return e.disp.Open() }

// Shutdown ends every stream this engine receives with TASK_ABORTED, stops
// its watchdog and waits for it. It does not wait for chunk callbacks: one
// that blocks keeps its delivery goroutine until it returns.
func (e *Engine) Shutdown() {
	e.shutOnce.Do(func() {
		e.disp.Shutdown()
		close(e.closed)
	})
	e.wg.Wait()
}

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
	n.peers[name] = e
	return e
}

func (n *Network) peer(name string) *Engine {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.peers[name]
}

// Engine is one endpoint: it can send streams and receive them.
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

// Name returns the engine's name, the target name others use for it.
func (e *Engine) Name() string { return e.name }

// StreamObjects implements logstream.Engine. Each target's messages go
// through a queue of their own, in the order the producer emitted them, so a
// target whose consumer is slow delays no other target.
func (e *Engine) StreamObjects(ctx context.Context, channel, topic string, sctx logstream.StreamContext,
	targets []string, p logstream.Producer) (logstream.Result, error) {
	id := logstream.NewStreamID(e.name)
	lanes := map[string]*lane{}
	for _, t := range targets {
		lanes[t] = &lane{}
	}
	send := func(ctx context.Context, m *logstream.Message, to []string, timeout time.Duration, reply func(string, logstream.Reply)) {
		for _, t := range to {
			p := e.net.peer(t)
			if p == nil {
				if reply != nil {
					reply(t, logstream.Reply{RC: logstream.CommunicationError})
				}
				continue
			}
			if m.Kind == logstream.KindAbort {
				// At once, not behind the target's pending messages: a
				// consumer that blocks must not hold the Abort up.
				p.deliver(m)
				continue
			}
			l := lanes[t]
			if l == nil { // a target outside the stream's list
				l = &lane{}
				lanes[t] = l
			}
			e.enqueue(l, job{peer: p, target: t, msg: *m, reply: reply})
		}
	}
	return logstream.RunProducer(ctx, e.net.clk, id, channel, topic, p, send)
}

// job is one message for one target.
type job struct {
	peer   *Engine
	target string
	msg    logstream.Message
	reply  func(string, logstream.Reply) // nil for an Abort
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
		e.wg.Add(1)
		go e.drain(l)
	}
}

func (e *Engine) drain(l *lane) {
	defer e.wg.Done()
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
		r := j.peer.deliver(&j.msg)
		if j.reply != nil {
			j.reply(j.target, r)
		}
	}
}

// deliver hands m to this engine's dispatcher.
func (e *Engine) deliver(m *logstream.Message) logstream.Reply {
	r := e.disp.Handle(e.net.clk.Now(), m)
	select {
	case e.kick <- struct{}{}:
	default:
	}
	return r
}

// RegisterStreamProcessing implements logstream.Engine.
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
// its watchdog and waits for its goroutines.
func (e *Engine) Shutdown() {
	e.shutOnce.Do(func() {
		e.disp.Shutdown()
		close(e.closed)
	})
	e.wg.Wait()
}

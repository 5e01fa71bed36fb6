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

// StreamObjects implements logstream.Engine.
func (e *Engine) StreamObjects(ctx context.Context, channel, topic string, sctx logstream.StreamContext,
	targets []string, p logstream.Producer) (logstream.Result, error) {
	id := logstream.NewStreamID(e.name)
	return logstream.RunProducer(ctx, e.net.clk, id, channel, topic, p, e.send)
}

type targetReply struct {
	target string
	reply  logstream.Reply
}

// send delivers m to each target on its own goroutine and waits for the
// replies until timeout (an Abort, which expects no reply, is not waited
// for). When send returns, deliveries still waiting for their stream (behind
// a Consume that runs) give up; a delivery whose chunk callback blocks keeps
// its goroutine until the callback returns, and nothing waits for it.
func (e *Engine) send(ctx context.Context, m *logstream.Message, targets []string, timeout time.Duration) map[string]logstream.Reply {
	replies := make(map[string]logstream.Reply, len(targets))
	if m.Kind == logstream.KindAbort {
		for _, t := range targets {
			if p := e.net.peer(t); p != nil {
				cp := *m
				go p.deliver(context.Background(), &cp)
			}
		}
		return replies
	}
	dctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan targetReply, len(targets))
	waiting := 0
	for _, t := range targets {
		p := e.net.peer(t)
		if p == nil {
			replies[t] = logstream.Reply{RC: logstream.CommunicationError}
			continue
		}
		waiting++
		cp := *m
		go func() { ch <- targetReply{t, p.deliver(dctx, &cp)} }()
	}
	timer := e.net.clk.After(timeout)
	for waiting > 0 {
		select {
		case r := <-ch:
			replies[r.target] = r.reply
			waiting--
		case <-timer:
			waiting = 0
		case <-ctx.Done():
			waiting = 0
		}
	}
	for _, t := range targets {
		if _, ok := replies[t]; !ok {
			replies[t] = logstream.Reply{RC: logstream.Timeout}
		}
	}
	return replies
}

// deliver hands m to this engine's dispatcher; waiting for the stream ends
// with ctx.
func (e *Engine) deliver(ctx context.Context, m *logstream.Message) logstream.Reply {
	r := e.disp.HandleContext(ctx, e.net.clk.Now(), m)
	e.wake()
	return r
}

// wake makes the watchdog read the next deadline again.
func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
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
// its watchdog and waits for it. It does not wait for chunk callbacks: one
// that blocks keeps its delivery goroutine until it returns.
func (e *Engine) Shutdown() {
	e.shutOnce.Do(func() {
		e.disp.Shutdown()
		close(e.closed)
	})
	e.wg.Wait()
}

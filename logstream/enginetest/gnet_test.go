package enginetest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"go.uber.org/goleak"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/enginetest"
)

// gnet is a minimal engine on goroutines and the real clock, the kind whose
// consumers run off the sender's goroutine (Pair.ConsumeMayBlock): each
// delivery runs on its own goroutine, the sender waits for the replies until
// the step's timeout, receivers are logstream.Dispatchers with a watchdog
// goroutine. Its broken knob makes one way of ending a stream wait for a
// running Consume, as an engine that serializes on a per-receiver lock does.
type gnet struct {
	broken string
	clk    clock.Clock
	nodes  map[string]*gnode
}

type gnode struct {
	net  *gnet
	d    *logstream.Dispatcher
	lock chan struct{} // held around Handle by a broken node
	kick chan struct{}
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

type gsender struct{ net *gnet }

func gfactory(broken string) enginetest.Factory {
	return func() (enginetest.Pair, error) {
		n := &gnet{broken: broken, clk: clock.New(), nodes: map[string]*gnode{}}
		recv := map[string]logstream.Receiver{}
		for _, name := range []string{"r1", "r2"} {
			g := &gnode{net: n, d: logstream.NewDispatcher(), lock: make(chan struct{}, 1),
				kick: make(chan struct{}, 1), stop: make(chan struct{})}
			g.d.Notify(g.wake)
			n.nodes[name], recv[name] = g, g
		}
		return enginetest.Pair{Sender: &gsender{n}, Receivers: recv, ConsumeMayBlock: true,
			Stop: func() {
				for _, g := range n.nodes {
					g.Shutdown()
				}
			}}, nil
	}
}

func (s *gsender) RegisterStreamProcessing(string, string, logstream.ConsumerFactory, logstream.DoneFunc) error {
	return errors.New("gnet: the sender does not receive")
}

func (s *gsender) StreamObjects(ctx context.Context, channel, topic string, _ logstream.StreamContext,
	_ []string, p logstream.Producer) (logstream.Result, error) {
	return logstream.RunProducer(ctx, s.net.clk, logstream.NewStreamID("gnet"), channel, topic, p, s.send)
}

func (s *gsender) send(ctx context.Context, m *logstream.Message, targets []string, timeout time.Duration, reply func(string, logstream.Reply)) {
	for _, t := range targets {
		g := s.net.nodes[t]
		if g == nil {
			if reply != nil {
				reply(t, logstream.Reply{RC: logstream.CommunicationError})
			}
			continue
		}
		cp := *m
		if m.Kind == logstream.KindAbort {
			go g.handle(context.Background(), &cp)
			continue
		}
		// The delivery gives up waiting for its stream when its reply is
		// no longer awaited.
		dctx, cancel := context.WithTimeout(ctx, timeout)
		go func() {
			defer cancel()
			reply(t, g.handle(dctx, &cp))
		}()
	}
}

// handle hands m to the Dispatcher; a broken node holds its lock meanwhile,
// and an Abort message waits for the lock when the knob says so.
func (g *gnode) handle(ctx context.Context, m *logstream.Message) logstream.Reply {
	if g.net.broken != "" && (m.Kind != logstream.KindAbort || g.net.broken == "abort-waits") {
		g.lock <- struct{}{}
		defer func() { <-g.lock }()
	}
	if m.Kind == logstream.KindAbort {
		ctx = context.Background()
	}
	r := g.d.HandleContext(ctx, g.net.clk.Now(), m)
	g.wake()
	return r
}

func (g *gnode) wake() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

func (g *gnode) StreamObjects(context.Context, string, string, logstream.StreamContext, []string, logstream.Producer) (logstream.Result, error) {
	return logstream.Result{}, errors.New("gnet: receivers do not send")
}

func (g *gnode) RegisterStreamProcessing(channel, topic string, f logstream.ConsumerFactory, done logstream.DoneFunc) error {
	if err := g.d.Register(channel, topic, f, done); err != nil {
		return err
	}
	g.once.Do(func() {
		g.wg.Add(1)
		go g.watchdog()
	})
	return nil
}

func (g *gnode) watchdog() {
	defer g.wg.Done()
	for {
		var timer <-chan time.Time
		if t, ok := g.d.NextDeadline(); ok {
			timer = g.net.clk.After(t.Sub(g.net.clk.Now()))
		}
		select {
		case <-g.stop:
			return
		case <-g.kick:
		case <-timer:
			if g.net.broken == "expire-waits" {
				g.lock <- struct{}{}
				g.d.Expire(g.net.clk.Now())
				<-g.lock
			} else {
				g.d.Expire(g.net.clk.Now())
			}
		}
	}
}

// Shutdown implements enginetest.Shutdowner.
func (g *gnode) Shutdown() {
	if g.net.broken == "shutdown-waits" {
		g.lock <- struct{}{}
		defer func() { <-g.lock }()
	}
	g.d.Shutdown()
	select {
	case <-g.stop:
	default:
		close(g.stop)
	}
	g.wg.Wait()
}

// TestMain checks that no goroutine outlives the tests: not even the
// broken engines' (a consumer blocked in a hung case is released when the
// case's watchdog fires).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestGoroutineReference runs the kit against gnet: every subtest passes,
// the blocked-consumer ones included.
func TestGoroutineReference(t *testing.T) {
	enginetest.Run(t, gfactory(""))
}

// TestBrokenBusyEngines checks that the blocked-consumer clauses catch an
// engine that waits for a running Consume to end a stream.
func TestBrokenBusyEngines(t *testing.T) {
	for _, b := range []struct {
		broken string
		cases  []string
		caught []string
	}{
		{"expire-waits", []string{"BlockedConsumerTimesOut"}, []string{"BlockedConsumerTimesOut: a blocked consumer does not hold up the watchdog"}},
		{"shutdown-waits", []string{"ShutdownWithBusyStream"}, []string{"ShutdownWithBusyStream: shutdown and abort do not wait for a blocked consumer"}},
		{"abort-waits", []string{"AbortWithBusyStream"}, []string{"AbortWithBusyStream: hang"}},
	} {
		t.Run(b.broken, func(t *testing.T) {
			t.Parallel()
			err := enginetest.Options{Watchdog: 2 * time.Second, Short: 5 * time.Millisecond, Cases: b.cases}.Check(gfactory(b.broken))
			if err == nil {
				t.Fatalf("Check passed a broken engine")
			}
			for _, c := range b.caught {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("no violation %q in:\n%s", c, err)
				}
			}
			if testing.Verbose() {
				t.Logf("violations:\n%s", err)
			}
		})
	}
}

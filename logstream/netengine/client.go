package netengine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// ErrClosed is returned by a closed Client.
var ErrClosed = errors.New("netengine: client closed")

// Client is the sending engine: it streams to named targets, each a Server at
// a TCP address, over one multiplexed connection per target (redialled when
// it breaks). It is a logstream.Sender: it sends, and receives nothing.
type Client struct {
	opt   Options
	peers map[string]*peer

	base    context.Context // cancelled by Close: ends running streams
	cancel  context.CancelFunc
	streams sync.WaitGroup
	closeMu sync.Mutex
	closed  bool
}

var _ logstream.Sender = (*Client)(nil)

// Dial returns a Client for targets (target name → host:port) and connects to
// each of them; it fails if one cannot be reached before ctx ends or
// DialTimeout passes. A connection that breaks later is redialled by the
// next message to that target; meanwhile sends fail fast with
// COMMUNICATION_ERROR, which the producer retries with backoff. Options must
// set TLS (mutual TLS) or Insecure (plain TCP); with TLS, a server that
// refuses the client's certificate fails Dial with ErrRefused.
func Dial(ctx context.Context, targets map[string]string, opt Options) (*Client, error) {
	if err := opt.checkTransport(); err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("netengine: no targets")
	}
	c := &Client{opt: opt.withDefaults(), peers: map[string]*peer{}}
	c.base, c.cancel = context.WithCancel(context.Background())
	for name, addr := range targets {
		if name == "" {
			return nil, fmt.Errorf("netengine: empty target name for %s", addr)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("netengine: target %s: %w", name, err)
		}
		c.peers[name] = &peer{name: name, addr: addr, c: c}
	}
	names := make([]string, 0, len(c.peers))
	for n := range c.peers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := c.peers[n].get(ctx, c.opt.DialTimeout); err != nil {
			c.Close()
			return nil, fmt.Errorf("netengine: target %s: %w", n, err)
		}
	}
	return c, nil
}

// StreamObjects implements logstream.Sender: it runs p with
// logstream.RunProducer, sending each message over the targets'
// connections. Close ends it like a cancelled ctx (receivers get an Abort).
func (c *Client) StreamObjects(ctx context.Context, channel, topic string, sctx logstream.StreamContext,
	targets []string, p logstream.Producer) (logstream.Result, error) {
	c.closeMu.Lock()
	if c.closed {
		c.closeMu.Unlock()
		return logstream.Result{}, ErrClosed
	}
	c.streams.Add(1)
	c.closeMu.Unlock()
	defer c.streams.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.base, cancel)()
	id := logstream.NewStreamID(streamPrefix)
	s := &stream{c: c, lanes: map[string]*lane{}}
	defer s.wait()
	return logstream.RunProducer(ctx, c.opt.Clock, id, channel, topic, p, s.send)
}

// streamPrefix makes stream IDs unique across sender processes.
var streamPrefix = fmt.Sprintf("net-%d-%x", os.Getpid(), time.Now().UnixNano()&0xffffffff)

// Close ends running streams (receivers get an Abort), waits for them,
// closes the connections and waits for their goroutines.
func (c *Client) Close() error {
	c.closeMu.Lock()
	if c.closed {
		c.closeMu.Unlock()
		return nil
	}
	c.closed = true
	c.closeMu.Unlock()
	c.cancel()
	c.streams.Wait()
	for _, p := range c.peers {
		p.close()
	}
	return nil
}

// Shutdown is Close.
func (c *Client) Shutdown() { c.Close() }

// stream is the sending side of one stream: a lane per target, so that a
// target that is slow to dial or to take bytes delays no other target, and
// each target gets the stream's messages in the order they were emitted.
type stream struct {
	c     *Client
	mu    sync.Mutex
	lanes map[string]*lane
	wg    sync.WaitGroup
}

// lane is one target's queue; a goroutine drains it while it is not empty.
type lane struct {
	peer    *peer
	target  string
	q       []job
	running bool
}

// job is one message (its head encoded once per send) for one target.
type job struct {
	ctx      context.Context
	head     []byte
	m        *logstream.Message
	timeout  time.Duration
	deadline time.Time // past it, nobody waits for the reply
	reply    func(string, logstream.Reply)
}

// send implements logstream.SendFunc: it encodes m once and queues it on
// each target's lane.
func (s *stream) send(ctx context.Context, m *logstream.Message, targets []string, timeout time.Duration, reply func(string, logstream.Reply)) {
	c := s.c
	fail := func(t string, rc logstream.ReturnCode) {
		if reply != nil {
			reply(t, logstream.Reply{RC: rc})
		}
	}
	head, err := AppendRequestHead(nil, 0, m)
	if err == nil && len(head)-HeaderSize+len(m.Data) > c.opt.MaxFrame {
		err = fmt.Errorf("%w: request body of %d bytes, MaxFrame %d", ErrEncode, len(head)-HeaderSize+len(m.Data), c.opt.MaxFrame)
	}
	if err != nil {
		// Sending it again cannot help: a plain error fails the target.
		c.opt.logf("netengine: %v", err)
		for _, t := range targets {
			fail(t, logstream.Error)
		}
		return
	}
	if m.Kind == logstream.KindAbort {
		timeout = c.opt.DialTimeout
		ctx = context.Background() // an Abort goes out after the stream's ctx ended
	}
	msg := *m
	for _, t := range targets {
		p := c.peers[t]
		if p == nil {
			fail(t, logstream.CommunicationError)
			continue
		}
		s.mu.Lock()
		l := s.lanes[t]
		if l == nil {
			l = &lane{peer: p, target: t}
			s.lanes[t] = l
		}
		l.q = append(l.q, job{ctx: ctx, head: head, m: &msg, timeout: timeout, deadline: time.Now().Add(timeout), reply: reply})
		if !l.running {
			l.running = true
			s.wg.Add(1)
			go s.drain(l)
		}
		s.mu.Unlock()
	}
}

// drain writes l's messages in order until its queue is empty.
func (s *stream) drain(l *lane) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(l.q) == 0 {
			l.running = false
			s.mu.Unlock()
			return
		}
		j := l.q[0]
		l.q[0] = job{}
		l.q = l.q[1:]
		s.mu.Unlock()
		s.write(l, j)
	}
}

// write sends one job; the reply reaches j.reply from the connection's
// reader (or COMMUNICATION_ERROR when the connection fails first).
func (s *stream) write(l *lane, j job) {
	fail := func(rc logstream.ReturnCode) {
		if j.reply != nil {
			j.reply(l.target, logstream.Reply{RC: rc})
		}
	}
	if j.ctx.Err() != nil || time.Now().After(j.deadline) {
		// The stream is over, or the reply would come too late (queued
		// behind a slow dial): nobody waits for it.
		fail(logstream.Timeout)
		return
	}
	cn, err := l.peer.get(j.ctx, min(j.timeout, s.c.opt.DialTimeout))
	if err != nil {
		fail(logstream.CommunicationError)
		return
	}
	var cb func(logstream.Reply)
	if j.reply != nil {
		cb = func(r logstream.Reply) { j.reply(l.target, r) }
	}
	id := cn.register(cb)
	if err := cn.write(j.head, id, j.m.Data, time.Now().Add(j.timeout)); err != nil {
		if cn.unregister(id) {
			fail(logstream.CommunicationError)
		}
		l.peer.broken(cn, err)
	}
}

// wait waits for the stream's lanes to drain (each write is bounded by its
// timeout).
func (s *stream) wait() { s.wg.Wait() }

// peer is one target and its current connection.
type peer struct {
	name, addr string
	c          *Client

	mu     sync.Mutex
	cur    *conn
	closed bool
}

// get returns the live connection, dialling one if there is none.
func (p *peer) get(ctx context.Context, timeout time.Duration) (*conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if p.cur != nil {
		select {
		case <-p.cur.dead:
			p.cur = nil
		default:
			return p.cur, nil
		}
	}
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	tune(nc, p.c.opt.SocketBuffer)
	if nc, err = p.c.handshake(ctx, nc, p.addr, p.c.opt.HandshakeTimeout); err != nil {
		return nil, err
	}
	cn := newConn(nc, p.c.opt)
	p.cur = cn
	return cn, nil
}

// broken drops cn after a failed write.
func (p *peer) broken(cn *conn, err error) {
	p.c.opt.logf("netengine: target %s (%s): %v", p.name, p.addr, err)
	cn.fail(err)
	p.mu.Lock()
	if p.cur == cn {
		p.cur = nil
	}
	p.mu.Unlock()
}

func (p *peer) close() {
	p.mu.Lock()
	p.closed = true
	cn := p.cur
	p.cur = nil
	p.mu.Unlock()
	if cn != nil {
		cn.fail(ErrClosed)
		cn.wg.Wait()
	}
}

// conn is one client connection: writes are serialized, a reader goroutine
// matches replies to waiting requests by ID.
type conn struct {
	nc       net.Conn
	maxFrame int
	nextID   atomic.Uint64

	wmu sync.Mutex
	hdr []byte

	pmu     sync.Mutex
	pending map[uint64]func(logstream.Reply)

	dead     chan struct{}
	failOnce sync.Once
	err      error
	wg       sync.WaitGroup
}

func newConn(nc net.Conn, opt Options) *conn {
	cn := &conn{nc: nc, maxFrame: opt.MaxFrame, pending: map[uint64]func(logstream.Reply){}, dead: make(chan struct{})}
	cn.wg.Add(1)
	go cn.read(opt)
	return cn
}

// register allocates a request ID and, if cb is not nil, waits for its
// reply: cb gets it, or COMMUNICATION_ERROR when the connection fails first.
func (cn *conn) register(cb func(logstream.Reply)) uint64 {
	id := cn.nextID.Add(1)
	if cb == nil {
		return id
	}
	cn.pmu.Lock()
	dead := cn.pending == nil
	if !dead {
		cn.pending[id] = cb
	}
	cn.pmu.Unlock()
	if dead {
		cb(logstream.Reply{RC: logstream.CommunicationError})
	}
	return id
}

// unregister forgets id and reports whether it was still waiting.
func (cn *conn) unregister(id uint64) bool {
	cn.pmu.Lock()
	defer cn.pmu.Unlock()
	_, ok := cn.pending[id]
	delete(cn.pending, id)
	return ok
}

// write sends head (with id patched in) followed by data in one writev.
func (cn *conn) write(head []byte, id uint64, data []byte, deadline time.Time) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	select {
	case <-cn.dead:
		return cn.err
	default:
	}
	cn.hdr = append(cn.hdr[:0], head...)
	putHeader(cn.hdr, FrameRequest, id, len(head)-HeaderSize+len(data))
	cn.nc.SetWriteDeadline(deadline)
	bufs := net.Buffers{cn.hdr}
	if len(data) > 0 {
		bufs = append(bufs, data)
	}
	_, err := bufs.WriteTo(cn.nc)
	return err
}

// fail marks the connection dead and closes it; waiting requests see dead.
func (cn *conn) fail(err error) {
	cn.failOnce.Do(func() {
		cn.err = err
		close(cn.dead)
		cn.nc.Close()
		cn.pmu.Lock()
		waiting := cn.pending
		cn.pending = nil
		cn.pmu.Unlock()
		for _, cb := range waiting {
			cb(logstream.Reply{RC: logstream.CommunicationError})
		}
	})
}

// read delivers replies to their requests until the connection fails.
func (cn *conn) read(opt Options) {
	defer cn.wg.Done()
	br := bufio.NewReaderSize(cn.nc, 4<<10)
	var hdr [HeaderSize]byte
	for {
		f, err := ReadFrame(br, &hdr, cn.maxFrame)
		if err == nil && f.Type != FrameReply {
			err = fmt.Errorf("%w: unexpected frame type %d from the server", ErrMalformed, f.Type)
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			select {
			case <-cn.dead:
			default:
				opt.logf("netengine: %v: %v", cn.nc.RemoteAddr(), err)
			}
			cn.fail(err)
			return
		}
		cn.pmu.Lock()
		cb := cn.pending[f.ID]
		delete(cn.pending, f.ID)
		cn.pmu.Unlock()
		if cb != nil {
			cb(f.Reply) // each ID gets one reply
		}
	}
}

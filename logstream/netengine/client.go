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
// it breaks). It implements logstream.Engine; RegisterStreamProcessing
// returns ErrSendOnly.
type Client struct {
	opt   Options
	peers map[string]*peer

	base    context.Context // cancelled by Close: ends running streams
	cancel  context.CancelFunc
	streams sync.WaitGroup
	closeMu sync.Mutex
	closed  bool
}

// ErrSendOnly is returned by Client.RegisterStreamProcessing.
var ErrSendOnly = errors.New("netengine: a Client is send-only; use a Server to receive")

var _ logstream.Engine = (*Client)(nil)

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

// RegisterStreamProcessing implements logstream.Engine: it returns
// ErrSendOnly.
func (c *Client) RegisterStreamProcessing(string, string, logstream.ConsumerFactory, logstream.DoneFunc) error {
	return ErrSendOnly
}

// StreamObjects implements logstream.Engine: it runs p with
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
	return logstream.RunProducer(ctx, c.opt.Clock, id, channel, topic, p, c.send)
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

// send implements logstream.SendFunc.
func (c *Client) send(ctx context.Context, m *logstream.Message, targets []string, timeout time.Duration) map[string]logstream.Reply {
	replies := make(map[string]logstream.Reply, len(targets))
	head, err := AppendRequestHead(nil, 0, m)
	if err == nil && len(head)-HeaderSize+len(m.Data) > c.opt.MaxFrame {
		err = fmt.Errorf("%w: request body of %d bytes, MaxFrame %d", ErrEncode, len(head)-HeaderSize+len(m.Data), c.opt.MaxFrame)
	}
	if err != nil {
		// Sending it again cannot help: a plain error fails the target.
		c.opt.logf("netengine: %v", err)
		for _, t := range targets {
			replies[t] = logstream.Reply{RC: logstream.Error}
		}
		return replies
	}
	abort := m.Kind == logstream.KindAbort
	if abort {
		timeout = c.opt.DialTimeout
	}
	deadline := time.Now().Add(timeout)
	type wait struct {
		target string
		ch     chan logstream.Reply
		cn     *conn
		id     uint64
	}
	var waits []wait
	for _, t := range targets {
		p := c.peers[t]
		if p == nil {
			replies[t] = logstream.Reply{RC: logstream.CommunicationError}
			continue
		}
		cn, err := p.get(ctx, min(timeout, c.opt.DialTimeout))
		if err != nil {
			replies[t] = logstream.Reply{RC: logstream.CommunicationError}
			continue
		}
		id, ch := cn.register(!abort)
		if err := cn.write(head, id, m.Data, deadline); err != nil {
			cn.unregister(id)
			p.broken(cn, err)
			replies[t] = logstream.Reply{RC: logstream.CommunicationError}
			continue
		}
		if !abort {
			waits = append(waits, wait{t, ch, cn, id})
		}
	}
	if len(waits) == 0 {
		return replies
	}
	timer := c.opt.Clock.After(timeout)
	for i, w := range waits {
		select {
		case r := <-w.ch:
			replies[w.target] = r
			continue
		default:
		}
		select {
		case r := <-w.ch:
			replies[w.target] = r
		case <-w.cn.dead:
			// The reply may have arrived just before the connection died.
			select {
			case r := <-w.ch:
				replies[w.target] = r
			default:
				replies[w.target] = logstream.Reply{RC: logstream.CommunicationError}
			}
		case <-timer:
			for _, w := range waits[i:] {
				w.cn.unregister(w.id)
				select {
				case r := <-w.ch:
					replies[w.target] = r
				default:
					replies[w.target] = logstream.Reply{RC: logstream.Timeout}
				}
			}
			return replies
		case <-ctx.Done():
			for _, w := range waits[i:] {
				w.cn.unregister(w.id)
				replies[w.target] = logstream.Reply{RC: logstream.Timeout}
			}
			return replies
		}
	}
	return replies
}

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
	pending map[uint64]chan logstream.Reply

	dead     chan struct{}
	failOnce sync.Once
	err      error
	wg       sync.WaitGroup
}

func newConn(nc net.Conn, opt Options) *conn {
	cn := &conn{nc: nc, maxFrame: opt.MaxFrame, pending: map[uint64]chan logstream.Reply{}, dead: make(chan struct{})}
	cn.wg.Add(1)
	go cn.read(opt)
	return cn
}

// register allocates a request ID and, if want, a channel for its reply.
func (cn *conn) register(want bool) (uint64, chan logstream.Reply) {
	id := cn.nextID.Add(1)
	if !want {
		return id, nil
	}
	ch := make(chan logstream.Reply, 1)
	cn.pmu.Lock()
	cn.pending[id] = ch
	cn.pmu.Unlock()
	return id, ch
}

func (cn *conn) unregister(id uint64) {
	cn.pmu.Lock()
	delete(cn.pending, id)
	cn.pmu.Unlock()
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
		ch := cn.pending[f.ID]
		delete(cn.pending, f.ID)
		cn.pmu.Unlock()
		if ch != nil {
			ch <- f.Reply // buffered; each ID gets one reply
		}
	}
}

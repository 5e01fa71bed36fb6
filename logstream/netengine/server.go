package netengine

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Server is the receiving engine: it listens on TCP, hands every request to a
// logstream.Dispatcher and sends its reply back. It is a
// logstream.Receiver: it receives, and sends nothing.
type Server struct {
	opt  Options
	ln   net.Listener
	disp *logstream.Dispatcher

	kick     chan struct{}
	closed   chan struct{}
	base     context.Context // cancelled by Shutdown
	cancel   context.CancelFunc
	shutOnce sync.Once
	wg       sync.WaitGroup // accept, watchdog and connection readers

	mu    sync.Mutex
	conns map[net.Conn]struct{}

	rej rejections // connections and streams refused by TLS checks (tls.go)
}

var _ logstream.Receiver = (*Server)(nil)

// Listen starts a Server on addr (host:port; port 0 picks one, see Addr).
// Options must set TLS (mutual TLS) or Insecure (plain TCP).
func Listen(addr string, opt Options) (*Server, error) {
	tcfg, err := serverTLS(opt)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tcfg != nil {
		ln = &tlsListener{Listener: ln, cfg: tcfg, buf: opt.SocketBuffer}
	}
	s := &Server{opt: opt.withDefaults(), ln: ln, disp: logstream.NewDispatcher(),
		kick: make(chan struct{}, 1), closed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.base, s.cancel = context.WithCancel(context.Background())
	s.disp.Notify(s.wake)
	s.wg.Add(2)
	go s.accept()
	go s.watchdog()
	return s, nil
}

// Addr returns the address the Server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// RegisterStreamProcessing implements logstream.Receiver. Until a channel and
// topic (or a wildcard covering them) are registered, requests on them are
// answered NOT_READY and create no stream.
func (s *Server) RegisterStreamProcessing(channel, topic string, f logstream.ConsumerFactory, done logstream.DoneFunc) error {
	return s.disp.Register(channel, topic, f, done)
}

// Open returns the number of streams being received.
func (s *Server) Open() int { return s.disp.Open() }

// Shutdown stops accepting connections, ends every open stream with
// TASK_ABORTED (its done callback runs), closes the connections and waits
// for the Server's goroutines. It never waits for a chunk callback: a
// handler inside one that blocks ends when the callback returns.
func (s *Server) Shutdown() {
	s.shutOnce.Do(func() {
		close(s.closed)
		s.cancel()
		s.ln.Close()
		s.disp.Shutdown()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
}

// Close is Shutdown.
func (s *Server) Close() error {
	s.Shutdown()
	return nil
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.opt.logf("netengine: accept: %v", err)
			select {
			case <-s.closed:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		tune(c, s.opt.SocketBuffer)
		s.mu.Lock()
		select {
		case <-s.closed:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

func tune(c net.Conn, buf int) {
	if tc, ok := c.(*net.TCPConn); ok && buf > 0 {
		tc.SetReadBuffer(buf)
		tc.SetWriteBuffer(buf)
	}
}

// sconn is one accepted connection.
type sconn struct {
	s   *Server
	c   net.Conn
	ctx context.Context // ends with the connection: waiting requests give up
	wmu sync.Mutex
	sem chan struct{}

	fmu  sync.Mutex
	free [][]byte // frame buffers not in use, most recently used last

	qmu    sync.Mutex
	queues map[string]*streamQueue // by stream ID, while requests are pending
}

// orderGrace is how long a stream's request waits for the one before it to
// be handled before it is handled anyway (concurrently, as with no order).
const orderGrace = 10 * time.Millisecond

// streamQueue holds a stream's pending requests of one connection in
// arrival order.
type streamQueue struct {
	reqs []request
}

type request struct {
	id  uint64
	m   *logstream.Message
	buf []byte
}

// serve reads requests from c until it fails or the Server shuts down. Each
// request is handled on its own goroutine (at most MaxInFlight at once), so
// that a slow consumer of one stream does not hold up the others; a
// stream's requests start in arrival order (enqueue). A
// request's frame buffer goes back to the connection when its handler
// returns, so the buffers are reused (a chunk callback's data is valid only
// until it returns); the most recently freed one is reused first, so a
// connection with one request at a time keeps one buffer.
//
// Handlers are not waited for: one running a chunk callback that blocks
// ends when the callback returns; handlers waiting for their stream give
// up after MaxWait or when the connection ends.
func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(s.base)
	sc := &sconn{s: s, c: c, ctx: ctx, sem: make(chan struct{}, s.opt.MaxInFlight)}
	defer func() {
		cancel()
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	site, ok := s.authenticate(c)
	if !ok {
		return
	}
	br := bufio.NewReaderSize(c, 64<<10)
	var hdr [HeaderSize]byte
	for {
		select {
		case sc.sem <- struct{}{}:
		case <-s.closed:
			return
		}
		h, err := readHeader(br, &hdr, s.opt.MaxFrame)
		var body []byte
		if err == nil {
			// Taken now, not before the header: a handler that just
			// replied has given its buffer back by then.
			body, err = readBody(br, h, sc.take())
		}
		if err != nil {
			if err != io.EOF && !errors.Is(err, net.ErrClosed) {
				s.opt.logf("netengine: %v: %v", c.RemoteAddr(), err)
			}
			return
		}
		if h.Type != FrameRequest {
			s.opt.logf("netengine: %v: unexpected frame type %d", c.RemoteAddr(), h.Type)
			return
		}
		m, err := DecodeRequest(body)
		if err != nil {
			s.opt.logf("netengine: %v: request %d: %v", c.RemoteAddr(), h.ID, err)
			sc.reply(h.ID, logstream.Reply{RC: logstream.BadRequestData})
			sc.give(body)
			continue
		}
		if !s.admit(c, site, m) {
			sc.reply(h.ID, logstream.Reply{RC: logstream.BadRequestData})
			sc.give(body)
			continue
		}
		sc.enqueue(request{h.ID, m, body})
	}
}

// enqueue hands r to its stream's queue. A sender's window arrives in
// order and is best consumed in order (a LogConsumer must copy a chunk that
// overtakes an earlier one), and requests of one stream handled at once
// only contend for it; so each stream's requests start one after the
// other, each once the one before it was handled or orderGrace after it
// started, whichever comes first: a chunk callback that blocks holds the
// next request up for orderGrace only. An Abort starts at once.
func (sc *sconn) enqueue(r request) {
	if r.m.Kind == logstream.KindAbort {
		go sc.handle(r.id, r.m, r.buf)
		return
	}
	sc.qmu.Lock()
	defer sc.qmu.Unlock()
	if q := sc.queues[r.m.StreamID]; q != nil {
		q.reqs = append(q.reqs, r)
		return
	}
	if sc.queues == nil {
		sc.queues = map[string]*streamQueue{}
	}
	q := &streamQueue{reqs: []request{r}}
	sc.queues[r.m.StreamID] = q
	go sc.drain(r.m.StreamID, q)
}

// drain starts q's requests in order until it is empty.
func (sc *sconn) drain(stream string, q *streamQueue) {
	timer := time.NewTimer(orderGrace)
	defer timer.Stop()
	for {
		sc.qmu.Lock()
		if len(q.reqs) == 0 {
			delete(sc.queues, stream)
			sc.qmu.Unlock()
			return
		}
		r := q.reqs[0]
		q.reqs[0] = request{}
		q.reqs = q.reqs[1:]
		sc.qmu.Unlock()
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc.handle(r.id, r.m, r.buf)
		}()
		timer.Reset(orderGrace)
		select {
		case <-done:
		case <-timer.C:
		case <-sc.ctx.Done():
		}
	}
}

// take returns a free frame buffer (nil if none).
func (sc *sconn) take() []byte {
	sc.fmu.Lock()
	defer sc.fmu.Unlock()
	n := len(sc.free)
	if n == 0 {
		return nil
	}
	b := sc.free[n-1]
	sc.free = sc.free[:n-1]
	return b
}

// give returns buf to the free list and its slot to the semaphore.
func (sc *sconn) give(buf []byte) {
	sc.fmu.Lock()
	sc.free = append(sc.free, buf[:0])
	sc.fmu.Unlock()
	<-sc.sem
}

func (sc *sconn) handle(id uint64, m *logstream.Message, buf []byte) {
	s := sc.s
	ctx, cancel := context.WithTimeout(sc.ctx, s.opt.MaxWait)
	r := s.disp.HandleContext(ctx, s.opt.Clock.Now(), m)
	cancel()
	sc.give(buf) // m.Data is not used after Handle returned
	s.wake()
	if m.Kind == logstream.KindAbort {
		return // the sender expects no reply
	}
	sc.reply(id, r)
}

func (sc *sconn) reply(id uint64, r logstream.Reply) {
	var buf [HeaderSize + 1 + maxRC + 9]byte
	b, err := AppendReply(buf[:0], id, r)
	if err != nil {
		b, _ = AppendReply(buf[:0], id, logstream.Reply{RC: logstream.Error, Next: r.Next, Closed: r.Closed})
	}
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	if _, err := sc.c.Write(b); err != nil {
		sc.c.Close() // the reader sees the error and ends the connection
	}
}

// wake makes the watchdog read the next deadline again.
func (s *Server) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// watchdog ends idle streams when their deadline passes. A message only
// moves its stream's deadline later, so the timer is re-armed only when the
// earliest deadline moved earlier (a new stream); a timer that fires early
// expires nothing and is re-armed.
func (s *Server) watchdog() {
	defer s.wg.Done()
	clk := s.opt.Clock
	var timer <-chan time.Time
	var armed time.Time
	for {
		select {
		case <-s.closed:
			return
		case <-s.kick:
		case <-timer:
			timer = nil
			s.disp.Expire(clk.Now())
		}
		if t, ok := s.disp.NextDeadline(); ok && (timer == nil || t.Before(armed)) {
			timer, armed = clk.After(t.Sub(clk.Now())), t
		}
	}
}

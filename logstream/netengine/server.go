package netengine

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
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
	s    *Server
	c    net.Conn
	ctx  context.Context // ends with the connection: waiting requests give up
	end  context.CancelFunc
	site string
	wmu  sync.Mutex
	sem  chan struct{}

	// The reader's state: one goroutine at a time reads the connection
	// (see serve), and hands it on with a go statement.
	br  *bufio.Reader
	hdr [HeaderSize]byte

	fmu  sync.Mutex
	free [][]byte // frame buffers not in use, most recently used last

	qmu    sync.Mutex
	queues map[string]*streamQueue // by stream ID, while its requests go through drain
}

// orderGrace is how long a stream's request waits for the one before it to
// be handled before it is handled anyway (concurrently, as with no order),
// and how long the connection's reader handles a request itself before
// another goroutine reads on.
const orderGrace = 10 * time.Millisecond

// streamQueue holds a stream's pending requests of one connection in
// arrival order, for a stream whose handling once took longer than
// orderGrace: its requests start on goroutines of their own (drain) until
// none is pending.
type streamQueue struct {
	reqs     []request
	draining bool // a drain goroutine starts reqs
	detached int  // requests handled by a former reader, still running
}

type request struct {
	id  uint64
	m   *logstream.Message
	buf []byte
}

// serve reads and handles requests from c until it fails or the Server
// shuts down. The goroutine that reads the connection handles each request
// itself, in arrival order, so that a chunk costs no goroutine and no
// wake-up of another thread; if handling takes longer than orderGrace (a
// chunk callback that blocks or is slow), another goroutine takes over the
// reading, the first one finishes its request and ends, and that stream's
// requests start on goroutines of their own (enqueue) until none is
// pending: a slow consumer of one stream holds up the others for orderGrace
// at most. At most MaxInFlight requests are handled at once.
//
// A request's frame buffer goes back to the connection when its handler
// returns, so the buffers are reused (a chunk callback's data is valid only
// until it returns); the most recently freed one is reused first, so a
// connection with one request at a time keeps one buffer.
//
// Handlers are not waited for: one running a chunk callback that blocks
// ends when the callback returns; handlers waiting for their stream give
// up after MaxWait or when the connection ends.
func (s *Server) serve(c net.Conn) {
	ctx, cancel := context.WithCancel(s.base)
	sc := &sconn{s: s, c: c, ctx: ctx, end: cancel, sem: make(chan struct{}, s.opt.MaxInFlight)}
	site, ok := s.authenticate(c)
	if !ok {
		sc.close()
		return
	}
	sc.site = site
	sc.br = bufio.NewReaderSize(c, 64<<10)
	sc.read()
}

// close ends the connection; the reader that ends calls it, once.
func (sc *sconn) close() {
	s := sc.s
	sc.end()
	sc.c.Close()
	s.mu.Lock()
	delete(s.conns, sc.c)
	s.mu.Unlock()
	s.wg.Done()
}

// read is the connection's reader: it reads requests and handles them
// (see serve) until the connection ends, or until another goroutine took
// over the reading while this one handled a request. The reader holds the
// Server's WaitGroup count of the connection and hands it on.
func (sc *sconn) read() {
	// The state of the request handled here: running, done or taken
	// over. It leaves running under qmu (takeover or finish), so that
	// the reader that finishes late sees the queue the takeover made.
	var state atomic.Int32
	var stream string // the request's stream
	state.Store(stateDone)
	takeover := time.AfterFunc(time.Hour, func() {
		sc.qmu.Lock()
		defer sc.qmu.Unlock()
		if !state.CompareAndSwap(stateRunning, stateTakenOver) {
			return
		}
		sc.queue(stream).detached++
		go sc.read()
	})
	takeover.Stop()
	for {
		r, ok := sc.next()
		if !ok {
			takeover.Stop()
			sc.close()
			return
		}
		if !sc.enqueue(r) {
			continue
		}
		stream = r.m.StreamID
		state.Store(stateRunning)
		takeover.Reset(orderGrace)
		sc.handle(r.id, r.m, r.buf)
		sc.qmu.Lock()
		if state.CompareAndSwap(stateRunning, stateDone) {
			sc.qmu.Unlock()
			takeover.Stop()
			continue
		}
		// Another goroutine reads on: finish as a handler.
		q := sc.queues[stream]
		q.detached--
		sc.forget(stream, q)
		sc.qmu.Unlock()
		return
	}
}

// The states of a request handled by the reader.
const (
	stateRunning int32 = iota
	stateDone
	stateTakenOver
)

// next reads the next request; false when the connection is over. A
// request that cannot be decoded or admitted is answered here.
func (sc *sconn) next() (request, bool) {
	s, c := sc.s, sc.c
	for {
		select {
		case sc.sem <- struct{}{}:
		case <-s.closed:
			return request{}, false
		}
		h, err := readHeader(sc.br, &sc.hdr, s.opt.MaxFrame)
		var body []byte
		if err == nil {
			// Taken now, not before the header: a handler that just
			// replied has given its buffer back by then.
			body, err = readBody(sc.br, h, sc.take())
		}
		if err != nil {
			if err != io.EOF && !errors.Is(err, net.ErrClosed) {
				s.opt.logf("netengine: %v: %v", c.RemoteAddr(), err)
			}
			return request{}, false
		}
		if h.Type != FrameRequest {
			s.opt.logf("netengine: %v: unexpected frame type %d", c.RemoteAddr(), h.Type)
			return request{}, false
		}
		m, err := DecodeRequest(body)
		if err != nil {
			s.opt.logf("netengine: %v: request %d: %v", c.RemoteAddr(), h.ID, err)
			sc.reply(h.ID, logstream.Reply{RC: logstream.BadRequestData})
			sc.give(body)
			continue
		}
		if !s.admit(c, sc.site, m) {
			sc.reply(h.ID, logstream.Reply{RC: logstream.BadRequestData})
			sc.give(body)
			continue
		}
		return request{h.ID, m, body}, true
	}
}

// enqueue reports whether the reader should handle r itself; otherwise r
// was handed to a goroutine. An Abort starts at once on its own. A stream
// with a queue (one of its requests outlasted orderGrace, and some are
// still pending) has its requests started in order by drain, each once the
// one before it was handled or orderGrace after it started, whichever comes
// first: a sender's window arrives in order and is best consumed in order
// (a LogConsumer must copy a chunk that overtakes an earlier one), and
// requests of one stream handled at once only contend for it.
func (sc *sconn) enqueue(r request) bool {
	if r.m.Kind == logstream.KindAbort {
		go sc.handle(r.id, r.m, r.buf)
		return false
	}
	sc.qmu.Lock()
	defer sc.qmu.Unlock()
	q := sc.queues[r.m.StreamID]
	if q == nil {
		return true
	}
	q.reqs = append(q.reqs, r)
	if !q.draining {
		q.draining = true
		go sc.drain(r.m.StreamID, q)
	}
	return false
}

// queue returns stream's queue, made if there is none; qmu held.
func (sc *sconn) queue(stream string) *streamQueue {
	q := sc.queues[stream]
	if q == nil {
		if sc.queues == nil {
			sc.queues = map[string]*streamQueue{}
		}
		q = &streamQueue{}
		sc.queues[stream] = q
	}
	return q
}

// forget drops stream's queue once nothing of it is pending or running
// on a goroutine of its own; qmu held.
func (sc *sconn) forget(stream string, q *streamQueue) {
	if len(q.reqs) == 0 && !q.draining && q.detached == 0 && sc.queues[stream] == q {
		delete(sc.queues, stream)
	}
}

// drain starts q's requests in order until it is empty.
func (sc *sconn) drain(stream string, q *streamQueue) {
	timer := time.NewTimer(orderGrace)
	defer timer.Stop()
	for {
		sc.qmu.Lock()
		if len(q.reqs) == 0 {
			q.draining = false
			sc.forget(stream, q)
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
	// No wake-up of the watchdog: the Dispatcher notifies it when a
	// deadline moved earlier (Notify).
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

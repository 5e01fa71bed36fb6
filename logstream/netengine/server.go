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

// ErrReceiveOnly is returned by Server.StreamObjects: a Server only receives.
var ErrReceiveOnly = errors.New("netengine: a Server is receive-only; use a Client to send")

// Server is the receiving engine: it listens on TCP, hands every request to a
// logstream.Dispatcher and sends its reply back. It implements
// logstream.Engine (receive-only).
type Server struct {
	opt  Options
	ln   net.Listener
	disp *logstream.Dispatcher

	kick     chan struct{}
	closed   chan struct{}
	shutOnce sync.Once
	wg       sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

var _ logstream.Engine = (*Server)(nil)

// Listen starts a Server on addr (host:port; port 0 picks one, see Addr).
func Listen(addr string, opt Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opt: opt.withDefaults(), ln: ln, disp: logstream.NewDispatcher(),
		kick: make(chan struct{}, 1), closed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.wg.Add(2)
	go s.accept()
	go s.watchdog()
	return s, nil
}

// Addr returns the address the Server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// StreamObjects implements logstream.Engine: it returns ErrReceiveOnly.
func (s *Server) StreamObjects(context.Context, string, string, logstream.StreamContext, []string,
	logstream.Producer) (logstream.Result, error) {
	return logstream.Result{}, ErrReceiveOnly
}

// RegisterStreamProcessing implements logstream.Engine. Until a channel and
// topic (or a wildcard covering them) are registered, requests on them are
// answered NOT_READY and create no stream.
func (s *Server) RegisterStreamProcessing(channel, topic string, f logstream.ConsumerFactory, done logstream.DoneFunc) error {
	return s.disp.Register(channel, topic, f, done)
}

// Open returns the number of streams being received.
func (s *Server) Open() int { return s.disp.Open() }

// Shutdown stops accepting connections, ends every open stream with
// TASK_ABORTED (its done callback runs), closes the connections and waits
// for the Server's goroutines.
func (s *Server) Shutdown() {
	s.shutOnce.Do(func() {
		close(s.closed)
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
	wmu sync.Mutex
	sem chan struct{}
	wg  sync.WaitGroup

	qmu    sync.Mutex
	queues map[string]*streamQueue // by stream ID, while not empty
}

// streamQueue holds one stream's requests of a connection in arrival
// order; one goroutine drains it while it is not empty.
type streamQueue struct {
	reqs []request
}

type request struct {
	id uint64
	m  *logstream.Message
}

// serve reads requests from c until it fails or the Server shuts down.
// Requests are handled in arrival order per stream, on a goroutine per
// stream with requests pending (at most MaxInFlight requests at once), so
// that a slow consumer of one stream does not hold up the others and a
// sender's window arrives in order.
func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	sc := &sconn{s: s, c: c, sem: make(chan struct{}, s.opt.MaxInFlight), queues: map[string]*streamQueue{}}
	defer func() {
		sc.wg.Wait()
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	br := bufio.NewReaderSize(c, 64<<10)
	var hdr [HeaderSize]byte
	for {
		h, body, err := readRaw(br, &hdr, s.opt.MaxFrame)
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
			continue
		}
		select {
		case sc.sem <- struct{}{}:
		case <-s.closed:
			return
		}
		sc.enqueue(request{h.ID, m})
	}
}

// enqueue queues r behind its stream's pending requests, starting the
// stream's goroutine if it has none; an Abort goes at once.
func (sc *sconn) enqueue(r request) {
	if r.m.Kind == logstream.KindAbort {
		// An Abort never waits behind a stream's pending requests (a
		// consumer that blocks must not hold it up).
		sc.wg.Add(1)
		go func() {
			defer sc.wg.Done()
			sc.handle(r.id, r.m)
		}()
		return
	}
	sc.qmu.Lock()
	defer sc.qmu.Unlock()
	q := sc.queues[r.m.StreamID]
	if q != nil {
		q.reqs = append(q.reqs, r)
		return
	}
	q = &streamQueue{reqs: []request{r}}
	sc.queues[r.m.StreamID] = q
	sc.wg.Add(1)
	go sc.drain(r.m.StreamID, q)
}

// drain handles q's requests in order until it is empty.
func (sc *sconn) drain(stream string, q *streamQueue) {
	defer sc.wg.Done()
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
		sc.handle(r.id, r.m)
	}
}

func (sc *sconn) handle(id uint64, m *logstream.Message) {
	defer func() { <-sc.sem }()
	s := sc.s
	r := s.disp.Handle(s.opt.Clock.Now(), m)
	select {
	case s.kick <- struct{}{}:
	default:
	}
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

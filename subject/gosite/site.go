// Package gosite is this module's streamer as an external subject: one site
// of the subject protocol (PROTOCOL.md), the sender running
// logstream.StreamLog and a receiver running logstream.Dispatcher with the
// log consumer, each over an Engine whose network is the harness. It is the
// protocol's conformance subject: `simrun subject --cmd logstream-subject`
// must pass every runnable built-in scenario.
//
// It depends on logstream, the subject package's line types and the
// standard library; it uses nothing of the simulator or the oracle (the
// subject package, and so this binary, links the simulator's record types).
package gosite

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/subject"
)

// realClock is the real time source.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// site is one process's state.
type site struct {
	outMu sync.Mutex
	out   *bufio.Writer
	log   io.Writer

	// sender
	mu      sync.Mutex
	nextID  uint64
	waiters map[uint64]chan reply
	stop    chan struct{}
	stopped bool
	cancel  context.CancelFunc

	// receiver
	disp    *logstream.Dispatcher
	factory logstream.ConsumerFactory
	done    logstream.DoneFunc
	channel string
	topic   string
	kick    chan struct{}
	offsets map[string]int64
}

type reply struct {
	target string
	r      logstream.Reply
}

// Main runs one site on in and out until the harness says exit or closes
// in; it returns the process exit code. Diagnostics go to log.
func Main(in io.Reader, out, log io.Writer) int {
	s := &site{out: bufio.NewWriter(out), log: log, waiters: map[uint64]chan reply{},
		stop: make(chan struct{}), kick: make(chan struct{}, 1), offsets: map[string]int64{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<16), subject.MaxLine+1)
	for sc.Scan() {
		var l subject.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			fmt.Fprintf(log, "bad line from harness: %v\n", err)
			return 2
		}
		if l.Type == subject.TExit {
			return 0
		}
		if err := s.handle(&l); err != nil {
			s.emit(&subject.Line{Type: subject.TError, Text: err.Error()})
			fmt.Fprintln(log, err)
			return 1
		}
	}
	return 0
}

func (s *site) emit(l *subject.Line) {
	b, err := json.Marshal(l)
	if err != nil {
		panic(err)
	}
	s.outMu.Lock()
	defer s.outMu.Unlock()
	s.out.Write(b)
	s.out.WriteByte('\n')
	s.out.Flush()
}

func dur(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

func (s *site) handle(l *subject.Line) error {
	switch l.Type {
	case subject.TInit:
		if l.Protocol != subject.Version {
			return fmt.Errorf("harness speaks protocol %d, this site %d", l.Protocol, subject.Version)
		}
		o := subject.Options{}
		if l.Options != nil {
			o = *l.Options
		}
		if l.Role == subject.RoleSender {
			s.emit(&subject.Line{Type: subject.TInitOK, Protocol: subject.Version})
			opt := logstream.TailOptions{PollInterval: dur(o.PollIntervalMS), LivenessInterval: dur(o.LivenessIntervalMS),
				ChunkSize: o.ChunkSize, ChunkTimeout: dur(o.ChunkTimeoutMS), DrainWindow: dur(o.DrainWindowMS),
				RetryBackoff: dur(o.RetryBackoffMS), MaxRetryBackoff: dur(o.MaxRetryBackoffMS), RetryLimit: o.RetryLimit,
				NotReadyTimeout: dur(o.NotReadyTimeoutMS), IdleTimeout: dur(o.IdleTimeoutMS)}
			ctx, cancel := context.WithCancel(context.Background())
			s.cancel = cancel
			go s.runSender(ctx, l.Channel, l.Topic, l.Targets, l.File, opt)
			return nil
		}
		s.channel, s.topic = l.Channel, l.Topic
		s.disp = logstream.NewDispatcher()
		idle := dur(o.IdleTimeoutMS) // the protocol's 0: no watchdog
		s.factory = &openFactory{s: s, f: &logstream.LogConsumerFactory{Chunk: s.chunk,
			ReceiveOptions: logstream.ReceiveOptions{IdleTimeout: idle, NoIdleTimeout: idle == 0}}}
		s.done = func(info *logstream.StreamInfo) {
			s.emit(&subject.Line{Type: subject.TDone, Stream: info.ID, RC: string(info.RC)})
		}
		if l.Register == nil || *l.Register {
			if err := s.disp.Register(s.channel, s.topic, s.factory, s.done); err != nil {
				return err
			}
		}
		go s.watchdog()
		s.emit(&subject.Line{Type: subject.TInitOK, Protocol: subject.Version})
	case subject.TRegister:
		return s.disp.Register(s.channel, s.topic, s.factory, s.done)
	case subject.TDeliver:
		var m logstream.Message
		if err := json.Unmarshal(l.Body, &m); err != nil {
			return fmt.Errorf("deliver %d: bad body: %w", l.ID, err)
		}
		r := s.disp.Handle(time.Now(), &m)
		select {
		case s.kick <- struct{}{}:
		default:
		}
		if l.Reply == nil || *l.Reply {
			body, _ := json.Marshal(r)
			s.emit(&subject.Line{Type: subject.TReply, ID: l.ID, Body: body, Meta: &subject.Meta{RC: string(r.RC)}})
		}
	case subject.TShutdown:
		s.disp.Shutdown()
	case subject.TReply:
		var r logstream.Reply
		if err := json.Unmarshal(l.Body, &r); err != nil {
			return fmt.Errorf("reply %d: bad body: %w", l.ID, err)
		}
		s.mu.Lock()
		ch := s.waiters[l.ID]
		delete(s.waiters, l.ID)
		s.mu.Unlock()
		if ch != nil {
			ch <- reply{target: l.From, r: r}
		}
	case subject.TStop:
		s.mu.Lock()
		if !s.stopped {
			s.stopped = true
			close(s.stop)
		}
		s.mu.Unlock()
	case subject.TAbort:
		if s.cancel != nil {
			s.cancel()
		}
	default:
		return fmt.Errorf("unknown line type %q", l.Type)
	}
	return nil
}

// openFactory reports each stream it creates.
type openFactory struct {
	s *site
	f logstream.ConsumerFactory
}

func (o *openFactory) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	c, err := o.f.NewConsumer(now, info)
	if err == nil {
		o.s.emit(&subject.Line{Type: subject.TOpen, Stream: info.ID})
	}
	return c, err
}

// chunk reports one chunk callback. Dispatcher calls it from the handling
// goroutine only.
func (s *site) chunk(b []byte, info *logstream.StreamInfo) error {
	off := s.offsets[info.ID]
	s.offsets[info.ID] = off + int64(len(b))
	s.emit(&subject.Line{Type: subject.TChunk, Stream: info.ID, Offset: off, Data: b})
	return nil
}

// watchdog ends idle streams when their deadline passes.
func (s *site) watchdog() {
	for {
		var timer <-chan time.Time
		if t, ok := s.disp.NextDeadline(); ok {
			timer = time.After(time.Until(t))
		}
		select {
		case <-s.kick:
		case <-timer:
			s.disp.Expire(time.Now())
		}
	}
}

// engine is the sender's logstream.Sender: its network is the harness.
type engine struct{ s *site }

func (e engine) StreamObjects(ctx context.Context, channel, topic string, sctx logstream.StreamContext,
	targets []string, p logstream.Producer) (logstream.Result, error) {
	return logstream.RunProducer(ctx, realClock{}, logstream.NewStreamID("sender"), channel, topic, p, e.s.send)
}

func (s *site) runSender(ctx context.Context, channel, topic string, targets []string, file string, opt logstream.TailOptions) {
	stream, err := logstream.StreamLog(ctx, logstream.StreamConfig{Sender: engine{s}, Channel: channel, Topic: topic,
		Targets: targets, FileName: file, Options: opt})
	if err != nil {
		s.emit(&subject.Line{Type: subject.TError, Text: "stream_log: " + err.Error()})
		return
	}
	select {
	case <-s.stop:
		stream.Stop()
	case <-stream.Done():
	}
	res, _ := stream.Wait() // a failed stream is reported by its result
	results := map[string]string{}
	for _, t := range res.Targets {
		results[t.Target] = string(t.RC)
	}
	s.emit(&subject.Line{Type: subject.TResult, RC: string(res.RC), Results: results})
}

// send is the engine's SendFunc: one send line per target, then wait for the
// replies until timeout.
func (s *site) send(ctx context.Context, m *logstream.Message, targets []string, timeout time.Duration, cb func(string, logstream.Reply)) {
	body, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	meta := &subject.Meta{Kind: m.Kind.String(), Seq: m.Seq, Offset: m.Offset, Len: len(m.Data)}
	want := cb != nil
	for _, t := range targets {
		var ch chan reply
		s.mu.Lock()
		s.nextID++
		id := s.nextID
		if want {
			ch = make(chan reply, 1)
			s.waiters[id] = ch
		}
		s.mu.Unlock()
		var rp *bool
		if !want {
			f := false
			rp = &f
		}
		s.emit(&subject.Line{Type: subject.TSend, ID: id, To: t, Body: body, Reply: rp, Meta: meta})
		if !want {
			continue
		}
		// The reply goes to the producer when it comes; RunProducer turns
		// one that does not come within timeout into TIMEOUT.
		go func() {
			timer := time.NewTimer(timeout)
			defer timer.Stop()
			select {
			case r := <-ch:
				cb(r.target, r.r)
			case <-timer.C:
			case <-ctx.Done():
			}
			s.mu.Lock()
			delete(s.waiters, id)
			s.mu.Unlock()
		}()
	}
}

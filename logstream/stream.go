package logstream

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/spf13/afero"
)

// Clock is the time source of the real driver. github.com/benbjohnson/clock's
// Clock and Mock satisfy it; keeping it this small makes a maintained fork a
// one-line swap.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Errors returned by StreamLog and RegisterStreamProcessing.
var (
	// ErrNoEngine: the Sender or Receiver is nil.
	ErrNoEngine = errors.New("logstream: nil engine")
	// ErrBadArgument: a required argument is empty or malformed.
	ErrBadArgument = errors.New("logstream: bad argument")
	// ErrNoIdentity: the file system gives no file identity (FileInfo.Sys()
	// is not a *syscall.Stat_t, as on afero.MemMapFs), so a rename rotation
	// could never be noticed.
	ErrNoIdentity = errors.New("logstream: file system without file identity")
)

// StreamConfig says what StreamLog streams and how: the arguments of
// FLARE's LogStreamer.stream_log, by name.
type StreamConfig struct {
	// Sender carries the stream (FLARE's engine); required.
	Sender Sender
	// Channel and Topic select the receivers' registration (FLARE's
	// channel and topic); required.
	Channel, Topic string
	// Context is the stream context sent to the receivers (FLARE's
	// stream_ctx); StreamLog sends a copy with KeyFileName set to
	// FileName's base name (FLARE mutates the caller's dict). nil: empty.
	Context StreamContext
	// Targets are the receivers, by the names the Sender reaches them by
	// (FLARE's targets); at least one, each non-empty and distinct.
	Targets []string
	// FileName is the log to tail (FLARE's file_name); required. The file
	// need not exist yet; its directory must.
	FileName string
	// Fs is the file system to tail; nil means the OS file system. It must
	// give file identity (see ErrNoIdentity).
	Fs afero.Fs
	// Clock is the time source; nil means the real clock.
	Clock Clock
	// Options tune the sending side (FLARE's keyword arguments and more);
	// the zero value selects the defaults.
	Options TailOptions
	// Observe, if set, is told of every TailEvent, on the engine's
	// goroutine.
	Observe func(TailEvent)
	// NoFileEvents turns off waking on file-system events (fsnotify, on
	// the OS file system): the tailer then only polls. Set it inside a
	// testing/synctest bubble, which cannot wait out a goroutine blocked
	// in a system call.
	NoFileEvents bool
}

// StreamLog starts streaming cfg.FileName to cfg.Targets on
// cfg.Channel:cfg.Topic through cfg.Sender, like FLARE's
// LogStreamer.stream_log, and returns at once with a handle.
//
// The stream ends in one of three ways:
//
//   - Stop (FLARE's stop_event): every byte written before the stop (and
//     during the drain window, TailOptions.DrainWindow) goes out, followed
//     by EOF;
//   - every target failed (retries or the NOT_READY wait spent, a
//     receiver that ended the stream);
//   - ctx is done: the run is aborted, receivers end with TASK_ABORTED.
//
// Wait returns how it ended. The error of StreamLog itself is non-nil only
// for a bad config (ErrNoEngine, ErrBadArgument, an *OptionError naming the
// option), a file system without file identity (ErrNoIdentity), or a file
// that exists but cannot be opened; nothing was sent then.
func StreamLog(ctx context.Context, cfg StreamConfig) (*LogStream, error) {
	if cfg.Sender == nil {
		return nil, ErrNoEngine
	}
	if err := checkTargets(cfg.Channel, cfg.Topic, cfg.Targets); err != nil {
		return nil, err
	}
	if cfg.FileName == "" {
		return nil, fmt.Errorf("%w: empty file name", ErrBadArgument)
	}
	topt, err := ValidateStream(cfg.Options, 0)
	if err != nil {
		return nil, err
	}
	fsys := cfg.Fs
	if fsys == nil {
		fsys = afero.NewOsFs()
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.New()
	}
	if err := checkFile(fsys, cfg.FileName); err != nil {
		return nil, err
	}
	sctx := cfg.Context.Clone()
	if sctx == nil {
		sctx = StreamContext{}
	}
	sctx[KeyFileName] = filepath.Base(cfg.FileName)
	targets := slices.Clone(cfg.Targets)
	tail := NewTailer(fsys, cfg.FileName, topt, cfg.Observe)
	stop := make(chan struct{})
	p := &stoppable{LogProducer: NewLogProducer(tail, topt, sctx, targets, clk.Now()), stop: stop}
	if !cfg.NoFileEvents {
		p.events = watchEvents(fsys, cfg.FileName, stop)
	}
	s := &LogStream{p: p, clk: clk, stop: stop, done: make(chan struct{})}
	go func() {
		res, err := cfg.Sender.StreamObjects(ctx, cfg.Channel, cfg.Topic, sctx, targets, p)
		if p.events != nil {
			p.events.close()
		}
		p.mu.Lock()
		s.final = p.LogProducer.Stats(clk.Now())
		tail.Close()
		p.mu.Unlock()
		s.res, s.err = res, streamError(ctx, res, err)
		close(s.done)
	}()
	return s, nil
}

// LogStream is a stream StreamLog started. Its methods may be called from
// any goroutine.
type LogStream struct {
	p        *stoppable
	clk      Clock
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	final    Stats // set before done is closed
	res      Result
	err      error
}

// Stop ends the stream the normal way, like setting FLARE's stop_event:
// what was written before it (and during the drain window) is sent, then
// EOF. It returns at once; Wait waits for the end. Later calls do nothing.
// To abort instead, cancel the context given to StreamLog.
func (s *LogStream) Stop() { s.stopOnce.Do(func() { close(s.stop) }) }

// Done is closed when the stream has ended; Wait then returns at once.
func (s *LogStream) Done() <-chan struct{} { return s.done }

// Wait blocks until the stream has ended and returns its Result, with one
// entry per target. The error is nil when every target acknowledged EOF
// (Result.RC is OK); otherwise it is a *StreamError carrying the same
// Result (and, after an abort, the context's error: errors.Is(err,
// context.Canceled) holds).
func (s *LogStream) Wait() (Result, error) {
	<-s.done
	return s.res, s.err
}

// Stats returns a snapshot of how each target keeps up; after the end, the
// one taken as the stream ended.
func (s *LogStream) Stats() Stats {
	select {
	case <-s.done:
		return s.final
	default:
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	select {
	case <-s.done: // ended while we waited for the lock
		return s.final
	default:
	}
	return s.p.LogProducer.Stats(s.clk.Now())
}

// StreamError is the error of a stream that did not end OK: some target
// failed, the run was aborted, or the engine failed. Use errors.As to get
// the Result.
type StreamError struct {
	// Result is how the stream ended, per target.
	Result Result
	// Err is the cause beyond the targets' outcomes, if any: the context's
	// error after an abort, or the engine's error.
	Err error
}

// Error says how the stream ended and why for each target that failed.
func (e *StreamError) Error() string {
	var b strings.Builder
	rc := e.Result.RC
	if rc == "" {
		rc = Error
	}
	fmt.Fprintf(&b, "logstream: stream ended %s", rc)
	for _, t := range e.Result.Targets {
		if t.RC == OK {
			continue
		}
		fmt.Fprintf(&b, "; %s: %s", t.Target, t.RC)
		if t.Reason != "" {
			fmt.Fprintf(&b, " (%s)", t.Reason)
		}
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *StreamError) Unwrap() error { return e.Err }

// streamError is Wait's error for an engine's (res, err).
func streamError(ctx context.Context, res Result, err error) error {
	if err == nil && res.RC == OK {
		return nil
	}
	if err == nil && res.RC == TaskAborted && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return &StreamError{Result: res, Err: err}
}

func checkTargets(channel, topic string, targets []string) error {
	if channel == "" || topic == "" {
		return fmt.Errorf("%w: channel and topic must not be empty", ErrBadArgument)
	}
	if len(targets) == 0 {
		// FLARE streams to nobody and calls it success (H10).
		return fmt.Errorf("%w: no targets", ErrBadArgument)
	}
	seen := map[string]bool{}
	for _, t := range targets {
		if t == "" || seen[t] {
			return fmt.Errorf("%w: target %q empty or repeated", ErrBadArgument, t)
		}
		seen[t] = true
	}
	return nil
}

// checkFile rejects a file whose directory is missing and a file that exists
// but cannot be opened.
func checkFile(fsys afero.Fs, name string) error {
	dir := filepath.Dir(name)
	fi, err := fsys.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w: directory of %s: %w", ErrBadArgument, name, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrBadArgument, dir)
	}
	if _, ok := Identity(fi); !ok {
		return fmt.Errorf("%w: %s on %s (use afero.OsFs, or a layer that passes its FileInfo through)", ErrNoIdentity, dir, fsys.Name())
	}
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logstream: open %s: %w", name, err)
	}
	return f.Close()
}

// stoppable turns a stop channel into a Stop call at the next Next, and
// file-system events into LogProducer.Poll (a write to the log) or
// LogProducer.Changed (anything else).
type stoppable struct {
	// mu makes the producer safe for LogStream.Stats beside the engine's
	// goroutine.
	mu sync.Mutex
	*LogProducer
	stop    <-chan struct{}
	stopped bool
	events  *fileEvents // nil: polling only
}

func (s *stoppable) Next(now time.Time) Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped && s.stop != nil {
		select {
		case <-s.stop:
			s.stopped = true
			s.LogProducer.Stop(now)
		default:
		}
	}
	if s.events != nil && s.events.written.Swap(false) {
		// Ask the tailer now, not at its last wait's end: a write has data
		// to read; anything else also makes it look at the names.
		if s.events.changed.Swap(false) {
			s.LogProducer.Changed(now)
		} else {
			s.LogProducer.Poll()
		}
	}
	return s.LogProducer.Next(now)
}

// Reply implements Producer.
func (s *stoppable) Reply(now time.Time, id uint64, target string, r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.LogProducer.Reply(now, id, target, r)
}

// Abort implements Producer.
func (s *stoppable) Abort(now time.Time) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.LogProducer.Abort(now)
}

// Stats implements StatsReporter.
func (s *stoppable) Stats(now time.Time) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.LogProducer.Stats(now)
}

// Wake implements Waker.
func (s *stoppable) Wake() <-chan struct{} {
	if s.events != nil {
		return s.events.wake // the stop wakes it too
	}
	if s.stopped {
		return nil
	}
	return s.stop
}

// Waker is implemented by producers that want to be asked again before a
// StepWait's time when the returned channel becomes ready.
type Waker interface {
	Wake() <-chan struct{}
}

// SendFunc starts delivering msg to every target and returns without
// waiting for the replies; it may block only briefly (to hand the message to
// a per-target queue, say). For each target it calls reply at most once,
// from any goroutine, with the target's reply (COMMUNICATION_ERROR when the
// message could not be sent). RunProducer turns a reply that did not come
// within timeout into TIMEOUT and ignores it if it comes later. For an Abort
// message reply is nil and timeout 0. msg.Data may be used until the
// target's reply is reported and, after a TIMEOUT, as long as the engine
// needs it: the producer never reuses a buffer whose message timed out.
type SendFunc func(ctx context.Context, msg *Message, targets []string, timeout time.Duration, reply func(target string, r Reply))

var (
	streamSeq   atomic.Uint64
	streamEpoch = newEpoch()
)

// epochLen is the length of the epoch part of a stream ID.
const epochLen = 16

// newEpoch returns 16 random hex digits naming this process among the
// processes that send streams with the same prefix.
func newEpoch() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; the time is a
		// good enough epoch if it ever does.
		binary.BigEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
	}
	return hex.EncodeToString(b[:])
}

// NewStreamID returns a stream ID unique across processes:
// prefix-EPOCH-SEQ, where EPOCH (16 hex digits) names this process and SEQ
// (from 1) counts the IDs it made. A Dispatcher uses the two to refuse a
// late first message of a stream it ended long ago (see Dispatcher).
func NewStreamID(prefix string) string {
	return prefix + "-" + streamEpoch + "-" + strconv.FormatUint(streamSeq.Add(1), 10)
}

// inReply is a reply on its way from an engine goroutine to RunProducer.
type inReply struct {
	id     uint64
	target string
	r      Reply
}

// inbox collects replies from any goroutine without ever blocking them.
type inbox struct {
	mu     sync.Mutex
	q      []inReply
	signal chan struct{}
}

func (b *inbox) put(r inReply) {
	b.mu.Lock()
	b.q = append(b.q, r)
	b.mu.Unlock()
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

func (b *inbox) take(into []inReply) []inReply {
	b.mu.Lock()
	into = append(into[:0], b.q...)
	b.q = b.q[:0]
	b.mu.Unlock()
	return into
}

type replyKey struct {
	id     uint64
	target string
}

// RunProducer is the sending loop of a real engine: it drives p with clk
// until p is done or ctx ends, stamping each message with id, channel, topic
// and a sequence number and starting its delivery with send. It asks p for
// the next step without waiting for replies, hands each reply to p when it
// comes, and a TIMEOUT when it did not come within the step's Timeout. An
// engine's StreamObjects can be this one call.
func RunProducer(ctx context.Context, clk Clock, id, channel, topic string, p Producer, send SendFunc) (Result, error) {
	var seq uint64
	box := &inbox{signal: make(chan struct{}, 1)}
	due := map[replyKey]time.Time{} // replies still expected, by deadline
	var got []inReply
	for {
		if ctx.Err() != nil {
			return abortAll(clk, id, channel, topic, p, send, seq)
		}
		now := clk.Now()
		got = box.take(got)
		for _, r := range got {
			k := replyKey{r.id, r.target}
			if _, ok := due[k]; ok {
				delete(due, k)
				p.Reply(now, r.id, r.target, r.r)
			}
		}
		var deadline time.Time
		for k, at := range due {
			if !now.Before(at) {
				delete(due, k)
				p.Reply(now, k.id, k.target, Reply{RC: Timeout})
			} else {
				deadline = earliest(deadline, at)
			}
		}
		st := p.Next(now)
		switch st.Kind {
		case StepDone:
			return st.Result, nil
		case StepSend:
			m := st.Msg
			m.StreamID, m.Channel, m.Topic, m.Seq = id, channel, topic, seq
			seq++
			if m.Kind == KindAbort {
				send(ctx, &m, st.Targets, 0, nil)
				continue
			}
			sid := st.ID
			for _, t := range st.Targets {
				due[replyKey{sid, t}] = now.Add(st.Timeout)
			}
			send(ctx, &m, st.Targets, st.Timeout, func(target string, r Reply) {
				box.put(inReply{sid, target, r})
			})
		case StepWait:
			var wake <-chan struct{}
			if w, ok := p.(Waker); ok {
				wake = w.Wake()
			}
			until := st.Until
			if !deadline.IsZero() {
				until = earliest(until, deadline)
			}
			select {
			case <-ctx.Done():
			case <-wake:
			case <-box.signal:
			case <-clk.After(until.Sub(now)):
			}
		default:
			return Result{}, fmt.Errorf("logstream: producer returned step kind %d", st.Kind)
		}
	}
}

func abortAll(clk Clock, id, channel, topic string, p Producer, send SendFunc, seq uint64) (Result, error) {
	res := p.Abort(clk.Now())
	var to []string
	for _, t := range res.Targets {
		to = append(to, t.Target)
	}
	m := Message{StreamID: id, Channel: channel, Topic: topic, Seq: seq, Kind: KindAbort}
	send(context.Background(), &m, to, 0, nil)
	return res, nil
}

// RegisterStreamProcessing registers a log consumer for channel:topic on r,
// like FLARE's LogStreamer.register_stream_processing: chunk gets each byte
// once, in order (heartbeats are absorbed); done is called once per stream
// with info.RC set; opt.IdleTimeout ends a silent stream with TIMEOUT (the
// zero ReceiveOptions: DefaultIdleTimeout, FLARE's default; NoIdleTimeout
// turns the watchdog off). A bad option is an *OptionError naming it.
func RegisterStreamProcessing(r Receiver, channel, topic string, chunk ChunkFunc, done DoneFunc, opt ReceiveOptions) error {
	if r == nil {
		return ErrNoEngine
	}
	if err := opt.Validate(); err != nil {
		return err
	}
	if channel == "" || topic == "" {
		return fmt.Errorf("%w: channel and topic must not be empty", ErrBadArgument)
	}
	return r.RegisterStreamProcessing(channel, topic, &LogConsumerFactory{Chunk: chunk, ReceiveOptions: opt}, done)
}

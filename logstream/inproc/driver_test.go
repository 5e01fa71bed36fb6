package inproc_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"go.uber.org/goleak"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/inproc"
	"github.com/logstream-sim/logstream-sim/simfs"
)

// Driver tests: StreamLog and RunProducer with the in-process engine, real
// goroutines and clock.New() inside a synctest bubble (virtual time: the
// sleeps below take no real time). goleak checks that nothing is left
// running after each bubble.

const (
	dch    = "log_streaming"
	dtopic = "live_log"
	dlog   = "/logs/app.log"
)

var dopts = logstream.TailOptions{
	PollInterval: 100 * time.Millisecond, LivenessInterval: time.Second, IdleTimeout: 3 * time.Second,
	ChunkSize: 16, ChunkTimeout: 500 * time.Millisecond, DrainWindow: 2 * time.Second,
	RetryBackoff: 50 * time.Millisecond, MaxRetryBackoff: 400 * time.Millisecond,
}

// sink is one receiving application.
type sink struct {
	mu    sync.Mutex
	data  strings.Builder
	dones []logstream.ReturnCode
	done  chan logstream.ReturnCode
}

func newSink() *sink { return &sink{done: make(chan logstream.ReturnCode, 4)} }

func (s *sink) register(t *testing.T, e *inproc.Engine) {
	t.Helper()
	err := logstream.RegisterStreamProcessing(e, dch, dtopic,
		func(data []byte, _ *logstream.StreamInfo) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.dones) > 0 {
				t.Error("chunk after done")
			}
			s.data.Write(data)
			return nil
		},
		func(info *logstream.StreamInfo) {
			s.mu.Lock()
			s.dones = append(s.dones, info.RC)
			s.mu.Unlock()
			s.done <- info.RC
		}, logstream.ReceiveOptions{IdleTimeout: dopts.IdleTimeout})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *sink) got() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.String()
}

func (s *sink) doneRCs() []logstream.ReturnCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]logstream.ReturnCode(nil), s.dones...)
}

// rig is a sender engine, receiver engines and an in-memory file system
// whose clock is the bubble's.
type rig struct {
	t       *testing.T
	net     *inproc.Network
	send    *inproc.Engine
	fs      *simfs.FS
	written strings.Builder
	res     chan logstream.Result
}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, net: inproc.NewNetwork(clock.New()), fs: simfs.New(time.Now), res: make(chan logstream.Result, 1)}
	r.send = r.net.Engine("client")
	if err := r.fs.MkdirAll("/logs", 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) write(s string) {
	r.t.Helper()
	f, err := r.fs.OpenFile(dlog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		r.t.Fatal(err)
	}
	r.written.WriteString(s)
}

// start runs StreamLog to targets and stops the stream when stop closes (nil:
// never). The result goes to r.res; Wait's error must be nil exactly when
// the stream ended OK, and otherwise a *StreamError carrying the result.
func (r *rig) start(ctx context.Context, stop <-chan struct{}, targets ...string) {
	stream, err := logstream.StreamLog(ctx, logstream.StreamConfig{Sender: r.send, Channel: dch, Topic: dtopic,
		Context: logstream.StreamContext{"job": "j1"}, Targets: targets, FileName: dlog, Fs: r.fs, Options: dopts})
	if err != nil {
		r.t.Error(err)
		r.res <- logstream.Result{}
		return
	}
	go func() {
		select {
		case <-stop:
			stream.Stop()
		case <-stream.Done():
		}
		res, err := stream.Wait()
		checkStreamError(r.t, res, err)
		r.res <- res
	}()
}

// checkStreamError checks Wait's error against its result.
func checkStreamError(t *testing.T, res logstream.Result, err error) {
	t.Helper()
	var se *logstream.StreamError
	switch {
	case res.RC == logstream.OK && err != nil:
		t.Errorf("stream ended OK with error %v", err)
	case res.RC != logstream.OK && !errors.As(err, &se):
		t.Errorf("stream ended %s with error %v, want a *StreamError", res.RC, err)
	case res.RC != logstream.OK && !reflect.DeepEqual(se.Result, res):
		t.Errorf("StreamError carries %+v, Wait returned %+v", se.Result, res)
	}
}

func bubble(t *testing.T, f func(t *testing.T)) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, f)
}

func oneDone(t *testing.T, s *sink, want logstream.ReturnCode) {
	t.Helper()
	synctest.Wait()
	if rcs := s.doneRCs(); len(rcs) != 1 || rcs[0] != want {
		t.Fatalf("done %v, want exactly one %s", rcs, want)
	}
}

// Stop with drain: everything written before the stop, including a backlog
// much larger than one chunk, is delivered, then EOF: done OK once, Result OK.
func TestDriverStopDrains(t *testing.T) {
	bubble(t, func(t *testing.T) {
		r := newRig(t)
		recv := r.net.Engine("server")
		defer recv.Shutdown()
		defer r.send.Shutdown()
		s := newSink()
		s.register(t, recv)
		stop := make(chan struct{})
		r.start(context.Background(), stop, "server")
		for i := range 20 {
			r.write(strings.Repeat(string(rune('a'+i)), 37) + "\n")
			time.Sleep(35 * time.Millisecond)
		}
		r.write(strings.Repeat("backlog at stop\n", 50))
		close(stop)
		res := <-r.res
		if res.RC != logstream.OK {
			t.Fatalf("%+v", res)
		}
		if s.got() != r.written.String() {
			t.Fatalf("got %d bytes, want %d", len(s.got()), r.written.Len())
		}
		oneDone(t, s, logstream.OK)
	})
}

// Heartbeats keep a quiet stream alive far past IdleTimeout (3s): 20s of
// silence, then more data and a normal end.
func TestDriverHeartbeatsKeepQuietStreamAlive(t *testing.T) {
	bubble(t, func(t *testing.T) {
		r := newRig(t)
		recv := r.net.Engine("server")
		defer recv.Shutdown()
		defer r.send.Shutdown()
		s := newSink()
		s.register(t, recv)
		stop := make(chan struct{})
		r.write("hello\n")
		r.start(context.Background(), stop, "server")
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if rcs := s.doneRCs(); len(rcs) != 0 || recv.Open() != 1 {
			t.Fatalf("quiet stream ended: done %v open %d", rcs, recv.Open())
		}
		r.write("still here\n")
		time.Sleep(time.Second)
		close(stop)
		if res := <-r.res; res.RC != logstream.OK || s.got() != r.written.String() {
			t.Fatalf("%+v got %q", res, s.got())
		}
		oneDone(t, s, logstream.OK)
	})
}

// H8 through the driver: the receiver registers 5s after the stream started
// (NOT_READY meanwhile, data already written); the stream then starts and
// every byte arrives once.
func TestDriverReceiverRegisteredLate(t *testing.T) {
	bubble(t, func(t *testing.T) {
		r := newRig(t)
		recv := r.net.Engine("server")
		defer recv.Shutdown()
		defer r.send.Shutdown()
		s := newSink()
		stop := make(chan struct{})
		r.start(context.Background(), stop, "server")
		r.write("written before the receiver exists\n")
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if recv.Open() != 0 || s.got() != "" {
			t.Fatal("stream exists before registration")
		}
		s.register(t, recv)
		r.write("written after\n")
		time.Sleep(2 * time.Second)
		close(stop)
		if res := <-r.res; res.RC != logstream.OK || s.got() != r.written.String() {
			t.Fatalf("%+v got %q want %q", res, s.got(), r.written.String())
		}
		oneDone(t, s, logstream.OK)
	})
}

// Abort: cancelling the context ends the stream promptly; every receiver ends
// with TASK_ABORTED (once) and the Result with TASK_ABORTED.
func TestDriverContextCancel(t *testing.T) {
	bubble(t, func(t *testing.T) {
		r := newRig(t)
		a, b := r.net.Engine("a"), r.net.Engine("b")
		defer a.Shutdown()
		defer b.Shutdown()
		defer r.send.Shutdown()
		sa, sb := newSink(), newSink()
		sa.register(t, a)
		sb.register(t, b)
		ctx, cancel := context.WithCancel(context.Background())
		r.write("some data\n")
		r.start(ctx, nil, "a", "b")
		time.Sleep(1500 * time.Millisecond)
		r.write("more\n")
		time.Sleep(200 * time.Millisecond)
		cancel()
		res := <-r.res
		if res.RC != logstream.TaskAborted {
			t.Fatalf("%+v", res)
		}
		for _, tr := range res.Targets {
			if tr.RC != logstream.TaskAborted {
				t.Fatalf("%+v", res)
			}
		}
		oneDone(t, sa, logstream.TaskAborted)
		oneDone(t, sb, logstream.TaskAborted)
		if a.Open()+b.Open() != 0 {
			t.Fatal("streams left open")
		}
	})
}

// H16 through the driver: the receiving engine shuts down mid-stream; its
// stream ends with TASK_ABORTED, the sender gives the target up and returns
// (no stream left hanging), and a healthy second target is unaffected (H11).
func TestDriverReceiverShutdown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		r := newRig(t)
		a, b := r.net.Engine("a"), r.net.Engine("b")
		defer b.Shutdown()
		defer r.send.Shutdown()
		sa, sb := newSink(), newSink()
		sa.register(t, a)
		sb.register(t, b)
		stop := make(chan struct{})
		r.start(context.Background(), stop, "a", "b")
		r.write("before shutdown\n")
		time.Sleep(time.Second)
		a.Shutdown()
		oneDone(t, sa, logstream.TaskAborted)
		r.write("after shutdown\n")
		time.Sleep(time.Second)
		close(stop)
		res := <-r.res
		ta, _ := res.Target("a")
		tb, _ := res.Target("b")
		if res.RC != logstream.Error || ta.RC != logstream.TaskAborted || tb.RC != logstream.OK {
			t.Fatalf("%+v", res)
		}
		if sb.got() != r.written.String() || !strings.HasPrefix(r.written.String(), sa.got()) {
			t.Fatalf("b got %q, a got %q", sb.got(), sa.got())
		}
		oneDone(t, sb, logstream.OK)
	})
}

// Shutdown of the only receiver: the sender's StreamLog returns on its own
// with an error result, without a stop.
func TestDriverOnlyReceiverShutdown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		r := newRig(t)
		recv := r.net.Engine("server")
		defer r.send.Shutdown()
		s := newSink()
		s.register(t, recv)
		r.write("x\n")
		r.start(context.Background(), nil, "server")
		time.Sleep(time.Second)
		recv.Shutdown()
		res := <-r.res
		if tr, _ := res.Target("server"); res.RC != logstream.Error || tr.RC != logstream.TaskAborted {
			t.Fatalf("%+v", res)
		}
		oneDone(t, s, logstream.TaskAborted)
	})
}

// The LogStream handle: Stats may be called from any goroutine while the
// stream runs (-race checks it) and, after the end, returns the final
// snapshot; Stop and Wait may be called more than once; an abort's error is
// a *StreamError that wraps the context's error.
func TestDriverLogStreamHandle(t *testing.T) {
	bubble(t, func(t *testing.T) {
		r := newRig(t)
		recv := r.net.Engine("server")
		defer recv.Shutdown()
		defer r.send.Shutdown()
		s := newSink()
		s.register(t, recv)
		r.write("first\n")
		stream, err := logstream.StreamLog(context.Background(), logstream.StreamConfig{Sender: r.send, Channel: dch, Topic: dtopic,
			Targets: []string{"server"}, FileName: dlog, Fs: r.fs, Options: dopts})
		if err != nil {
			t.Fatal(err)
		}
		polled := make(chan struct{})
		go func() {
			defer close(polled)
			for {
				select {
				case <-stream.Done():
					return
				case <-time.After(10 * time.Millisecond):
					if st := stream.Stats(); len(st.Targets) != 1 || st.Targets[0].Target != "server" {
						t.Errorf("stats %v", st)
					}
				}
			}
		}()
		time.Sleep(time.Second)
		r.write("second\n")
		time.Sleep(time.Second)
		stream.Stop()
		stream.Stop()
		res, err := stream.Wait()
		<-polled
		if res.RC != logstream.OK || err != nil {
			t.Fatalf("%+v %v", res, err)
		}
		if res2, err2 := stream.Wait(); !reflect.DeepEqual(res2, res) || err2 != nil {
			t.Fatalf("second Wait: %+v %v", res2, err2)
		}
		st := stream.Stats()
		if n := int64(r.written.Len()); st.Read != n || st.Targets[0].Acked != n || st.Targets[0].RC != logstream.OK {
			t.Fatalf("final stats %v, want %d bytes read and acknowledged", st, n)
		}
		oneDone(t, s, logstream.OK)

		// An abort (a fresh sink: the first saw its done).
		newSink().register(t, recv)
		ctx, cancel := context.WithCancel(context.Background())
		stream, err = logstream.StreamLog(ctx, logstream.StreamConfig{Sender: r.send, Channel: dch, Topic: dtopic,
			Targets: []string{"server"}, FileName: dlog, Fs: r.fs, Options: dopts})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		cancel()
		res, err = stream.Wait()
		var se *logstream.StreamError
		if !errors.As(err, &se) || !errors.Is(err, context.Canceled) || se.Result.RC != logstream.TaskAborted ||
			!reflect.DeepEqual(se.Result, res) || !strings.Contains(err.Error(), "server: TASK_ABORTED") {
			t.Fatalf("abort: %+v, error %v", res, err)
		}
	})
}

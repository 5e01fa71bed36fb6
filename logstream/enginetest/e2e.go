package enginetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/simfs"
)

func init() {
	cases = append(cases,
		kcase{"StreamLogExactlyOnce", streamLog(e2e{})},
		kcase{"StreamLogDroppedRequests", streamLog(e2e{faults: Faults{Seed: 1, DropRequest: 0.3}})},
		kcase{"StreamLogLostReplies", streamLog(e2e{faults: Faults{Seed: 2, LoseReply: 0.3}})},
		kcase{"StreamLogDuplicates", streamLog(e2e{faults: Faults{Seed: 3, Duplicate: 0.3}})},
		kcase{"StreamLogDelays", streamLog(e2e{faults: Faults{Seed: 4, Delay: 0.5}, delay: true})},
		kcase{"StreamLogAllFaults", streamLog(e2e{faults: Faults{Seed: 5, DropRequest: 0.15, LoseReply: 0.15, Duplicate: 0.15, Delay: 0.3}, delay: true})},
		kcase{"StreamLogLateReceiver", streamLog(e2e{faults: Faults{Seed: 6, DropRequest: 0.1, LoseReply: 0.1}, late: true})},
		kcase{"StreamLogFailingTarget", streamLog(e2e{failing: true})},
	)
}

// e2e is one end-to-end run of the real streamer.
type e2e struct {
	faults  Faults
	delay   bool // set MaxDelay from Options.Short
	late    bool // the last target registers during the stream
	failing bool // the last target never registers
}

const logFile = "/logs/app.log"

// logRun is a LogProducer made at the first Next (so that its clock is the
// engine's) that writes, rotates and stops the file at given steps.
type logRun struct {
	e       *env
	fs      *simfs.FS
	opt     logstream.TailOptions
	targets []string
	p       *logstream.LogProducer
	tail    *logstream.Tailer
	nexts   int
	events  map[int]func(now time.Time)
	want    bytes.Buffer
	line    int

	mu  sync.Mutex
	now time.Time
}

func (l *logRun) clock() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.now
}

func (l *logRun) setNow(now time.Time) {
	l.mu.Lock()
	l.now = now
	l.mu.Unlock()
}

// write appends n bytes of numbered lines to the file at the path.
func (l *logRun) write(n int) {
	f, err := l.fs.OpenFile(logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		l.e.errorf("kit", "write %s: %v", logFile, err)
		return
	}
	defer f.Close()
	var b bytes.Buffer
	for b.Len() < n {
		l.line++
		fmt.Fprintf(&b, "line %06d of the kit's log, padded to vary lengths%s\n", l.line, bytes.Repeat([]byte{'.'}, l.line%17))
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		l.e.errorf("kit", "write %s: %v", logFile, err)
		return
	}
	l.want.Write(b.Bytes())
}

// rotate renames the file away, as a rename rotation does.
func (l *logRun) rotate() {
	if err := l.fs.Rename(logFile, logFile+".1"); err != nil {
		l.e.errorf("kit", "rotate: %v", err)
	}
}

func (l *logRun) Next(now time.Time) logstream.Step {
	l.setNow(now)
	if l.p == nil {
		l.tail = logstream.NewTailer(l.fs, logFile, l.opt, nil)
		l.p = logstream.NewLogProducer(l.tail, l.opt, kitContext(), l.targets, now)
	}
	l.nexts++
	if ev := l.events[l.nexts]; ev != nil {
		ev(now)
	}
	return l.p.Next(now)
}

func (l *logRun) Reply(now time.Time, id uint64, target string, r logstream.Reply) {
	l.setNow(now)
	l.p.Reply(now, id, target, r)
}

func (l *logRun) Abort(now time.Time) logstream.Result {
	l.setNow(now)
	if l.p == nil {
		l.p = logstream.NewLogProducer(logstream.NewTailer(l.fs, logFile, l.opt, nil), l.opt, kitContext(), l.targets, now)
	}
	return l.p.Abort(now)
}

// sink collects what one target's LogConsumer forwarded.
type sink struct {
	mu    sync.Mutex
	data  bytes.Buffer
	dones []logstream.ReturnCode
}

func streamLog(c e2e) func(e *env) {
	return func(e *env) {
		to := e.upTo(2)
		if (c.late || c.failing) && len(to) < 2 {
			e.skipf("needs two receivers; the Pair has %d", len(to))
			return
		}
		last := to[len(to)-1]
		opt := logstream.TailOptions{
			PollInterval:     2 * time.Millisecond,
			LivenessInterval: 2 * e.opt.Short,
			ChunkSize:        1000,
			ChunkTimeout:     e.long(),
			DrainWindow:      e.opt.Short,
			RetryBackoff:     time.Millisecond,
			MaxRetryBackoff:  e.opt.Short / 5,
			RetryLimit:       10,
			// Registration precedes the stream (or, for the late target,
			// happens a few steps in): only a hang reaches this.
			NotReadyTimeout: e.long(),
			Window:          e.opt.Window,
		}
		if c.failing {
			opt.NotReadyTimeout = 5 * e.opt.Short
		}
		opt, err := opt.Normalize()
		if err != nil {
			e.errorf("kit", "options: %v", err)
			return
		}
		faults := c.faults
		if c.delay {
			faults.MaxDelay = e.opt.Short / 5
		}

		l := &logRun{e: e, opt: opt, targets: to}
		l.fs = simfs.New(l.clock)
		if err := l.fs.MkdirAll("/logs", 0o755); err != nil {
			e.errorf("kit", "mkdir: %v", err)
			return
		}
		sinks := map[string]*sink{}
		rec := newRecorder(e) // only its change signal is used
		register := func(t string) {
			k := &sink{}
			sinks[t] = k
			err := logstream.RegisterStreamProcessing(e.pair.Receivers[t], kitChannel, kitTopic,
				func(b []byte, _ *logstream.StreamInfo) error {
					k.mu.Lock()
					k.data.Write(b)
					k.mu.Unlock()
					return nil
				},
				func(info *logstream.StreamInfo) {
					k.mu.Lock()
					k.dones = append(k.dones, info.RC)
					k.mu.Unlock()
					rec.signal()
				}, logstream.ReceiveOptions{NoIdleTimeout: true})
			if err != nil {
				e.errorf("registration", "%s: %v", t, err)
			}
		}
		for _, t := range to {
			if (c.late || c.failing) && t == last {
				continue
			}
			register(t)
		}
		l.write(8000)
		l.events = map[int]func(time.Time){
			5:  func(time.Time) { l.write(4000) },
			10: func(time.Time) { l.rotate(); l.write(3000) },
			15: func(time.Time) { l.write(2000) },
			20: func(now time.Time) { l.p.Stop(now) },
		}
		if c.late {
			l.events[12] = func(time.Time) { register(last) }
		}

		eng := e.pair.Sender
		if faults != (Faults{}) {
			eng = Faulty(eng, faults)
		}
		res, err := eng.StreamObjects(context.Background(), kitChannel, kitTopic, kitContext(), to, l)
		if l.tail != nil {
			defer l.tail.Close()
		}
		e.settle()
		if err != nil {
			e.errorf(clResult, "StreamObjects returned error %v", err)
		}
		if l.p == nil {
			e.errorf(clResult, "StreamObjects returned (%s, %v) without asking the producer for a step", fmtResult(res), err)
			return
		}
		if want, ok := l.p.Result(); !ok {
			e.errorf(clResult, "StreamObjects returned (%s) before the LogProducer was done", fmtResult(res))
		} else if !sameResult(res, want) {
			e.errorf(clResult, "StreamObjects returned %s, not the producer's result %s", fmtResult(res), fmtResult(want))
		}
		healthy := slices.Clone(to)
		if c.failing {
			healthy = to[:len(to)-1]
		}
		// Wait for the done callbacks of the targets the producer saw
		// acknowledge EOF; the others may never get one.
		var acked []string
		for _, t := range healthy {
			if tr, ok := res.Target(t); ok && tr.RC == logstream.OK {
				acked = append(acked, t)
			}
		}
		e.waitUntil(rec, "the done callbacks of the targets that acknowledged EOF", func() bool {
			for _, t := range acked {
				k := sinks[t]
				k.mu.Lock()
				n := len(k.dones)
				k.mu.Unlock()
				if n == 0 {
					return false
				}
			}
			return true
		})
		want := l.want.Bytes()
		for _, t := range healthy {
			k := sinks[t]
			k.mu.Lock()
			got, dones := slices.Clone(k.data.Bytes()), slices.Clone(k.dones)
			k.mu.Unlock()
			if !bytes.Equal(got, want) {
				e.errorf(clExactly, "%s: %s", t, diff(got, want))
			}
			if len(dones) != 1 || dones[0] != logstream.OK {
				e.errorf(clDone, "%s: done callbacks %v, want one with OK", t, dones)
			}
			if tr, ok := res.Target(t); !ok || tr.RC != logstream.OK || tr.Acked != int64(len(want)) {
				e.errorf(clExactly, "%s: result %+v, want OK with %d bytes acknowledged", t, tr, len(want))
			}
		}
		switch {
		case c.failing:
			if tr, ok := res.Target(last); !ok || tr.RC == logstream.OK {
				e.errorf(clNoHarm, "%s never registered, yet its result is %+v", last, tr)
			}
			if res.RC == logstream.OK {
				e.errorf(clNoHarm, "the stream's result is OK although %s never registered", last)
			}
		case res.RC != logstream.OK:
			e.errorf(clExactly, "the stream's result is %s, want OK", fmtResult(res))
		}
	}
}

// diff describes how got differs from want.
func diff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("forwarded %d bytes, want %d; first difference at byte %d (got %q, want %q)",
		len(got), len(want), i, excerpt(got, i), excerpt(want, i))
}

func excerpt(b []byte, i int) string {
	if i >= len(b) {
		return ""
	}
	return string(b[i:min(len(b), i+24)])
}

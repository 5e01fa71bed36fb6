package enginetest

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Faults says what Faulty injects. Each probability applies per attempt
// and target (Delay: per send); a seeded PRNG decides, so a run with the
// same sequence of steps sees the same faults.
type Faults struct {
	Seed uint64
	// DropRequest: the message does not reach the target; the producer
	// gets TIMEOUT for it at its next call (without waiting the timeout).
	DropRequest float64
	// LoseReply: the target consumes the message but the producer gets
	// TIMEOUT instead of its reply.
	LoseReply float64
	// Duplicate: the message is sent twice; the first copy's replies are
	// lost.
	Duplicate float64
	// Delay: the send waits up to MaxDelay (engine time) before it goes.
	Delay    float64
	MaxDelay time.Duration
	// MaxInARow caps the consecutive faulted attempts per target (default
	// 3), so that a producer with a retry budget above it never gives up.
	MaxInARow int
}

// Faulty returns s with f injected into every stream it sends: it wraps the
// Producer given to StreamObjects, so it works for any engine without access
// to its transport.
func Faulty(s logstream.Sender, f Faults) logstream.Sender {
	if f.MaxInARow <= 0 {
		f.MaxInARow = 3
	}
	return &faultyEngine{Sender: s, f: f}
}

func newFaultyProducer(p logstream.Producer, f Faults) *faultyProducer {
	if f.MaxInARow <= 0 {
		f.MaxInARow = 3
	}
	return &faultyProducer{p: p, f: f, rng: rand.New(rand.NewPCG(f.Seed, f.Seed^0xfa17)), row: map[string]int{},
		out: map[uint64]*fsend{}}
}

type faultyEngine struct {
	logstream.Sender
	f Faults
}

func (e *faultyEngine) StreamObjects(ctx context.Context, channel, topic string, sctx logstream.StreamContext,
	targets []string, p logstream.Producer) (logstream.Result, error) {
	return e.Sender.StreamObjects(ctx, channel, topic, sctx, targets, newFaultyProducer(p, e.f))
}

type faultyProducer struct {
	p   logstream.Producer
	f   Faults
	rng *rand.Rand
	row map[string]int // consecutive faulted attempts per target

	lastID uint64
	out    map[uint64]*fsend // the engine's send IDs
	queue  []queued          // sends to hand out at their time, in order
	synth  []synth           // TIMEOUT replies for dropped requests

	// counts of injected faults, for the kit's own tests
	nDrop, nLose, nDup, nDelay int
}

// fsend maps one send handed to the engine to the producer's send.
type fsend struct {
	inner   uint64
	swallow bool            // a duplicate's first copy: its replies are lost
	lost    map[string]bool // targets whose reply is lost
	left    int
}

type queued struct {
	at time.Time
	st logstream.Step
}

type synth struct {
	at     time.Time
	id     uint64
	target string
}

func (fp *faultyProducer) chance(p float64) bool { return p > 0 && fp.rng.Float64() < p }

// fault decides the fault for one attempt to target: 0 none, 1 drop, 2 lose.
func (fp *faultyProducer) fault(target string) int {
	k := 0
	switch {
	case fp.row[target] >= fp.f.MaxInARow:
	case fp.chance(fp.f.DropRequest):
		k = 1
	case fp.chance(fp.f.LoseReply):
		k = 2
	}
	if k == 0 {
		fp.row[target] = 0
	} else {
		fp.row[target]++
	}
	return k
}

// flush reports the dropped requests' TIMEOUTs that are due.
func (fp *faultyProducer) flush(now time.Time) {
	for len(fp.synth) > 0 && !now.Before(fp.synth[0].at) {
		s := fp.synth[0]
		fp.synth = fp.synth[1:]
		fp.p.Reply(now, s.id, s.target, logstream.Reply{RC: logstream.Timeout})
	}
}

func (fp *faultyProducer) Next(now time.Time) logstream.Step {
	fp.flush(now)
	if len(fp.queue) > 0 {
		if q := fp.queue[0]; !now.Before(q.at) {
			fp.queue = fp.queue[1:]
			return q.st
		}
	}
	for range 1000 {
		st := fp.p.Next(now)
		if st.Kind == logstream.StepWait {
			if len(fp.queue) > 0 && fp.queue[0].at.Before(st.Until) {
				st.Until = fp.queue[0].at
			}
			if len(fp.synth) > 0 && fp.synth[0].at.Before(st.Until) {
				st.Until = fp.synth[0].at
			}
		}
		if st.Kind != logstream.StepSend {
			return st
		}
		if st.Msg.Kind == logstream.KindAbort {
			fp.lastID++
			st.ID = fp.lastID
			return st
		}
		var to []string
		lost := map[string]bool{}
		for _, t := range st.Targets {
			switch fp.fault(t) {
			case 1:
				fp.nDrop++
				fp.synth = append(fp.synth, synth{now, st.ID, t}) // reported at the next call
			case 2:
				fp.nLose++
				lost[t] = true
				to = append(to, t)
			default:
				to = append(to, t)
			}
		}
		if len(to) == 0 {
			continue
		}
		inner := st.ID
		st.Targets = to
		copies := 1
		if fp.chance(fp.f.Duplicate) {
			copies = 2
			fp.nDup++
		}
		at := now
		if fp.f.MaxDelay > 0 && fp.chance(fp.f.Delay) {
			fp.nDelay++
			at = now.Add(time.Duration(fp.rng.Int64N(int64(fp.f.MaxDelay))) + 1)
		}
		for i := range copies {
			fp.lastID++
			fp.out[fp.lastID] = &fsend{inner: inner, swallow: i < copies-1, lost: lost, left: len(to)}
			cp := st
			cp.ID = fp.lastID
			fp.queue = append(fp.queue, queued{at, cp})
		}
		if q := fp.queue[0]; !now.Before(q.at) {
			fp.queue = fp.queue[1:]
			return q.st
		}
		return logstream.Step{Kind: logstream.StepWait, Until: fp.queue[0].at}
	}
	return logstream.Step{Kind: logstream.StepWait, Until: now.Add(time.Millisecond)}
}

func (fp *faultyProducer) Reply(now time.Time, id uint64, target string, r logstream.Reply) {
	fp.flush(now)
	fs := fp.out[id]
	if fs == nil {
		return
	}
	if fs.left--; fs.left == 0 {
		delete(fp.out, id)
	}
	if fs.swallow {
		return
	}
	if fs.lost[target] {
		r = logstream.Reply{RC: logstream.Timeout}
	}
	fp.p.Reply(now, fs.inner, target, r)
}

func (fp *faultyProducer) Abort(now time.Time) logstream.Result { return fp.p.Abort(now) }

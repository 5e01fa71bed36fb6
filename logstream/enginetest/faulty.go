package enginetest

import (
	"context"
	"maps"
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
	// gets TIMEOUT for it.
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

// Faulty returns e with f injected into every stream it sends: it wraps the
// Producer given to StreamObjects, so it works for any engine without access
// to its transport. Receiving calls go to e unchanged.
func Faulty(e logstream.Engine, f Faults) logstream.Engine {
	if f.MaxInARow <= 0 {
		f.MaxInARow = 3
	}
	return &faultyEngine{Engine: e, f: f}
}

func newFaultyProducer(p logstream.Producer, f Faults) *faultyProducer {
	if f.MaxInARow <= 0 {
		f.MaxInARow = 3
	}
	return &faultyProducer{p: p, f: f, rng: rand.New(rand.NewPCG(f.Seed, f.Seed^0xfa17)), row: map[string]int{}}
}

type faultyEngine struct {
	logstream.Engine
	f Faults
}

func (e *faultyEngine) StreamObjects(ctx context.Context, channel, topic string, sctx logstream.StreamContext,
	targets []string, p logstream.Producer) (logstream.Result, error) {
	return e.Engine.StreamObjects(ctx, channel, topic, sctx, targets, newFaultyProducer(p, e.f))
}

type faultyProducer struct {
	p   logstream.Producer
	f   Faults
	rng *rand.Rand
	row map[string]int // consecutive faulted attempts per target

	cur      logstream.Step // the send in progress
	sendNext bool           // hand cur out at the next Next
	copies   int            // copies of cur still to be answered
	dropped  []string
	lost     []string

	// counts of injected faults, for the kit's own tests
	nDrop, nLose, nDup, nDelay int
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

func (fp *faultyProducer) Next(now time.Time) logstream.Step {
	if fp.sendNext {
		fp.sendNext = false
		return fp.cur
	}
	for range 1000 {
		st := fp.p.Next(now)
		if st.Kind != logstream.StepSend || st.Msg.Kind == logstream.KindAbort {
			return st
		}
		fp.dropped, fp.lost = nil, nil
		var to []string
		for _, t := range st.Targets {
			switch fp.fault(t) {
			case 1:
				fp.dropped = append(fp.dropped, t)
				fp.nDrop++
			case 2:
				fp.lost = append(fp.lost, t)
				fp.nLose++
				to = append(to, t)
			default:
				to = append(to, t)
			}
		}
		if len(to) == 0 {
			fp.p.Replies(now, fp.merge(nil))
			continue
		}
		st.Targets = to
		fp.cur, fp.copies = st, 1
		if fp.chance(fp.f.Duplicate) {
			fp.copies = 2
			fp.nDup++
		}
		if fp.f.MaxDelay > 0 && fp.chance(fp.f.Delay) {
			fp.sendNext = true
			fp.nDelay++
			d := time.Duration(fp.rng.Int64N(int64(fp.f.MaxDelay))) + 1
			return logstream.Step{Kind: logstream.StepWait, Until: now.Add(d)}
		}
		return st
	}
	return logstream.Step{Kind: logstream.StepWait, Until: now.Add(time.Millisecond)}
}

// merge returns r with TIMEOUT for the dropped and lost targets.
func (fp *faultyProducer) merge(r map[string]logstream.Reply) map[string]logstream.Reply {
	out := maps.Clone(r)
	if out == nil {
		out = map[string]logstream.Reply{}
	}
	for _, t := range fp.dropped {
		out[t] = logstream.Reply{RC: logstream.Timeout}
	}
	for _, t := range fp.lost {
		out[t] = logstream.Reply{RC: logstream.Timeout}
	}
	return out
}

func (fp *faultyProducer) Replies(now time.Time, r map[string]logstream.Reply) {
	if fp.copies > 1 {
		fp.copies--
		fp.sendNext = true // the second copy; this copy's replies are lost
		return
	}
	fp.p.Replies(now, fp.merge(r))
}

func (fp *faultyProducer) Abort(now time.Time) logstream.Result { return fp.p.Abort(now) }

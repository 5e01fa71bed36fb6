package sim

import (
	"math"
	"testing"

	"go.uber.org/goleak"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/enginetest"
)

// kitSender is the world's sender node as the conformance kit sees it:
// nothing runs outside StreamObjects, so Settle runs what is left
// (deliveries in flight, watchdogs) in virtual time.
type kitSender struct{ *Engine }

// Settle implements enginetest.Settler.
func (s kitSender) Settle() { s.w.Settle() }

// kitReceiver is a receiver node with the kit's optional capabilities; its
// consumers block in virtual time (Engine.Block: enginetest.Blocker).
type kitReceiver struct{ *Engine }

// Shutdown implements enginetest.Shutdowner, as a shutdown fault does.
func (r kitReceiver) Shutdown() { r.w.shutdownReceiver(r.w.receiver(r.name)) }

// Stall implements enginetest.Staller with a drop-reply fault that lasts
// until release.
func (r kitReceiver) Stall() func() {
	c := &countFault{f: faults.Fault{Kind: faults.DropReply, Target: r.name, At: r.w.now.Sub(Epoch)}, left: math.MaxInt}
	r.w.counts = append(r.w.counts, c)
	return func() { c.left = 0 }
}

// kitPair builds a fresh world with two receivers and no writer: the kit's
// producers stream through the world's engine in virtual time.
func kitPair() (enginetest.Pair, error) {
	w, err := New(Config{Targets: []string{"r1", "r2"}})
	if err != nil {
		return enginetest.Pair{}, err
	}
	w.AllowBlocking()
	return enginetest.Pair{
		Stop:   w.Close,
		Sender: kitSender{w.Engine("sender")},
		Receivers: map[string]logstream.Receiver{
			"r1": kitReceiver{w.Engine("r1")},
			"r2": kitReceiver{w.Engine("r2")},
		},
	}, nil
}

// TestKit runs the engine conformance kit against the simulated engine,
// with the default window and with stop-and-wait: every subtest, the
// blocked-consumer ones included (a consumer blocks in virtual time), and
// no goroutine is left.
func TestKit(t *testing.T) {
	defer goleak.VerifyNone(t)
	enginetest.Run(t, kitPair)
	t.Run("W=1", func(t *testing.T) { enginetest.Options{Window: 1}.Run(t, kitPair) })
}

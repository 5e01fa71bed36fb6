package inproc_test

import (
	"strings"
	"testing"
	"testing/synctest"

	"github.com/benbjohnson/clock"
	"go.uber.org/goleak"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/enginetest"
	"github.com/logstream-sim/logstream-sim/logstream/inproc"
)

// kitPair is a fresh network with a sender and two receivers. Consumers run
// on delivery goroutines, so a blocked consumer withholds only its reply;
// *inproc.Engine is an enginetest.Shutdowner.
func kitPair() (enginetest.Pair, error) {
	net := inproc.NewNetwork(clock.New())
	s, r1, r2 := net.Engine("sender"), net.Engine("r1"), net.Engine("r2")
	return enginetest.Pair{
		Sender:          s,
		Receivers:       map[string]logstream.Receiver{"r1": r1, "r2": r2},
		ConsumeMayBlock: true,
		Stop:            func() { r1.Shutdown(); r2.Shutdown(); s.Shutdown() },
	}, nil
}

// TestKit runs the conformance kit with each subtest in a synctest bubble:
// clock.New() then reads virtual time, so timeouts and deadlines cost no
// real time. A blocked consumer blocks on a channel and nothing in the
// engine waits for it on a mutex, so ConsumeMayBlock holds in the bubble too.
func TestKit(t *testing.T) {
	defer goleak.VerifyNone(t)
	enginetest.Options{Wrap: func(t *testing.T, body func(*testing.T)) { synctest.Test(t, body) }}.Run(t, kitPair)
}

// TestKitRealClock runs the kit on the real clock, outside any bubble.
func TestKitRealClock(t *testing.T) {
	defer goleak.VerifyNone(t)
	if err := enginetest.Check(kitPair); err != nil {
		t.Fatal(err)
	}
}

// TestKitStopAndWait runs the kit's StreamLog subtests with W=1, in a
// bubble.
func TestKitStopAndWait(t *testing.T) {
	var names []string
	for _, n := range enginetest.Names() {
		if strings.HasPrefix(n, "StreamLog") {
			names = append(names, n)
		}
	}
	bubble := func() (enginetest.Pair, error) {
		p, err := kitPair()
		p.ConsumeMayBlock = false
		return p, err
	}
	enginetest.Options{Window: 1, Cases: names, Wrap: func(t *testing.T, body func(*testing.T)) { synctest.Test(t, body) }}.Run(t, bubble)
}

package netengine

import (
	"context"
	"strings"
	"testing"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/enginetest"
)

// TestConformance runs the engine conformance kit over loopback: a fresh
// Client and two Servers per subtest.
func TestConformance(t *testing.T) {
	enginetest.Run(t, netPair)
}

// TestConformanceStopAndWait runs the kit's StreamLog subtests with W=1.
func TestConformanceStopAndWait(t *testing.T) {
	enginetest.Options{Window: 1, Cases: streamLogCases()}.Run(t, netPair)
}

func streamLogCases() []string {
	var out []string
	for _, n := range enginetest.Names() {
		if strings.HasPrefix(n, "StreamLog") {
			out = append(out, n)
		}
	}
	return out
}

// netPair is a fresh Client and two Servers over loopback.
func netPair() (enginetest.Pair, error) {
	{
		var srvs []*Server
		stop := func() {
			for _, s := range srvs {
				s.Shutdown()
			}
		}
		recv := map[string]logstream.Engine{}
		addrs := map[string]string{}
		for _, name := range []string{"r1", "r2"} {
			s, err := Listen("127.0.0.1:0", Options{})
			if err != nil {
				stop()
				return enginetest.Pair{}, err
			}
			srvs = append(srvs, s)
			recv[name], addrs[name] = s, s.Addr().String()
		}
		cli, err := Dial(context.Background(), addrs, Options{})
		if err != nil {
			stop()
			return enginetest.Pair{}, err
		}
		return enginetest.Pair{Sender: cli, Receivers: recv, ConsumeMayBlock: true,
			Stop: func() { cli.Close(); stop() }}, nil
	}
}

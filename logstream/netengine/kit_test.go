package netengine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/enginetest"
)

// TestConformance runs the engine conformance kit over loopback: a fresh
// Client and two Servers per subtest.
func TestConformance(t *testing.T) {
	enginetest.Run(t, netPair(Options{Insecure: true}, Options{Insecure: true}))
}

// TestConformanceTLS runs the kit over mutual TLS: the engine contract
// holds the same with the security layer in place.
func TestConformanceTLS(t *testing.T) {
	ca := newTestCA(t, "operator")
	enginetest.Run(t, netPair(Options{TLS: ca.server(t)}, Options{TLS: ca.client(ca.issue(t, "site-a", time.Time{}, time.Time{}))}))
}

// TestConformanceStopAndWait runs the kit's StreamLog subtests with W=1.
func TestConformanceStopAndWait(t *testing.T) {
	enginetest.Options{Window: 1, Cases: streamLogCases()}.Run(t, netPair(Options{Insecure: true}, Options{Insecure: true}))
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

// netPair makes a fresh Client and two Servers over loopback.
func netPair(sopt, copt Options) func() (enginetest.Pair, error) {
	return func() (enginetest.Pair, error) {
		var srvs []*Server
		stop := func() {
			for _, s := range srvs {
				s.Shutdown()
			}
		}
		recv := map[string]logstream.Receiver{}
		addrs := map[string]string{}
		for _, name := range []string{"r1", "r2"} {
			s, err := Listen("127.0.0.1:0", sopt)
			if err != nil {
				stop()
				return enginetest.Pair{}, err
			}
			srvs = append(srvs, s)
			recv[name], addrs[name] = s, s.Addr().String()
		}
		cli, err := Dial(context.Background(), addrs, copt)
		if err != nil {
			stop()
			return enginetest.Pair{}, err
		}
		return enginetest.Pair{Sender: cli, Receivers: recv, ConsumeMayBlock: true,
			Stop: func() { cli.Close(); stop() }}, nil
	}
}

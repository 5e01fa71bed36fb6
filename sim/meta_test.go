package sim

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
)

// mixedPlan exercises every kind of fault the world interprets.
const mixedPlan = `
at 5s not-registered target=r2
at 20s rotate keep=2
at 30s late-write bytes=300
at 40s copytruncate for=200ms
at 50s drop-request target=r1 count=3
at 55s duplicate target=r2
at 60s truncate regrow=100 same-head
at 70s delete gap=2s
at 75s unreachable target=r1 for=3s
at 80s stall target=r2 for=2s
at 85s delay target=r1 for=5s lag=300ms
at 90s open-error count=2
at 91s read-error count=2
at 92s short-read count=5
at 93s stat-error
prob drop-reply 0.02
prob drop-request 0.02
prob duplicate 0.01
prob stale 0.01 lag=3s
delay uniform 1ms 20ms
`

func traceOf(t *testing.T, seed uint64, plan string) []byte {
	t.Helper()
	p, err := faults.Parse(plan)
	if err != nil {
		t.Fatal(err)
	}
	var tr bytes.Buffer
	_, err = Simulate(Config{Seed: seed, Horizon: 2 * time.Minute, Targets: []string{"r1", "r2"}, Plan: p, Trace: &tr})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Bytes()
}

// TestSameSeedSameTrace runs each seed twice: the traces must be identical
// byte for byte; different seeds must give different traces.
func TestSameSeedSameTrace(t *testing.T) {
	seen := map[[32]byte]uint64{}
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			a, b := traceOf(t, seed, mixedPlan), traceOf(t, seed, mixedPlan)
			if !bytes.Equal(a, b) {
				t.Fatalf("seed %d: two runs differ:\n%s", seed, firstDiff(a, b))
			}
			h := sha256.Sum256(a)
			if other, dup := seen[h]; dup {
				t.Fatalf("seeds %d and %d gave the same trace", other, seed)
			}
			seen[h] = seed
		})
	}
}

func firstDiff(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) && i < len(lb); i++ {
		if !bytes.Equal(la[i], lb[i]) {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}

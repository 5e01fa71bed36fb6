package faults

import (
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts is
// valid and round-trips through String.
func FuzzParse(f *testing.F) {
	seeds := []string{
		examplePlan,
		"",
		"# only a comment\n\n",
		"at 1s stall target=r1 for=1s lag=5ms\nat 1s stop\n",
		"at 1h2m3.5s late-write bytes=10\nat 0s not-registered target=site-1\n",
		"prob stale 0.5 lag=1.5s\nprob read-error 1e-3\nprob short-read 0.1\n",
		"delay exp 10ms cap=200ms\n",
		"delay fixed 0s\nat 5s delete gap=1s\nat 6s open-error count=3\n",
		"at 1s rotat\n",
		"at 1s truncate regrow=1 same-head same-head\n",
	}
	for seed := range uint64(8) {
		seeds = append(seeds, Random(seeded(seed), GenOptions{Targets: []string{"r1", "r2"}}).String())
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse(text)
		if err != nil {
			if p.Len() != 0 {
				t.Fatalf("Parse failed but returned a non-zero plan: %v", p)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid plan: %v\n%q", err, text)
		}
		s := p.String()
		q, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(String()) failed: %v\n%s", err, s)
		}
		if !q.Equal(p) {
			t.Fatalf("round trip differs:\n%s\nvs\n%s", s, q)
		}
		if q.String() != s {
			t.Fatalf("String not a fixed point:\n%s\nthen\n%s", s, q)
		}
	})
}

package faults

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, s string) Plan {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestItemsAndWithout(t *testing.T) {
	p := mustParse(t, examplePlan+"prob stale 0.2 lag=3s\n")
	lines := strings.Split(strings.TrimSuffix(p.String(), "\n"), "\n")
	if p.Len() != len(lines) || p.Len() != 9 {
		t.Fatalf("Len = %d, lines %d", p.Len(), len(lines))
	}
	for i, l := range lines {
		if got := p.Item(i); got != l {
			t.Errorf("Item(%d) = %q, want %q", i, got, l)
		}
		q := p.Without(i)
		if q.Len() != p.Len()-1 {
			t.Errorf("Without(%d).Len() = %d", i, q.Len())
		}
		if err := q.Validate(); err != nil {
			t.Errorf("Without(%d) invalid: %v", i, err)
		}
		want := strings.Join(slices.Delete(slices.Clone(lines), i, i+1), "\n")
		if got := strings.TrimSuffix(q.String(), "\n"); got != want {
			t.Errorf("Without(%d):\n%s\nwant:\n%s", i, got, want)
		}
	}
	for _, i := range []int{-1, p.Len(), 1 << 30} {
		if p.Item(i) != "" || !p.Without(i).Equal(p) {
			t.Errorf("out-of-range item %d not ignored", i)
		}
	}
	// Without must not modify p.
	before := p.String()
	_ = p.Without(0)
	if p.String() != before {
		t.Fatal("Without modified its receiver")
	}
	// Dropping every item one by one ends at the zero plan.
	for p.Len() > 0 {
		p = p.Without(p.Len() - 1)
	}
	if !p.Equal(Plan{}) {
		t.Fatalf("emptied plan = %v", p)
	}
}

func TestWith(t *testing.T) {
	var p Plan
	p = p.With(Fault{At: 2 * time.Second, Kind: Stop})
	p = p.With(Fault{At: time.Second, Kind: Crash})
	p = p.With(Fault{At: 2 * time.Second, Kind: Abort})
	q := p.With(Fault{At: 0, Kind: Rotate})
	want := "at 1s crash\nat 2s stop\nat 2s abort\n"
	if p.String() != want {
		t.Fatalf("With:\n%s\nwant:\n%s", p, want)
	}
	if q.Faults[0].Kind != Rotate || len(p.Faults) != 3 {
		t.Fatalf("With modified its receiver or misplaced: %v / %v", p, q)
	}
}

func TestValidate(t *testing.T) {
	var probNonRandom Plan
	probNonRandom.Prob[Rotate] = 0.1
	var staleNoLag Plan
	staleNoLag.Prob[Stale] = 0.1
	tests := []struct {
		name string
		p    Plan
		want string
		is   error
	}{
		{"unsorted", Plan{Faults: []Fault{{At: 2, Kind: Stop}, {At: 1, Kind: Crash}}},
			"fault 1: at 1ns before fault 0 at 2ns: faults must be sorted by time", ErrInvalid},
		{"bad kind", Plan{Faults: []Fault{{Kind: 0}}}, "fault 0: unknown fault kind 0", ErrUnknownKind},
		{"param does not apply", Plan{Faults: []Fault{{Kind: Stop, Gap: 1}}},
			`fault 0: stop: parameter "gap" does not apply`, ErrInvalid},
		{"negative for", Plan{Faults: []Fault{{Kind: CopyTruncate, For: -1}}},
			"fault 0: copytruncate: for=-1ns out of range [0s, 1000h0m0s]", ErrInvalid},
		{"N too big", Plan{Faults: []Fault{{Kind: LateWrite, N: MaxN + 1}}},
			"fault 0: late-write: bytes=16777217 out of range [0, 16777216]", ErrInvalid},
		{"bad target", Plan{Faults: []Fault{{Kind: Shutdown, Target: "a b"}}},
			`fault 0: shutdown: target "a b": character ' ' not allowed (want [A-Za-z0-9._:@/-])`, ErrInvalid},
		{"prob on non-random kind", probNonRandom,
			"prob rotate: kind has no probability (want one of drop-request, drop-reply, duplicate, stale, read-error, short-read)", ErrInvalid},
		{"stale without lag", staleNoLag, "prob stale: lag must be > 0", ErrInvalid},
		{"lag without stale", Plan{StaleLag: time.Second}, "prob stale: lag set without a probability", ErrInvalid},
		{"bad dist", Plan{Delay: Dist{Kind: Fixed, A: 1, Cap: 2}}, "delay fixed: only one duration allowed", ErrInvalid},
		{"unknown dist", Plan{Delay: Dist{Kind: 9}}, "delay: unknown distribution dist(9)", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Validate() = %v, want %s", err, tt.want)
			}
			if !errors.Is(err, tt.is) {
				t.Fatalf("%v does not wrap %v", err, tt.is)
			}
			if _, err := tt.p.MarshalText(); err == nil {
				t.Fatal("MarshalText accepted an invalid plan")
			}
			_ = tt.p.String() // must not panic
		})
	}
}

func TestFaultCount(t *testing.T) {
	tests := []struct {
		f    Fault
		want int
	}{
		{Fault{Kind: DropRequest}, 1},
		{Fault{Kind: DropRequest, N: 3}, 3},
		{Fault{Kind: Rotate}, 1},
		{Fault{Kind: Truncate}, 0},
		{Fault{Kind: LateWrite, N: 7}, 7},
	}
	for _, tt := range tests {
		if got := tt.f.Count(); got != tt.want {
			t.Errorf("%v: Count() = %d, want %d", tt.f, got, tt.want)
		}
	}
}

func TestLossCauses(t *testing.T) {
	p := mustParse(t, "at 1s truncate\nat 2s rotate\nat 3s drop-request\nat 4s stop\n")
	got := p.LossCauses()
	want := []LossCause{CauseHiddenGeneration, CauseTruncatedUnread, CauseAfterDrainWindow, CauseDeletedUnread}
	if !slices.Equal(got, want) {
		t.Fatalf("LossCauses = %v, want %v", got, want)
	}
	p = mustParse(t, "at 1s truncate regrow=5 same-head\n")
	if !slices.Contains(p.LossCauses(), CauseSameHeadRegrow) {
		t.Fatalf("same-head regrow not named: %v", p.LossCauses())
	}
	if len((Plan{}).LossCauses()) != 0 || DropReply.Inherent() || !LateWrite.Inherent() {
		t.Fatal("wrong Inherent answers")
	}
	// Every cause is produced by some kind.
	seen := map[LossCause]bool{}
	for _, k := range Kinds() {
		for _, c := range k.LossCauses() {
			seen[c] = true
		}
	}
	for _, c := range Causes() {
		if !seen[c] {
			t.Errorf("cause %s produced by no kind", c)
		}
	}
}

func TestSimplerTerminates(t *testing.T) {
	p := mustParse(t, `at 1m stall target=r1 for=10s lag=50ms
at 2m truncate regrow=4096 same-head
at 3m rotate keep=3 gap=1s
prob stale 0.25 lag=2s
delay exp 10ms cap=100ms
`)
	// Always taking the first candidate must reach a plan with none.
	for steps := 0; ; steps++ {
		if steps > 10000 {
			t.Fatalf("no fixed point after %d steps: %v", steps, p)
		}
		c := p.Simpler()
		if len(c) == 0 {
			break
		}
		for _, q := range c {
			if err := q.Validate(); err != nil {
				t.Fatalf("Simpler gave invalid plan: %v\n%v", err, q)
			}
			if q.Len() != p.Len() {
				t.Fatalf("Simpler changed the number of items:\n%v\n%v", p, q)
			}
		}
		p = c[0]
	}
	want := `at 0s stall for=1ns
at 0s truncate
at 0s rotate
prob stale 0.0001220703125 lag=1ns
delay fixed 0s
`
	if p.String() != want {
		t.Fatalf("simplest plan:\n%s\nwant:\n%s", p, want)
	}
}

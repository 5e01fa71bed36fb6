package faults

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const examplePlan = `# A plan with one of everything the brief shows.
at 12.5s rotate keep=3 gap=0s
at 30s drop-request target=r1
at 40s unreachable target=r2 for=20s   # r2 vanishes for a while
at 1m copytruncate for=200ms
at 2m truncate regrow=100 same-head

prob drop-request 0.01
prob drop-reply 0.01
delay uniform 1ms 50ms
`

func TestParseExample(t *testing.T) {
	p, err := Parse(examplePlan)
	if err != nil {
		t.Fatal(err)
	}
	want := Plan{
		Faults: []Fault{
			{At: 12500 * time.Millisecond, Kind: Rotate, N: 3},
			{At: 30 * time.Second, Kind: DropRequest, Target: "r1"},
			{At: 40 * time.Second, Kind: Unreachable, Target: "r2", For: 20 * time.Second},
			{At: time.Minute, Kind: CopyTruncate, For: 200 * time.Millisecond},
			{At: 2 * time.Minute, Kind: Truncate, N: 100, SameHead: true},
		},
		Delay: Dist{Kind: Uniform, A: time.Millisecond, B: 50 * time.Millisecond},
	}
	want.Prob[DropRequest] = 0.01
	want.Prob[DropReply] = 0.01
	if !p.Equal(want) {
		t.Fatalf("Parse:\n%v\nwant:\n%v", p, want)
	}
	const canonical = `at 12.5s rotate keep=3
at 30s drop-request target=r1
at 40s unreachable target=r2 for=20s
at 1m0s copytruncate for=200ms
at 2m0s truncate regrow=100 same-head
prob drop-request 0.01
prob drop-reply 0.01
delay uniform 1ms 50ms
`
	if got := p.String(); got != canonical {
		t.Fatalf("String:\n%s\nwant:\n%s", got, canonical)
	}
}

func TestRoundTripTable(t *testing.T) {
	tests := []struct {
		name string
		p    Plan
	}{
		{"empty", Plan{}},
		{"every kind, no params", func() Plan {
			var p Plan
			for _, k := range Kinds() {
				f := Fault{At: time.Duration(k) * time.Second, Kind: k}
				sp := specs[k]
				if sp.required&pFor != 0 {
					f.For = time.Second
				}
				if sp.required&pLag != 0 {
					f.Lag = time.Millisecond
				}
				if sp.required&pN != 0 {
					f.N = 1
				}
				p.Faults = append(p.Faults, f)
			}
			return p
		}()},
		{"equal times keep order", Plan{Faults: []Fault{
			{At: time.Second, Kind: Stop},
			{At: time.Second, Kind: Rotate},
			{At: time.Second, Kind: Crash},
		}}},
		{"all params", Plan{Faults: []Fault{
			{At: 1, Kind: Stall, Target: "site-1", For: time.Hour, Lag: 3},
			{At: 2, Kind: Delay, Target: "a.b:c@d/e_f", For: 1, Lag: MaxDuration},
			{At: MaxDuration, Kind: Truncate, N: MaxN, SameHead: true},
			{At: MaxDuration, Kind: LateWrite, N: 1},
		}}},
		{"probabilities and stale lag", func() Plan {
			var p Plan
			for i, k := range RandomKinds() {
				p.Prob[k] = 1 / float64(i+3)
			}
			p.Prob[ShortRead] = 5e-324
			p.Prob[ReadError] = 1
			p.StaleLag = 1500 * time.Microsecond
			return p
		}()},
		{"delay fixed zero", Plan{Delay: Dist{Kind: Fixed}}},
		{"delay exp", Plan{Delay: Dist{Kind: Exp, A: 10 * time.Millisecond, Cap: 10 * time.Millisecond}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			s := tt.p.String()
			q, err := Parse(s)
			if err != nil {
				t.Fatalf("Parse(%q): %v", s, err)
			}
			if !q.Equal(tt.p) {
				t.Fatalf("round trip of\n%s\ngave\n%s", s, q)
			}
			if s2 := q.String(); s2 != s {
				t.Fatalf("String not a fixed point:\n%s\nthen\n%s", s, s2)
			}
		})
	}
}

func TestParseSortsStably(t *testing.T) {
	p, err := Parse("at 2s stop\nat 1s crash\nat 2s abort\nat 0s rotate\n")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range p.Faults {
		got = append(got, f.Kind.String())
	}
	if g := strings.Join(got, " "); g != "rotate crash stop abort" {
		t.Fatalf("order %q", g)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		text string
		want string
		is   error
	}{
		{"\n\nat 1s rotat\n", `line 3: unknown fault kind "rotat"`, ErrUnknownKind},
		{"at 1s", `line 1: want "at TIME KIND [PARAM...]"`, ErrSyntax},
		{"frob 1s", `line 1: unknown directive "frob" (want at, prob or delay)`, ErrSyntax},
		{"at x rotate", `line 1: at: bad duration "x"`, ErrSyntax},
		{"at -1s rotate", `line 1: at=-1s out of range [0s, 1000h0m0s]`, ErrInvalid},
		{"at 1s crash target=r1", `line 1: crash: parameter "target" does not apply`, ErrInvalid},
		{"at 1s crash for=0s", `line 1: crash: parameter "for" does not apply`, ErrInvalid},
		{"at 1s rotate count=2", `line 1: rotate: parameter "count" does not apply`, ErrInvalid},
		{"at 1s rotate n=2", `line 1: rotate: unknown parameter "n"`, ErrSyntax},
		{"at 1s rotate keep", `line 1: rotate: parameter "keep" needs a value (keep=...)`, ErrSyntax},
		{"at 1s rotate keep=x", `line 1: rotate: keep: bad integer "x"`, ErrSyntax},
		{"at 1s rotate keep=-1", `line 1: rotate: keep=-1 out of range [0, 16777216]`, ErrInvalid},
		{"at 1s rotate keep=1 keep=2", `line 1: rotate: duplicate parameter "keep"`, ErrSyntax},
		{"at 1s unreachable target=r1", `line 1: unreachable: for must be > 0`, ErrInvalid},
		{"at 1s delay for=1s", `line 1: delay: lag must be > 0`, ErrInvalid},
		{"at 1s late-write", `line 1: late-write: bytes must be > 0`, ErrInvalid},
		{"at 1s truncate same-head", `line 1: truncate: same-head requires regrow > 0`, ErrInvalid},
		{"at 1s truncate regrow=1 same-head=yes", `line 1: truncate: same-head takes no value`, ErrSyntax},
		{"at 1s stall target=a,b for=1s", `line 1: stall: target "a,b": character ',' not allowed (want [A-Za-z0-9._:@/-])`, ErrInvalid},
		{"at 1s stall target= for=1s", `line 1: stall: target "": want 1 to 64 characters`, ErrInvalid},
		{"prob rotate 0.1", `line 1: prob rotate: kind has no probability (want one of drop-request, drop-reply, duplicate, stale, read-error, short-read)`, ErrInvalid},
		{"prob drop-reply 1.5", `line 1: prob drop-reply: 1.5 out of range [0, 1]`, ErrInvalid},
		{"prob drop-reply NaN", `line 1: prob drop-reply: NaN out of range [0, 1]`, ErrInvalid},
		{"prob drop-reply x", `line 1: prob drop-reply: bad probability "x"`, ErrSyntax},
		{"prob drop-reply", `line 1: want "prob KIND PROBABILITY [lag=DURATION]"`, ErrSyntax},
		{"prob drop-reply 0.1\n# c\nprob drop-reply 0.2", `line 3: duplicate prob drop-reply (first on line 1)`, ErrSyntax},
		{"prob stale 0.1", `line 1: prob stale: lag must be > 0`, ErrInvalid},
		{"prob stale 0 lag=1s", `line 1: prob stale: lag set without a probability`, ErrInvalid},
		{"prob duplicate 0.1 lag=1s", `line 1: prob duplicate: parameter "lag" does not apply`, ErrInvalid},
		{"prob duplicate 0.1 for=1s", `line 1: prob duplicate: unexpected "for=1s" (want lag=DURATION)`, ErrSyntax},
		{"delay", `line 1: want "delay fixed D", "delay uniform LOW HIGH" or "delay exp MEAN cap=MAX"`, ErrSyntax},
		{"delay normal 1s", `line 1: unknown distribution "normal"; want "delay fixed D", "delay uniform LOW HIGH" or "delay exp MEAN cap=MAX"`, ErrSyntax},
		{"delay uniform 2s 1s", `line 1: delay uniform: low 2s above high 1s`, ErrInvalid},
		{"delay exp 0s cap=1s", `line 1: delay exp: mean must be > 0`, ErrInvalid},
		{"delay exp 2s cap=1s", `line 1: delay exp: cap 1s below mean 2s`, ErrInvalid},
		{"delay exp 1s 2s", `line 1: want "delay fixed D", "delay uniform LOW HIGH" or "delay exp MEAN cap=MAX"`, ErrSyntax},
		{"delay fixed 1s\ndelay fixed 2s", `line 2: duplicate delay line (first on line 1)`, ErrSyntax},
		{"at 1001h stop", `line 1: at=1001h0m0s out of range [0s, 1000h0m0s]`, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Parse(tt.text)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.text)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse(%q):\n got %s\nwant %s", tt.text, err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestParseAcceptsVariants(t *testing.T) {
	// Non-canonical spellings parse to the same value as canonical ones.
	tests := []struct{ a, b string }{
		{"at 1m rotate gap=0s keep=0", "at 1m0s rotate"},
		{"\tat  90s   stall for=1s target=r1 # comment", "at 1m30s stall target=r1 for=1s"},
		{"prob drop-request 0\nprob drop-reply -0", ""},
		{"at 1s drop-request count=1\r\n", "at 1s drop-request count=1"},
	}
	for _, tt := range tests {
		pa, err := Parse(tt.a)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.a, err)
		}
		pb, err := Parse(tt.b)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.b, err)
		}
		if !pa.Equal(pb) {
			t.Errorf("Parse(%q) = %v, Parse(%q) = %v", tt.a, pa, tt.b, pb)
		}
	}
}

// The adversarial kinds print and parse back, and their N keys are checked.
func TestAdversarialKindsRoundTrip(t *testing.T) {
	text := `at 1s pause for=3s
at 2s no-append
at 3s rotate-create gap=1.5s keep=2
at 4s rotate-create
at 5s reopen
at 6s truncate-to size=100
at 7s step-rotate call=2
at 8s step-truncate call=3
at 9s missing-reply target=r1 count=2
at 10s missing-reply
at 11s end-stream target=r2
`
	p, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != text {
		t.Errorf("String() =\n%s\nwant\n%s", p.String(), text)
	}
	q, err := Parse(p.String())
	if err != nil || !q.Equal(p) {
		t.Errorf("round trip: %v, equal %v", err, q.Equal(p))
	}
	for line, want := range map[string]string{
		"at 1s pause":                      `line 1: pause: for must be > 0`,
		"at 1s truncate-to":                `line 1: truncate-to: size must be > 0`,
		"at 1s step-rotate count=2":        `line 1: step-rotate: parameter "count" does not apply`,
		"at 1s step-truncate size=2":       `line 1: step-truncate: parameter "size" does not apply`,
		"at 1s end-stream count=1":         `line 1: end-stream: parameter "count" does not apply`,
		"at 1s no-append target=r1":        `line 1: no-append: parameter "target" does not apply`,
		"at 1s rotate-create call=1":       `line 1: rotate-create: parameter "call" does not apply`,
		"at 1s missing-reply for=1s":       `line 1: missing-reply: parameter "for" does not apply`,
		"at 1s reopen gap=1s":              `line 1: reopen: parameter "gap" does not apply`,
		"at 1s truncate-to size=-1":        ``,
		"at 1s step-rotate call=999999999": ``,
	} {
		_, err := Parse(line)
		if err == nil {
			t.Errorf("Parse(%q) accepted", line)
			continue
		}
		if want != "" && err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %s", line, err, want)
		}
	}
}

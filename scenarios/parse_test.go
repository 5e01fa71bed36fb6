package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

func TestParseFull(t *testing.T) {
	text := `
# Why this exists.
#
#   indented line
config seed=7 targets=r1,r2 horizon=2m stop=90s   # trailing comment
config poll=500ms liveness=10s chunk=64KiB chunk-timeout=5s drain=5s idle=off
config rate=4096 max-write=512 burst-every=250ms start=1s until=100s
# a comment that is not doc
expect fail bytes
at 20s rotate keep=2
prob drop-reply 0.01
delay uniform 1ms 20ms
at 10s unreachable target=r2 for=3s
----
written 10
oracle ok   

`
	s, err := Parse("dir/x_y.txt", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "x_y" || s.File != "dir/x_y.txt" {
		t.Errorf("name %q file %q", s.Name, s.File)
	}
	if want := "Why this exists.\n\n  indented line"; s.Doc != want {
		t.Errorf("doc %q, want %q", s.Doc, want)
	}
	c := s.Config
	if c.Seed != 7 || strings.Join(c.Targets, ",") != "r1,r2" || c.Horizon != 2*time.Minute || c.StopAt != 90*time.Second {
		t.Errorf("run config %+v", c)
	}
	if c.IdleTimeout >= 0 || c.Tail.ChunkSize != 64<<10 || c.Tail.PollInterval != 500*time.Millisecond {
		t.Errorf("tail config %+v idle %v", c.Tail, c.IdleTimeout)
	}
	if c.Writer.Rate != 4096 || c.Writer.BurstEvery != 250*time.Millisecond || c.Writer.Until != 100*time.Second {
		t.Errorf("writer config %+v", c.Writer)
	}
	if s.ExpectFail != oracle.PropBytes {
		t.Errorf("expect %q", s.ExpectFail)
	}
	if len(c.Plan.Faults) != 2 || c.Plan.Faults[0].Kind != faults.Unreachable || c.Plan.Prob[faults.DropReply] != 0.01 {
		t.Errorf("plan %q", c.Plan.String())
	}
	if s.Expected != "written 10\noracle ok\n" {
		t.Errorf("expected %q", s.Expected)
	}
	want := `# Why this exists.
#
#   indented line
config seed=7 targets=r1,r2 horizon=2m stop=1m30s idle=off
config poll=500ms liveness=10s chunk=64KiB chunk-timeout=5s drain=5s
config rate=4KiB max-write=512 burst-every=250ms start=1s until=1m40s
expect fail bytes
at 10s unreachable target=r2 for=3s
at 20s rotate keep=2
prob drop-reply 0.01
delay uniform 1ms 20ms
----
written 10
oracle ok
`
	if got := s.String(); got != want {
		t.Errorf("String:\n%s\nwant:\n%s", got, want)
	}
	roundTrip(t, s)
}

func roundTrip(t *testing.T, s *Scenario) {
	t.Helper()
	text := s.String()
	s2, err := Parse(s.File, []byte(text))
	if err != nil {
		t.Fatalf("canonical text does not parse: %v\n%s", err, text)
	}
	if !s.Equal(s2) {
		t.Fatalf("round trip changed the scenario:\n%s\nthen:\n%s", text, s2.String())
	}
	if again := s2.String(); again != text {
		t.Fatalf("String not a fixed point:\n%s\nthen:\n%s", text, again)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		text string
		want string // full error text
	}{
		{"confg seed=1", `f.txt:1: unknown directive "confg" (want config, expect, known-failure, at, prob, delay, a # comment or ----)`},
		{"known-failure 9", `f.txt:1: known-failure: bad "9": want "known-failure issue=N" (N the number of the issue that fixes it)`},
		{"known-failure issue=0", `f.txt:1: known-failure: bad "issue=0": want "known-failure issue=N" (N the number of the issue that fixes it)`},
		{"known-failure", `f.txt:1: want "known-failure issue=N" (N the number of the issue that fixes it)`},
		{"known-failure issue=9\nknown-failure issue=9", `f.txt:2: duplicate known-failure line (first on line 1)`},
		{"expect fail bytes\nknown-failure issue=9", `f.txt:2: known-failure with an expect fail line (line 1): a scenario pins a failure or marks a known one, not both`},
		{"# doc\nconfig seed=x", `f.txt:2: config seed: bad seed "x" (want a decimal integer in [0, 2^64))`},
		{"config pol=1s", `f.txt:1: config: unknown key "pol" (want one of ` + keyNames() + `)`},
		{"config poll", `f.txt:1: config: want KEY=VALUE, got "poll"`},
		{"config poll=", `f.txt:1: config: want KEY=VALUE, got "poll="`},
		{"config", `f.txt:1: config: want KEY=VALUE pairs (keys: ` + keyNames() + `)`},
		{"config poll=1s\n\nconfig poll=2s", `f.txt:3: config: key "poll" set twice (first on line 1)`},
		{"config poll=fast", `f.txt:1: config poll: bad duration "fast" (want a duration such as 500ms or 2m)`},
		{"config idle=soon", `f.txt:1: config idle: bad duration "soon" (want a duration such as 500ms or 2m, or off)`},
		{"config poll=-1s", `f.txt:1: config poll: -1s out of range [0s, 1000h0m0s]`},
		{"config events=yes", `f.txt:1: config events: bad events value "yes" (want off, or the delay of each event such as 1ms)`},
		{"config event-loss=1.5", `f.txt:1: config event-loss: bad probability "1.5" (want a number in [0, 1] such as 0.25)`},
		{"config event-loss=NaN", `f.txt:1: config event-loss: bad probability "NaN" (want a number in [0, 1] such as 0.25)`},
		{"config chunk=12kb", `f.txt:1: config chunk: bad number "12kb" (want a decimal integer, optionally with KiB or MiB)`},
		{"config retries=2KiB", `f.txt:1: config retries: bad number "2KiB" (want a decimal integer)`},
		{"config targets=r1,,r2", `f.txt:1: config targets: target "": want 1 to 64 characters from [A-Za-z0-9._:@/-]`},
		{"config targets=r1,r1", `f.txt:1: config targets: target "r1" repeated`},
		{"config targets=a!b", `f.txt:1: config targets: target "a!b": character '!' not allowed (want [A-Za-z0-9._:@/-])`},
		{"config path=logs/app.log", `f.txt:1: config path: bad path "logs/app.log" (want an absolute, clean file path such as /logs/app.log)`},
		{"at 10s rotat", `f.txt:1: unknown fault kind "rotat"`},
		{"\n\nat 10s rotate count=2", `f.txt:3: rotate: parameter "count" does not apply`},
		{"prob drop-reply 0.1\nconfig seed=1\nprob drop-reply 0.2", `f.txt:3: duplicate prob drop-reply (first on line 1)`},
		{"at 1s drop-request target=r9", `f.txt:1: drop-request: target "r9" is not one of the config's targets (r1)`},
		{"config targets=a,b\nat 1s stall target=c for=1s", `f.txt:2: stall: target "c" is not one of the config's targets (a,b)`},
		{"expect maybe", `f.txt:1: want "expect ok" or "expect fail PROPERTY"`},
		{"expect fail speed", `f.txt:1: expect fail: unknown property "speed" (want one of ` + propertyNames() + `)`},
		{"expect ok\nexpect ok", `f.txt:2: duplicate expect line (first on line 1)`},
	} {
		_, err := Parse("f.txt", []byte(tc.text))
		if err == nil {
			t.Errorf("%q: no error, want %s", tc.text, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.text, err, tc.want)
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: error does not wrap ErrSyntax", tc.text)
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.File != "f.txt" || pe.Line < 1 {
			t.Errorf("%q: not a *ParseError with file and line: %#v", tc.text, err)
		}
	}
}

func TestParseErrorWrapsFaultsSentinel(t *testing.T) {
	_, err := Parse("f.txt", []byte("at 1s explode"))
	if !errors.Is(err, faults.ErrUnknownKind) || !errors.Is(err, ErrSyntax) {
		t.Fatalf("%v: want ErrSyntax and faults.ErrUnknownKind", err)
	}
}

func TestParseTailOptionError(t *testing.T) {
	_, err := Parse("f.txt", []byte("config seed=1\nconfig tail-idle=20s\nconfig liveness=40s"))
	if err == nil || !strings.HasPrefix(err.Error(), "f.txt:3: config liveness: ") {
		t.Fatalf("got %v, want an error on line 3 naming liveness", err)
	}
	_, err = Parse("f.txt", []byte("config backoff=2s max-backoff=1s"))
	if err == nil || !strings.HasPrefix(err.Error(), "f.txt:1: config max-backoff: ") {
		t.Fatalf("got %v, want an error naming max-backoff", err)
	}
}

func TestParseEdgeCases(t *testing.T) {
	for _, text := range []string{
		"",
		"----",
		"# only a doc",
		"\n\n# doc after blank lines\n",
		"# doc\n\n# not doc\nconfig seed=3\n",
		"config seed=1\r\nat 1s crash\r\n----\r\nwritten 1\r\n",
		"----\n----\nx\n\n\n",
		"config seed=18446744073709551615 chunk=3MiB rate=1",
		"  ----  \nx",
	} {
		s, err := Parse("e.txt", []byte(text))
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		roundTrip(t, s)
	}
	s, _ := Parse("e.txt", []byte("----\n----\nx\n"))
	if s.Expected != "----\nx\n" {
		t.Errorf("expected block %q: only the first separator splits", s.Expected)
	}
	s, _ = Parse("e.txt", []byte("# doc\n\n# not doc\n"))
	if s.Doc != "doc" {
		t.Errorf("doc %q", s.Doc)
	}
}

func TestFromConfigRoundTrip(t *testing.T) {
	plan, err := faults.Parse("at 20s rotate keep=2\nprob stale 0.1 lag=2s\n")
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.Config{Seed: 99, Targets: []string{"a", "b"}, Horizon: 3 * time.Minute, IdleTimeout: -5 * time.Second,
		StopAt: -1, Plan: plan, Writer: sim.WriterConfig{Rate: 3000, MaxWrite: 100}, Trace: os.Stderr}
	cfg.Tail.ChunkSize = 1000
	cfg.Events = sim.FileEvents{On: true, Delay: 3 * time.Millisecond, Overflow: 0.25}
	s := FromConfig("saved_failure", "seed 99 failed:\n  bytes r1 ...  \r\n", cfg)
	if s.Config.Events != cfg.Events {
		t.Fatalf("file events not carried: %+v", s.Config.Events)
	}
	if s.Config.Trace != nil || s.Config.IdleTimeout != -1 || s.Config.StopAt != 0 {
		t.Fatalf("not normalized: %+v", s.Config)
	}
	if s.Doc != "seed 99 failed:\n  bytes r1 ...\n" {
		t.Errorf("doc %q", s.Doc)
	}
	roundTrip(t, s)
	// Run with a fresh expected block: Format's text must pass as is.
	out, err := Run(s, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Parse(s.File, []byte(Format(s, out)))
	if err != nil {
		t.Fatal(err)
	}
	out2, err := Run(s2, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out2.Output != out.Output || !out2.Pass {
		t.Fatalf("formatted scenario does not reproduce: %s", out2.Mismatch)
	}
}

func TestRunMismatch(t *testing.T) {
	s, err := Parse("m.txt", []byte("config seed=1 horizon=10s\n----\nwritten 1\noracle ok\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(s, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Pass || !out.Verdict || !strings.Contains(out.Mismatch, "- written 1") || !strings.Contains(out.Mismatch, "+ written ") {
		t.Fatalf("pass=%v verdict=%v mismatch:\n%s", out.Pass, out.Verdict, out.Mismatch)
	}
	s.ExpectFail = oracle.PropBytes
	s.Expected = out.Output
	out, _ = Run(s, RunOptions{})
	if out.Pass || out.Verdict || !strings.Contains(out.Mismatch, "want a bytes violation, got none") {
		t.Fatalf("expect fail: pass=%v mismatch %s", out.Pass, out.Mismatch)
	}
	s.ExpectFail, s.Expected = "", ""
	out, _ = Run(s, RunOptions{})
	if out.Pass || !strings.Contains(out.Mismatch, "-rewrite") {
		t.Fatalf("empty expected: pass=%v mismatch %s", out.Pass, out.Mismatch)
	}
}

func TestRunBadConfigNamesFile(t *testing.T) {
	s := FromConfig("bad", "", sim.Config{Targets: []string{"r1", "r1"}})
	_, err := Run(s, RunOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "bad.txt: ") {
		t.Fatalf("got %v, want an error naming bad.txt", err)
	}
}

func TestLookupAndLoad(t *testing.T) {
	list := Builtin()
	for i := 1; i < len(list); i++ {
		if list[i-1].Name >= list[i].Name {
			t.Fatalf("Builtin not sorted: %s then %s", list[i-1].Name, list[i].Name)
		}
	}
	name := list[0].Name
	s, err := Lookup(name + ".txt")
	if err != nil || s.Name != name {
		t.Fatalf("Lookup(%q): %v", name, err)
	}
	s.Config.Targets = append(s.Config.Targets, "mutated")
	if again, _ := Lookup(name); again.Equal(s) {
		t.Fatal("Lookup returned shared state")
	}

	_, err = Lookup("rename_rotaton")
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), `"rename_rotaton"`) ||
		!strings.Contains(err.Error(), "did you mean") {
		t.Fatalf("Lookup unknown: %v", err)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.txt"), []byte("config seed=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("config seed=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.md"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir, name, filepath.Join(dir, "b.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if strings.Join(names, " ") != "a b "+name+" b" {
		t.Fatalf("Load: %v", names)
	}
	all, err := Load()
	if err != nil || len(all) != len(list) {
		t.Fatalf("Load(): %d scenarios, %v", len(all), err)
	}

	for _, tc := range []struct{ arg, want string }{
		{"no_such_scenario", `scenarios: "no_such_scenario": unknown scenario: no such file, directory or built-in scenario`},
		{filepath.Join(dir, "missing.txt"), "missing.txt: no such file or directory"},
		{t.TempDir(), "directory holds no *.txt scenario files"},
	} {
		_, err := Load(tc.arg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q): %v, want %q", tc.arg, err, tc.want)
		}
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("config seed=1\nat 5s rotat\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad+`:2: unknown fault kind "rotat"`) {
		t.Errorf("Load(bad): %v", err)
	}
}

func TestDiff(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n"
	b := "1\n2\n3\n4\nfive\n6\n7\n8\nnine\n"
	want := "  ...\n  3\n  4\n- 5\n+ five\n  6\n  7\n  8\n+ nine\n"
	if got := Diff(a, b); got != want {
		t.Errorf("Diff:\n%s\nwant:\n%s", got, want)
	}
}

// FuzzParse: Parse never panics, and what it accepts prints back to text
// that parses to an Equal scenario, which prints the same text again. The
// seed corpus is the built-in suite.
func FuzzParse(f *testing.F) {
	for _, s := range Builtin() {
		data, _ := BuiltinText(s.Name)
		f.Add(data)
	}
	f.Add([]byte("# d\n\n# c\nconfig idle=off chunk=3MiB\r\nexpect fail bytes\n----\n----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.txt", data)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error does not wrap ErrSyntax: %v", err)
			}
			return
		}
		text := s.String()
		s2, err := Parse("fuzz.txt", []byte(text))
		if err != nil {
			t.Fatalf("canonical text does not parse: %v\n%s", err, text)
		}
		if !s.Equal(s2) {
			t.Fatalf("round trip changed the scenario:\n%q\n%q", text, s2.String())
		}
		if s2.String() != text {
			t.Fatalf("String not a fixed point:\n%q\n%q", text, s2.String())
		}
	})
}

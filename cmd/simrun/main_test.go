package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logstream-sim/logstream-sim/scenarios"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/simtest"
	"github.com/logstream-sim/logstream-sim/sim/swarm"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files under testdata/golden")

// simrun runs the program in-process and returns its exit code and output,
// with dir (a temporary directory) replaced by $TMP.
func simrun(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	code := m.Run(context.Background(), args)
	clean := func(s string) string {
		if dir != "" {
			s = strings.ReplaceAll(s, dir, "$TMP")
		}
		return s
	}
	return code, clean(out.String()), clean(errb.String())
}

// golden compares got with testdata/golden/name.golden, or writes it with
// -rewrite.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if *rewrite {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/simrun -rewrite to record it)", err)
	}
	if string(want) != got {
		t.Errorf("%s: output differs from the golden file (- golden, + got; -rewrite records it):\n%s",
			path, scenarios.Diff(string(want), got))
	}
}

// leftovers returns the names of temporary report files left in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestGolden checks the CLI's output, stderr and exit code for each case
// against testdata/golden/NAME.golden (-rewrite records them). Wall times
// are hidden with --no-wall.
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"help", []string{"help"}, 0},
		{"help_swarm", []string{"help", "swarm"}, 0},
		{"list", []string{"list"}, 0},
		{"run_names", []string{"run", "--no-wall", "steady_tail_delivers_every_byte", "delete_and_recreate"}, 0},
		{"run_flags_after_args", []string{"run", "steady_tail_delivers_every_byte", "--no-wall", "--workers", "1"}, 0},
		{"replay_name", []string{"replay", "--no-wall", "rename_rotation_drains_old_handle"}, 0},
		{"replay_seed", []string{"replay", "--no-wall", "--seed", "5"}, 0},
		{"replay_seed_plan", []string{"replay", "--no-wall", "--seed", "5", "--plan", "testdata/plan.txt"}, 0},
		// With issue 10's window the first 12 seeds pass even with
		// --known (a loss of the lockstep sender used to fail one of them);
		// --save with failures is covered by the shrink and merge tests.
		{"swarm", []string{"swarm", "--no-wall", "--seeds", "12", "--workers", "2", "--known", "--save", filepath.Join(dir, "failures")}, 0},
		{"swarm_shard_verbose", []string{"swarm", "--no-wall", "--seeds", "12", "--start", "100", "--shard", "1/3", "--workers", "2", "-v"}, 0},

		{"bad_command", []string{"frobnicate"}, 2},
		{"bad_flag", []string{"run", "--frob"}, 2},
		{"run_unknown_name", []string{"run", "rename_rotation"}, 2},
		{"run_malformed_file", []string{"run", "testdata/malformed.txt"}, 2},
		{"run_missing_file", []string{"run", "testdata/nope/x.txt"}, 2},
		{"run_unwritable_junit", []string{"run", "--junit", filepath.Join(dir, "no", "such", "dir", "out.xml"), "tiny_chunk_size"}, 2},
		{"run_same_report_file", []string{"run", "--junit", filepath.Join(dir, "x"), "--trace", filepath.Join(dir, "x"), "tiny_chunk_size"}, 2},
		{"replay_conflict", []string{"replay", "--seed", "1", "tiny_chunk_size"}, 2},
		{"replay_plan_without_seed", []string{"replay", "--plan", "testdata/plan.txt", "tiny_chunk_size"}, 2},
		{"replay_bad_plan", []string{"replay", "--seed", "1", "--plan", "testdata/plan_bad.txt"}, 2},
		{"replay_bad_seed", []string{"replay", "--seed", "-1"}, 2},
		{"replay_nothing", []string{"replay"}, 2},
		{"swarm_bad_shard", []string{"swarm", "--shard", "3/3"}, 2},
		{"swarm_zero_seeds", []string{"swarm", "--seeds", "0"}, 2},
		{"swarm_require_coverage", []string{"swarm", "--no-wall", "--seeds", "4", "--workers", "2", "--require-coverage=2"}, 1},
		{"swarm_bad_mix", []string{"swarm", "--mix", "wan,nope"}, 2},
		{"swarm_bad_require", []string{"swarm", "--require-coverage=0"}, 2},
		{"swarm_mix_help", []string{"swarm", "--mix", "help"}, 0},
		{"replay_seed_known", []string{"replay", "--no-wall", "--seed", "3", "--mix", "files", "--known"}, 0},
		{"list_extra_arg", []string{"list", "x"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := simrun(t, dir, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errs)
			}
			cmd := strings.ReplaceAll(strings.Join(c.args, " "), dir, "$TMP")
			golden(t, c.name, "$ simrun "+cmd+"\n"+
				"exit "+string(rune('0'+code))+"\n--- stdout\n"+out+"--- stderr\n"+errs)
		})
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("temporary report files left behind: %v", l)
	}
}

// TestSuite runs the built-in suite as plain "simrun" does: every
// scenario gets an "ok" row (a "known failure (issue N)" row for a marked
// one) and the exit code is 0. (Not a golden file: the
// suite grows.)
func TestSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole suite is skipped in -short mode")
	}
	code, out, errs := simrun(t, "", "--no-wall")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "SCENARIO  ") || !strings.Contains(lines[0], "WALL") {
		t.Errorf("header %q", lines[0])
	}
	for _, s := range scenarios.Builtin() {
		if !strings.Contains(out, "\n"+s.Name+" ") {
			t.Errorf("no row for %s", s.Name)
		}
	}
	n, known := len(scenarios.Builtin()), 0
	for _, s := range scenarios.Builtin() {
		if s.KnownFailure != 0 {
			known++
			row := false
			for _, l := range lines {
				if strings.HasPrefix(l, s.Name+" ") && strings.Contains(l, fmt.Sprintf(" known failure (issue %d) ", s.KnownFailure)) {
					row = true
				}
			}
			if !row {
				t.Errorf("no known-failure row for %s", s.Name)
			}
		}
	}
	summary := fmt.Sprintf("\n%d scenarios: %d ok, 0 failed; wall -\n", n, n)
	if known > 0 {
		summary = fmt.Sprintf("\n%d scenarios: %d ok, 0 failed, %d known failures; wall -\n", n, n-known, known)
	}
	if !strings.Contains(out, summary) {
		t.Errorf("no summary line for %d scenarios:\n%s", n, out)
	}
}

// TestJUnit writes a JUnit report with a failing scenario and checks it
// against the JUnit schema's required elements and attributes:
// testsuites/testsuite with name, tests, failures, errors and time;
// testcase with name, classname and time; failure with message and type.
func TestJUnit(t *testing.T) {
	dir := t.TempDir()
	// A copy of a built-in scenario with a wrong expected block fails.
	text, _ := scenarios.BuiltinText("tiny_chunk_size")
	bad := strings.Replace(string(text), "oracle ok", "oracle ok\nextra line", 1)
	badPath := filepath.Join(dir, "tiny_chunk_size_wrong.txt")
	if err := os.WriteFile(badPath, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.xml")
	code, stdout, stderr := simrun(t, dir, "run", "--junit", out, "steady_tail_delivers_every_byte", badPath)
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	type attrs struct {
		Attrs []xml.Attr `xml:",any,attr"`
	}
	var doc struct {
		XMLName xml.Name
		attrs
		Suites []struct {
			attrs
			Cases []struct {
				attrs
				Failure *attrs `xml:"failure"`
				Error   *attrs `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("invalid XML: %v\n%s", err, data)
	}
	has := func(where string, a attrs, names ...string) map[string]string {
		m := map[string]string{}
		for _, x := range a.Attrs {
			m[x.Name.Local] = x.Value
		}
		for _, n := range names {
			if _, ok := m[n]; !ok {
				t.Errorf("%s: missing required attribute %q (have %v)", where, n, m)
			}
		}
		return m
	}
	if doc.XMLName.Local != "testsuites" {
		t.Fatalf("root element %q, want testsuites", doc.XMLName.Local)
	}
	has("testsuites", doc.attrs, "name", "tests", "failures", "errors", "time")
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuite elements, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	sa := has("testsuite", s.attrs, "name", "tests", "failures", "errors", "time")
	if sa["tests"] != "2" || sa["failures"] != "1" || sa["errors"] != "0" {
		t.Errorf("testsuite counts %v, want tests=2 failures=1 errors=0", sa)
	}
	if len(s.Cases) != 2 {
		t.Fatalf("%d testcases, want 2", len(s.Cases))
	}
	for i, c := range s.Cases {
		ca := has("testcase", c.attrs, "name", "classname", "time")
		if c.Error != nil {
			t.Errorf("testcase %v: unexpected error element", ca)
		}
		if (c.Failure != nil) != (i == 1) {
			t.Errorf("testcase %v: failure element %v, want it on the second case only", ca, c.Failure != nil)
		}
		if c.Failure != nil {
			has("failure", *c.Failure, "message", "type")
		}
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("temporary report files left behind: %v", l)
	}
}

// TestTracePerScenario checks that --trace with several scenarios writes
// one JSON-lines file per scenario, named with the scenario's name.
func TestTracePerScenario(t *testing.T) {
	dir := t.TempDir()
	names := []string{"tiny_chunk_size", "stop_drains_every_written_byte"}
	code, out, errs := simrun(t, dir, append([]string{"run", "--trace", filepath.Join(dir, "t.jsonl")}, names...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, "t."+n+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		for i, l := range lines {
			var ev struct {
				Step *int64  `json:"step"`
				T    *string `json:"t"`
			}
			if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Step == nil || ev.T == nil {
				t.Fatalf("%s line %d: %q: not a trace event (%v)", n, i+1, l, err)
			}
		}
	}
}

// TestSwarmFailureReplays runs a swarm over a range with a known failing
// seed, and checks that the saved, shrunk case replays the same first
// violation with exit 1, as the printed command says.
//
// It needs a standard-mix seed that fails; the seeds below failed when it
// was written (bytes violations after a copytruncate and a truncate, fixed
// in the oracle since), and it skips when none does.
// TestSwarmSavesWhatFailed checks the same path without a real failure.
func TestSwarmFailureReplays(t *testing.T) {
	seed := -1
	for _, s := range []int{712, 1617} {
		if r := swarm.Check(swarm.Config(uint64(s))); r.Failed() {
			seed = s
			break
		}
	}
	if seed < 0 {
		t.Skip("no known failing seed fails now: nothing to replay")
	}
	dir := t.TempDir()
	save := filepath.Join(dir, "failures")
	junit := filepath.Join(dir, "swarm.xml")
	trace := filepath.Join(dir, "failure.jsonl")
	code, out, errs := simrun(t, dir, "swarm", "--no-wall", "--start", fmt.Sprint(seed), "--seeds", "1", "--workers", "2",
		"--shrink", "15", "--save", save, "--junit", junit, "--trace", trace)
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	var file, first string
	for _, l := range strings.Split(out, "\n") {
		if f, ok := strings.CutPrefix(l, "replay: go run ./cmd/simrun replay "); ok {
			file = strings.ReplaceAll(f, "$TMP", dir)
		}
		if v, ok := strings.CutPrefix(l, "FIRST VIOLATION "); ok {
			first = v // the last one printed is the shrunk case's
		}
	}
	if file == "" || first == "" {
		t.Fatalf("no replay command or first violation in:\n%s", out)
	}
	code, rout, rerrs := simrun(t, dir, "replay", "--no-wall", file)
	if code != ExitFailed {
		t.Fatalf("replay %s: exit %d, want 1\n%s%s", file, code, rout, rerrs)
	}
	if !strings.Contains(rout, "first: "+first) {
		t.Fatalf("replay %s did not reproduce %q:\n%s", file, first, rout)
	}
	for _, p := range []string{junit, trace} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("report not written: %v", err)
		}
	}
}

// TestTimeline checks that --timeline writes an HTML page for a scenario
// and for a swarm's failure, and that --timeline with --trace writes both.
func TestTimeline(t *testing.T) {
	dir := t.TempDir()
	html, trace := filepath.Join(dir, "t.html"), filepath.Join(dir, "t.jsonl")
	code, out, errs := simrun(t, dir, "replay", "--timeline", html, "--trace", trace, "tiny_chunk_size")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(string(page[:min(len(page), 200)])), "<!doctype html") {
		t.Errorf("%s does not start like an HTML page: %.100q", html, page)
	}
	if fi, err := os.Stat(trace); err != nil || fi.Size() == 0 {
		t.Errorf("trace not written beside the timeline: %v", err)
	}
}

// TestSwarmSavesWhatFailed runs the swarm on a mix with a broken streamer
// (simtest's variants, which no scenario file can carry) and checks that the
// saved file holds exactly the shrunk config: with the variant installed
// again, it fails with the printed first violation. Without the variant the
// replay passes, and the swarm says the replay did not reproduce.
func TestSwarmSavesWhatFailed(t *testing.T) {
	v := simtest.Variants[0]
	mix := func(seed uint64) sim.Config {
		cfg := swarm.Config(seed)
		v.Apply(&cfg)
		return cfg
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	c := &SwarmCommand{main: m, config: mix}
	err := c.Run(context.Background(), []string{"--seeds", "50", "--shrink", "5", "--save", dir, "--no-wall"})
	var fe *FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("variant %s: swarm error %v, want a failure\n%s", v.Name, err, out.String())
	}
	var file, first string
	for _, l := range strings.Split(out.String(), "\n") {
		if f, ok := strings.CutPrefix(l, "saved "); ok {
			file = f
		}
		if f, ok := strings.CutPrefix(l, "FIRST VIOLATION "); ok {
			first = f
		}
	}
	if file == "" || !strings.Contains(out.String(), "FLAKY: replaying "+file) {
		t.Fatalf("no saved file, or no FLAKY note for a variant that cannot be saved:\n%s", out.String())
	}
	s, err := scenarios.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	v.Apply(&s.Config)
	again, err := scenarios.Run(s, scenarios.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Verdict || again.Report.First().String() != first {
		t.Fatalf("saved case with %s installed: first violation %v, want %s", v.Name, again.Report.First(), first)
	}
}

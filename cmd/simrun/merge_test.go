package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var mergeSeeds = flag.Uint64("merge.seeds", 200, "seed range of TestMergeEqualsUnsharded (the acceptance run: 8000, 4 shards x 2000 seeds)")

// TestMergeEqualsUnsharded runs 'simrun swarm' as 4 shard processes and once
// unsharded over the same seed range, merges the shards' JUnit reports with
// 'simrun merge', and checks the merged report is byte for byte the
// unsharded one. -merge.seeds sets the range.
func TestMergeEqualsUnsharded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds simrun")
	}
	const shards = 4
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "simrun")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	swarmArgs := []string{"swarm", "--seeds", fmt.Sprint(*mergeSeeds), "--no-wall", "--max-failures", "0", "--shrink", "0", "--require-coverage",
		"--save", filepath.Join(tmp, "failures")}
	start := time.Now()
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	var files []string
	for i := range shards {
		f := filepath.Join(tmp, fmt.Sprintf("shard-%d.xml", i))
		files = append(files, f)
		cmd := exec.Command(bin, append(swarmArgs, "--shard", fmt.Sprintf("%d/%d", i, shards), "--junit", f)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	for i, cmd := range cmds {
		// Exit 1 is a failing seed: the reports still hold every seed.
		if err := cmd.Wait(); err != nil && cmd.ProcessState.ExitCode() != ExitFailed {
			t.Fatalf("shard %d: %v\n%s", i, err, outs[i])
		}
	}
	sharded := time.Since(start)
	start = time.Now()
	all := filepath.Join(tmp, "all.xml")
	if out, err := exec.Command(bin, append(swarmArgs, "--junit", all)...).CombinedOutput(); err != nil && !isExit(err, ExitFailed) {
		t.Fatalf("unsharded: %v\n%s", err, out)
	}
	unsharded := time.Since(start)
	merged := filepath.Join(tmp, "merged.xml")
	mout, err := exec.Command(bin, append([]string{"merge", "--junit", merged}, files...)...).CombinedOutput()
	if err != nil && !isExit(err, ExitFailed) {
		t.Fatalf("merge: %v\n%s", err, mout)
	}
	want, _ := os.ReadFile(all)
	got, _ := os.ReadFile(merged)
	if len(want) == 0 || !bytes.Equal(got, want) {
		t.Fatalf("merged report differs from the unsharded one:\n%s", lineDiff(string(want), string(got)))
	}
	t.Logf("%d seeds: %d shard processes %v, unsharded %v; %s", *mergeSeeds, shards, sharded.Round(time.Millisecond),
		unsharded.Round(time.Millisecond), strings.SplitN(string(mout), "\n", 2)[0])
}

func isExit(err error, code int) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == code
}

// lineDiff shows the first differing line of two texts.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y)
		}
	}
	return "(no line differs)"
}

// shardXML is a minimal shard report for the merge's unit tests.
func shardXML(shard string, props string, cases ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="simrun" tests="%d" failures="0" errors="0" time="1.5">
  <testsuite name="simrun swarm" tests="%d" failures="0" errors="0" skipped="0" time="1.5">
    <properties>
      <property name="mix" value="standard mix"></property>
      <property name="shard" value="%s"></property>
%s    </properties>
`, len(cases), len(cases), shard, props)
	for _, c := range cases {
		b.WriteString(c + "\n")
	}
	b.WriteString("  </testsuite>\n</testsuites>\n")
	return b.String()
}

func okCase(seed int) string {
	return fmt.Sprintf(`    <testcase name="seed %d" classname="simrun.swarm" time="0.5"></testcase>`, seed)
}

// TestMerge checks merging on hand-made shard reports: natural order,
// recomputed counts, summed coverage, a failure kept, and each way shards
// can fail to fit together refused with a message naming the files.
func TestMerge(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fail := `    <testcase name="seed 10" classname="simrun.swarm" time="0.5"><failure message="bytes: lost [0,5)" type="bytes">SEED 10</failure></testcase>`
	cov := func(rot, trunc int) string {
		return fmt.Sprintf("      <property name=\"coverage.rename-rotation\" value=\"%d\"></property>\n      <property name=\"coverage.truncate\" value=\"%d\"></property>\n", rot, trunc)
	}
	a := write("a.xml", shardXML("0/2", cov(3, 1), okCase(0), okCase(2), okCase(8), fail))
	b := write("b.xml", shardXML("1/2", cov(4, 0), okCase(1), okCase(9), okCase(11)))
	out := filepath.Join(dir, "merged.xml")
	var stdout bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stdout}
	err := (&MergeCommand{main: m}).Run(context.Background(), []string{"--junit", out, b, a})
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Failed != 1 {
		t.Fatalf("merge: %v\n%s", err, stdout.String())
	}
	got, _ := os.ReadFile(out)
	for _, want := range []string{
		`<testsuites name="simrun" tests="7" failures="1" errors="0" time="3.000">`,
		`<property name="shard" value="0/1">`,
		`<property name="coverage.rename-rotation" value="7">`,
		`<property name="coverage.truncate" value="1">`,
		`name="seed 0"`, `name="seed 11"`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("merged report lacks %s:\n%s", want, got)
		}
	}
	order := []int{}
	for _, l := range strings.Split(string(got), "\n") {
		var n int
		if i := strings.Index(l, `name="seed `); i >= 0 {
			fmt.Sscanf(l[i+len(`name="seed `):], "%d", &n)
			order = append(order, n)
		}
	}
	if fmt.Sprint(order) != "[0 1 2 8 9 10 11]" {
		t.Errorf("case order %v", order)
	}
	for _, want := range []string{"7 cases, 1 failed", "FAIL seed 10: bytes: lost [0,5)", "rename-rotation  7"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout.String())
		}
	}

	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"missing shard", []string{a}, "shards 1/2 missing"},
		{"same shard twice", []string{a, write("a2.xml", shardXML("0/2", "", okCase(4)))}, "shard 0/2 again"},
		{"another shard count", []string{a, write("c.xml", shardXML("1/3", "", okCase(1)))}, "is a shard of 2"},
		{"overlapping cases", []string{a, write("d.xml", shardXML("1/2", "", okCase(2)))}, `test case "seed 2" is also in`},
		{"different mix", []string{a, write("e.xml", strings.Replace(shardXML("1/2", "", okCase(1)), "standard mix", "test mix", 1))}, "property mix is"},
		{"bad coverage", []string{a, write("f.xml", shardXML("1/2", "      <property name=\"coverage.truncate\" value=\"many\"></property>\n", okCase(1)))}, "not an integer count"},
		{"not JUnit", []string{a, write("g.xml", "hello")}, "g.xml: not a JUnit report"},
		{"missing file", []string{a, filepath.Join(dir, "nope.xml")}, "nope.xml"},
		{"no files", nil, "no JUnit files"},
	} {
		err := (&MergeCommand{main: m}).Run(context.Background(), append([]string{"--junit", filepath.Join(dir, "bad.xml")}, c.files...))
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a usage error with %q", c.name, err, c.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "bad.xml")); err == nil {
			t.Fatalf("%s: a refused merge wrote its output", c.name)
		}
	}
}

func TestNaturalCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"seed 9", "seed 10", -1}, {"seed 10", "seed 9", 1}, {"seed 010", "seed 10", 0}, {"a", "b", -1}, {"seed 1", "seed 1x", -1}} {
		if got := naturalCompare(c.a, c.b); got != c.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestMergeCoverageVerdict: each shard judged its own coverage; the merged
// report judges the summed counts again.
func TestMergeCoverageVerdict(t *testing.T) {
	dir := t.TempDir()
	props := func(rot, trunc int) string {
		return fmt.Sprintf("      <property name=\"coverage.rename-rotation\" value=\"%d\"></property>\n"+
			"      <property name=\"coverage.truncate\" value=\"%d\"></property>\n"+
			"      <property name=\"coverage.exotic\" value=\"0\"></property>\n"+
			"      <property name=\"coverage-required\" value=\"2\"></property>\n"+
			"      <property name=\"coverage-exempt\" value=\"exotic\"></property>\n", rot, trunc)
	}
	shortCase := `    <testcase name="coverage" classname="simrun.swarm.coverage" time="0"><failure message="coverage: 1 class(es) hit fewer than 2 time(s): truncate" type="coverage"></failure></testcase>`
	okCov := `    <testcase name="coverage" classname="simrun.swarm.coverage" time="0"></testcase>`
	run := func(trunc0, trunc1 int, case0, case1 string) (string, error) {
		a := filepath.Join(dir, "a.xml")
		b := filepath.Join(dir, "b.xml")
		os.WriteFile(a, []byte(shardXML("0/2", props(2, trunc0), okCase(0), case0)), 0o644)
		os.WriteFile(b, []byte(shardXML("1/2", props(1, trunc1), okCase(1), case1)), 0o644)
		out := filepath.Join(dir, "m.xml")
		os.Remove(out)
		err := (&MergeCommand{main: &Main{Stdout: new(bytes.Buffer), Stderr: new(bytes.Buffer)}}).Run(context.Background(),
			[]string{"--junit", out, a, b})
		got, _ := os.ReadFile(out)
		return string(got), err
	}
	// Each shard is short of truncate; together they have enough.
	got, err := run(1, 1, shortCase, okCov)
	if err != nil || strings.Count(got, `name="coverage"`) != 1 || strings.Contains(got, "<failure") {
		t.Fatalf("merged verdict should pass: %v\n%s", err, got)
	}
	// Together still short: the merged verdict fails and names the class.
	got, err = run(1, 0, shortCase, shortCase)
	var fe *FailedError
	if !errors.As(err, &fe) || !strings.Contains(got, `message="coverage: 1 class(es) hit fewer than 2 time(s): truncate"`) {
		t.Fatalf("merged verdict should fail: %v\n%s", err, got)
	}
	// A verdict in only one file cannot be merged.
	if _, err := run(1, 1, shortCase, okCase(3)); err == nil || !strings.Contains(err.Error(), "1 of 2 files hold a coverage verdict") {
		t.Fatalf("one verdict: %v", err)
	}
}

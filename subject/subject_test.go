package subject_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/scenarios"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
	"github.com/logstream-sim/logstream-sim/subject"
	"github.com/logstream-sim/logstream-sim/subject/gosite"
)

var all = flag.Bool("subject.all", false, "run every runnable built-in scenario against the Go subject (about a minute)")

// siteEnv selects what the test binary does when the harness starts it as a
// site (see TestMain).
const siteEnv = "SUBJECT_TEST_SITE"

// TestMain lets the test binary be a site: with SUBJECT_TEST_SITE set it
// runs the Go subject, or one of the bad subjects, instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv(siteEnv); mode != "" {
		os.Exit(badSite(mode))
	}
	os.Exit(m.Run())
}

// badSite runs one site in the given mode. The first line (init) decides
// the role; "go" and every mode's other role run the Go subject.
func badSite(mode string) int {
	in := bufio.NewReader(os.Stdin)
	first, err := in.ReadBytes('\n')
	if err != nil {
		return 9
	}
	var init subject.Line
	json.Unmarshal(first, &init)
	rest := io.MultiReader(bytes.NewReader(first), in)
	out := os.Stdout
	say := func(s string) { fmt.Fprintln(out, s) }
	recv := init.Role == subject.RoleReceiver
	switch {
	case mode == "crash" && recv:
		fmt.Fprintln(os.Stderr, "boom: receiver crashes at init")
		return 3
	case mode == "hang" && recv:
		time.Sleep(time.Hour)
	case mode == "garbage" && recv:
		say(`{"type":"init_ok","protocol":1}`)
		say(`hello, harness`)
		time.Sleep(time.Hour)
	case mode == "version" && recv:
		say(`{"type":"init_ok","protocol":2}`)
		time.Sleep(time.Hour)
	case mode == "oversized" && recv:
		say(`{"type":"init_ok","protocol":1}`)
		out.Write(bytes.Repeat([]byte("x"), subject.MaxLine+10))
		say("")
		time.Sleep(time.Hour)
	case mode == "unknown-type" && recv:
		say(`{"type":"init_ok","protocol":1}`)
		say(`{"type":"gossip","text":"hi"}`)
		time.Sleep(time.Hour)
	case mode == "mute-sender" && !recv:
		say(`{"type":"init_ok","protocol":1}`)
		io.Copy(io.Discard, in) // reads everything, sends nothing
		return 0
	case mode == "missing-field" && !recv:
		say(`{"type":"init_ok","protocol":1}`)
		say(`{"type":"send","id":1,"body":{}}`)
		time.Sleep(time.Hour)
	case (mode == "dup-reply" || mode == "silent") && recv:
		say(`{"type":"init_ok","protocol":1}`)
		sc := bufio.NewScanner(in)
		sc.Buffer(nil, subject.MaxLine+1)
		for sc.Scan() {
			var l subject.Line
			json.Unmarshal(sc.Bytes(), &l)
			if l.Type == subject.TExit {
				return 0
			}
			if l.Type == subject.TDeliver && mode == "dup-reply" {
				r := fmt.Sprintf(`{"type":"reply","id":%d,"body":{"RC":"OK"}}`, l.ID)
				say(r)
				say(r)
			}
		}
		return 0
	}
	return gosite.Main(rest, out, os.Stderr)
}

// selfCommand returns a site command that runs this test binary in mode.
func selfCommand(t *testing.T, mode string) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s=%s exec %q -test.run=^$", siteEnv, mode, exe)
}

func builtin(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	l, err := scenarios.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return l[0]
}

// fast scenarios, each at most five seconds of real time at the default factor.
var conformance = []string{
	"rename_rotation_drains_old_handle",
	"duplicated_first_message_does_not_deadlock",
	"lost_replies_cause_no_duplicate",
	"late_registration_starts_stream_after_misses",
	"truncate_regrow_with_new_head_is_detected",
	"sender_crash_is_detected_by_idle_timeout",
	"duplicate_and_stale_deliveries_are_deduplicated",
}

// TestGoSubjectConformance runs the Go streamer as an external subject: it
// must pass (every runnable built-in scenario with -subject.all). A failed
// run is run once more (real time is noisy); a defect fails both.
func TestGoSubjectConformance(t *testing.T) {
	names := conformance
	factor := float64(subject.DefaultFactor)
	if *all {
		names = nil
		for _, s := range scenarios.Builtin() {
			names = append(names, s.Name)
		}
	}
	// The runs wait on real time, not on the CPU: start them all at once
	// (t.Parallel would run only GOMAXPROCS of them at a time), then judge
	// each in its own subtest.
	type result struct {
		res *subject.Result
		err error
	}
	results := make([]chan result, len(names))
	cmd := selfCommand(t, "go")
	slots := make(chan struct{}, 8) // at most 8 runs at once
	for i, name := range names {
		results[i] = make(chan result, 1)
		s := builtin(t, name)
		if subject.SkipReason(s.Config, factor) != "" {
			results[i] <- result{}
			continue
		}
		go func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			res, err := subject.Run(context.Background(), subject.Config{Command: cmd, Sim: s.Config, Factor: factor})
			results[i] <- result{res, err}
		}()
	}
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			s := builtin(t, name)
			r := <-results[i]
			if why := subject.SkipReason(s.Config, factor); why != "" {
				t.Skip(why)
			}
			res, err := r.res, r.err
			if err != nil {
				t.Fatal(err)
			}
			judge := func(res *subject.Result) (*oracle.Report, bool) {
				rep := oracle.Check(res.History)
				ok := rep.OK()
				if s.ExpectFail != "" {
					ok = false
					for _, v := range rep.Violations {
						ok = ok || v.Property == s.ExpectFail
					}
				}
				return rep, ok && len(res.Problems) == 0
			}
			rep, ok := judge(res)
			if !ok && (s.KnownFailure != 0 || subject.KnownRealTime[name] != 0) {
				t.Skipf("known failure (issue %d): %v", max(s.KnownFailure, subject.KnownRealTime[name]), rep.First())
			}
			if !ok {
				// Real time is noisy (CI runs this beside the race-enabled
				// suite on two cores): a failed run is run once more, as
				// "simrun subject --retries 1" does. A defect fails both.
				first := fmt.Sprintf("jitter %v, problems %v\n%s", res.Jitter, res.Problems, rep)
				res, err = subject.Run(context.Background(), subject.Config{Command: cmd, Sim: s.Config, Factor: factor})
				if err != nil {
					t.Fatal(err)
				}
				if rep, ok = judge(res); ok {
					t.Logf("flaky: the first run failed, the second passed; first failure:\n%s", first)
				} else {
					t.Errorf("failed twice; first: %s\nsecond: jitter %v, problems %v\n%s", first, res.Jitter, res.Problems, rep)
				}
			}
			if name == "late_registration_starts_stream_after_misses" {
				// The hazard must have been exercised: a loaded machine can
				// start the sender so late that its first message comes
				// after the registration (0.8 s of real time). Such a run
				// is no evidence either way: run again, at most twice.
				reg := registeredAt(t, s.Config)
				misses, bad := bootstrapMisses(res.Attempts, "r1", reg)
				for try := 0; misses == 0 && len(bad) == 0 && try < 2; try++ {
					res, err = subject.Run(context.Background(), subject.Config{Command: cmd, Sim: s.Config, Factor: factor})
					if err != nil {
						t.Fatal(err)
					}
					if rep := oracle.Check(res.History); !rep.OK() {
						t.Errorf("rerun: %s", rep)
					}
					misses, bad = bootstrapMisses(res.Attempts, "r1", reg)
				}
				if len(bad) > 0 {
					t.Errorf("answers other than NOT_READY before the late registration: %+v", bad)
				}
				if misses == 0 {
					t.Errorf("in 3 runs no message reached r1 before its late registration (the hazard was never exercised)")
				}
				t.Logf("%d answers before the late registration, all NOT_READY", misses)
			}
			if res.History.Written == 0 || len(res.History.Targets) == 0 {
				t.Errorf("empty record: written %d, targets %d", res.History.Written, len(res.History.Targets))
			}
		})
	}
}

// registeredAt is when the scenario's not-registered fault lets the
// receiver's handler register (scenario time).
func registeredAt(t *testing.T, c sim.Config) time.Time {
	t.Helper()
	for _, f := range c.Plan.Faults {
		if f.Kind == faults.NotRegistered {
			return sim.Epoch.Add(f.At)
		}
	}
	t.Fatal("no not-registered fault in the scenario")
	return time.Time{}
}

// bootstrapMisses counts the attempts to target answered before reg (the
// handler's registration), and returns those answered with anything but
// NOT_READY.
func bootstrapMisses(attempts []subject.Attempt, target string, reg time.Time) (n int, bad []subject.Attempt) {
	for _, a := range attempts {
		if a.Target != target || !a.Answered || !a.AnsweredAt.Before(reg) {
			continue
		}
		n++
		if a.RC != string(logstream.NotReady) {
			bad = append(bad, a)
		}
	}
	return n, bad
}

// TestSkipReason: faults on the tailer's own calls and long horizons are
// skipped with a reason, not passed.
func TestSkipReason(t *testing.T) {
	for name, want := range map[string]string{
		"short_reads_deliver_every_byte":    "short-read acts on the tailer's own system calls",
		"open_read_stat_errors_are_retried": "tailer's own system calls",
		"soak_one_hour_mixed_faults":        "horizon 1h0m0s",
		"rename_rotation_drains_old_handle": "",
	} {
		got := subject.SkipReason(builtin(t, name).Config, subject.DefaultFactor)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%s: SkipReason = %q, want %q", name, got, want)
		}
	}
}

// TestBadSubjects: each misbehaviour ends the run with an error naming the
// site and the offending line, within a bound, and leaves no process.
func TestBadSubjects(t *testing.T) {
	s := builtin(t, "duplicated_first_message_does_not_deadlock")
	for _, c := range []struct {
		mode string
		want []string
	}{
		{"crash", []string{"site r1 exited unexpectedly", "exit status 3", "boom: receiver crashes at init"}},
		{"hang", []string{"site r1 did not answer init within"}},
		{"garbage", []string{"site r1 line 2", "not a JSON object", "line `hello, harness`"}},
		{"version", []string{"site r1 line 1", "site speaks protocol version 2, the harness speaks 1"}},
		{"oversized", []string{"site r1 line 2", "more than 4194304 bytes without a newline"}},
		{"unknown-type", []string{"site r1 line 2", `unknown type "gossip"`}},
		{"missing-field", []string{"site sender line 2", `send line without "to"`}},
		{"dup-reply", []string{"site r1 line", "second reply to deliver id 1", `"type":"reply","id":1`}},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			pidFile := filepath.Join(t.TempDir(), "child.pid")
			// The site leaves a grandchild behind: it must be killed too.
			cmd := fmt.Sprintf("sleep 300 & echo $! >> %q; %s", pidFile, selfCommand(t, c.mode))
			start := time.Now()
			_, err := subject.Run(context.Background(), subject.Config{Command: cmd, Sim: s.Config, Factor: 50, InitTimeout: 3 * time.Second})
			if err == nil {
				t.Fatal("run passed")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
			if !errors.Is(err, subject.ErrProtocol) && !errors.Is(err, subject.ErrSite) {
				t.Errorf("error %v wraps neither ErrProtocol nor ErrSite", err)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %v", d)
			}
			checkNoOrphans(t, pidFile)
		})
	}
}

// TestSilentReceiver: a receiver that never answers is named, with the
// message it left unanswered.
func TestSilentReceiver(t *testing.T) {
	s := builtin(t, "duplicated_first_message_does_not_deadlock")
	res, err := subject.Run(context.Background(), subject.Config{Command: selfCommand(t, "silent"), Sim: s.Config, Factor: 50})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(res.Problems, "\n")
	if !strings.Contains(got, "site r1 never answered deliver id=1") || !strings.Contains(got, `"type":"send"`) {
		t.Errorf("problems = %q", got)
	}
}

// TestMuteSender: a sender that never streams nor ends is cut off at the
// scenario's termination bound, and the record says so.
func TestMuteSender(t *testing.T) {
	s := builtin(t, "duplicated_first_message_does_not_deadlock")
	start := time.Now()
	res, err := subject.Run(context.Background(), subject.Config{Command: selfCommand(t, "mute-sender"), Sim: s.Config, Factor: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(res.Problems, "\n")
	if !strings.Contains(got, "the sender did not end within") || res.History.Stuck == "" {
		t.Errorf("problems %q, stuck %q", got, res.History.Stuck)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v", d)
	}
}

// checkNoOrphans fails if a process whose pid is in pidFile still runs.
func checkNoOrphans(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return // the site never got that far
	}
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("orphan process %d still running after the run", pid)
				exec.Command("kill", "-9", f).Run()
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// alive reports whether pid runs (a zombie waiting for init counts as gone).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// flareCommand returns the site command of the FLARE adapter, or skips the
// test with the reason FLARE cannot run here.
func flareCommand(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("FLARE subject: %s not found (the adapter runs on Debian's python3)", py)
	}
	if out, err := exec.Command(py, "-c", "import msgpack, grpc, psutil, yaml, cryptography").CombinedOutput(); err != nil {
		t.Skipf("FLARE subject: FLARE's dependencies are missing (apt-get install python3-msgpack python3-grpcio python3-psutil python3-yaml python3-cryptography): %s", strings.TrimSpace(string(out)))
	}
	adapter, err := filepath.Abs("flare/flare_site.py")
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := filepath.Abs("../../shared/reference/nvflare-2.8/nvflare-2.8-streaming.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fixture); err == nil {
		return fmt.Sprintf("NVFLARE_FIXTURE=%q exec %s %q", fixture, py, adapter)
	}
	if exec.Command(py, "-c", "import nvflare").Run() == nil {
		return fmt.Sprintf("exec %s %q", py, adapter)
	}
	t.Skipf("FLARE subject: neither %s nor an installed nvflare package", fixture)
	return ""
}

// TestFlareSubject runs FLARE 2.8's own LogStreamer through the harness on
// two hazards that show whatever the timing: a duplicated data message is
// consumed twice, and a duplicated first message deadlocks the receiver
// (H20), which the harness names as a delivery never answered. The Go
// subject passes both (TestGoSubjectConformance).
func TestFlareSubject(t *testing.T) {
	cmd := flareCommand(t)
	// What a duplicated message does to FLARE depends on timing: a second
	// seq 0 for a live transaction deadlocks the receiver (the harness
	// names the delivery never answered); one that races the first is
	// consumed twice or after done; a later duplicate is consumed twice.
	shown := func(t *testing.T, rep *oracle.Report, res *subject.Result) string {
		for _, p := range res.Problems {
			if strings.Contains(p, "site r1 never answered deliver") {
				return ""
			}
		}
		for _, v := range rep.Violations {
			switch {
			case v.Property == oracle.PropBytes && strings.Contains(v.Detail, "duplicated"),
				v.Property == oracle.PropDoneAfter, v.Property == oracle.PropDoneOnce:
				return ""
			}
		}
		if res.History.Result.RC != logstream.OK {
			// On a loaded machine FLARE's first reply can miss its chunk
			// timeout: FLARE gives up at once (no retries), before any
			// duplicate. Still a failure of the scenario, not the hazard.
			t.Logf("FLARE gave up before the hazard: sender %s", res.History.Result.RC)
			return ""
		}
		return "no duplicated bytes, no callback after done, no missing done, no unanswered delivery, no give-up"
	}
	for _, c := range []struct {
		scenario string
		check    func(t *testing.T, rep *oracle.Report, res *subject.Result) string
	}{
		{"duplicate_and_stale_deliveries_are_deduplicated", shown},
		{"duplicated_first_message_does_not_deadlock", shown},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			t.Parallel()
			s := builtin(t, c.scenario)
			var stderr bytes.Buffer
			// Factor 10: FLARE's chunk timeout becomes 500 ms of real time,
			// which a loaded machine rarely misses.
			res, err := subject.Run(context.Background(), subject.Config{Command: cmd, Sim: s.Config, Factor: 10, Stderr: &lockedBuffer{b: &stderr}})
			if err != nil {
				t.Fatalf("%v\nsite logs:\n%s", err, stderr.String())
			}
			rep := oracle.Check(res.History)
			if why := c.check(t, rep, res); why != "" {
				t.Errorf("FLARE did not show the hazard: %s\nproblems %v\n%s", why, res.Problems, rep)
			}
		})
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestPythonLibrary runs lsproto's own tests (standard library unittest).
func TestPythonLibrary(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: lsproto's tests need it")
	}
	cmd := exec.Command(py, "-B", "-m", "unittest", "lsproto_test")
	cmd.Dir = "python"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

package live

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

var peersFlag = flag.Bool("peers", false, "run the peer comparison (scripts/peers.sh; or set PEERS=1)")

// TestPeers runs each rotator workload once and follows the same file with
// every subject at once: this project's streamer at the README's defaults,
// GNU `tail -F -n +1`, and nxadm/tail (the binary named by $NXTAIL, built by
// scripts/peers.sh from tools/nxtail; left out when unset). The same line
// checker judges what each one printed. It logs one line per workload and
// subject:
//
//	peers: WORKLOAD SUBJECT written=W delivered=D lost=L dup=U reordered=R partial=P
//
// It measures; it asserts only that the run itself worked (every line on
// disk where the workload keeps all files) and that this project's streamer
// loses no line to rename rotation. Run with -peers or PEERS=1.
func TestPeers(t *testing.T) {
	if !*peersFlag && os.Getenv("PEERS") != "1" {
		t.Skip("peer comparison: run scripts/peers.sh (go test ./live -run TestPeers -peers)")
	}
	tailBin := requireTool(t, "tail")
	for _, w := range peerWorkloads {
		t.Run(w.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			// The file exists before anyone follows it: GNU tail -F falls
			// back to polling once a second for a file that is missing
			// when it starts.
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			ours := startStream(t, path, defaults)
			peers := []*peerProc{startPeer(t, "tail-F", tailBin, "-F", "-n", "+1", path)}
			if nx := os.Getenv("NXTAIL"); nx != "" {
				peers = append(peers, startPeer(t, "nxadm-tail", nx, path))
			}
			n := w.run(t, dir, path)
			report := func(subject string, got []byte) Report {
				r := Check(got, n)
				t.Logf("peers: %s %s written=%d delivered=%d lost=%d dup=%d reordered=%d partial=%d",
					w.name, subject, r.Written, r.Delivered, len(r.Lost), r.Dup, r.Reordered, r.Partial)
				return r
			}
			r := report("logstream", ours.finish(t))
			for _, p := range peers {
				report(p.name, p.finish(t, n))
			}
			if w.rename {
				requireClean(t, r, dir, "app")
			}
		})
	}
}

// peerWorkload writes n numbered lines to path through a rotator.
type peerWorkload struct {
	name   string
	rename bool // rename rotation: this project's streamer must lose nothing
	run    func(t *testing.T, dir, path string) (n int)
}

var peerWorkloads = []peerWorkload{
	{"lumberjack-1MB", true, func(t *testing.T, dir, path string) int {
		const n = 150_000
		lj := &lumberjack.Logger{Filename: path, MaxSize: 1, MaxBackups: 1000}
		for seq := range n {
			if _, err := lj.Write([]byte(Line(seq))); err != nil {
				t.Fatal(err)
			}
		}
		if err := lj.Close(); err != nil {
			t.Fatal(err)
		}
		return n
	}},
	{"python-rotatingfilehandler-256KiB", true, func(t *testing.T, dir, path string) int {
		const n = 40_000
		py := requireTool(t, "python3")
		ctx, cancel := context.WithTimeout(t.Context(), toolDeadline)
		defer cancel()
		out, err := exec.CommandContext(ctx, py, filepath.Join("testdata", "rotating_writer.py"),
			path, strconv.Itoa(n), strconv.Itoa(256*1024), "100").CombinedOutput()
		if err != nil {
			t.Fatalf("rotating_writer.py: %v\n%s", err, out)
		}
		return n
	}},
	{"logrotate-create-200ms", true, func(t *testing.T, dir, path string) int { return peerLogrotate(t, dir, path, "create") }},
	{"logrotate-copytruncate-200ms", false, func(t *testing.T, dir, path string) int {
		return peerLogrotate(t, dir, path, "copytruncate")
	}},
}

// peerLogrotate writes lrLines lines at lrRate lines a millisecond (1 s),
// and runs logrotate -f in the given mode each time lrLines/(lrRuns+1)
// more lines are written (every ~200 ms), without waiting for any reader.
func peerLogrotate(t *testing.T, dir, path, mode string) int {
	bin := requireTool(t, "logrotate")
	conf := filepath.Join(dir, "logrotate.conf")
	state := filepath.Join(dir, "logrotate.state")
	cfg := fmt.Sprintf("%q {\n\t%s\n\trotate 100\n\tmissingok\n\tnocompress\n\tnodateext\n\tnomail\n}\n", path, mode)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := newFileWriter(path, mode == "create")
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	t0 := time.Now()
	next := lrLines / (lrRuns + 1)
	for seq := range lrLines {
		if seq%100 == 0 {
			if d := time.Until(t0.Add(time.Duration(seq) * time.Millisecond / lrRate)); d > 0 {
				time.Sleep(d)
			}
		}
		if seq == next {
			ctx, cancel := context.WithTimeout(t.Context(), toolDeadline)
			out, err := exec.CommandContext(ctx, bin, "-f", "-s", state, conf).CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("logrotate: %v\n%s", err, out)
			}
			next += lrLines / (lrRuns + 1)
		}
		if err := w.write(Line(seq)); err != nil {
			t.Fatal(err)
		}
	}
	return lrLines
}

// peerProc is a peer tailer: a process that prints the lines it follows.
type peerProc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
}

func (p *peerProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *peerProc) snapshot() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.out.Bytes())
}

func startPeer(t *testing.T, name, bin string, args ...string) *peerProc {
	t.Helper()
	p := &peerProc{name: name}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// finish waits until the peer printed the last line (seq n-1) or its output
// stayed the same for 2 s (at most streamDeadline), then stops it and
// returns what it printed.
func (p *peerProc) finish(t *testing.T, n int) []byte {
	t.Helper()
	last := []byte(Line(n - 1))
	deadline := time.Now().Add(streamDeadline)
	size, since := -1, time.Now()
	for time.Now().Before(deadline) {
		b := p.snapshot()
		if bytes.HasSuffix(b, last) {
			break
		}
		if len(b) != size {
			size, since = len(b), time.Now()
		} else if time.Since(since) > 2*time.Second {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	return p.snapshot()
}

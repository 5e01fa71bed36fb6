package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
	"go.uber.org/goleak"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/netengine"
)

// syncBuf is a bytes.Buffer safe for the command's goroutines.
type syncBuf struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newSyncBuf() *syncBuf { return &syncBuf{mu: make(chan struct{}, 1)} }

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

// TestLiveToReceiverProcess builds simrun, makes certificates with 'simrun
// certs', runs 'simrun receive --once' with mutual TLS as a subprocess,
// streams a growing file to it with 'simrun live' (in this process, as
// site-1), stops it, and checks the received file and both outcomes.
func TestLiveToReceiverProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds simrun")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "simrun")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pki := filepath.Join(tmp, "pki")
	if out, err := exec.Command(bin, "certs", "--out", pki, "--sites", "site-1").CombinedOutput(); err != nil {
		t.Fatalf("simrun certs: %v\n%s", err, out)
	}
	outDir := filepath.Join(tmp, "out")
	cmd := exec.Command(bin, "receive", "--listen", "127.0.0.1:0", "--out", outDir, "--once", "--idle", "10s",
		"--cert", filepath.Join(pki, "server.pem"), "--key", filepath.Join(pki, "server-key.pem"), "--ca", filepath.Join(pki, "ca.pem"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var addr string
	select {
	case l := <-lines:
		addr = regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(l)
	case <-time.After(10 * time.Second):
		t.Fatal("receiver did not start")
	}
	if addr == "" {
		t.Fatal("no address")
	}

	path := filepath.Join(tmp, "app.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want bytes.Buffer
	for i := range 3000 {
		line := strings.Repeat("x", i%97) + "\n"
		f.WriteString(line)
		want.WriteString(line)
	}
	ctx, stop := context.WithCancel(context.Background())
	out, errw := newSyncBuf(), newSyncBuf()
	m := &Main{Stdout: out, Stderr: errw}
	res := make(chan error, 1)
	go func() {
		res <- (&LiveCommand{main: m, signals: make(chan os.Signal)}).Run(ctx,
			[]string{"--file", path, "--to", "recv=" + addr, "--poll", "20ms", "--chunk", "4KiB", "--site", "site-1",
				"--cert", filepath.Join(pki, "site-1.pem"), "--key", filepath.Join(pki, "site-1-key.pem"), "--ca", filepath.Join(pki, "ca.pem")})
	}()
	time.Sleep(200 * time.Millisecond)
	for i := range 1000 {
		line := "late line " + strings.Repeat("y", i%13) + "\n"
		f.WriteString(line)
		want.WriteString(line)
	}
	stop() // like the first Ctrl-C: drain, then EOF
	if err := <-res; err != nil {
		t.Fatalf("live: %v\n%s%s", err, out, errw)
	}
	if !strings.Contains(out.String(), "target recv: OK") || !strings.Contains(out.String(), "EOF delivered") {
		t.Fatalf("live output:\n%s", out)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("receiver: %v\n%s", err, stderr.String())
	}
	var rlines []string
	for l := range lines {
		rlines = append(rlines, l)
	}
	if len(rlines) != 2 || !strings.HasPrefix(rlines[0], "start site-1:") || !strings.Contains(rlines[1], " OK ") {
		t.Fatalf("receiver output: %q", rlines)
	}
	got, err := os.ReadFile(filepath.Join(outDir, "app.log"))
	if err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("received %d bytes, want %d (%v)", len(got), want.Len(), err)
	}
}

// TestReceiveRefusesTraversal runs 'simrun receive' in process and sends it
// streams whose file names try to leave the output directory.
func TestReceiveRefusesTraversal(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	parent := t.TempDir()
	outDir := filepath.Join(parent, "out")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	out := newSyncBuf()
	m := &Main{Stdout: out, Stderr: out}
	res := make(chan error, 1)
	go func() {
		res <- (&ReceiveCommand{main: m, ready: func(a string) { ready <- a }}).Run(ctx,
			[]string{"--listen", "127.0.0.1:0", "--out", outDir, "--insecure"})
	}()
	addr := <-ready
	cli, err := netengine.Dial(context.Background(), map[string]string{"r": addr}, netengine.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(parent, "src.log")
	os.WriteFile(src, []byte("payload\n"), 0o644)
	for _, name := range []string{"../../etc/passwd", "../x", "..", "."} {
		opt, _ := logstream.TailOptions{PollInterval: 5 * time.Millisecond}.Normalize()
		tail := logstream.NewTailer(afero.NewOsFs(), src, opt, nil)
		p := logstream.NewLogProducer(tail, opt, logstream.StreamContext{logstream.KeyFileName: name}, []string{"r"}, time.Now())
		p.Stop(time.Now())
		r, err := cli.StreamObjects(context.Background(), "log_streaming", "live_log", nil, []string{"r"}, p)
		if err != nil {
			t.Fatal(err)
		}
		if r.RC == logstream.OK {
			t.Fatalf("%q accepted: %+v", name, r)
		}
	}
	cli.Close()
	cancel()
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(outDir)
	pents, _ := os.ReadDir(parent)
	if len(ents) != 0 || len(pents) != 2 {
		t.Fatalf("out holds %v, parent %v", ents, pents)
	}
	if strings.Contains(out.String(), "start ") {
		t.Fatalf("a stream started:\n%s", out)
	}
}

func TestReceiveUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--out", t.TempDir(), "extra"}, {"--out", t.TempDir(), "--idle", "-1s"},
		{"--out", t.TempDir(), "--channel", "*"}, {"--out", t.TempDir(), "--listen", "nonsense"}} {
		m := &Main{Stdout: new(bytes.Buffer), Stderr: new(bytes.Buffer)}
		err := (&ReceiveCommand{main: m}).Run(context.Background(), args)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v", args, err)
		}
	}
}

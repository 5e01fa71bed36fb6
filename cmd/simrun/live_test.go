package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/netengine"
)

// TestLiveSignals: the first signal stops (drain, EOF, exit 0); with a
// receiver that never answers, a second signal aborts (exit 1).
func TestLiveSignals(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := netengine.Listen("127.0.0.1:0", netengine.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	var mu sync.Mutex
	var got bytes.Buffer
	stall := make(chan struct{})
	var stallOn bool
	logstream.RegisterStreamProcessing(srv, "log_streaming", "live_log", func(b []byte, info *logstream.StreamInfo) error {
		if info.Ctx[logstream.KeyFileName] == "stall.log" {
			<-stall
		}
		mu.Lock()
		defer mu.Unlock()
		got.Write(b)
		return nil
	}, nil, logstream.ReceiveOptions{NoIdleTimeout: true})
	defer func() {
		if !stallOn {
			close(stall)
		}
	}()
	dir := t.TempDir()
	run := func(file string, sigs chan os.Signal) (string, error) {
		out := newSyncBuf()
		m := &Main{Stdout: out, Stderr: out, Terminal: true}
		err := (&LiveCommand{main: m, signals: sigs}).Run(context.Background(),
			[]string{"--file", filepath.Join(dir, file), "--to", "s=" + srv.Addr().String(), "--poll", "10ms",
				"--chunk-timeout", "30s", "--insecure"})
		return out.String(), err
	}

	os.WriteFile(filepath.Join(dir, "ok.log"), []byte("hello\n"), 0o644)
	sigs := make(chan os.Signal, 2)
	go func() {
		time.Sleep(700 * time.Millisecond) // one progress line
		sigs <- syscall.SIGTERM
	}()
	out, err := run("ok.log", sigs)
	if err != nil || !strings.Contains(out, "target s: OK") || !strings.Contains(out, "draining") ||
		!strings.Contains(out, "simrun live: WARNING: --insecure: plain TCP") ||
		!strings.Contains(out, "sent to 1 target(s)") || !strings.Contains(out, "stats: read=6 unread=0 ") ||
		!strings.Contains(out, "s OK acked=6 lag=0B") {
		t.Fatalf("%v\n%s", err, out)
	}
	mu.Lock()
	if got.String() != "hello\n" {
		t.Fatalf("got %q", got.String())
	}
	mu.Unlock()

	os.WriteFile(filepath.Join(dir, "stall.log"), []byte("stuck\n"), 0o644)
	sigs = make(chan os.Signal, 2)
	go func() {
		time.Sleep(100 * time.Millisecond)
		sigs <- os.Interrupt
		time.Sleep(100 * time.Millisecond)
		sigs <- os.Interrupt
	}()
	out, err = run("stall.log", sigs)
	var fe *FailedError
	if !errors.As(err, &fe) || !strings.Contains(out, "aborting") || !strings.Contains(out, "TASK_ABORTED") {
		t.Fatalf("%v\n%s", err, out)
	}
	close(stall)
	stallOn = true
}

func TestLiveUsage(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	f := filepath.Join(t.TempDir(), "x.log")
	for _, args := range [][]string{
		{},
		{"--file", f},
		{"--to", "a=127.0.0.1:1"},
		{"--file", f, "--to", "noequals"},
		{"--file", f, "--to", "a=1.2.3.4:5", "--to", "a=1.2.3.4:6"},
		{"--file", f, "--to", "a=127.0.0.1:1", "--chunk", "0"},
		{"--file", f, "--to", "a=127.0.0.1:1", "--chunk", "lots"},
		{"--file", f, "--to", "a=127.0.0.1:1", "--poll", "-1s"},
		{"--file", f, "--to", "a=127.0.0.1:1", "--liveness", "40s", "--idle", "30s"},
		{"--file", f, "--to", "a=" + closed, "--insecure"},
	} {
		m := &Main{Stdout: new(bytes.Buffer), Stderr: new(bytes.Buffer)}
		err := (&LiveCommand{main: m}).Run(context.Background(), args)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v", args, err)
		}
	}
	for in, want := range map[string]int{"65536": 65536, "64KiB": 64 << 10, "1MiB": 1 << 20, "2M": 2 << 20, "100B": 100} {
		if n, err := parseSize(in); err != nil || n != want {
			t.Errorf("parseSize(%q) = %d, %v", in, n, err)
		}
	}
}

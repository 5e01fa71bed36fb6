package logstream_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"go.uber.org/goleak"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/inproc"
)

// The real driver wakes on file-system events (fsnotify) for the log's
// directory: with a one-hour PollInterval and no heartbeats due, only an
// event can make the tailer read a new line, notice a rename rotation
// (Changed: it looks at the path and the rotated names at once) and read
// the new file. Every wait is bounded (a hang fails with a message); none
// is a timing assertion.
func TestFileEventsWakeTheTailer(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	net := inproc.NewNetwork(clock.New())
	send, recv := net.Engine("client"), net.Engine("server")
	defer recv.Shutdown()
	defer send.Shutdown()
	var mu sync.Mutex
	var got bytes.Buffer
	arrived := make(chan struct{}, 100)
	if err := logstream.RegisterStreamProcessing(recv, "c", "t", func(data []byte, _ *logstream.StreamInfo) error {
		mu.Lock()
		got.Write(data)
		mu.Unlock()
		arrived <- struct{}{}
		return nil
	}, func(*logstream.StreamInfo) {}, logstream.ReceiveOptions{NoIdleTimeout: true}); err != nil {
		t.Fatal(err)
	}
	stream, err := logstream.StreamLog(context.Background(), logstream.StreamConfig{
		Sender: send, Channel: "c", Topic: "t", Targets: []string{"server"}, FileName: path,
		Options: logstream.TailOptions{PollInterval: time.Hour, LivenessInterval: time.Hour, DrainWindow: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.After(20 * time.Second) // a hang guard, not a speed target
		for {
			mu.Lock()
			g := got.String()
			mu.Unlock()
			if g == want {
				return
			}
			select {
			case <-arrived:
			case <-deadline:
				t.Fatalf("receiver has %q, want %q: no event woke the tailer", g, want)
			}
		}
	}
	appendTo := func(name, s string) {
		t.Helper()
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	// The first Next opens the empty file and waits an hour; the write's
	// event wakes it (or, if it came first, the first Next reads it).
	appendTo(path, "line 1\n")
	waitFor("line 1\n")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(path+".1", "line 2 (renamed file)\n")
	appendTo(path, "line 3 (new file)\n")
	waitFor("line 1\nline 2 (renamed file)\nline 3 (new file)\n")
	stream.Stop()
	select {
	case <-stream.Done():
		if _, err := stream.Wait(); err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("StreamLog did not end after stop")
	}
}

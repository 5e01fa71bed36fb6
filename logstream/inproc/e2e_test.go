package inproc_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"go.uber.org/goleak"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/inproc"
)

// TestOsFsRotationAndTruncation streams a real file through a real rename
// rotation and a real truncation, with the real clock, and checks every byte.
//
// It runs in a synctest bubble: the real clock (clock.New) then reads the
// bubble's virtual time, so the test needs no real sleeps.
func TestOsFsRotationAndTruncation(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) { osFsRotationAndTruncation(t, dir) })
}

func osFsRotationAndTruncation(t *testing.T, dir string) {
	path := filepath.Join(dir, "app.log")
	net := inproc.NewNetwork(clock.New())
	send, recv := net.Engine("client"), net.Engine("server")
	defer recv.Shutdown()
	defer send.Shutdown()

	var mu sync.Mutex
	var got bytes.Buffer
	doneRC := make(chan logstream.ReturnCode, 2)
	err := logstream.RegisterStreamProcessing(recv, "log_streaming", "live_log",
		func(data []byte, _ *logstream.StreamInfo) error {
			mu.Lock()
			defer mu.Unlock()
			got.Write(data)
			return nil
		},
		func(info *logstream.StreamInfo) { doneRC <- info.RC }, logstream.ReceiveOptions{IdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	var want bytes.Buffer
	write := func(f *os.File, s string) {
		t.Helper()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
		want.WriteString(s)
	}
	// waitFor lets virtual time pass until the receiver has n bytes.
	waitFor := func(n int) {
		t.Helper()
		for range 1000 {
			synctest.Wait()
			mu.Lock()
			l := got.Len()
			mu.Unlock()
			if l >= n {
				return
			}
			time.Sleep(10 * time.Millisecond) // virtual: one poll interval
		}
		t.Fatalf("receiver never reached %d bytes", n)
	}

	stream, err := logstream.StreamLog(context.Background(), logstream.StreamConfig{Sender: send, Channel: "log_streaming",
		Topic: "live_log", Targets: []string{"server"}, FileName: path, NoFileEvents: true, Options: logstream.TailOptions{
			PollInterval: 10 * time.Millisecond, LivenessInterval: time.Second, IdleTimeout: 5 * time.Second, ChunkTimeout: 2 * time.Second, ChunkSize: 7}})
	if err != nil {
		t.Fatal(err)
	}

	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	write(f, "first generation line 1\nfirst generation line 2\n")
	waitFor(10)
	// Rename rotation: the old file keeps bytes the tailer has not read yet.
	write(f, "unread tail of generation one\n")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	f, err = os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	write(f, "second generation\n")
	waitFor(want.Len())
	// Truncation: shrink to zero, then write again.
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	f.Seek(0, 0)
	write(f, "after truncate\n")
	waitFor(want.Len())
	write(f, "last words before stop\n")
	stream.Stop()
	r, err := stream.Wait()
	f.Close()
	if r.RC != logstream.OK || err != nil {
		t.Fatalf("result %+v, error %v", r, err)
	}
	if rc := <-doneRC; rc != logstream.OK {
		t.Fatalf("done rc %s", rc)
	}
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("got %q\nwant %q", got.String(), want.String())
	}
}

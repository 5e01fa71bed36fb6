package inproc_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/inproc"
)

// Stream a real file from one goroutine to another through the in-process
// engine: the receiver prints what arrives, the sender stops once the file is
// written, and EOF and the done callback follow.
func Example() {
	dir, _ := os.MkdirTemp("", "logstream-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.log")
	os.WriteFile(path, []byte("hello\nworld\n"), 0o644)

	net := inproc.NewNetwork(clock.New())
	recv, send := net.Engine("server"), net.Engine("client")
	defer recv.Shutdown()
	done := make(chan logstream.ReturnCode, 1)
	logstream.RegisterStreamProcessing(recv, "log_streaming", "live_log",
		func(b []byte, _ *logstream.StreamInfo) error { fmt.Print(string(b)); return nil },
		func(info *logstream.StreamInfo) { done <- info.RC }, logstream.DefaultIdleTimeout)
	stop := make(chan struct{})
	close(stop) // the writer is done: drain what is there, then EOF
	res, err := logstream.StreamLog(context.Background(), send, "log_streaming", "live_log", nil,
		[]string{"server"}, path, stop, logstream.StreamOptions{TailOptions: logstream.TailOptions{PollInterval: 10 * time.Millisecond}})
	fmt.Println(res.RC, err, <-done)
	// Output:
	// hello
	// world
	// OK <nil> OK
}

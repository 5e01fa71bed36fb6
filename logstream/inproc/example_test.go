package inproc_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/inproc"
	"github.com/logstream-sim/logstream-sim/simfs"
)

// Stream a log from one goroutine to another through the in-process engine:
// the receiver prints what arrives, the sender stops once the file is
// written, and EOF and the done callback follow. The file is on an in-memory
// file system with file identity (simfs); leave Fs nil to tail the OS file
// system.
func Example() {
	fsys := simfs.New(nil)
	fsys.MkdirAll("/var/log", 0o755)
	afero.WriteFile(fsys, "/var/log/app.log", []byte("hello\nworld\n"), 0o644)

	net := inproc.NewNetwork(clock.New()) // in-process engine, real clock
	recv, send := net.Engine("server"), net.Engine("client")
	defer recv.Shutdown()
	done := make(chan logstream.ReturnCode, 1)
	logstream.RegisterStreamProcessing(recv, "log_streaming", "live_log",
		func(b []byte, _ *logstream.StreamInfo) error { fmt.Print(string(b)); return nil },
		func(info *logstream.StreamInfo) { done <- info.RC },
		logstream.ReceiveOptions{}) // FLARE's defaults: a 30 s idle timeout
	stream, err := logstream.StreamLog(context.Background(), logstream.StreamConfig{
		Sender: send, Channel: "log_streaming", Topic: "live_log",
		Targets: []string{"server"}, FileName: "/var/log/app.log", Fs: fsys,
		Options: logstream.TailOptions{PollInterval: 10 * time.Millisecond},
	})
	if err != nil {
		fmt.Println(err) // a bad config: nothing was sent
		return
	}
	stream.Stop() // the writer is done: send what is there, then EOF
	res, err := stream.Wait()
	fmt.Println(res.RC, err, <-done)
	// Output:
	// hello
	// world
	// OK <nil> OK
}

// A stream that did not end OK returns a *StreamError carrying the Result:
// here the only target never registers a consumer, so it answers NOT_READY
// until the sender gives it up.
func ExampleLogStream_Wait_error() {
	fsys := simfs.New(nil)
	fsys.MkdirAll("/var/log", 0o755)
	afero.WriteFile(fsys, "/var/log/app.log", []byte("lost\n"), 0o644)

	net := inproc.NewNetwork(clock.New())
	send := net.Engine("client")
	defer net.Engine("server").Shutdown() // registers nothing
	stream, err := logstream.StreamLog(context.Background(), logstream.StreamConfig{
		Sender: send, Channel: "log_streaming", Topic: "live_log",
		Targets: []string{"server"}, FileName: "/var/log/app.log", Fs: fsys,
		Options: logstream.TailOptions{NotReadyTimeout: 50 * time.Millisecond, RetryBackoff: 5 * time.Millisecond},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = stream.Wait()
	var se *logstream.StreamError
	if errors.As(err, &se) {
		t := se.Result.Targets[0]
		fmt.Println(se.Result.RC, t.Target, t.RC)
	}
	// Output:
	// ERROR server NOT_READY
}

// Stats shows how each target keeps up, while the stream runs and after.
func ExampleLogStream_Stats() {
	fsys := simfs.New(nil)
	fsys.MkdirAll("/var/log", 0o755)
	afero.WriteFile(fsys, "/var/log/app.log", []byte("0123456789\n"), 0o644)

	net := inproc.NewNetwork(clock.New())
	recv, send := net.Engine("server"), net.Engine("client")
	defer recv.Shutdown()
	logstream.RegisterStreamProcessing(recv, "log_streaming", "live_log", nil, nil, logstream.ReceiveOptions{})
	stream, err := logstream.StreamLog(context.Background(), logstream.StreamConfig{
		Sender: send, Channel: "log_streaming", Topic: "live_log",
		Targets: []string{"server"}, FileName: "/var/log/app.log", Fs: fsys,
		Options: logstream.TailOptions{PollInterval: 10 * time.Millisecond},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	stream.Stop()
	stream.Wait()
	st := stream.Stats()
	fmt.Println("read", st.Read, "bytes;", st.Targets[0].Target, st.Targets[0].RC, "acknowledged", st.Targets[0].Acked)
	// Output:
	// read 11 bytes; server OK acknowledged 11
}

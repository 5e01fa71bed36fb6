package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/netengine"
)

// ReceiveCommand is "simrun receive": a networked receiver that stores each
// stream in a file of an output directory.
type ReceiveCommand struct {
	main *Main
	// ready, if set, is told the listening address (tests).
	ready func(addr string)
	// metricsReady, if set, is told the --metrics address (tests).
	metricsReady func(addr string)
}

// Usage returns the help text of "receive".
func (c *ReceiveCommand) Usage() string {
	return `Usage: simrun receive --out DIR [flags]

Listens for log streams from 'simrun live' (the networked engine: mutual TLS
over TCP, or plain TCP with --insecure) and writes each stream to DIR/NAME,
where NAME is the sender's file name (the stream context's
` + logstream.KeyFileName + `) or else the stream ID. Names that are not plain base
names (empty, ".", "..", anything with a separator) are refused, so a
sender cannot write outside DIR; an existing file is never overwritten
(NAME.1, NAME.2, ... are used instead). Prints a line when a stream starts
and when it ends, with its return code. Ctrl-C shuts down: open streams end
with TASK_ABORTED.

With TLS, each sender's site is its client certificate's common name; a
stream that claims another site (stream context ` + netengine.KeySite + `) is refused, and
stream IDs are prefixed with the site (site:ID).

Flags:

	--listen ADDR      address to listen on (default 127.0.0.1:7070; port 0
	                   picks a free one and prints it)
	--out DIR          output directory (created if missing)
	--channel NAME     channel to accept (default log_streaming)
	--topic NAME       topic to accept (default live_log); only this
	                   channel/topic pair is accepted, others get NOT_READY
	--idle DUR         end a stream with TIMEOUT after DUR without a message
	                   (default 30s; 0 disables the watchdog)
	--once             exit after the first stream ends (exit code 1 unless
	                   it ended OK)
` + metricsUsage + tlsUsage + `
Exit codes: 0 clean shutdown (or, with --once, the stream ended OK), 1 the
stream ended otherwise (--once), 2 bad usage or the address is in use.
`
}

// Run runs the command.
func (c *ReceiveCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:7070", "")
	out := fs.String("out", "", "")
	channel := fs.String("channel", "log_streaming", "")
	topic := fs.String("topic", "live_log", "")
	idle := fs.Duration("idle", logstream.DefaultIdleTimeout, "")
	once := fs.Bool("once", false, "")
	metricsAddr := fs.String("metrics", "", "")
	var sec tlsFlags
	sec.add(fs)
	rest, err := c.main.parseFlags(fs, c.Usage(), args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("receive: unexpected argument %q", "run 'simrun help receive' for usage", rest[0])
	}
	if *out == "" {
		return usagef("receive: --out is required", "give the directory to write streams to, e.g. --out received/")
	}
	if *channel == "" || *topic == "" || *channel == "*" || *topic == "*" {
		return usagef("receive: --channel and --topic must name one channel and topic", "")
	}
	if *idle < 0 {
		return usagef("receive: --idle must be >= 0", "0 disables the watchdog")
	}
	var mu sync.Mutex // one line at a time
	opt := netengine.Options{Logf: func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(c.main.Stderr, format+"\n", a...)
	}}
	if err := sec.apply("receive", &opt, c.main.Stderr); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return usagef("receive: %v", "", err)
	}
	sink, err := netengine.NewDirSink(*out, logstream.ReceiveOptions{IdleTimeout: *idle, NoIdleTimeout: *idle == 0})
	if err != nil {
		return usagef("receive: %v", "", err)
	}
	defer sink.Close()

	printf := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(c.main.Stdout, format, a...)
	}
	first := make(chan logstream.ReturnCode, 1)
	sink.OnStart = func(info *logstream.StreamInfo, path string) {
		printf("start %s -> %s\n", info.ID, path)
	}
	sink.OnDone = func(info *logstream.StreamInfo, path string, n int64) {
		printf("done  %s %s (%d bytes to %s)\n", info.ID, info.RC, n, path)
		select {
		case first <- info.RC:
		default:
		}
	}
	srv, err := netengine.Listen(*listen, opt)
	if err != nil {
		return usagef("receive: %v", "is another receiver running on that address?", err)
	}
	defer srv.Shutdown()
	var factory logstream.ConsumerFactory = sink
	done := sink.Done
	if *metricsAddr != "" {
		reg := prometheus.NewRegistry()
		m := newRecvMetrics(reg, srv)
		factory, done = m.factory(sink), m.done(sink.Done)
		stopMetrics, err := serveMetrics("receive", *metricsAddr, reg, c.main.Stderr, c.metricsReady)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	if err := srv.RegisterStreamProcessing(*channel, *topic, factory, done); err != nil {
		return err
	}
	printf("listening on %s (%s:%s), writing to %s\n", srv.Addr(), *channel, *topic, *out)
	if c.ready != nil {
		c.ready(srv.Addr().String())
	}
	var rc logstream.ReturnCode
	var ended <-chan logstream.ReturnCode
	if *once {
		ended = first
	}
	select {
	case <-ctx.Done():
	case rc = <-ended:
	}
	open := srv.Open()
	start := time.Now()
	srv.Shutdown()
	if open > 0 {
		printf("shut down: %d open stream(s) ended with %s (%v)\n", open, logstream.TaskAborted, time.Since(start).Round(time.Millisecond))
	}
	if *once && rc != logstream.OK {
		if rc == "" {
			rc = "no stream"
		}
		return &FailedError{Failed: 1, Total: 1, What: "stream (" + string(rc) + ")"}
	}
	return nil
}

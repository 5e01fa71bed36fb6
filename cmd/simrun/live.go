package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/netengine"
)

// LiveCommand is "simrun live": tail a real file with the real clock and
// stream it to 'simrun receive' processes over the networked engine.
type LiveCommand struct {
	main *Main
	// signals, if set, replaces SIGINT/SIGTERM (tests).
	signals <-chan os.Signal
	// metricsReady, if set, is told the --metrics address (tests).
	metricsReady func(addr string)
	// ended, if set, runs after the results are printed, while the
	// metrics are still served (tests).
	ended func()
}

// Usage returns the help text of "live".
func (c *LiveCommand) Usage() string {
	return `Usage: simrun live --file PATH --to NAME=HOST:PORT [--to ...] [flags]

Tails PATH on the real file system with the real clock and streams it to
each target (a 'simrun receive' process) over the networked engine (mutual
TLS over TCP, or plain TCP with --insecure). The file need not exist yet.
On a terminal a progress line shows the bytes every target acknowledged
and the rate.

The first Ctrl-C (or SIGTERM) stops: what was written before it is drained
(for at most --drain), then EOF is sent. A second one aborts: receivers end
with TASK_ABORTED. The result of each target is printed at the end.

Flags:

	--file PATH        the file to tail
	--to NAME=ADDR     a target (repeatable)
	--channel NAME     channel (default log_streaming)
	--topic NAME       topic (default live_log)
	--chunk SIZE       largest chunk, e.g. 64KiB, 1MiB (default 64KiB)
	--poll DUR         poll interval when the file has no new data (default 500ms)
	--liveness DUR     heartbeat after DUR without a message (default 10s)
	--chunk-timeout DUR  reply timeout per message (default 5s)
	--drain DUR        drain window after stop (default 5s)
	--idle DUR         the receivers' idle timeout, to check --liveness
	                   against (default 0: unknown)
	--window N         chunks awaiting each target's reply at once (default 32;
	                   1 is FLARE's stop-and-wait)
	--read-ahead SIZE  bytes read and not yet acknowledged by every target
	                   (default 8MiB)
	--stats DUR        print each target's stats every DUR (default 0: only
	                   at the end)
	--site NAME        the site this sender claims to be (stream context
	                   ` + netengine.KeySite + `); a TLS receiver refuses a claim that is not
	                   the certificate's site (default: no claim)
` + metricsUsage + tlsUsage + `
At the end, per target: lag (bytes read and not acknowledged, age of the
oldest), messages in flight, retries, heartbeats, NOT_READY waits and lost
attempts by cause.

Exit codes: 0 every target acknowledged EOF, 1 a target failed or the run
was aborted, 2 bad usage or a target could not be reached.
`
}

// targetsFlag collects --to NAME=ADDR.
type targetsFlag struct {
	names []string
	addrs map[string]string
}

func (t *targetsFlag) String() string { return strings.Join(t.names, ",") }

func (t *targetsFlag) Set(v string) error {
	name, addr, ok := strings.Cut(v, "=")
	if !ok || name == "" || addr == "" {
		return fmt.Errorf("want NAME=HOST:PORT, got %q", v)
	}
	if _, dup := t.addrs[name]; dup {
		return fmt.Errorf("target %q given twice", name)
	}
	if t.addrs == nil {
		t.addrs = map[string]string{}
	}
	t.addrs[name] = addr
	t.names = append(t.names, name)
	return nil
}

// sizeFlag is a byte count with an optional KiB/MiB/GiB (or K/M/G) suffix.
type sizeFlag int

func (s *sizeFlag) String() string { return strconv.Itoa(int(*s)) }

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}

func parseSize(v string) (int, error) {
	mult := 1
	num := v
	for _, u := range []struct {
		suf string
		m   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(v, u.suf) {
			num, mult = strings.TrimSuffix(v, u.suf), u.m
			break
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 || n > (1<<30)/mult {
		return 0, fmt.Errorf("bad size %q (want e.g. 65536, 64KiB, 1MiB)", v)
	}
	return n * mult, nil
}

// Run runs the command.
func (c *LiveCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("live", flag.ContinueOnError)
	file := fs.String("file", "", "")
	var to targetsFlag
	fs.Var(&to, "to", "")
	channel := fs.String("channel", "log_streaming", "")
	topic := fs.String("topic", "live_log", "")
	chunk := sizeFlag(logstream.DefaultChunkSize)
	fs.Var(&chunk, "chunk", "")
	poll := fs.Duration("poll", logstream.DefaultPollInterval, "")
	liveness := fs.Duration("liveness", logstream.DefaultLivenessInterval, "")
	chunkTimeout := fs.Duration("chunk-timeout", logstream.DefaultChunkTimeout, "")
	drain := fs.Duration("drain", logstream.DefaultDrainWindow, "")
	idle := fs.Duration("idle", 0, "")
	window := fs.Int("window", logstream.DefaultWindow, "")
	readAhead := sizeFlag(logstream.DefaultReadAhead)
	fs.Var(&readAhead, "read-ahead", "")
	statsEvery := fs.Duration("stats", 0, "")
	site := fs.String("site", "", "")
	metricsAddr := fs.String("metrics", "", "")
	var sec tlsFlags
	sec.add(fs)
	rest, err := c.main.parseFlags(fs, c.Usage(), args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("live: unexpected argument %q", "run 'simrun help live' for usage", rest[0])
	}
	if *file == "" || len(to.names) == 0 {
		return usagef("live: --file and at least one --to are required", "e.g. simrun live --file app.log --to server=127.0.0.1:7070")
	}
	topt := logstream.TailOptions{PollInterval: *poll, LivenessInterval: *liveness, ChunkTimeout: *chunkTimeout,
		DrainWindow: *drain, IdleTimeout: *idle, ChunkSize: int(chunk), Window: *window, ReadAhead: int64(readAhead)}
	if *window <= 0 {
		return usagef("live: --window must be > 0 (1 is stop-and-wait)", "")
	}
	if *statsEvery < 0 {
		return usagef("live: --stats must be >= 0", "")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--poll", *poll}, {"--liveness", *liveness}, {"--chunk-timeout", *chunkTimeout}, {"--drain", *drain}} {
		if d.v <= 0 {
			return usagef("live: %s must be > 0", "", d.name)
		}
	}
	if _, err := topt.Normalize(); err != nil {
		return usagef("live: %v", "", err)
	}
	opt := netengine.Options{MaxFrame: max(netengine.DefaultMaxFrame, int(chunk)+1<<20), Logf: func(format string, a ...any) {
		fmt.Fprintf(c.main.Stderr, format+"\n", a...)
	}}
	if err := sec.apply("live", &opt, c.main.Stderr); err != nil {
		return err
	}
	var streamCtx logstream.StreamContext
	if *site != "" {
		streamCtx = logstream.StreamContext{netengine.KeySite: *site}
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cli, err := netengine.Dial(dctx, to.addrs, opt)
	cancel()
	if err != nil {
		return usagef("live: %v", "is 'simrun receive' running there?", err)
	}
	defer cli.Close()
	pe := &progressEngine{Sender: cli, names: to.names}
	cfg := logstream.StreamConfig{Sender: pe, Channel: *channel, Topic: *topic, Context: streamCtx,
		Targets: to.names, FileName: *file, Options: topt}
	if *metricsAddr != "" {
		reg := prometheus.NewRegistry()
		pe.metrics = newSendMetrics(reg, to.names)
		cfg.Observe = pe.metrics.tail
		stopMetrics, err := serveMetrics("live", *metricsAddr, reg, c.main.Stderr, c.metricsReady)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}

	// The stream's context is not ctx: the first signal (or ctx ending)
	// only stops, so that the drain and EOF happen; the second aborts.
	sctx, abort := context.WithCancel(context.Background())
	defer abort()
	start := time.Now()
	stream, err := logstream.StreamLog(sctx, cfg)
	if err != nil {
		return usagef("live: %v", "", err)
	}
	var stopOnce sync.Once
	stopNow := func(why string) {
		stopOnce.Do(func() {
			fmt.Fprintf(c.main.Stderr, "\nsimrun live: %s: draining, then EOF (again to abort)\n", why)
			stream.Stop()
		})
	}
	sigs := c.signals
	if sigs == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		sigs = ch
	}
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		// Only signals count: the first SIGINT also ends ctx (main's
		// signal.NotifyContext), which must not count twice.
		n := 0
		ctxDone := ctx.Done()
		for {
			select {
			case <-finished:
				return
			case <-ctxDone:
				ctxDone = nil
				stopNow("stopping")
			case s := <-sigs:
				n++
				if n == 1 {
					stopNow(s.String())
					continue
				}
				fmt.Fprintf(c.main.Stderr, "simrun live: %s again: aborting\n", s)
				abort()
				return
			}
		}
	}()

	prog := c.main.Terminal
	var wg sync.WaitGroup
	progDone := make(chan struct{})
	if *statsEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(*statsEvery)
			defer t.Stop()
			for {
				select {
				case <-progDone:
					return
				case <-t.C:
					fmt.Fprintf(c.main.Stdout, "\r\033[Kstats at %v: %s\n", time.Since(start).Round(time.Millisecond), stream.Stats())
				}
			}
		}()
	}
	if prog {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-progDone:
					fmt.Fprint(c.main.Stdout, "\r\033[K")
					return
				case <-t.C:
					n := pe.acked()
					el := time.Since(start)
					fmt.Fprintf(c.main.Stdout, "\r\033[K%s: %s sent to %d target(s), %s/s, %v",
						*file, human(n), len(to.names), human(int64(float64(n)/el.Seconds())), el.Round(time.Second))
				}
			}
		}()
	}
	res, _ := stream.Wait() // a failed target is reported below, by its result
	el := time.Since(start)
	close(progDone) // clear the progress line, stop the stats
	wg.Wait()
	failed := 0
	for _, t := range res.Targets {
		line := fmt.Sprintf("target %s: %s, %s acknowledged", t.Target, t.RC, human(t.Acked))
		if t.RC == logstream.OK {
			line += ", EOF delivered"
		} else {
			failed++
			line += ": " + t.Reason
		}
		fmt.Fprintln(c.main.Stdout, line)
	}
	fmt.Fprintf(c.main.Stdout, "stats: %s\n", stream.Stats())
	fmt.Fprintf(c.main.Stdout, "done: %s in %v\n", res.RC, el.Round(time.Millisecond))
	if c.ended != nil {
		c.ended()
	}
	if failed > 0 || res.RC != logstream.OK {
		return &FailedError{Failed: max(failed, 1), Total: len(res.Targets), What: "target"}
	}
	return nil
}

// human formats a byte count.
func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// progressEngine wraps a sending engine to see the replies, so the progress
// line can show what every target acknowledged.
type progressEngine struct {
	logstream.Sender
	names   []string
	metrics *sendMetrics // nil without --metrics
	mu      sync.Mutex
	next    map[string]int64
	min     atomic.Int64
}

func (e *progressEngine) StreamObjects(ctx context.Context, channel, topic string, sctx logstream.StreamContext,
	targets []string, p logstream.Producer) (logstream.Result, error) {
	if e.metrics != nil {
		e.metrics.active.Set(1)
	}
	return e.Sender.StreamObjects(ctx, channel, topic, sctx, targets, &progressProducer{Producer: p, e: e})
}

func (e *progressEngine) acked() int64 { return e.min.Load() }

func (e *progressEngine) note(t string, r logstream.Reply) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.next == nil {
		e.next = map[string]int64{}
	}
	if (r.RC == logstream.OK || r.RC == "") && r.Next > e.next[t] {
		e.next[t] = r.Next
	}
	vals := make([]int64, 0, len(e.names))
	for _, n := range e.names {
		vals = append(vals, e.next[n])
	}
	e.min.Store(slices.Min(vals))
}

// progressProducer passes everything through and notes the replies.
type progressProducer struct {
	logstream.Producer
	e *progressEngine
}

func (p *progressProducer) Next(now time.Time) logstream.Step {
	st := p.Producer.Next(now)
	if m := p.e.metrics; m != nil {
		m.step(now, st)
	}
	return st
}

func (p *progressProducer) Reply(now time.Time, id uint64, target string, r logstream.Reply) {
	p.e.note(target, r)
	if m := p.e.metrics; m != nil {
		m.noteReply(target, r)
	}
	p.Producer.Reply(now, id, target, r)
}

// Wake forwards the inner producer's stop channel (logstream.Waker), so a
// stop is seen at once rather than at the next poll.
func (p *progressProducer) Wake() <-chan struct{} {
	if w, ok := p.Producer.(logstream.Waker); ok {
		return w.Wake()
	}
	return nil
}

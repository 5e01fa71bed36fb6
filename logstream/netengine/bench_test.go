package netengine

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/internal/cputime"
	"github.com/logstream-sim/logstream-sim/logstream"
)

// Throughput benchmarks: a writer goroutine appends to a real file in a
// temporary directory as fast as it can while the file is streamed over
// loopback to a Server whose consumer only counts bytes. One iteration is
// one chunk's worth of bytes appended; the clock runs from the first append
// to the receiver's done callback. Set NETENGINE_BENCH_BYTES (e.g. 10GiB) to
// stream a fixed amount instead of b.N chunks; the benchmark then also
// reports the process's RSS at the start and its peak while streaming.
// Each also reports the CPU time per GiB (cpu-s/GiB: on a shared machine
// the rate depends on the share of the CPUs the run got, this much less)
// and the mean chunk delivered (KiB/chunk). NETENGINE_WINDOW and
// NETENGINE_READAHEAD set TailOptions.Window and ReadAhead of the runs
// that use the default window (how minWindow was chosen).

func BenchmarkThroughput64K(b *testing.B) { benchThroughput(b, 64<<10, false, 0) }
func BenchmarkThroughput1M(b *testing.B)  { benchThroughput(b, 1<<20, false, 0) }

// BenchmarkBacklog64K and BenchmarkBacklog1M stream a file written before
// the clock starts: the engine's own speed, without the writer's share of
// the CPU and the file system's write throttling.
func BenchmarkBacklog64K(b *testing.B) { benchThroughput(b, 64<<10, true, 0) }
func BenchmarkBacklog1M(b *testing.B)  { benchThroughput(b, 1<<20, true, 0) }

// The same with W=1 (FLARE's stop-and-wait).
func BenchmarkThroughput64KW1(b *testing.B) { benchThroughput(b, 64<<10, false, 1) }
func BenchmarkThroughput1MW1(b *testing.B)  { benchThroughput(b, 1<<20, false, 1) }
func BenchmarkBacklog64KW1(b *testing.B)    { benchThroughput(b, 64<<10, true, 1) }
func BenchmarkBacklog1MW1(b *testing.B)     { benchThroughput(b, 1<<20, true, 1) }

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if strings.HasSuffix(s, u.suf) {
			s, mult = strings.TrimSuffix(s, u.suf), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	d, _ := cputime.Process()
	return d
}

// reportCPU reports the CPU time the process used per GiB streamed since
// cpu0 (the writer's share included, in the appending benchmarks): on a
// machine shared with other work, the rate depends on the share of the
// CPUs the benchmark got; its CPU time per byte much less.
func reportCPU(b *testing.B, cpu0 time.Duration, total int64) {
	b.ReportMetric((cpuTime()-cpu0).Seconds()/(float64(total)/(1<<30)), "cpu-s/GiB")
}

// reportAlloc reports the MiB the process allocated per GiB streamed
// since ms0: a chunk buffer not reused costs its zeroing and page faults,
// about as much as reading the chunk into it.
func reportAlloc(b *testing.B, ms0 *runtime.MemStats, total int64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.TotalAlloc-ms0.TotalAlloc)/(1<<20)/(float64(total)/(1<<30)), "alloc-MiB/GiB")
}

// switches returns the process's context switches so far.
func switches() int64 {
	n, _ := cputime.Switches()
	return n
}

// reportSwitches reports the context switches per chunk of chunk bytes
// since sw0: every wake-up of a thread parked in the kernel (a futex, a
// poll, a sleep) is one, and on a loaded machine each costs a run-queue
// wait, so a streamer that needs fewer per chunk loses less to its share
// of the CPUs.
func reportSwitches(b *testing.B, sw0 int64, total int64, chunk int) {
	b.ReportMetric(float64(switches()-sw0)/max(float64(total)/float64(chunk), 1), "ctxsw/chunk")
}

// rssKiB returns the process's resident set size in KiB.
func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func benchThroughput(b *testing.B, chunk int, backlog bool, window int) {
	total := int64(b.N) * int64(chunk)
	fixed := os.Getenv("NETENGINE_BENCH_BYTES")
	if fixed != "" {
		n, err := parseSize(fixed)
		if err != nil {
			b.Fatal(err)
		}
		total = n
	}
	srv, err := Listen("127.0.0.1:0", benchOpt())
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	var got, calls atomic.Int64
	done := make(chan logstream.ReturnCode, 1)
	logstream.RegisterStreamProcessing(srv, ch, tp, func(p []byte, _ *logstream.StreamInfo) error {
		got.Add(int64(len(p)))
		calls.Add(1)
		return nil
	}, func(info *logstream.StreamInfo) { done <- info.RC }, logstream.ReceiveOptions{})
	cli, err := Dial(context.Background(), map[string]string{"server": srv.Addr().String()}, benchOpt())
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()

	path := filepath.Join(b.TempDir(), "bench.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	buf[len(buf)-1] = '\n'

	write := func() {
		for w := int64(0); w < total; {
			n := min(int64(len(buf)), total-w)
			if _, err := f.Write(buf[:n]); err != nil {
				b.Fatal(err)
			}
			w += n
		}
	}
	if backlog {
		write()
	}
	stop := make(chan struct{})
	res := make(chan logstream.Result, 1)
	runtime.GC()
	rss0 := rssKiB()
	var rssMax atomic.Int64
	sampling := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if r := rssKiB(); r > rssMax.Load() {
				rssMax.Store(r)
			}
			select {
			case <-sampling:
				return
			case <-t.C:
			}
		}
	}()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	start, cpu0, sw0 := time.Now(), cpuTime(), switches()
	go func() {
		// Short polls: when the reader catches up with the writer, the
		// default 500 ms poll would measure the poll, not the transport.
		r, err := streamLog(b, context.Background(), logstream.StreamConfig{Sender: cli, Channel: ch, Topic: tp, Targets: []string{"server"}, FileName: path, Options: logstream.TailOptions{ChunkSize: chunk, PollInterval: time.Millisecond,
			DrainWindow: time.Minute, Window: benchWindow(window), ReadAhead: benchReadAhead()}}, stop)
		if err != nil {
			b.Error(err)
		}
		res <- r
	}()
	if !backlog {
		write()
	}
	close(stop)
	r := <-res
	rc := <-done
	el := time.Since(start)
	b.StopTimer()
	close(sampling)
	wg.Wait()
	if r.RC != logstream.OK || rc != logstream.OK || got.Load() != total {
		b.Fatalf("result %+v done %s: got %d of %d bytes", r, rc, got.Load(), total)
	}
	b.SetBytes(int64(chunk))
	b.ReportMetric(float64(total)/(1<<20)/el.Seconds(), "MiB/s")
	reportCPU(b, cpu0, total)
	reportSwitches(b, sw0, total, chunk)
	reportAlloc(b, &ms0, total)
	// The mean chunk: a reader that catches up with the writer sends what
	// is there, so chunks shrink and cost more per byte.
	b.ReportMetric(float64(total)/float64(max(calls.Load(), 1))/1024, "KiB/chunk")
	if fixed != "" {
		b.ReportMetric(float64(rss0)/1024, "rss-start-MiB")
		b.ReportMetric(float64(rssMax.Load())/1024, "rss-peak-MiB")
		b.ReportMetric(float64(total)/(1<<30), "GiB")
	}
}

// BenchmarkLatency measures append→delivery latency: a writer appends a
// timestamped line every 2–8 ms; the receiver computes when each line
// arrived. With the default 500 ms poll, an append is seen at the next poll,
// so latency is uniform over the poll interval; poll=10ms shows the
// transport's share.
func BenchmarkLatency(b *testing.B) {
	for _, poll := range []time.Duration{logstream.DefaultPollInterval, 10 * time.Millisecond} {
		b.Run("poll="+poll.String(), func(b *testing.B) { benchLatency(b, poll) })
	}
}

func benchLatency(b *testing.B, poll time.Duration) {
	srv, err := Listen("127.0.0.1:0", Options{Insecure: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	var mu sync.Mutex
	var lats []time.Duration
	var carry []byte
	done := make(chan logstream.ReturnCode, 1)
	logstream.RegisterStreamProcessing(srv, ch, tp, func(p []byte, _ *logstream.StreamInfo) error {
		now := time.Now().UnixNano()
		mu.Lock()
		defer mu.Unlock()
		carry = append(carry, p...)
		for {
			i := slices.Index(carry, '\n')
			if i < 0 {
				break
			}
			ts, err := strconv.ParseInt(string(carry[:i]), 10, 64)
			if err != nil {
				return err
			}
			lats = append(lats, time.Duration(now-ts))
			carry = carry[i+1:]
		}
		return nil
	}, func(info *logstream.StreamInfo) { done <- info.RC }, logstream.ReceiveOptions{})
	cli, err := Dial(context.Background(), map[string]string{"server": srv.Addr().String()}, Options{Insecure: true})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	path := filepath.Join(b.TempDir(), "lat.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	stop := make(chan struct{})
	res := make(chan logstream.Result, 1)
	go func() {
		r, _ := streamLog(b, context.Background(), logstream.StreamConfig{Sender: cli, Channel: ch, Topic: tp, Targets: []string{"server"}, FileName: path, Options: logstream.TailOptions{PollInterval: poll}}, stop)
		res <- r
	}()
	bw := bufio.NewWriter(f)
	b.ResetTimer()
	for range b.N {
		time.Sleep(time.Duration(2+rand.IntN(7)) * time.Millisecond)
		fmt.Fprintf(bw, "%d\n", time.Now().UnixNano())
		bw.Flush()
	}
	close(stop)
	if r := <-res; r.RC != logstream.OK {
		b.Fatalf("%+v", r)
	}
	<-done
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	if len(lats) != b.N {
		b.Fatalf("%d of %d lines", len(lats), b.N)
	}
	slices.Sort(lats)
	q := func(p float64) float64 { return float64(lats[int(p*float64(len(lats)-1))]) / 1e6 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// benchOpt returns the engine options of the throughput benchmarks;
// NETENGINE_SOCKBUF sets Options.SocketBuffer; NETENGINE_TLS=1 selects
// mutual TLS (benchTLS) instead of plain TCP.
func benchOpt() Options {
	o := Options{Insecure: true}
	if os.Getenv("NETENGINE_TLS") == "1" {
		o = Options{TLS: benchTLS()}
	}
	if v := os.Getenv("NETENGINE_SOCKBUF"); v != "" {
		n, _ := parseSize(v)
		o.SocketBuffer = int(n)
	}
	return o
}

// BenchmarkServerReceive64K and BenchmarkServerReceive1M measure the
// receiving side alone: a raw connection sends prepared data frames of one
// stream to a Server, one at a time, and reads each reply; the consumer only
// counts bytes. B/op shows what the Server allocates per chunk.
func BenchmarkServerReceive64K(b *testing.B) { benchServerReceive(b, 64<<10) }
func BenchmarkServerReceive1M(b *testing.B)  { benchServerReceive(b, 1<<20) }

func benchServerReceive(b *testing.B, chunk int) {
	srv, err := Listen("127.0.0.1:0", Options{Insecure: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	var got atomic.Int64
	logstream.RegisterStreamProcessing(srv, ch, tp, func(p []byte, _ *logstream.StreamInfo) error {
		got.Add(int64(len(p)))
		return nil
	}, nil, logstream.ReceiveOptions{NoIdleTimeout: true})
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, chunk)
	m := &logstream.Message{StreamID: "bench", Channel: ch, Topic: tp, Kind: logstream.KindData,
		Size: chunk, Data: data, Ctx: logstream.StreamContext{logstream.KeyFileName: "b"}}
	var frame []byte
	br := bufio.NewReader(c)
	var hdr [HeaderSize]byte
	send := func(i int) {
		m.Offset = int64(i) * int64(chunk)
		if frame, err = AppendRequest(frame[:0], uint64(i+1), m); err != nil {
			b.Fatal(err)
		}
		m.Ctx = nil
		if _, err := c.Write(frame); err != nil {
			b.Fatal(err)
		}
		f, err := ReadFrame(br, &hdr, 0)
		if err != nil || f.Reply.RC != logstream.OK {
			b.Fatalf("reply %+v %v", f.Reply, err)
		}
	}
	send(0)
	b.SetBytes(int64(chunk))
	b.ReportAllocs()
	b.ResetTimer()
	sw0 := switches()
	for i := 1; i <= b.N; i++ {
		send(i)
	}
	b.StopTimer()
	reportSwitches(b, sw0, int64(b.N)*int64(chunk), chunk)
	if got.Load() != int64(b.N+1)*int64(chunk) {
		b.Fatalf("got %d bytes", got.Load())
	}
}

// benchReadAhead returns NETENGINE_READAHEAD (e.g. 4MiB), 0 if unset.
func benchReadAhead() int64 {
	n, _ := parseSize(os.Getenv("NETENGINE_READAHEAD"))
	return n
}

// benchWindow returns NETENGINE_WINDOW if set and w is 0 (the default).
func benchWindow(w int) int {
	if v := os.Getenv("NETENGINE_WINDOW"); v != "" && w == 0 {
		n, _ := strconv.Atoi(v)
		return n
	}
	return w
}

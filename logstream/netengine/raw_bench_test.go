package netengine

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The raw streamer: the least a stop-and-wait log streamer over TCP must
// do, as a yardstick for the engine. The sender reads the file into one
// reused buffer and sends each chunk as an 8-byte length and the bytes; the
// receiver reads it into one reused buffer and answers an 8-byte
// acknowledgement; the sender waits for it before the next chunk. No
// framing of its own, no retries, no heartbeats, no rotation.

func BenchmarkRaw64K(b *testing.B)        { benchRaw(b, 64<<10, false) }
func BenchmarkRaw1M(b *testing.B)         { benchRaw(b, 1<<20, false) }
func BenchmarkRawBacklog64K(b *testing.B) { benchRaw(b, 64<<10, true) }
func BenchmarkRawBacklog1M(b *testing.B)  { benchRaw(b, 1<<20, true) }

func benchRaw(b *testing.B, chunk int, backlog bool) {
	total := int64(b.N) * int64(chunk)
	if fixed := os.Getenv("NETENGINE_BENCH_BYTES"); fixed != "" {
		n, err := parseSize(fixed)
		if err != nil {
			b.Fatal(err)
		}
		total = n
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() { // receiver
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		buf := make([]byte, chunk)
		var hdr [8]byte
		var n int64
		for n < total {
			if _, err := io.ReadFull(c, hdr[:]); err != nil {
				break
			}
			size := int(binary.BigEndian.Uint64(hdr[:]))
			if _, err := io.ReadFull(c, buf[:size]); err != nil {
				break
			}
			n += int64(size)
			binary.BigEndian.PutUint64(hdr[:], uint64(n))
			if _, err := c.Write(hdr[:]); err != nil {
				break
			}
		}
		got <- n
	}()
	path := filepath.Join(b.TempDir(), "raw.log")
	w, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	block := make([]byte, chunk)
	for i := range block {
		block[i] = byte('a' + i%26)
	}
	write := func() {
		for n := int64(0); n < total; {
			k := min(int64(chunk), total-n)
			if _, err := w.Write(block[:k]); err != nil {
				b.Error(err)
				return
			}
			n += k
		}
	}
	if backlog {
		write()
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ResetTimer()
	start, cpu0, sw0 := time.Now(), cpuTime(), switches()
	if !backlog {
		go write()
	}
	buf := make([]byte, 8+chunk)
	var ack [8]byte
	var off int64
	for off < total {
		n, err := r.ReadAt(buf[8:], off)
		if n == 0 {
			if err != nil && err != io.EOF {
				b.Fatal(err)
			}
			time.Sleep(time.Millisecond) // the writer has not caught up: poll
			continue
		}
		binary.BigEndian.PutUint64(buf[:8], uint64(n))
		if _, err := c.Write(buf[:8+n]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, ack[:]); err != nil {
			b.Fatal(err)
		}
		off += int64(n)
	}
	n := <-got
	el := time.Since(start)
	b.StopTimer()
	if n != total {
		b.Fatalf("received %d of %d bytes", n, total)
	}
	b.SetBytes(int64(chunk))
	b.ReportMetric(float64(total)/(1<<20)/el.Seconds(), "MiB/s")
	reportCPU(b, cpu0, total)
	reportSwitches(b, sw0, total, chunk)
}

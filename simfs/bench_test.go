package simfs

import (
	"io"
	"os"
	"testing"
)

// BenchmarkAppendRead appends 20 MB in 1 KiB O_APPEND writes and reads it
// back in 64 KiB chunks, the simulator's access pattern. It reports the
// throughput of the whole round trip in MB/s.
func BenchmarkAppendRead(b *testing.B) {
	const total = 20 << 20
	chunk := make([]byte, 1<<10)
	buf := make([]byte, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		f := New(testClock())
		w, err := f.OpenFile("/log", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		for written := 0; written < total; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		r, err := f.Open("/log")
		if err != nil {
			b.Fatal(err)
		}
		read := 0
		for {
			n, err := r.Read(buf)
			read += n
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if read != total {
			b.Fatalf("read %d bytes, want %d", read, total)
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
}

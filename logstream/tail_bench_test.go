package logstream_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/simfs"
)

// BenchmarkTailBacklog reads a 16 MiB backlog through a Tailer at the
// default settings (64 KiB chunks), one Next per chunk, and reports the
// cost per chunk: the time, and on simfs the file operations the tailer's
// checks add to each chunk's read (reads and stats per chunk). On osfs the
// file is a real one, so each operation is a system call.
func BenchmarkTailBacklog(b *testing.B) {
	const size = 16 << 20
	block := make([]byte, 64<<10)
	for i := range block {
		block[i] = byte('a' + i%26)
	}
	write := func(b *testing.B, fsys afero.Fs, name string) {
		f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		for n := 0; n < size; n += len(block) {
			if _, err := f.Write(block); err != nil {
				b.Fatal(err)
			}
		}
	}
	run := func(b *testing.B, fsys afero.Fs, name string, ops func() (reads, stats int)) {
		write(b, fsys, name)
		opt, err := logstream.TailOptions{}.Normalize()
		if err != nil {
			b.Fatal(err)
		}
		var chunks, reads, stats int
		for b.Loop() {
			tl := logstream.NewTailer(fsys, name, opt, nil)
			r0, s0 := ops()
			now := t0
			for got := 0; got < size; {
				a := tl.Next(now)
				if a.Kind != logstream.TailData {
					b.Fatalf("action %v at %d of %d bytes", a.Kind, got, size)
				}
				got += len(a.Data)
				chunks++
				tl.Recycle(a.Data)
				now = now.Add(time.Millisecond)
			}
			r1, s1 := ops()
			reads, stats = reads+r1-r0, stats+s1-s0
			tl.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chunks), "ns/chunk")
		if reads > 0 {
			b.ReportMetric(float64(reads)/float64(chunks), "reads/chunk")
			b.ReportMetric(float64(stats)/float64(chunks), "stats/chunk")
		}
	}
	b.Run("simfs", func(b *testing.B) {
		now := t0
		fsys := simfs.New(func() time.Time { return now })
		var reads, stats int
		fsys.SetInjector(func(op simfs.Op, name string) error {
			switch op {
			case simfs.OpRead:
				reads++
			case simfs.OpStat:
				stats++
			}
			return nil
		})
		if err := fsys.MkdirAll("/var/log", 0o755); err != nil {
			b.Fatal(err)
		}
		run(b, fsys, logPath, func() (int, int) { return reads, stats })
	})
	b.Run("osfs", func(b *testing.B) {
		run(b, afero.NewOsFs(), filepath.Join(b.TempDir(), "app.log"), func() (int, int) { return 0, 0 })
	})
}

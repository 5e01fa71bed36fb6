package live

import (
	"fmt"
	"path/filepath"
	"testing"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// TestLumberjackSize: a Go writer writes numbered lines as fast as it can
// into a lumberjack.Logger of 1 MB files, which rotates by renaming the full
// file to a timestamped backup and creating a new one. Rename rotation: zero
// loss, zero duplicates. It runs over the in-process engine and over the TCP
// engine on loopback, with the tailer told lumberjack's backup names
// (logstream.LumberjackNames, as the README says to): without them a file
// created and rotated away before the tailer looked at the path is found by
// no listing, and the tailer depends on waking (file events) within the
// few milliseconds such a file lives; under CI's load over TCP at the
// defaults it lost a whole file of 24129 lines about one run in three.
func TestLumberjackSize(t *testing.T) {
	requireLive(t)
	for _, engine := range []string{"inproc", "tcp"} {
		for _, set := range allSettings {
			t.Run(engine+"/"+set.name, func(t *testing.T) { lumberjackSize(t, engine, set) })
		}
	}
}

func lumberjackSize(t *testing.T, engine string, set settings) {
	const n = 150_000 // about 6.3 MB: 6 rotations
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	set.tail.Rotated = logstream.LumberjackNames
	s := startStreamOver(t, path, set, engine)

	lj := &lumberjack.Logger{Filename: path, MaxSize: 1, MaxBackups: 1000}
	for seq := range n {
		if _, err := lj.Write([]byte(Line(seq))); err != nil {
			t.Fatal(err)
		}
	}
	if err := lj.Close(); err != nil {
		t.Fatal(err)
	}
	r := Check(s.finish(t), n)
	disk, files := onDisk(t, dir, "app", n)
	rotations := s.count(logstream.TailRotated)
	name := "lumberjack-size"
	if engine != "inproc" {
		name += "-" + engine
	}
	name += set.suffix()
	t.Log(r.Format(name, -1,
		fmt.Sprintf("files=%d rotations-seen=%d on-disk=%d", files, rotations, len(disk))))
	if len(disk) != n {
		t.Errorf("only %d of %d lines on disk: the writer lost lines", len(disk), n)
	}
	if files < 4 || rotations != files-1 {
		t.Errorf("%d files, %d rotations seen: want at least 3 rotations, each seen", files, rotations)
	}
	requireClean(t, r, dir, "app")
}

package live

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// TestPythonRotatingFileHandler: a python3 subprocess logs numbered lines
// through logging.handlers.RotatingFileHandler, which rotates by renaming
// app.log to app.log.1 (shifting older backups) and opening a new app.log.
// Rename rotation: zero loss, zero duplicates.
func TestPythonRotatingFileHandler(t *testing.T) {
	requireLive(t)
	for _, set := range allSettings {
		t.Run(set.name, func(t *testing.T) { pythonRotatingFileHandler(t, set) })
	}
}

func pythonRotatingFileHandler(t *testing.T, set settings) {
	py := requireTool(t, "python3")
	const (
		n        = 40_000 // about 1.7 MB
		maxBytes = 256 * 1024
	)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	s := startStream(t, path, set)

	ctx, cancel := context.WithTimeout(t.Context(), toolDeadline)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, filepath.Join("testdata", "rotating_writer.py"),
		path, strconv.Itoa(n), strconv.Itoa(maxBytes), "100").CombinedOutput()
	if err != nil {
		t.Fatalf("rotating_writer.py: %v\n%s", err, out)
	}
	rollovers := strings.TrimSpace(string(out))
	r := Check(s.finish(t), n)
	disk, files := onDisk(t, dir, "app.log", n)
	rotations := s.count(logstream.TailRotated)
	t.Log(r.Format("python-rotatingfilehandler"+set.suffix(), -1,
		fmt.Sprintf("%s rotations-seen=%d files=%d on-disk=%d", rollovers, rotations, files, len(disk))))
	if len(disk) != n {
		t.Errorf("only %d of %d lines on disk: the writer lost lines", len(disk), n)
	}
	if files < 4 || rotations != files-1 {
		t.Errorf("%d files, %d rotations seen: want at least 3 rotations, each seen", files, rotations)
	}
	requireClean(t, r, dir, "app.log")
}

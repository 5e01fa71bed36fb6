package simfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDifferential runs every testdata/scripts/*.txt on afero.OsFs (in a
// temporary directory) and on simfs and requires identical results at every
// step. With -v it logs the simfs history.
func TestDifferential(t *testing.T) {
	files, err := filepath.Glob("testdata/scripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			steps, err := parseScript(string(text))
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			d, err := diffRun(t.TempDir(), file, steps, newSimEnv)
			if err != nil {
				t.Fatal(err)
			}
			if d != "" {
				t.Errorf("simfs differs from OsFs:\n%s", d)
			}
			if testing.Verbose() {
				e, _ := newSimEnv("/r")
				defer e.close()
				t.Logf("simfs history:\n%s", history(e, steps))
			}
		})
	}
}

package simfs

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestRapidMatchesOsFs checks that random scripts give the same history on
// afero.OsFs and simfs. A failure prints the shrunk script, ready to be saved
// under testdata/scripts/; rapid also saves it under testdata/rapid/ and
// replays it first on the next run.
func TestRapidMatchesOsFs(t *testing.T) {
	base := t.TempDir()
	rapid.Check(t, func(rt *rapid.T) {
		steps := rapid.SliceOfN(stepGen(), 1, 40).Draw(rt, "steps")
		for i := range steps {
			steps[i].line = i + 1
		}
		root, err := os.MkdirTemp(base, "run")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(root)
		d, err := diffRun(root, "ops", steps, newSimEnv)
		if err != nil {
			rt.Fatal(err)
		}
		if d != "" {
			rt.Fatalf("simfs differs from OsFs:\n%s\nOPS:\n%s", d, formatScript(steps))
		}
	})
}

// stepGen draws one script step over a small name space, so that operations
// often meet the same files and handles. It leaves out Seek's SEEK_DATA and
// SEEK_HOLE: the OS makes holes where simfs has none.
func stepGen() *rapid.Generator[step] {
	paths := []string{"a", "b", "d", "d/c", "d/e"}
	handles := []string{"h0", "h1", "h2"}
	cmds := []string{
		"create", "open", "open", "open", "close", "write", "write", "writeat",
		"read", "readat", "readall", "seek", "trunc", "truncpath", "rename",
		"remove", "removeall", "mkdir", "mkdirall", "chmod", "stat", "fstat",
		"fstat", "again", "ls",
	}
	return rapid.Custom(func(t *rapid.T) step {
		p := func(label string) string { return rapid.SampledFrom(paths).Draw(t, label) }
		h := func() string { return rapid.SampledFrom(handles).Draw(t, "handle") }
		num := func(label string, lo, hi int) string { return fmt.Sprint(rapid.IntRange(lo, hi).Draw(t, label)) }
		text := func() string { return rapid.StringMatching(`[a-z]{1,9}`).Draw(t, "text") }
		cmd := rapid.SampledFrom(cmds).Draw(t, "cmd")
		var args []string
		switch cmd {
		case "create":
			args = []string{p("path"), h()}
		case "open":
			flags := []string{rapid.SampledFrom([]string{"ro", "wo", "rw"}).Draw(t, "access")}
			for _, f := range []string{"append", "create", "trunc", "excl"} {
				if rapid.IntRange(0, 3).Draw(t, f) == 0 {
					flags = append(flags, f)
				}
			}
			args = []string{p("path"), h(), strings.Join(flags, "|")}
		case "close", "readall", "fstat":
			args = []string{h()}
		case "write":
			args = []string{h(), text()}
		case "writeat":
			args = []string{h(), num("off", -1, 30), text()}
		case "read":
			args = []string{h(), num("n", 0, 12)}
		case "readat":
			args = []string{h(), num("off", -1, 30), num("n", 0, 12)}
		case "seek":
			args = []string{h(), num("off", -5, 30), fmt.Sprint(rapid.SampledFrom([]int{0, 1, 2, 5}).Draw(t, "whence"))}
		case "trunc":
			args = []string{h(), num("size", -1, 30)}
		case "truncpath":
			args = []string{p("path"), num("size", -1, 30)}
		case "rename":
			args = []string{p("old"), p("new")}
		case "remove", "removeall", "mkdir", "mkdirall", "stat", "ls":
			args = []string{p("path")}
		case "chmod":
			args = []string{p("path"), rapid.SampledFrom([]string{"0600", "0644", "0755", "0"}).Draw(t, "mode")}
		case "again":
			args = []string{num("step", 0, 39)}
		}
		return step{cmd: cmd, args: args}
	})
}

// TestRapidBlocksMatchSlice checks the block storage against a plain byte
// slice, with writes, truncations and reads across block boundaries (sizes
// the OS comparison does not reach).
func TestRapidBlocksMatchSlice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var n inode
		var model []byte
		pos := rapid.IntRange(0, 3*blockSize)
		for range rapid.IntRange(1, 30).Draw(t, "ops") {
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				off := int64(pos.Draw(t, "off"))
				p := make([]byte, rapid.IntRange(0, 2*blockSize).Draw(t, "len"))
				for i := range p {
					p[i] = byte(i + int(off))
				}
				n.writeAt(p, off)
				if end := int(off) + len(p); end > len(model) {
					model = append(model, make([]byte, end-len(model))...)
				}
				copy(model[off:], p)
			case 1:
				size := pos.Draw(t, "size")
				n.resize(int64(size))
				if size < len(model) {
					model = model[:size]
				} else {
					model = append(model, make([]byte, size-len(model))...)
				}
			case 2:
				off := pos.Draw(t, "off")
				p := make([]byte, rapid.IntRange(0, 2*blockSize).Draw(t, "len"))
				got := n.readAt(p, int64(off))
				want := 0
				if off < len(model) {
					want = min(len(p), len(model)-off)
				}
				if got != want || (want > 0 && string(p[:got]) != string(model[off:off+want])) {
					t.Fatalf("readAt(%d, %d) = %d bytes, want %d (or contents differ)", off, len(p), got, want)
				}
			}
			if n.size != int64(len(model)) || len(n.blocks) != (len(model)+blockSize-1)/blockSize {
				t.Fatalf("size %d with %d blocks, model has %d bytes", n.size, len(n.blocks), len(model))
			}
		}
	})
}

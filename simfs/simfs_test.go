package simfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"weak"

	"github.com/spf13/afero"
)

// Focused tests, one per departure of afero.MemMapFs from POSIX and per
// fault hook. TestDifferential covers the same ground against the OS.

// must(f())(t) returns f's value, failing t if f returned an error.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		noErr(t, err)
		return v
	}
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func stat(t testing.TB, fi os.FileInfo) *syscall.Stat_t {
	t.Helper()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("Sys() = %T, want *syscall.Stat_t", fi.Sys())
	}
	return st
}

func TestCreateTruncatesSameFile(t *testing.T) {
	f := New(testClock())
	h := must(f.Create("/a"))(t)
	must(h.WriteString("hello"))(t)
	before := stat(t, must(f.Stat("/a"))(t))
	h2 := must(f.Create("/a"))(t)
	after := stat(t, must(f.Stat("/a"))(t))
	if before.Ino != after.Ino {
		t.Errorf("Create on existing path changed ino %d -> %d", before.Ino, after.Ino)
	}
	if after.Size != 0 {
		t.Errorf("size after Create = %d, want 0", after.Size)
	}
	must(h2.WriteString("xy"))(t)
	p := make([]byte, 8)
	n, err := h.ReadAt(p, 0)
	if string(p[:n]) != "xy" || err != io.EOF {
		t.Errorf("old handle reads %q, %v; want \"xy\", EOF", p[:n], err)
	}
	h3 := must(f.OpenFile("/a", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644))(t)
	if st := stat(t, must(h3.Stat())(t)); st.Ino != before.Ino || st.Size != 0 {
		t.Errorf("O_CREATE|O_TRUNC: ino %d size %d, want ino %d size 0", st.Ino, st.Size, before.Ino)
	}
}

func TestFileInfoIsSnapshot(t *testing.T) {
	f := New(testClock())
	h := must(f.Create("/a"))(t)
	must(h.WriteString("0123456789"))(t)
	byPath := must(f.Stat("/a"))(t)
	byHandle := must(h.Stat())(t)
	mtime := byPath.ModTime()
	must(h.WriteString("more"))(t)
	noErr(t, f.Chmod("/a", 0o600))
	noErr(t, f.Remove("/a"))
	for _, fi := range []os.FileInfo{byPath, byHandle} {
		if fi.Size() != 10 || fi.Mode() != 0o666 || !fi.ModTime().Equal(mtime) || stat(t, fi).Nlink != 1 {
			t.Errorf("snapshot changed: size %d mode %v mtime %v nlink %d", fi.Size(), fi.Mode(), fi.ModTime(), stat(t, fi).Nlink)
		}
	}
}

func TestAppendWritesAtCurrentEnd(t *testing.T) {
	f := New(testClock())
	w := must(f.Create("/a"))(t)
	ap := must(f.OpenFile("/a", os.O_WRONLY|os.O_APPEND, 0))(t)
	must(w.WriteString("0123456789"))(t)
	must(ap.WriteString("A"))(t) // after another handle grew the file
	noErr(t, w.Truncate(3))
	must(ap.WriteString("B"))(t) // after another handle truncated it
	noErr(t, f.Truncate("/a", 0))
	must(ap.WriteString("C"))(t) // after a truncate by path
	got := must(afero.ReadFile(f, "/a"))(t)
	if string(got) != "C" {
		t.Errorf("contents %q, want \"C\"", got)
	}
	noErr(t, f.Truncate("/a", 2))
	must(ap.WriteString("D"))(t)
	if got := must(afero.ReadFile(f, "/a"))(t); !bytes.Equal(got, []byte("C\x00D")) {
		t.Errorf("contents %q, want \"C\\x00D\"", got)
	}
}

func TestReadPastEndIsEOF(t *testing.T) {
	f := New(testClock())
	w := must(f.Create("/a"))(t)
	must(w.WriteString("0123456789"))(t)
	r := must(f.Open("/a"))(t)
	p := make([]byte, 8)
	must(r.Read(p))(t)
	noErr(t, w.Truncate(4))
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Errorf("read past truncated end: %d, %v; want 0, EOF", n, err)
	}
	if n, err := r.ReadAt(p, 2); n != 2 || err != io.EOF {
		t.Errorf("partial ReadAt: %d, %v; want 2, EOF", n, err)
	}
	if n, err := r.ReadAt(p, 100); n != 0 || err != io.EOF {
		t.Errorf("ReadAt past end: %d, %v; want 0, EOF", n, err)
	}
	must(w.WriteString("tail"))(t) // w's offset is 10: a hole, then "tail"
	if n, err := r.Read(p); n != 6 || err != nil || !bytes.Equal(p[:6], []byte("\x00\x00tail")) {
		t.Errorf("read after regrowth: %d %q, %v", n, p[:n], err)
	}
}

func TestTimesComeFromClock(t *testing.T) {
	now := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	f := New(func() time.Time { return now })
	h := must(f.Create("/a"))(t)
	check := func(what string, want time.Time) {
		t.Helper()
		fi := must(f.Stat("/a"))(t)
		if !fi.ModTime().Equal(want) {
			t.Errorf("%s: mtime %v, want %v", what, fi.ModTime(), want)
		}
		if st := stat(t, fi); st.Mtim != syscall.NsecToTimespec(want.UnixNano()) {
			t.Errorf("%s: Stat_t.Mtim %v, want %v", what, st.Mtim, want)
		}
	}
	check("create", now)
	now = now.Add(time.Second)
	must(h.WriteString("x"))(t)
	check("write", now)
	now = now.Add(time.Second)
	noErr(t, h.Truncate(0))
	check("truncate", now)
	now = now.Add(time.Second)
	must(f.Create("/a"))(t)
	check("create on existing", now)
	set := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
	noErr(t, f.Chtimes("/a", time.Time{}, set))
	check("chtimes", set)
	now = now.Add(time.Second)
	noErr(t, f.Rename("/a", "/b"))
	if fi := must(f.Stat("/"))(t); !fi.ModTime().Equal(now) {
		t.Errorf("rename: parent mtime %v, want %v", fi.ModTime(), now)
	}
	// Without a clock everything is the epoch, never the wall clock.
	g := New(nil)
	must(g.Create("/a"))(t)
	if fi := must(g.Stat("/a"))(t); !fi.ModTime().Equal(time.Unix(0, 0)) {
		t.Errorf("nil clock: mtime %v, want the epoch", fi.ModTime())
	}
}

func TestIdentity(t *testing.T) {
	f := New(testClock())
	ha := must(f.Create("/a"))(t)
	must(f.Create("/b"))(t)
	a := stat(t, must(f.Stat("/a"))(t))
	b := stat(t, must(f.Stat("/b"))(t))
	if a.Dev != b.Dev || a.Ino == b.Ino || a.Nlink != 1 || a.Mode != syscall.S_IFREG|0o666 {
		t.Fatalf("a: dev %d ino %d nlink %d mode %o; b: dev %d ino %d", a.Dev, a.Ino, a.Nlink, a.Mode, b.Dev, b.Ino)
	}
	// Rename over b: a keeps its identity, b is unlinked.
	noErr(t, f.Rename("/a", "/b"))
	if got := stat(t, must(f.Stat("/b"))(t)); got.Ino != a.Ino {
		t.Errorf("after rename /b has ino %d, want %d", got.Ino, a.Ino)
	}
	if got := stat(t, must(ha.Stat())(t)); got.Ino != a.Ino || got.Nlink != 1 {
		t.Errorf("fstat after rename: ino %d nlink %d", got.Ino, got.Nlink)
	}
	// Unlink: the handle still reports the file, with nlink 0.
	noErr(t, f.Remove("/b"))
	fi := must(ha.Stat())(t)
	if got := stat(t, fi); got.Ino != a.Ino || got.Nlink != 0 || fi.Name() != "a" {
		t.Errorf("fstat after unlink: ino %d nlink %d name %q", got.Ino, got.Nlink, fi.Name())
	}
	// Inode numbers are never reused.
	seen := map[uint64]bool{a.Ino: true, b.Ino: true}
	for range 5 {
		h := must(f.Create("/c"))(t)
		ino := stat(t, must(h.Stat())(t)).Ino
		if seen[ino] {
			t.Fatalf("ino %d reused", ino)
		}
		seen[ino] = true
		h.Close()
		noErr(t, f.Remove("/c"))
	}
	// Directories: 2 + subdirectories.
	noErr(t, f.MkdirAll("/d/e", 0o755))
	noErr(t, f.Mkdir("/d/g", 0o755))
	if got := stat(t, must(f.Stat("/d"))(t)); got.Nlink != 4 || got.Mode != syscall.S_IFDIR|0o755 {
		t.Errorf("dir nlink %d mode %o, want 4, dir|0755", got.Nlink, got.Mode)
	}
}

func TestErrorsMatchOs(t *testing.T) {
	f := New(testClock())
	_, err := f.Open("/nosuch")
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != "open" || pe.Path != "/nosuch" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open missing: %#v", err)
	}
	must(f.Create("/a"))(t)
	if _, err := f.OpenFile("/a", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0); !errors.Is(err, fs.ErrExist) {
		t.Errorf("O_EXCL on existing: %v", err)
	}
	if err := f.Mkdir("/a", 0o755); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Mkdir on existing: %v", err)
	}
	if err := f.Rename("/nosuch", "/b"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Rename missing: %v", err)
	}
	h := must(f.Open("/a"))(t)
	h.Close()
	if err := h.Close(); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if _, err := h.Read(make([]byte, 1)); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
}

func TestReaddirSortedAndPaged(t *testing.T) {
	f := New(testClock())
	for _, n := range []string{"/c", "/a", "/b"} {
		must(f.Create(n))(t)
	}
	noErr(t, f.Mkdir("/d", 0o755))
	d := must(f.Open("/"))(t)
	first := must(d.Readdirnames(2))(t)
	infos, err := d.Readdir(5)
	if !slices.Equal(first, []string{"a", "b"}) || err != nil || len(infos) != 2 || infos[0].Name() != "c" || !infos[1].IsDir() {
		t.Errorf("got %v then %d infos, %v", first, len(infos), err)
	}
	if names, err := d.Readdirnames(1); len(names) != 0 || err != io.EOF {
		t.Errorf("at end: %v, %v; want [], EOF", names, err)
	}
	must(d.Seek(0, io.SeekStart))(t)
	if names, err := d.Readdirnames(-1); len(names) != 4 || err != nil {
		t.Errorf("after Seek: %v, %v", names, err)
	}
}

func TestInjector(t *testing.T) {
	f := New(testClock())
	h := must(f.Create("/a"))(t)
	must(h.WriteString("data"))(t)
	var calls []string
	f.SetInjector(func(op Op, name string) error {
		calls = append(calls, op.String()+" "+name)
		return ErrInjected
	})
	injected := func(what string, err error) {
		t.Helper()
		var pe *os.PathError
		var le *os.LinkError
		if !errors.Is(err, ErrInjected) || !(errors.As(err, &pe) || errors.As(err, &le)) {
			t.Errorf("%s: %v, want ErrInjected in *os.PathError or *os.LinkError", what, err)
		}
	}
	_, err := f.Create("/b")
	injected("Create", err)
	_, err = f.Open("/a")
	injected("Open", err)
	_, err = h.Write([]byte("x"))
	injected("Write", err)
	_, err = h.ReadAt(make([]byte, 2), 0)
	injected("ReadAt", err)
	injected("Truncate", f.Truncate("/a", 0))
	injected("File.Truncate", h.Truncate(0))
	injected("Rename", f.Rename("/a", "/c"))
	injected("Remove", f.Remove("/a"))
	injected("Mkdir", f.Mkdir("/d", 0o755))
	injected("Chmod", f.Chmod("/a", 0))
	_, err = h.Seek(0, io.SeekStart)
	injected("Seek", err)
	injected("Close", h.Close())
	_, err = f.Stat("/a")
	injected("Stat", err)
	want := []string{"create /b", "open /a", "write /a", "read /a", "truncate /a", "truncate /a",
		"rename /a", "remove /a", "mkdir /d", "setattr /a", "seek /a", "close /a", "stat /a"}
	if !slices.Equal(calls, want) {
		t.Errorf("injector calls\n got %q\nwant %q", calls, want)
	}
	// Nothing happened.
	f.SetInjector(nil)
	if got := must(afero.ReadFile(f, "/a"))(t); string(got) != "data" {
		t.Errorf("contents %q, want \"data\"", got)
	}
	if off := must(h.Seek(0, io.SeekCurrent))(t); off != 4 {
		t.Errorf("offset %d, want 4 (the handle stayed open)", off)
	}
	for _, n := range []string{"/b", "/c", "/d"} {
		if _, err := f.Stat(n); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists after injected failure: %v", n, err)
		}
	}
	// A selective injector: fail only the second write.
	writes := 0
	f.SetInjector(func(op Op, name string) error {
		if op == OpWrite {
			if writes++; writes == 2 {
				return syscall.ENOSPC
			}
		}
		return nil
	})
	must(h.WriteString("1"))(t)
	if _, err := h.WriteString("2"); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("second write: %v, want ENOSPC", err)
	}
	must(h.WriteString("3"))(t)
	if got := must(afero.ReadFile(f, "/a"))(t); string(got) != "data13" {
		t.Errorf("contents %q, want \"data13\"", got)
	}
}

func TestReadLimit(t *testing.T) {
	f := New(testClock())
	h := must(f.Create("/a"))(t)
	must(h.WriteString("0123456789"))(t)
	var asked []int
	f.SetReadLimit(func(name string, n int) int { asked = append(asked, n); return 3 })
	r := must(f.Open("/a"))(t)
	p := make([]byte, 8)
	if n, err := r.Read(p); n != 3 || err != nil || string(p[:n]) != "012" {
		t.Errorf("short Read: %d %q, %v", n, p[:n], err)
	}
	if n, err := r.ReadAt(p, 5); n != 3 || err != nil || string(p[:n]) != "567" {
		t.Errorf("short ReadAt: %d %q, %v", n, p[:n], err)
	}
	if n, err := r.ReadAt(p[:2], 8); n != 2 || err != nil {
		t.Errorf("ReadAt under the cap: %d, %v", n, err)
	}
	if n, err := r.ReadAt(p, 9); n != 1 || err != io.EOF {
		t.Errorf("ReadAt at end, under the cap: %d, %v; want 1, EOF", n, err)
	}
	if !slices.Equal(asked, []int{8, 5, 2, 1}) {
		t.Errorf("limit asked with %v, want [8 5 2 1]", asked)
	}
	f.SetReadLimit(func(string, int) int { return 0 }) // clamped to 1
	if n, err := r.Read(p); n != 1 || err != nil {
		t.Errorf("limit 0: %d, %v; want 1, nil", n, err)
	}
	got, err := io.ReadAll(r)
	if string(got) != "456789" || err != nil {
		t.Errorf("ReadAll through 1-byte reads: %q, %v", got, err)
	}
}

func TestOpStringRoundTrip(t *testing.T) {
	for op := OpOpen; op <= OpSetAttr; op++ {
		got, err := ParseOp(op.String())
		if err != nil || got != op {
			t.Errorf("ParseOp(%q) = %v, %v", op.String(), got, err)
		}
	}
	if s := Op(0).String(); s != "Op(0)" {
		t.Errorf("Op(0).String() = %q", s)
	}
	if _, err := ParseOp("bogus"); err == nil {
		t.Error("ParseOp(bogus) succeeded")
	}
}

func TestMemoryReleased(t *testing.T) {
	f := New(testClock())
	h := must(f.Create("/a"))(t)
	must(h.Write(make([]byte, 1<<20)))(t)
	noErr(t, h.Truncate(10))
	n := h.(*File).node
	if len(n.blocks) != 1 || cap(n.blocks[0]) > blockSize {
		t.Errorf("after truncate to 10 bytes: %d blocks, first of cap %d", len(n.blocks), cap(n.blocks[0]))
	}
	must(h.Write(make([]byte, 1<<20)))(t)
	ptr := weak.Make(n)
	n = nil
	noErr(t, f.Remove("/a"))
	runtime.GC()
	if ptr.Value() == nil {
		t.Fatal("file freed while a handle is open")
	}
	noErr(t, h.Close())
	runtime.GC()
	if ptr.Value() != nil {
		t.Error("removed and closed file still reachable")
	}
}

// TestDeterministic runs every script twice on simfs and requires identical
// histories, including raw inode numbers and timestamps.
func TestDeterministic(t *testing.T) {
	text := must(os.ReadFile("testdata/scripts/rename_keeps_identity.txt"))(t)
	steps := must(parseScript(string(text)))(t)
	run := func() string {
		e := must(newSimEnv("/r"))(t)
		defer e.close()
		h := history(e, steps)
		var raw strings.Builder
		for _, k := range slices.Sorted(maps.Keys(e.infos)) {
			fi := e.infos[k]
			fmt.Fprintf(&raw, "%d: ino=%d mtime=%v\n", k, stat(t, fi).Ino, fi.ModTime())
		}
		return h + raw.String()
	}
	if a, b := run(), run(); a != b {
		t.Errorf("two runs differ:\n%s\n---\n%s", a, b)
	}
}

// TestHarnessCatchesMemMapFs checks the differential harness itself: run on
// afero.MemMapFs, the scripts pinning its departures from POSIX must fail.
func TestHarnessCatchesMemMapFs(t *testing.T) {
	mem := func(root string) (*env, error) {
		m := afero.NewMemMapFs()
		if err := m.MkdirAll(root, 0o755); err != nil {
			return nil, err
		}
		truncate := func(name string, size int64) error {
			h, err := m.OpenFile(name, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer h.Close()
			return h.Truncate(size)
		}
		return newEnv(m, root, truncate), nil
	}
	for _, name := range []string{"create_truncates_same_file", "stat_is_snapshot",
		"append_writes_at_current_end", "read_past_truncated_end", "unlink_keeps_open_handle"} {
		file := "testdata/scripts/" + name + ".txt"
		text := must(os.ReadFile(file))(t)
		steps := must(parseScript(string(text)))(t)
		d := must(diffRun(t.TempDir(), file, steps, mem))(t)
		if d == "" {
			t.Errorf("%s: MemMapFs passed", name)
		}
	}
}

// Identity gives the Dev and Ino that Stat's Sys() gives, and nothing on a
// closed handle.
func TestIdentityIsStats(t *testing.T) {
	fsys := New(testClock())
	for _, name := range []string{"/a", "/b"} {
		if err := afero.WriteFile(fsys, name, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"/a", "/b", "/"} {
		f, err := fsys.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		d, ino, ok := f.(*File).Identity()
		if !ok || d != uint64(st.Dev) || ino != uint64(st.Ino) {
			t.Errorf("%s: Identity %d %d %v, Stat dev %d ino %d", name, d, ino, ok, st.Dev, st.Ino)
		}
		f.Close()
		if _, _, ok := f.(*File).Identity(); ok {
			t.Errorf("%s: Identity ok on a closed handle", name)
		}
	}
}

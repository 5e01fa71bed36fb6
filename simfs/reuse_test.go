package simfs

import "testing"

// With inode reuse on, a file gets the number of the file freed last, and
// only once that file has neither a name nor an open handle; Serial stays
// unique. Without it, numbers are never reused.
func TestInodeReuse(t *testing.T) {
	ino := func(f *FS, name string) (uint64, uint64) {
		t.Helper()
		fi, err := f.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := Serial(fi)
		if !ok {
			t.Fatalf("Serial(%s): not a simfs FileInfo", name)
		}
		return stat(t, fi).Ino, s
	}
	create := func(f *FS, name string) {
		t.Helper()
		h, err := f.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		h.Close()
	}
	for _, reuse := range []bool{false, true} {
		f := New(nil)
		f.SetInodeReuse(reuse)
		create(f, "/a")
		a, sa := ino(f, "/a")
		h, err := f.Open("/a")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Remove("/a"); err != nil {
			t.Fatal(err)
		}
		create(f, "/b") // /a is still open: its number is taken
		b, sb := ino(f, "/b")
		if b == a {
			t.Fatalf("reuse=%v: /b got the number %d of /a, still open", reuse, a)
		}
		h.Close() // now /a is gone
		create(f, "/c")
		c, sc := ino(f, "/c")
		if got := c == a; got != reuse {
			t.Fatalf("reuse=%v: /c has number %d, /a had %d", reuse, c, a)
		}
		if sa == sb || sb == sc || sa == sc {
			t.Fatalf("reuse=%v: serials %d %d %d not unique", reuse, sa, sb, sc)
		}
		// Renaming over a file frees its number too.
		create(f, "/d")
		d, _ := ino(f, "/d")
		if err := f.Rename("/c", "/d"); err != nil {
			t.Fatal(err)
		}
		create(f, "/e")
		if e, _ := ino(f, "/e"); (e == d) != reuse {
			t.Fatalf("reuse=%v: /e has number %d, /d (replaced) had %d", reuse, e, d)
		}
	}
}

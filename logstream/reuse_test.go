package logstream_test

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// reuseFs presents the files of an afero.Fs under other inode numbers, as a
// real file system does when it gives a deleted file's inode to the next
// file created (ext4, tmpfs): the test says which file gets whose number.
// simfs never reuses an inode.
type reuseFs struct {
	afero.Fs
	as map[uint64]uint64 // real inode -> the inode shown
}

func (r *reuseFs) info(fi fs.FileInfo) fs.FileInfo {
	if fi == nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fi
	}
	if ino, ok := r.as[st.Ino]; ok {
		c := *st
		c.Ino = ino
		return reusedInfo{fi, &c}
	}
	return fi
}

type reusedInfo struct {
	fs.FileInfo
	st *syscall.Stat_t
}

func (i reusedInfo) Sys() any { return i.st }

type reuseFile struct {
	afero.File
	r *reuseFs
}

func (f reuseFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	return f.r.info(fi), err
}

func (f reuseFile) Readdir(n int) ([]fs.FileInfo, error) {
	fis, err := f.File.Readdir(n)
	for i := range fis {
		fis[i] = f.r.info(fis[i])
	}
	return fis, err
}

func (r *reuseFs) Open(name string) (afero.File, error) {
	f, err := r.Fs.Open(name)
	if err != nil {
		return nil, err
	}
	return reuseFile{f, r}, nil
}

func (r *reuseFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	f, err := r.Fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return reuseFile{f, r}, nil
}

func (r *reuseFs) Stat(name string) (fs.FileInfo, error) {
	fi, err := r.Fs.Stat(name)
	return r.info(fi), err
}

func ino(t *testing.T, fsys afero.Fs, name string) uint64 {
	t.Helper()
	fi, err := fsys.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// Inode reuse while lagging (found in real time by `simrun subject` at
// factor 25, lag_with_fast_rotation_loses_hidden_generations): the tailer
// has read g1 and is reading g2 with g3 queued when the rotator deletes g1
// (keep=2) and the file system gives g1's inode to g4, the new file at the
// path, within one poll. g4 must be queued as the newest generation, after
// g3, not under g1's remembered first sighting (before g3): otherwise g4 is
// streamed before g3 and g3's bytes land out of order (the oracle counts
// them lost).
func TestTailInodeReuseKeepsRotationOrder(t *testing.T) {
	w := newWorld(t)
	rfs := &reuseFs{Fs: w.fs, as: map[uint64]uint64{}}
	opt, err := tailOpts(16).Normalize()
	if err != nil {
		t.Fatal(err)
	}
	r := &tailRun{t: t, w: w, opt: opt}
	r.tl = logstream.NewTailer(rfs, logPath, opt, func(e logstream.TailEvent) { r.events = append(r.events, e) })
	t.Cleanup(func() { r.tl.Close() })

	gen := func(i int) string { return fmt.Sprintf("generation %d: %s\n", i, strings.Repeat("x", 40)) }
	w.appendTo(logPath, gen(0))
	r.next(0) // g0 opened, one chunk read: behind
	w.rotateN(2)
	w.appendTo(logPath, gen(1))
	r.next(poll) // g1 queued
	w.rotateN(2)
	w.appendTo(logPath, gen(2))
	r.next(2 * poll) // g2 queued
	g1 := ino(t, w.fs, logPath+".1")
	// Read g0 and g1 to their ends; g2 is being read, nothing is queued.
	for i := 0; r.count(logstream.TailOpened) < 3; i++ {
		if i > 100 {
			t.Fatalf("g2 never opened: %v", r.events)
		}
		r.next(3 * poll)
	}
	w.rotateN(2)
	w.appendTo(logPath, gen(3))
	r.next(4 * poll) // g3 queued
	// g1 is deleted (keep=2) and g4 gets its inode.
	w.rotateN(2)
	w.appendTo(logPath, "g4\n") // shorter than g1 was: a new file
	rfs.as[ino(t, w.fs, logPath)] = g1
	r.next(5 * poll)
	w.appendTo(logPath, gen(4))
	for d := 6 * poll; d < 6*poll+5e9; d += poll {
		r.drain(d)
	}
	r.expectGot(gen(0) + gen(1) + gen(2) + gen(3) + "g4\n" + gen(4))
}

// Inode reuse of a generation already read, by a new file at the path that
// is already longer than that generation was: the size does not tell them
// apart, the first bytes do. The new file is read from its start.
func TestTailInodeReuseByLongerFile(t *testing.T) {
	w := newWorld(t)
	rfs := &reuseFs{Fs: w.fs, as: map[uint64]uint64{}}
	opt, err := tailOpts(64).Normalize()
	if err != nil {
		t.Fatal(err)
	}
	r := &tailRun{t: t, w: w, opt: opt}
	r.tl = logstream.NewTailer(rfs, logPath, opt, func(e logstream.TailEvent) { r.events = append(r.events, e) })
	t.Cleanup(func() { r.tl.Close() })

	w.appendTo(logPath, "g0\n")
	r.drain(0)
	w.rotateN(1)
	w.appendTo(logPath, "g1\n")
	r.drain(poll)
	r.drain(2 * poll)
	g1 := ino(t, w.fs, logPath)
	w.rotateN(1)
	w.appendTo(logPath, "g2\n")
	r.drain(3 * poll)
	r.drain(4 * poll)
	// g1 is deleted (keep=1) and g3 gets its inode, longer than g1.
	w.rotateN(1)
	w.appendTo(logPath, "g3 is longer\n")
	rfs.as[ino(t, w.fs, logPath)] = g1
	for d := 5 * poll; d < 5*poll+5e9; d += poll {
		r.drain(d)
	}
	r.expectGot("g0\ng1\ng2\ng3 is longer\n")
}

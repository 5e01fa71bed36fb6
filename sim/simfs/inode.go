package simfs

import (
	"io/fs"
	"slices"
	"syscall"
	"time"
)

// dev is the device number reported for every file of every FS.
const dev = 0x51f5

// maxFileSize bounds the size of a file; growing beyond it fails with EFBIG
// instead of exhausting memory (there are no sparse files here).
const maxFileSize = 1 << 32

// shrinkMin is the capacity below which truncation never reallocates.
const shrinkMin = 64 << 10

// An inode is one file or directory, independent of the names linking to it.
type inode struct {
	ino      uint64
	mode     fs.FileMode // fs.ModeDir or 0, plus permission bits
	linked   bool        // reachable from the root by some name
	data     []byte      // contents of a regular file
	children map[string]*inode
	atime    time.Time
	mtime    time.Time
	ctime    time.Time
	uid, gid int
}

func (n *inode) isDir() bool { return n.mode.IsDir() }

// nlink is the POSIX link count: 1 for a linked file, 2 plus the number of
// subdirectories for a linked directory, 0 once unlinked.
func (n *inode) nlink() uint64 {
	if !n.linked {
		return 0
	}
	if !n.isDir() {
		return 1
	}
	c := uint64(2)
	for _, ch := range n.children {
		if ch.isDir() {
			c++
		}
	}
	return c
}

// resize sets the file's length to size, zero-filling any growth and releasing
// memory when the file shrinks a lot. size must be in [0, maxFileSize].
func (n *inode) resize(size int64) {
	old := int64(len(n.data))
	switch {
	case size == 0:
		n.data = nil
	case size < old:
		if c := cap(n.data); c > shrinkMin && size < int64(c)/4 {
			n.data = append([]byte(nil), n.data[:size]...)
		} else {
			n.data = n.data[:size]
		}
	case size > old:
		n.data = slices.Grow(n.data, int(size-old))[:size]
		clear(n.data[old:])
	}
}

// writeAt copies p into the file at off, growing it as needed. The caller has
// checked that off+len(p) <= maxFileSize.
func (n *inode) writeAt(p []byte, off int64) {
	if end := off + int64(len(p)); end > int64(len(n.data)) {
		n.resize(end)
	}
	copy(n.data[off:], p)
}

// fileInfo is an immutable snapshot of an inode's attributes.
type fileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
	sys   *syscall.Stat_t
}

func (n *inode) snapshot(name string) *fileInfo {
	fi := &fileInfo{name: name, mode: n.mode, mtime: n.mtime}
	if !n.isDir() {
		fi.size = int64(len(n.data))
	}
	fi.sys = n.statT(fi.size)
	return fi
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *fileInfo) ModTime() time.Time { return fi.mtime }
func (fi *fileInfo) IsDir() bool        { return fi.mode.IsDir() }

// Sys returns a *syscall.Stat_t owned by this snapshot.
func (fi *fileInfo) Sys() any { return fi.sys }

// unixMode converts a FileMode to st_mode bits.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m.IsDir() {
		u |= syscall.S_IFDIR
	} else {
		u |= syscall.S_IFREG
	}
	return u
}

// set assigns v to an integer field whose width differs between platforms.
func set[T ~int32 | ~uint32 | ~uint64 | ~int64 | ~uint16](p *T, v uint64) { *p = T(v) }

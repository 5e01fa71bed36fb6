package simfs

import (
	"io/fs"
	"syscall"
	"time"
)

// dev is the device number reported for every file of every FS.
const dev = 0x51f5

// maxFileSize bounds the size of a file; growing beyond it fails with EFBIG
// instead of exhausting memory (there are no sparse files here).
const maxFileSize = 1 << 32

// blockSize is the unit of file storage. Blocks are never copied once full,
// and a shrinking file drops the blocks past its new end.
const blockSize = 64 << 10

// An inode is one file or directory, independent of the names linking to it.
type inode struct {
	ino      uint64
	serial   uint64      // unique per allocation, even when ino is reused
	opens    int         // open handles
	mode     fs.FileMode // fs.ModeDir or 0, plus permission bits
	linked   bool        // reachable from the root by some name
	size     int64       // size of a regular file
	blocks   [][]byte    // its contents: block i holds bytes [i*blockSize, (i+1)*blockSize)
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

// resize sets the file's size, zero-filling growth and dropping the blocks
// past a shrunk end. size must be in [0, maxFileSize].
func (n *inode) resize(size int64) { n.resizeFrom(size, size) }

// resizeFrom is resize for a caller that overwrites [from, size) at once
// (writeAt): growth at or after from is not zero-filled first.
func (n *inode) resizeFrom(size, from int64) {
	if size <= n.size {
		nb := int((size + blockSize - 1) / blockSize)
		clear(n.blocks[nb:]) // let the garbage collector have them
		n.blocks = n.blocks[:nb]
		if nb == 0 {
			n.blocks = nil
		} else if last := &n.blocks[nb-1]; len(*last) > int(size-int64(nb-1)*blockSize) {
			*last = (*last)[:size-int64(nb-1)*blockSize]
		}
		n.size = size
		return
	}
	for n.size < size {
		bi := int(n.size / blockSize)
		want := int(min(size-int64(bi)*blockSize, blockSize)) // length of block bi
		if bi == len(n.blocks) {
			// Later blocks are allocated whole: the file is already large.
			c := blockSize
			if bi == 0 {
				c = min(max(want, 512), blockSize)
			}
			n.blocks = append(n.blocks, make([]byte, want, c))
		} else {
			b := n.blocks[bi]
			if want > cap(b) {
				// Double, so that appends to a small file copy each byte O(1) times.
				grown := make([]byte, len(b), min(max(want, 2*cap(b)), blockSize))
				copy(grown, b)
				b = grown
			}
			old := len(b)
			b = b[:want]
			// Bytes left over from an earlier shrink, up to what the
			// caller overwrites.
			clear(b[old:max(old, min(want, int(min(from-int64(bi)*blockSize, blockSize))))])
			n.blocks[bi] = b
		}
		n.size = int64(bi)*blockSize + int64(want)
	}
}

// writeAt copies p into the file at off, growing it as needed. The caller has
// checked that off+len(p) <= maxFileSize.
func (n *inode) writeAt(p []byte, off int64) {
	if end := off + int64(len(p)); end > n.size {
		n.resizeFrom(end, off) // the copy below overwrites [off, end)
	}
	for len(p) > 0 {
		c := copy(n.blocks[off/blockSize][off%blockSize:], p)
		p, off = p[c:], off+int64(c)
	}
}

// readAt copies into p the bytes at off, up to the end of the file, and
// returns how many it copied.
func (n *inode) readAt(p []byte, off int64) int {
	if off >= n.size {
		return 0
	}
	p = p[:min(int64(len(p)), n.size-off)]
	done := 0
	for done < len(p) {
		c := copy(p[done:], n.blocks[off/blockSize][off%blockSize:])
		done, off = done+c, off+int64(c)
	}
	return done
}

// fileInfo is an immutable snapshot of an inode's attributes.
type fileInfo struct {
	name   string
	size   int64
	mode   fs.FileMode
	mtime  time.Time
	sys    syscall.Stat_t
	serial uint64
}

// Serial returns the allocation serial of the file fi describes, if fi came
// from a simfs FS: a number unique per file created in that FS, even where
// the FS gives a removed file's inode number to a new file
// (FS.SetInodeReuse). It tells files apart where Ino does not; it is the
// simulator's record of which file is which, never a tailer's evidence.
func Serial(fi fs.FileInfo) (uint64, bool) {
	s, ok := fi.(*fileInfo)
	if !ok || s == nil {
		return 0, false
	}
	return s.serial, true
}

func (n *inode) snapshot(name string) *fileInfo {
	fi := &fileInfo{name: name, mode: n.mode, mtime: n.mtime, serial: n.serial}
	if !n.isDir() {
		fi.size = n.size
	}
	n.fillStat(&fi.sys, fi.size)
	return fi
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *fileInfo) ModTime() time.Time { return fi.mtime }
func (fi *fileInfo) IsDir() bool        { return fi.mode.IsDir() }

// Sys returns a *syscall.Stat_t owned by this snapshot.
func (fi *fileInfo) Sys() any { return &fi.sys }

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

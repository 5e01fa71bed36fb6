package simfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"syscall"

	"github.com/spf13/afero"
)

// errWriteAtInAppendMode has the text of the error os.File.WriteAt returns
// for a handle opened with O_APPEND.
var errWriteAtInAppendMode = errors.New("os: invalid use of WriteAt on file opened with O_APPEND")

// Linux lseek whence values beyond io.SeekEnd.
const (
	seekData = 3
	seekHole = 4
)

var errNegativeOffset = errors.New("negative offset")

// File is an open handle to a file or directory of an [FS]. It refers to the
// file itself, not to its name: it keeps reading and writing the same file
// after a rename or unlink, as an open file descriptor does.
type File struct {
	fs     *FS
	node   *inode // nil once closed
	name   string
	flag   int
	off    int64
	closed bool

	dirNames []string // Readdir snapshot, sorted; nil before the first call
	dirPos   int
}

var _ afero.File = (*File)(nil)

// Name returns the name the file was opened with.
func (h *File) Name() string { return h.name }

func (h *File) readable() bool { return h.flag&(os.O_WRONLY|os.O_RDWR) != os.O_WRONLY }
func (h *File) writable() bool { return h.flag&(os.O_WRONLY|os.O_RDWR) != os.O_RDONLY }

// begin checks that h is open and consults the injector; the caller holds the
// lock.
func (h *File) begin(op Op, opName string) error {
	if h.closed {
		return pathErr(opName, h.name, fs.ErrClosed)
	}
	if err := h.fs.injected(op, h.name); err != nil {
		return pathErr(opName, h.name, err)
	}
	return nil
}

// Close closes the handle. Closing twice fails with fs.ErrClosed.
func (h *File) Close() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.begin(OpClose, "close"); err != nil {
		return err
	}
	h.closed = true
	h.node.opens--
	h.fs.release(h.node)
	h.node = nil
	h.dirNames = nil
	return nil
}

// Read reads from the current offset. At or past the end of the file it
// returns 0, io.EOF (never io.ErrUnexpectedEOF), whatever other handles did
// to the file meanwhile.
func (h *File) Read(p []byte) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.closed {
		return 0, pathErr("read", h.name, fs.ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil // as os.File: no system call, no error
	}
	if err := h.begin(OpRead, "read"); err != nil {
		return 0, err
	}
	n, err := h.pread(p, h.off, false)
	h.off += int64(n)
	return n, err
}

// ReadAt reads len(p) bytes at off, like os.File.ReadAt: fewer bytes come
// with io.EOF, unless a [ReadLimit] cut the read short.
func (h *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, pathErr("readat", h.name, errNegativeOffset)
	}
	if len(p) == 0 {
		return 0, nil // as os.File, even if closed
	}
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.begin(OpRead, "read"); err != nil {
		return 0, err
	}
	return h.pread(p, off, true)
}

// pread reads at off; full selects ReadAt's EOF rule.
func (h *File) pread(p []byte, off int64, full bool) (int, error) {
	if !h.readable() {
		return 0, pathErr("read", h.name, syscall.EBADF)
	}
	if h.node.isDir() {
		return 0, pathErr("read", h.name, syscall.EISDIR)
	}
	avail := h.node.size - off
	if avail <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), avail))
	limited := false
	if lim := h.fs.readLimit; lim != nil {
		if m := max(1, min(lim(h.name, n), n)); m < n {
			n, limited = m, true
		}
	}
	h.node.readAt(p[:n], off)
	if full && n < len(p) && !limited {
		return n, io.EOF
	}
	return n, nil
}

// Write writes at the current offset, or, with O_APPEND, at the current end
// of the file (wherever other handles left it).
func (h *File) Write(p []byte) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.begin(OpWrite, "write"); err != nil {
		return 0, err
	}
	off := h.off
	if h.flag&os.O_APPEND != 0 {
		off = h.node.size
	}
	n, err := h.pwrite(p, off)
	if n > 0 {
		h.off = off + int64(n)
	}
	return n, err
}

// WriteString is Write of the bytes of s.
func (h *File) WriteString(s string) (int, error) {
	return h.Write([]byte(s))
}

// WriteAt writes p at off, like os.File.WriteAt, which refuses handles
// opened with O_APPEND.
func (h *File) WriteAt(p []byte, off int64) (int, error) {
	if h.flag&os.O_APPEND != 0 {
		return 0, errWriteAtInAppendMode
	}
	if off < 0 {
		return 0, pathErr("writeat", h.name, errNegativeOffset)
	}
	if len(p) == 0 {
		return 0, nil // as os.File, even if closed
	}
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.begin(OpWrite, "write"); err != nil {
		return 0, err
	}
	return h.pwrite(p, off)
}

func (h *File) pwrite(p []byte, off int64) (int, error) {
	if !h.writable() {
		return 0, pathErr("write", h.name, syscall.EBADF)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if off+int64(len(p)) > maxFileSize {
		return 0, pathErr("write", h.name, syscall.EFBIG)
	}
	h.node.writeAt(p, off)
	h.fs.touch(h.node)
	return len(p), nil
}

// Seek sets the offset for the next Read or Write (whence 0: from the start,
// 1: from the current offset, 2: from the current end; Linux's SEEK_DATA (3)
// and SEEK_HOLE (4) treat the whole file as data). Seeking past the end is
// allowed; seeking before the start fails with EINVAL. Seeking a directory
// restarts Readdir.
func (h *File) Seek(offset int64, whence int) (int64, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.begin(OpSeek, "seek"); err != nil {
		return 0, err
	}
	size := h.node.size
	var off int64
	switch whence {
	case io.SeekStart:
		off = offset
	case io.SeekCurrent:
		off = h.off + offset
	case io.SeekEnd:
		off = size + offset
	case seekData, seekHole:
		// There are no holes: all of [0, size) is data.
		if uint64(offset) >= uint64(size) {
			return 0, pathErr("seek", h.name, syscall.ENXIO)
		}
		off = offset
		if whence == seekHole {
			off = size
		}
	default:
		return 0, pathErr("seek", h.name, syscall.EINVAL)
	}
	if off < 0 {
		return 0, pathErr("seek", h.name, syscall.EINVAL)
	}
	h.off = off
	h.dirNames, h.dirPos = nil, 0
	return off, nil
}

// Truncate changes the size of the file, like os.File.Truncate; the handle
// must be open for writing (else EINVAL, as ftruncate on Linux). Offsets are
// unchanged.
func (h *File) Truncate(size int64) error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.begin(OpTruncate, "truncate"); err != nil {
		return err
	}
	switch {
	case size < 0 || !h.writable() || h.node.isDir():
		return pathErr("truncate", h.name, syscall.EINVAL)
	case size > maxFileSize:
		return pathErr("truncate", h.name, syscall.EFBIG)
	}
	h.node.resize(size)
	h.fs.touch(h.node)
	return nil
}

// Stat returns a snapshot of the handle's file (fstat): after a rename or
// unlink it still describes the same file, named by the base of Name.
func (h *File) Stat() (os.FileInfo, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.begin(OpStat, "stat"); err != nil {
		return nil, err
	}
	return h.node.snapshot(baseName(h.name)), nil
}

// Identity returns the device and inode numbers Stat reports for the
// handle's file (the Dev and Ino of its Sys() *syscall.Stat_t) without
// building a FileInfo; ok is false on a closed handle. It is no file-system
// operation: the injector is not consulted.
func (h *File) Identity() (device, ino uint64, ok bool) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.closed {
		return 0, 0, false
	}
	return dev, h.node.ino, true
}

// Serial returns the allocation serial of the handle's file (see [Serial]);
// ok is false on a closed handle. It is no file-system operation.
func (h *File) Serial() (serial uint64, ok bool) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.closed {
		return 0, false
	}
	return h.node.serial, true
}

// Sync does nothing but check the handle and consult the injector.
func (h *File) Sync() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	return h.begin(OpSync, "sync")
}

// Readdir returns snapshots of the directory's entries in name order (os
// returns directory order, which is unspecified). The names are fixed at the
// first call after opening or seeking; entries removed since are skipped.
// With count <= 0 it returns all remaining entries and a nil error; otherwise
// at most count, and io.EOF when none remain.
func (h *File) Readdir(count int) ([]os.FileInfo, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	names, err := h.readdir(count)
	infos := make([]os.FileInfo, 0, len(names))
	for _, name := range names {
		if n := h.node.children[name]; n != nil {
			infos = append(infos, n.snapshot(name))
		}
	}
	return infos, err
}

// Readdirnames is Readdir returning names only.
func (h *File) Readdirnames(n int) ([]string, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	names, err := h.readdir(n)
	if h.node != nil {
		names = slices.DeleteFunc(names, func(s string) bool { return h.node.children[s] == nil })
	}
	return names, err
}

func (h *File) readdir(count int) ([]string, error) {
	if err := h.begin(OpReaddir, "readdirent"); err != nil {
		return []string{}, err
	}
	if !h.node.isDir() {
		return []string{}, pathErr("readdirent", h.name, syscall.ENOTDIR)
	}
	if h.dirNames == nil {
		h.dirNames = sortedNames(h.node)
	}
	rest := h.dirNames[h.dirPos:]
	if count > 0 {
		if len(rest) == 0 {
			return []string{}, io.EOF
		}
		rest = rest[:min(count, len(rest))]
	}
	h.dirPos += len(rest)
	return slices.Clone(rest), nil
}

package logstream

import (
	"fmt"
	"io/fs"
	"syscall"
)

// FileID identifies a file independently of its name: the device and inode
// numbers, as fstat reports them.
type FileID struct {
	Dev uint64
	Ino uint64
}

// String formats id as dev:ino.
func (id FileID) String() string { return fmt.Sprintf("%d:%d", id.Dev, id.Ino) }

// Identity returns the identity of the file fi describes. It works for any
// FileInfo whose Sys() is a *syscall.Stat_t (afero.OsFs on Unix, and the
// simulator's file system); ok is false otherwise.
func Identity(fi fs.FileInfo) (id FileID, ok bool) {
	if fi == nil {
		return FileID{}, false
	}
	st, isStat := fi.Sys().(*syscall.Stat_t)
	if !isStat || st == nil {
		return FileID{}, false
	}
	return FileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}, true
}

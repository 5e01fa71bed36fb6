package simfs

import (
	"errors"
	"fmt"
)

// ErrInjected is the sentinel for errors produced by fault injection; an
// [Injector] may return it (or an error wrapping it) to fail an operation.
var ErrInjected = errors.New("injected error")

// Op names a class of file system operation, as seen by an [Injector].
type Op int

// The operation classes passed to an [Injector].
const (
	OpOpen     Op = iota + 1 // Open, or OpenFile without O_CREATE
	OpCreate                 // Create, or OpenFile with O_CREATE
	OpRead                   // File.Read, File.ReadAt
	OpWrite                  // File.Write, File.WriteAt, File.WriteString
	OpStat                   // Stat, LstatIfPossible, File.Stat
	OpRename                 // Rename
	OpRemove                 // Remove, RemoveAll
	OpTruncate               // Truncate, File.Truncate
	OpSeek                   // File.Seek
	OpClose                  // File.Close
	OpSync                   // File.Sync
	OpReaddir                // File.Readdir, File.Readdirnames
	OpMkdir                  // Mkdir, MkdirAll
	OpSetAttr                // Chmod, Chown, Chtimes
)

var opNames = [...]string{
	OpOpen:     "open",
	OpCreate:   "create",
	OpRead:     "read",
	OpWrite:    "write",
	OpStat:     "stat",
	OpRename:   "rename",
	OpRemove:   "remove",
	OpTruncate: "truncate",
	OpSeek:     "seek",
	OpClose:    "close",
	OpSync:     "sync",
	OpReaddir:  "readdir",
	OpMkdir:    "mkdir",
	OpSetAttr:  "setattr",
}

// String returns the lowercase name of op ("open", "write", ...), which
// [ParseOp] accepts back.
func (op Op) String() string {
	if op > 0 && int(op) < len(opNames) {
		return opNames[op]
	}
	return fmt.Sprintf("Op(%d)", int(op))
}

// ParseOp returns the Op whose String is s.
func ParseOp(s string) (Op, error) {
	for i, n := range opNames {
		if n != "" && n == s {
			return Op(i), nil
		}
	}
	return 0, fmt.Errorf("simfs: unknown op %q", s)
}

// An Injector decides whether an operation fails. It is called once per
// operation, before the operation has any effect, with the operation class and
// the name it applies to: the path as passed by the caller for FS methods (the
// old name for Rename), the handle's Name for File methods. A non-nil result
// makes the operation fail with that error wrapped in an *os.PathError
// (*os.LinkError for Rename, as os.Rename does) and leaves the file system
// unchanged; for Close it means the handle stays open.
//
// An Injector is called with the file system's lock held and must not call
// back into the FS. Any randomness belongs to the caller.
type Injector func(op Op, name string) error

// A ReadLimit caps the size of one read. It is called for each Read or ReadAt
// that would return n > 0 bytes, with the handle's Name and n, and returns how
// many bytes the read returns instead. Results outside [1, n] are clamped to
// that range. A capped read returns its bytes and a nil error, even from
// ReadAt (deliberately breaking io.ReaderAt's "short read means error"
// contract, to exercise callers that rely on it).
//
// A ReadLimit is called with the file system's lock held and must not call
// back into the FS.
type ReadLimit func(name string, n int) int

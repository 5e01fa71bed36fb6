// Package simfs is a deterministic in-memory afero.Fs with POSIX semantics
// and file identity, made for the discrete-event simulator (one goroutine,
// virtual time, faults decided by the caller) and useful on its own: the
// engine conformance kit (logstream/enginetest) and logstream's tests tail
// files on it too. It sits at the top of the module, beside sim rather than
// inside it, so that those users need not depend on the simulator.
//
// It exists because afero.MemMapFs departs from POSIX in ways a log tailer
// notices. simfs guarantees, for every FS made by [New]:
//
//  1. Create, and OpenFile with O_CREATE|O_TRUNC, on an existing path truncate
//     that same file in place: its identity and open handles survive.
//  2. A FileInfo from Stat, LstatIfPossible or File.Stat is a snapshot; later
//     changes to the file do not show through it.
//  3. With O_APPEND every Write goes to the current end of the file, even if
//     another handle grew or truncated it since.
//  4. Reading at or past the end returns 0, io.EOF (never
//     io.ErrUnexpectedEOF); ReadAt returns the bytes available and io.EOF,
//     as os.File does.
//  5. Every timestamp comes from the clock function passed to New, never
//     from the wall clock.
//  6. FileInfo.Sys() is a *syscall.Stat_t with a constant Dev, an Ino unique
//     per created file and never reused within one FS (unless
//     [FS.SetInodeReuse] asks for the reuse ext4 and xfs do; [Serial] stays
//     unique), Nlink (1 for a linked
//     file, 2+subdirectories for a linked directory, 0 once unlinked), Mode
//     and Size. Rename keeps the identity; renaming over a file unlinks that
//     file; Remove unlinks, and open handles keep reading and writing the
//     unlinked file; File.Stat reports the handle's file whatever happened to
//     its name.
//  7. Errors are *os.PathError (*os.LinkError from Rename) wrapping the same
//     syscall.Errno values Linux returns, so errors.Is(err, fs.ErrNotExist)
//     and friends behave as with afero.OsFs, and messages match os.
//  8. Results are deterministic: no wall clock, no goroutines, no randomness,
//     no visible map order (Readdir returns entries sorted by name).
//  9. File contents live in 64 KiB blocks, so appends never copy earlier
//     data (a small file's single block grows by doubling); a shrunk file
//     drops the blocks past its end; a removed file's memory is freed by the
//     garbage collector once no name and no open handle refers to it (Close
//     drops the handle's reference even if the *File is kept).
//
// Faults: [FS.SetInjector] installs an [Injector] that can fail any
// operation (by [Op] class and name) before it has an effect, and
// [FS.SetReadLimit] a [ReadLimit] that makes reads short. Both only carry out
// decisions made by the caller; see [ErrInjected].
//
// # Implementation
//
// simfs keeps its own inode table (a tree of *inode from the root) rather than
// layering over afero.MemMapFs. A layer would have to undo most of what
// MemMapFs does: its Create replaces the file, its handles read their own
// offsets with io.ErrUnexpectedEOF past the end, its FileData stamps mtimes
// from time.Now under its own locks, and its FileInfo is live. Fixing those
// from outside means wrapping every handle and duplicating size and time
// bookkeeping, so a few hundred lines of direct implementation are both
// simpler and easier to reason about.
//
// # Known differences from Linux
//
//   - Permission bits are recorded but never enforced (as for root): a file
//     with mode 0 can still be opened for reading and writing. No umask is
//     applied to new files and directories.
//   - Paths are cleaned lexically and resolved from "/" (there is no working
//     directory), so "a/../b" is "/b" even when a is not a directory.
//   - No symbolic links, hard links, special files or sparse files; a file is
//     limited to 4 GiB (EFBIG beyond). Growth by Truncate or a write past the
//     end allocates zeros, and Seek's SEEK_DATA/SEEK_HOLE see no holes.
//   - Directories report size 0; reads do not update the access time.
//   - Readdir takes its list of names at the first call and returns them in
//     name order.
//
// # Dependencies
//
// simfs imports only afero and the standard library. It must not import any
// other package of this repository, so that anything may use it.
package simfs

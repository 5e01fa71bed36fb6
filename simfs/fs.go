package simfs

import (
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/afero"
)

// FS is an in-memory afero.Fs with POSIX semantics and file identity. Create
// one with [New]. Its methods are safe for concurrent use, but results are
// only reproducible when calls come in a reproducible order.
type FS struct {
	mu        sync.Mutex
	now       func() time.Time
	root      *inode
	lastIno   uint64
	serials   uint64
	reuse     bool
	free      []uint64 // inode numbers of files gone (no name, no handle), last freed last
	inject    Injector
	readLimit ReadLimit
}

var (
	_ afero.Fs      = (*FS)(nil)
	_ afero.Lstater = (*FS)(nil)
)

// New returns an empty file system holding only the root directory "/"
// (mode 0755). Every timestamp it records is a call to now; if now is nil, all
// timestamps are the Unix epoch.
func New(now func() time.Time) *FS {
	if now == nil {
		now = func() time.Time { return time.Unix(0, 0).UTC() }
	}
	f := &FS{now: now}
	f.root = f.newInode(fs.ModeDir | 0o755)
	return f
}

// SetInjector installs inj as the fault injector (nil removes it).
func (f *FS) SetInjector(inj Injector) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inject = inj
}

// SetReadLimit installs lim as the short-read hook (nil removes it).
func (f *FS) SetReadLimit(lim ReadLimit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readLimit = lim
}

// Name returns "simfs".
func (f *FS) Name() string { return "simfs" }

// SetInodeReuse makes the FS give the inode number of the file freed last
// (unlinked, with no open handle) to the next file or directory it creates,
// as ext4 and xfs often do at once, instead of a number never used before
// (the default). A tailer that tells files apart by inode number alone then
// takes a new file for an old one; Serial still tells them apart.
func (f *FS) SetInodeReuse(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reuse = on
	if !on {
		f.free = nil
	}
}

func (f *FS) newInode(mode fs.FileMode) *inode {
	var ino uint64
	if k := len(f.free); k > 0 {
		ino, f.free = f.free[k-1], f.free[:k-1]
	} else {
		f.lastIno++
		ino = f.lastIno
	}
	f.serials++
	t := f.now()
	n := &inode{ino: ino, serial: f.serials, mode: mode, linked: true, atime: t, mtime: t, ctime: t}
	if mode.IsDir() {
		n.children = make(map[string]*inode)
	}
	return n
}

// injected consults the injector; the caller holds f.mu.
func (f *FS) injected(op Op, name string) error {
	if f.inject == nil {
		return nil
	}
	return f.inject(op, name)
}

// touch records a modification of n's contents or entries.
func (f *FS) touch(n *inode) {
	t := f.now()
	n.mtime, n.ctime = t, t
}

// walk resolves name. On success dir is the parent directory (nil for the
// root), base the last component, and node the entry, or nil if dir has no
// entry base. Names are cleaned lexically and taken relative to "/"; a
// trailing slash requires node to be a directory.
func (f *FS) walk(name string) (dir *inode, base string, node *inode, err error) {
	if name == "" {
		return nil, "", nil, syscall.ENOENT
	}
	p := name
	if p[0] != '/' {
		p = "/" + p
	}
	p = path.Clean(p) // no allocation when already clean
	if p == "/" {
		return nil, "/", f.root, nil
	}
	dir = f.root
	rest := p[1:]
	for {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			break
		}
		next := dir.children[rest[:i]]
		if next == nil {
			return nil, "", nil, syscall.ENOENT
		}
		if !next.isDir() {
			return nil, "", nil, syscall.ENOTDIR
		}
		dir, rest = next, rest[i+1:]
	}
	node = dir.children[rest]
	if node != nil && !node.isDir() && strings.HasSuffix(name, "/") {
		return nil, "", nil, syscall.ENOTDIR
	}
	return dir, rest, node, nil
}

// lookup resolves name to an existing node.
func (f *FS) lookup(name string) (*inode, error) {
	_, _, n, err := f.walk(name)
	if err == nil && n == nil {
		err = syscall.ENOENT
	}
	return n, err
}

func pathErr(op, name string, err error) error {
	return &os.PathError{Op: op, Path: name, Err: err}
}

// Create creates or truncates the named file, like os.Create: an existing
// file keeps its identity and open handles and is truncated to size 0.
func (f *FS) Create(name string) (afero.File, error) {
	return f.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

// Open opens the named file for reading, like os.Open.
func (f *FS) Open(name string) (afero.File, error) {
	return f.OpenFile(name, os.O_RDONLY, 0)
}

// OpenFile opens the named file like os.OpenFile. O_CREATE creates a regular
// file with mode perm&0777 (no umask is applied); O_TRUNC truncates an
// existing file in place; O_APPEND makes every write go to the current end of
// the file. Permission bits are not checked against the access mode.
func (f *FS) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := OpOpen
	if flag&os.O_CREATE != 0 {
		op = OpCreate
	}
	if err := f.injected(op, name); err != nil {
		return nil, pathErr("open", name, err)
	}
	dir, base, n, err := f.walk(name)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	acc := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	switch {
	case n == nil && flag&os.O_CREATE == 0:
		return nil, pathErr("open", name, syscall.ENOENT)
	case n == nil && strings.HasSuffix(name, "/"):
		return nil, pathErr("open", name, syscall.EISDIR)
	case n == nil:
		n = f.newInode(perm & fs.ModePerm)
		dir.children[base] = n
		f.touch(dir)
	case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		return nil, pathErr("open", name, syscall.EEXIST)
	case n.isDir() && (acc != os.O_RDONLY || flag&(os.O_CREATE|os.O_TRUNC) != 0):
		return nil, pathErr("open", name, syscall.EISDIR)
	case flag&os.O_TRUNC != 0:
		n.resize(0)
		f.touch(n)
	}
	n.opens++
	return &File{fs: f, node: n, name: name, flag: flag}, nil
}

// release frees n's inode number for reuse once n has no name and no open
// handle; the caller holds f.mu.
func (f *FS) release(n *inode) {
	if f.reuse && !n.linked && n.opens == 0 && n != f.root {
		f.free = append(f.free, n.ino)
	}
}

// Mkdir creates a directory, like os.Mkdir (no umask is applied).
func (f *FS) Mkdir(name string, perm os.FileMode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected(OpMkdir, name); err != nil {
		return pathErr("mkdir", name, err)
	}
	return f.mkdir(name, perm)
}

func (f *FS) mkdir(name string, perm os.FileMode) error {
	dir, base, n, err := f.walk(name)
	if err == nil && n != nil {
		err = syscall.EEXIST
	}
	if err != nil {
		return pathErr("mkdir", name, err)
	}
	dir.children[base] = f.newInode(fs.ModeDir | perm&fs.ModePerm)
	f.touch(dir)
	return nil
}

// MkdirAll creates a directory and any missing parents, like os.MkdirAll.
func (f *FS) MkdirAll(name string, perm os.FileMode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected(OpMkdir, name); err != nil {
		return pathErr("mkdir", name, err)
	}
	return f.mkdirAll(name, perm)
}

// mkdirAll follows os.MkdirAll so that errors name the same path.
func (f *FS) mkdirAll(name string, perm os.FileMode) error {
	if n, err := f.lookup(name); err == nil {
		if n.isDir() {
			return nil
		}
		return pathErr("mkdir", name, syscall.ENOTDIR)
	}
	i := len(name) - 1
	for i >= 0 && name[i] == '/' {
		i--
	}
	for i >= 0 && name[i] != '/' {
		i--
	}
	if i > 0 {
		if err := f.mkdirAll(name[:i], perm); err != nil {
			return err
		}
	}
	if err := f.mkdir(name, perm); err != nil {
		if n, err1 := f.lookup(name); err1 == nil && n.isDir() {
			return nil
		}
		return err
	}
	return nil
}

// Remove unlinks a file or an empty directory, like os.Remove. Open handles
// to a removed file keep working; its link count drops to 0.
func (f *FS) Remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected(OpRemove, name); err != nil {
		return pathErr("remove", name, err)
	}
	dir, base, n, err := f.walk(name)
	switch {
	case err != nil:
	case n == nil:
		err = syscall.ENOENT
	case dir == nil:
		err = syscall.EBUSY
	case n.isDir() && len(n.children) > 0:
		err = syscall.ENOTEMPTY
	}
	if err != nil {
		return pathErr("remove", name, err)
	}
	delete(dir.children, base)
	n.linked = false
	f.touch(dir)
	n.ctime = dir.ctime
	f.release(n)
	return nil
}

// RemoveAll removes name and everything below it, like os.RemoveAll. A
// missing name is not an error. RemoveAll of "/" empties the root.
func (f *FS) RemoveAll(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected(OpRemove, name); err != nil {
		return pathErr("RemoveAll", name, err)
	}
	if name == "." || strings.HasSuffix(name, "/.") {
		return pathErr("RemoveAll", name, syscall.EINVAL)
	}
	dir, base, n, err := f.walk(name)
	switch {
	case err == syscall.ENOENT || (err == nil && n == nil):
		return nil
	case err != nil:
		return pathErr("unlinkat", name, err) // as os.RemoveAll reports it
	case dir == nil:
		for _, k := range sortedNames(n) {
			f.unlinkTree(n.children[k])
			delete(n.children, k)
		}
		f.touch(n)
		return nil
	}
	f.unlinkTree(n)
	delete(dir.children, base)
	f.touch(dir)
	return nil
}

// unlinkTree marks n and everything below it unlinked.
func (f *FS) unlinkTree(n *inode) {
	n.linked = false
	n.ctime = f.now()
	for _, k := range sortedNames(n) {
		f.unlinkTree(n.children[k])
	}
	f.release(n)
}

func sortedNames(n *inode) []string {
	names := make([]string, 0, len(n.children))
	for k := range n.children {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Rename renames oldname to newname, like os.Rename: the file keeps its
// identity, and an existing file at newname is replaced (its link count drops
// to 0; open handles keep it). Errors are *os.LinkError, as from os.Rename.
func (f *FS) Rename(oldname, newname string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	linkErr := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	if err := f.injected(OpRename, oldname); err != nil {
		return linkErr(err)
	}
	odir, obase, on, operr := f.walk(oldname)
	oerr := operr
	if oerr == nil && on == nil {
		oerr = syscall.ENOENT
	}
	ndir, nbase, nn, nerr := f.walk(newname)
	// Like os.Rename, refuse to replace a directory (even by itself), but
	// report a bad old name first.
	if nerr == nil && nn != nil && nn.isDir() {
		if oerr != nil {
			return linkErr(oerr)
		}
		if nn != on || newname == oldname {
			return linkErr(syscall.EEXIST)
		}
	}
	// Then in the order of Linux: both parents, the old entry, the rest.
	switch {
	case operr != nil:
		return linkErr(operr)
	case nerr != nil:
		return linkErr(nerr)
	case oerr != nil:
		return linkErr(oerr)
	case nn == on:
		return nil
	case odir == nil || ndir == nil:
		return linkErr(syscall.EBUSY)
	case on.isDir() && strings.HasPrefix(path.Clean("/"+newname), path.Clean("/"+oldname)+"/"):
		return linkErr(syscall.EINVAL)
	case nn != nil && on.isDir():
		return linkErr(syscall.ENOTDIR)
	}
	delete(odir.children, obase)
	if nn != nil {
		nn.linked = false
	}
	ndir.children[nbase] = on
	f.touch(odir)
	f.touch(ndir)
	on.ctime = ndir.ctime
	if nn != nil {
		nn.ctime = ndir.ctime
		f.release(nn)
	}
	return nil
}

// Stat returns a snapshot of the named file's attributes, like os.Stat. Its
// Sys method returns a *syscall.Stat_t with Dev, Ino, Nlink, Mode, Size, Uid,
// Gid and (on Linux) the timestamps filled in.
func (f *FS) Stat(name string) (os.FileInfo, error) {
	return f.stat("stat", name)
}

// LstatIfPossible is Stat (there are no symbolic links), reporting true.
func (f *FS) LstatIfPossible(name string) (os.FileInfo, bool, error) {
	fi, err := f.stat("lstat", name)
	return fi, true, err
}

func (f *FS) stat(op, name string) (os.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected(OpStat, name); err != nil {
		return nil, pathErr(op, name, err)
	}
	n, err := f.lookup(name)
	if err != nil {
		return nil, pathErr(op, name, err)
	}
	return n.snapshot(baseName(name)), nil
}

// baseName is the FileInfo name for a path, as os.Stat reports it.
func baseName(name string) string {
	return path.Base(name)
}

// setattr runs fn on the named node under the lock.
func (f *FS) setattr(op, name string, fn func(n *inode)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected(OpSetAttr, name); err != nil {
		return pathErr(op, name, err)
	}
	n, err := f.lookup(name)
	if err != nil {
		return pathErr(op, name, err)
	}
	fn(n)
	n.ctime = f.now()
	return nil
}

// Chmod sets the permission bits of the named file to mode&0777; other mode
// bits are ignored.
func (f *FS) Chmod(name string, mode os.FileMode) error {
	return f.setattr("chmod", name, func(n *inode) {
		n.mode = n.mode&^fs.ModePerm | mode&fs.ModePerm
	})
}

// Chown records uid and gid for the named file; a value of -1 leaves that id
// unchanged, as with os.Chown.
func (f *FS) Chown(name string, uid, gid int) error {
	return f.setattr("chown", name, func(n *inode) {
		if uid != -1 {
			n.uid = uid
		}
		if gid != -1 {
			n.gid = gid
		}
	})
}

// Chtimes sets the access and modification times of the named file; a zero
// time leaves that time unchanged, as with os.Chtimes.
func (f *FS) Chtimes(name string, atime, mtime time.Time) error {
	return f.setattr("chtimes", name, func(n *inode) {
		if !atime.IsZero() {
			n.atime = atime
		}
		if !mtime.IsZero() {
			n.mtime = mtime
		}
	})
}

// Truncate changes the size of the named file, like os.Truncate (afero.Fs
// has no such method). Growth is zero-filled; handles keep their offsets.
func (f *FS) Truncate(name string, size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected(OpTruncate, name); err != nil {
		return pathErr("truncate", name, err)
	}
	if size < 0 {
		return pathErr("truncate", name, syscall.EINVAL)
	}
	n, err := f.lookup(name)
	switch {
	case err != nil:
	case n.isDir():
		err = syscall.EISDIR
	case size > maxFileSize:
		err = syscall.EFBIG
	}
	if err != nil {
		return pathErr("truncate", name, err)
	}
	n.resize(size)
	f.touch(n)
	return nil
}

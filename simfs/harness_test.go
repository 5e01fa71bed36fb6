package simfs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/afero"
)

// This file runs the same script of operations against afero.OsFs and simfs
// and returns one result line per step, so the two histories can be diffed.
//
// A script has one operation per line; '#' starts a comment line. Paths are
// relative to a fresh directory, handles are names chosen by the script, and
// TEXT is written as is (no spaces). Operations:
//
//	create P H            open P H FLAGS (ro|wo|rw|append|create|trunc|excl, '|'-joined)
//	close H               write H TEXT          writeat H OFF TEXT
//	read H N              readat H OFF N        readall H
//	seek H OFF WHENCE     trunc H SIZE          truncpath P SIZE
//	rename P1 P2          remove P              removeall P
//	mkdir P               mkdirall P            chmod P OCTAL
//	stat P                fstat H               again K   (re-describe the FileInfo of step K)
//	ls P                  (sorted names from Readdirnames(-1))
//
// stat and fstat print identity as "id=#K": K is the first step that observed
// that (dev, ino), so histories compare identity relations, not inode numbers.
// To keep the real file system from reusing an observed inode number, the OS
// environment pins every observed file open until the end of the run.

// step is one parsed script line.
type step struct {
	line int
	cmd  string
	args []string
}

func (s step) String() string { return strings.Join(append([]string{s.cmd}, s.args...), " ") }

var stepArity = map[string]int{
	"create": 2, "open": 3, "close": 1, "write": 2, "writeat": 3, "read": 2, "readat": 3,
	"readall": 1, "seek": 3, "trunc": 2, "truncpath": 2, "rename": 2, "remove": 1,
	"removeall": 1, "mkdir": 1, "mkdirall": 1, "chmod": 2, "stat": 1, "fstat": 1,
	"again": 1, "ls": 1,
}

func parseScript(text string) ([]step, error) {
	var steps []step
	sc := bufio.NewScanner(strings.NewReader(text))
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		n, ok := stepArity[f[0]]
		if !ok {
			return nil, fmt.Errorf("line %d: unknown command %q", line, f[0])
		}
		if len(f)-1 != n {
			return nil, fmt.Errorf("line %d: %s takes %d arguments", line, f[0], n)
		}
		steps = append(steps, step{line: line, cmd: f[0], args: f[1:]})
	}
	return steps, sc.Err()
}

func formatScript(steps []step) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// fileID is a file identity as seen through Stat_t.
type fileID struct{ dev, ino uint64 }

func identity(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), st.Ino}, true
}

// env is one file system under test.
type env struct {
	fs       afero.Fs
	root     string
	truncate func(name string, size int64) error
	pin      func(f afero.File, name string) // nil: no inode reuse to prevent
	handles  map[string]afero.File
	infos    map[int]os.FileInfo
	ids      map[fileID]int
	closers  []io.Closer
}

func newOSEnv(root string) *env {
	e := newEnv(afero.NewOsFs(), root, os.Truncate)
	e.pin = func(f afero.File, name string) {
		if of, ok := f.(*os.File); ok {
			fd, err := syscall.Dup(int(of.Fd()))
			if err == nil {
				e.closers = append(e.closers, os.NewFile(uintptr(fd), "pin"))
			}
			return
		}
		if pf, err := os.Open(name); err == nil {
			e.closers = append(e.closers, pf)
		}
	}
	return e
}

// envMaker makes an environment whose file system holds the directory root.
type envMaker func(root string) (*env, error)

// testClock returns a clock that advances by one nanosecond per reading.
func testClock() func() time.Time {
	var tick int64
	return func() time.Time { tick++; return time.Unix(1_700_000_000, tick).UTC() }
}

func newSimEnv(root string) (*env, error) {
	sfs := New(testClock())
	if err := sfs.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	return newEnv(sfs, root, sfs.Truncate), nil
}

func newEnv(fsys afero.Fs, root string, truncate func(string, int64) error) *env {
	return &env{fs: fsys, root: root, truncate: truncate,
		handles: map[string]afero.File{}, infos: map[int]os.FileInfo{}, ids: map[fileID]int{}}
}

// close releases every handle and pin, in a fixed order.
func (e *env) close() {
	for _, k := range slices.Sorted(maps.Keys(e.handles)) {
		e.handles[k].Close()
	}
	for _, c := range e.closers {
		c.Close()
	}
}

func (e *env) path(p string) string { return path.Join(e.root, p) }

// errString prints err with the root directory elided.
func (e *env) errString(err error) string {
	if err == nil {
		return "ok"
	}
	return strings.ReplaceAll(err.Error(), e.root, "$ROOT")
}

func (e *env) describe(k int, fi os.FileInfo) string {
	id, ok := identity(fi)
	if !ok {
		return "no-identity"
	}
	first, seen := e.ids[id]
	if !seen {
		e.ids[id] = k
		first = k
	}
	st := fi.Sys().(*syscall.Stat_t)
	size := fmt.Sprint(fi.Size())
	if fi.IsDir() {
		size = "-" // OS directory sizes are file-system specific
	}
	return fmt.Sprintf("name=%s size=%s mode=%v nlink=%d id=#%d", fi.Name(), size, fi.Mode(), st.Nlink, first)
}

func parseFlags(s string) (int, error) {
	flag := 0
	for _, f := range strings.Split(s, "|") {
		switch f {
		case "ro":
			flag |= os.O_RDONLY
		case "wo":
			flag |= os.O_WRONLY
		case "rw":
			flag |= os.O_RDWR
		case "append":
			flag |= os.O_APPEND
		case "create":
			flag |= os.O_CREATE
		case "trunc":
			flag |= os.O_TRUNC
		case "excl":
			flag |= os.O_EXCL
		default:
			return 0, fmt.Errorf("unknown flag %q", f)
		}
	}
	return flag, nil
}

func atoi(s string) int64 {
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		panic(fmt.Sprintf("bad number %q in script", s))
	}
	return n
}

// exec runs step k and returns its result line; a panic is a result too.
func (e *env) exec(k int, s step) (res string) {
	defer func() {
		if r := recover(); r != nil {
			res = fmt.Sprint("panic: ", r)
		}
	}()
	return e.run(k, s)
}

func (e *env) run(k int, s step) string {
	a := s.args
	handle := func() (afero.File, bool) {
		h, ok := e.handles[a[0]]
		return h, ok
	}
	switch s.cmd {
	case "create", "open":
		var f afero.File
		var err error
		if s.cmd == "create" {
			f, err = e.fs.Create(e.path(a[0]))
		} else {
			flag, ferr := parseFlags(a[2])
			if ferr != nil {
				return ferr.Error()
			}
			f, err = e.fs.OpenFile(e.path(a[0]), flag, 0o644)
		}
		if err == nil {
			if old, ok := e.handles[a[1]]; ok {
				old.Close()
			}
			e.handles[a[1]] = f
		}
		return e.errString(err)
	case "ls":
		f, err := e.fs.Open(e.path(a[0]))
		if err != nil {
			return e.errString(err)
		}
		defer f.Close()
		names, err := f.Readdirnames(-1)
		slices.Sort(names)
		return fmt.Sprintf("%v %s", names, e.errString(err))
	case "rename":
		return e.errString(e.fs.Rename(e.path(a[0]), e.path(a[1])))
	case "remove":
		return e.errString(e.fs.Remove(e.path(a[0])))
	case "removeall":
		return e.errString(e.fs.RemoveAll(e.path(a[0])))
	case "mkdir":
		return e.errString(e.fs.Mkdir(e.path(a[0]), 0o755))
	case "mkdirall":
		return e.errString(e.fs.MkdirAll(e.path(a[0]), 0o755))
	case "chmod":
		return e.errString(e.fs.Chmod(e.path(a[0]), os.FileMode(atoi(a[1]))))
	case "truncpath":
		return e.errString(e.truncate(e.path(a[0]), atoi(a[1])))
	case "stat":
		fi, err := e.fs.Stat(e.path(a[0]))
		if err != nil {
			return e.errString(err)
		}
		e.infos[k] = fi
		if e.pin != nil {
			e.pin(nil, e.path(a[0]))
		}
		return e.describe(k, fi)
	case "again":
		fi, ok := e.infos[int(atoi(a[0]))]
		if !ok {
			return "no saved FileInfo"
		}
		return e.describe(k, fi)
	}
	h, ok := handle()
	if !ok {
		return "no handle " + a[0]
	}
	switch s.cmd {
	case "close":
		err := h.Close()
		return e.errString(err)
	case "write":
		n, err := h.Write([]byte(a[1]))
		return fmt.Sprintf("n=%d %s", n, e.errString(err))
	case "writeat":
		n, err := h.WriteAt([]byte(a[2]), atoi(a[1]))
		return fmt.Sprintf("n=%d %s", n, e.errString(err))
	case "read":
		p := make([]byte, atoi(a[1]))
		n, err := h.Read(p)
		return fmt.Sprintf("n=%d %q %s", n, p[:n], e.errString(err))
	case "readat":
		p := make([]byte, atoi(a[2]))
		n, err := h.ReadAt(p, atoi(a[1]))
		return fmt.Sprintf("n=%d %q %s", n, p[:n], e.errString(err))
	case "readall":
		var got []byte
		p := make([]byte, 7)
		for {
			n, err := h.Read(p)
			got = append(got, p[:n]...)
			if err != nil {
				if errors.Is(err, io.EOF) {
					return fmt.Sprintf("%q EOF", got)
				}
				return fmt.Sprintf("%q %s", got, e.errString(err))
			}
			if n == 0 {
				return fmt.Sprintf("%q zero-read", got)
			}
		}
	case "seek":
		if fi, err := h.Stat(); err == nil && fi.IsDir() {
			// Directory offsets are file-system specific (ext4 hashes).
			return "skipped: directory"
		}
		off, err := h.Seek(atoi(a[1]), int(atoi(a[2])))
		return fmt.Sprintf("off=%d %s", off, e.errString(err))
	case "trunc":
		return e.errString(h.Truncate(atoi(a[1])))
	case "fstat":
		fi, err := h.Stat()
		if err != nil {
			return e.errString(err)
		}
		e.infos[k] = fi
		if e.pin != nil {
			e.pin(h, "")
		}
		return e.describe(k, fi)
	}
	return "unknown command " + s.cmd
}

// diffRun runs steps on afero.OsFs in the existing directory root and on a
// fresh environment from mk, and returns a description of every step whose
// results differ ("" if none). where names the script in messages.
func diffRun(root, where string, steps []step, mk envMaker) (string, error) {
	oe := newOSEnv(root)
	se, err := mk(root)
	if err != nil {
		return "", err
	}
	defer oe.close()
	defer se.close()
	var b strings.Builder
	for k, s := range steps {
		got, want := se.exec(k, s), oe.exec(k, s)
		if got != want {
			fmt.Fprintf(&b, "step %d (%s:%d) %s\n\tos:    %s\n\tsimfs: %s\n", k, where, s.line, s, want, got)
		}
	}
	return b.String(), nil
}

// history runs steps on one environment and returns the numbered results.
func history(e *env, steps []step) string {
	var b strings.Builder
	for k, s := range steps {
		fmt.Fprintf(&b, "%3d %-28s -> %s\n", k, s, e.exec(k, s))
	}
	return b.String()
}

package logstream

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/afero"
)

// expandGlob replaces {name}, {stem} and {ext} in glob by the parts of the
// log's base name. The parts are escaped, so a name with glob metacharacters
// matches only itself.
func expandGlob(glob, base string) string {
	if !strings.Contains(glob, "{") {
		return glob
	}
	ext := path.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	// Left to right, as strings.Replacer would, without building one at
	// every look at the directory.
	var b strings.Builder
	for i := 0; i < len(glob); {
		switch rest := glob[i:]; {
		case strings.HasPrefix(rest, "{name}"):
			b.WriteString(escapeGlob(base))
			i += len("{name}")
		case strings.HasPrefix(rest, "{stem}"):
			b.WriteString(escapeGlob(stem))
			i += len("{stem}")
		case strings.HasPrefix(rest, "{ext}"):
			b.WriteString(escapeGlob(ext))
			i += len("{ext}")
		default:
			b.WriteByte(glob[i])
			i++
		}
	}
	return b.String()
}

func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) && utf8.ValidString(s) {
		return s // what the loop below would build, without building it
	}
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// sibling is one rotated generation found in the log's directory.
type sibling struct {
	name string // full path
	id   FileID
	size int64
	mod  time.Time
	key  int64 // OrderNumber: the number; OrderModTime: mtime in ns
}

// lstatMatching returns, as afero.ReadDir on the OS file system would
// return them, the entries of dir whose names match glob, but base: it
// reads the names only and stats the matches (afero.ReadDir stats every
// entry, the log itself included, and opens the directory through the
// runtime's poller, which costs four fcntl and a failing epoll_ctl). A
// look at the rotated names (every PollInterval while the writer writes)
// took 9 system calls plus one per entry, now 5 plus one per match. An
// entry removed between the listing and its lstat is left out, as
// os.File.Readdir leaves it out; another lstat error fails the listing, as
// it fails afero.ReadDir.
func lstatMatching(dir, base, glob string) ([]fs.FileInfo, error) {
	f, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	var infos []fs.FileInfo
	for _, name := range names {
		if name == base {
			continue
		}
		if ok, _ := path.Match(glob, name); !ok {
			continue
		}
		fi, err := os.Lstat(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		infos = append(infos, fi)
	}
	return infos, nil
}

// listRotated returns the rotated generations of logPath named by rn,
// oldest first. Files without identity are left out.
func listRotated(fsys afero.Fs, logPath string, rn RotatedNames) ([]sibling, error) {
	dir, base := filepath.Split(logPath)
	if dir == "" {
		dir = "."
	}
	glob := expandGlob(rn.Glob, base)
	var infos []fs.FileInfo
	var err error
	if _, ok := fsys.(*afero.OsFs); ok {
		infos, err = lstatMatching(dir, base, glob)
	} else {
		infos, err = afero.ReadDir(fsys, dir)
	}
	if err != nil {
		return nil, err
	}
	var out []sibling
	for _, fi := range infos {
		name := fi.Name()
		if name == base || !fi.Mode().IsRegular() {
			continue
		}
		if ok, _ := path.Match(glob, name); !ok {
			continue
		}
		id, ok := Identity(fi)
		if !ok {
			continue
		}
		s := sibling{name: filepath.Join(dir, name), id: id, size: fi.Size(), mod: fi.ModTime()}
		switch rn.Order {
		case OrderNumber:
			i := strings.LastIndexByte(name, '.')
			n, err := strconv.ParseInt(name[i+1:], 10, 64)
			if i < 0 || err != nil || n < 0 {
				continue
			}
			s.key = -n // higher is older: sort ascending by -n
		case OrderModTime:
			s.key = fi.ModTime().UnixNano()
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if rn.Order != OrderName && out[i].key != out[j].key {
			return out[i].key < out[j].key
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

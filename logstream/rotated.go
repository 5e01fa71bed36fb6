package logstream

import (
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

// listRotated returns the rotated generations of logPath named by rn,
// oldest first. Files without identity are left out.
func listRotated(fsys afero.Fs, logPath string, rn RotatedNames) ([]sibling, error) {
	dir, base := filepath.Split(logPath)
	if dir == "" {
		dir = "."
	}
	glob := expandGlob(rn.Glob, base)
	infos, err := afero.ReadDir(fsys, dir)
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

package logstream

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/afero"
)

// expandGlob gives what strings.NewReplacer gives for the three
// placeholders (its definition before it became a single scan), on
// adjacent, repeated, broken and escaped placeholders and names with glob
// metacharacters.
func TestExpandGlobIsTheReplacer(t *testing.T) {
	globs := []string{"", "{name}.*", "{stem}-*{ext}", "{name}{name}", "{{name}}", "{nam{name}", "{ext",
		"x{ext}{stem}{name}y", "{", "}", "{}", "{name", "no placeholder", "{stem}.{ext}.gz", "*{ext}*"}
	bases := []string{"app.log", "app", ".log", "a[1].log", `we*ird?\.txt`, "a.b.c", "", "caf\xe9.log", "\xff[x].log", "日本.log"}
	for _, g := range globs {
		for _, base := range bases {
			ext := path.Ext(base)
			stem := strings.TrimSuffix(base, ext)
			want := strings.NewReplacer("{name}", escapeGlob(base), "{stem}", escapeGlob(stem), "{ext}", escapeGlob(ext)).Replace(g)
			if got := expandGlob(g, base); got != want {
				t.Errorf("expandGlob(%q, %q) = %q, want %q", g, base, got, want)
			}
		}
	}
}

// escapeGlob's shortcut gives what its loop gives: every rune written
// again (an invalid byte as U+FFFD), metacharacters behind a backslash.
func TestEscapeGlobShortcut(t *testing.T) {
	loop := func(s string) string {
		var b strings.Builder
		for _, c := range s {
			if strings.ContainsRune(`*?[]\`, c) {
				b.WriteByte('\\')
			}
			b.WriteRune(c)
		}
		return b.String()
	}
	for _, s := range []string{"", "app.log", "a[1].log", `we*ird?\.txt`, "caf\xe9.log", "\xff", "日本.log", "{name}"} {
		if got, want := escapeGlob(s), loop(s); got != want {
			t.Errorf("escapeGlob(%q) = %q, want %q", s, got, want)
		}
	}
}

// hiddenOsFs is the OS file system under another type: listRotated lists
// it through afero.ReadDir, as before lstatMatching.
type hiddenOsFs struct{ afero.Fs }

// On the OS file system listRotated lists only the matching names
// (lstatMatching) and finds what afero.ReadDir's listing finds: the
// regular files among the matches, not the log, not a directory, a
// symbolic link or a file that does not match, in every order; and a
// missing directory is fs.ErrNotExist either way.
func TestListRotatedOsFsAsReadDir(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	for _, name := range []string{"app.log", "app.log.1", "app.log.2", "app.log.10", "app.log.x", "app-2026.log", "app-2025.log", "other.txt", "app.log.old"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "app.log.3"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("app.log.1", filepath.Join(dir, "app.log.4")); err != nil {
		t.Fatal(err)
	}
	osFs := afero.NewOsFs()
	for _, rn := range []RotatedNames{RotatedNames{Glob: "{name}.*", Order: OrderNumber}, {Glob: "{name}.*", Order: OrderName},
		{Glob: "{name}.*", Order: OrderModTime}, LumberjackNames, {Glob: "*", Order: OrderName}} {
		got, err := listRotated(osFs, log, rn)
		if err != nil {
			t.Fatal(err)
		}
		want, err := listRotated(hiddenOsFs{osFs}, log, rn)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: listed %+v, afero.ReadDir's listing %+v", rn, got, want)
		}
		if len(got) == 0 {
			t.Errorf("%+v: nothing listed", rn)
		}
	}
	missing := filepath.Join(dir, "gone", "app.log")
	for _, fsys := range []afero.Fs{osFs, hiddenOsFs{osFs}} {
		if _, err := listRotated(fsys, missing, RotatedNames{Glob: "{name}.*", Order: OrderNumber}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%T: missing directory: %v", fsys, err)
		}
	}
}

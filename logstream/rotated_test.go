package logstream

import (
	"path"
	"strings"
	"testing"
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

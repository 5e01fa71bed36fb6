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
	bases := []string{"app.log", "app", ".log", "a[1].log", `we*ird?\.txt`, "a.b.c", ""}
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

package layers

import (
	"bufio"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/logstream-sim/logstream-sim"

// rule is one row of README's layering table.
type rule struct {
	pkg     string   // module-relative path, e.g. "logstream/inproc"
	any     bool     // may import any package of this module
	allowed []string // module packages it may import directly
	banned  []string // module packages (and their subpackages) or import paths it must not depend on, even indirectly
	line    int      // README line of the row
}

var backticked = regexp.MustCompile("`([^`]+)`")

// parseTable reads the table under "## Layout" in README text: columns
// package | what it is | imports from this module | must not depend on.
// Backticked words are package paths; other words are prose.
func parseTable(text string) ([]rule, error) {
	var rules []rule
	in := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Layout"
			continue
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		if len(cols) != 4 {
			return nil, fmt.Errorf("README.md:%d: want 4 columns (package | what it is | imports from this module | must not depend on), have %d", n, len(cols))
		}
		names := func(col string) []string {
			var out []string
			for _, m := range backticked.FindAllStringSubmatch(col, -1) {
				out = append(out, m[1])
			}
			return out
		}
		allowed := strings.TrimSpace(cols[2])
		for _, pkg := range names(cols[0]) {
			rules = append(rules, rule{
				pkg:     pkg,
				any:     allowed == "any",
				allowed: names(cols[2]),
				banned:  names(cols[3]),
				line:    n,
			})
		}
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("README.md: no layering table under \"## Layout\"")
	}
	return rules, sc.Err()
}

// imports maps each module package (module-relative path) to its direct
// non-test imports (module packages module-relative, others as written).
func imports(root string) (map[string][]string, error) {
	graph := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
			return filepath.SkipDir
		}
		p, err := build.Default.ImportDir(path, 0)
		if _, ok := err.(*build.NoGoError); ok {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if p.Name == "tools" || len(p.GoFiles)+len(p.CgoFiles) == 0 && len(p.TestGoFiles)+len(p.XTestGoFiles) == 0 {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		var deps []string
		for _, imp := range p.Imports {
			if r, ok := strings.CutPrefix(imp, module+"/"); ok {
				imp = r
			}
			deps = append(deps, imp)
		}
		graph[rel] = deps
		return nil
	})
	return graph, err
}

// inModule reports whether an import (as stored in the graph) is a package
// of this module.
func inModule(graph map[string][]string, imp string) bool {
	_, ok := graph[imp]
	return ok
}

// under reports whether pkg is banned itself or a subpackage of it.
func under(pkg, banned string) bool {
	return pkg == banned || strings.HasPrefix(pkg, banned+"/")
}

// check returns every way graph departs from rules, one line each.
func check(rules []rule, graph map[string][]string) []string {
	var problems []string
	byPkg := map[string]rule{}
	for _, r := range rules {
		if _, dup := byPkg[r.pkg]; dup {
			problems = append(problems, fmt.Sprintf("README.md:%d: %s is in the table twice", r.line, r.pkg))
		}
		byPkg[r.pkg] = r
	}
	pkgs := make([]string, 0, len(graph))
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	for _, pkg := range pkgs {
		r, ok := byPkg[pkg]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is not in README.md's layering table (## Layout): add a row saying what it may import", pkg))
			continue
		}
		for _, imp := range graph[pkg] {
			if inModule(graph, imp) && !r.any && !slices.Contains(r.allowed, imp) {
				problems = append(problems, fmt.Sprintf("%s imports %s, which README.md:%d does not allow (an arrow that does not point down, or a missing table entry)", pkg, imp, r.line))
			}
		}
		// Everything pkg depends on, with the path that leads there.
		via := map[string]string{pkg: pkg}
		queue := []string{pkg}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, imp := range graph[p] {
				if _, seen := via[imp]; seen {
					continue
				}
				via[imp] = via[p] + " -> " + imp
				if inModule(graph, imp) {
					queue = append(queue, imp)
				}
			}
		}
		deps := make([]string, 0, len(via))
		for d := range via {
			deps = append(deps, d)
		}
		slices.Sort(deps)
		for _, b := range r.banned {
			for _, d := range deps {
				if d != pkg && under(d, b) {
					problems = append(problems, fmt.Sprintf("%s depends on %s (%s), which README.md:%d forbids", pkg, d, via[d], r.line))
				}
			}
		}
	}
	for _, r := range rules {
		if _, ok := graph[r.pkg]; !ok {
			problems = append(problems, fmt.Sprintf("README.md:%d: %s is in the layering table but is not a package of this module", r.line, r.pkg))
		}
	}
	return problems
}

// TestLayering checks the module's imports against README.md's table.
func TestLayering(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := parseTable(string(text))
	if err != nil {
		t.Fatal(err)
	}
	graph, err := imports(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range check(rules, graph) {
		t.Error(p)
	}
}

// TestCheckCatches shows the check can fail: an upward arrow, a banned
// indirect dependency, a package missing from the table and a row without a
// package are each reported.
func TestCheckCatches(t *testing.T) {
	table := "## Layout\n\n| package | what | imports | must not |\n|---|---|---|---|\n" +
		"| `logstream` | core | — | `sim`, `pgregory.net/rapid` |\n" +
		"| `sim` | world | `logstream` | `scenarios` |\n" +
		"| `sim/simtest` | helpers | `sim` | — |\n" +
		"| `scenarios` | files | `sim` | `cmd` |\n" +
		"| `gone` | removed | — | — |\n" +
		"| `cmd/simrun` | CLI | any | — |\n"
	rules, err := parseTable(table)
	if err != nil {
		t.Fatal(err)
	}
	graph := map[string][]string{
		"logstream":   {"fmt", "helper"},
		"helper":      {"pgregory.net/rapid"},
		"sim":         {"logstream"},
		"sim/simtest": {"sim", "scenarios"},
		"scenarios":   {"sim"},
		"cmd/simrun":  {"scenarios", "sim/simtest"},
	}
	got := strings.Join(check(rules, graph), "\n")
	for _, want := range []string{
		"helper is not in README.md's layering table",
		"logstream depends on pgregory.net/rapid (logstream -> helper -> pgregory.net/rapid)",
		"sim/simtest imports scenarios, which README.md:",
		"README.md:9: gone is in the layering table but is not a package",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("check did not report %q; it reported:\n%s", want, got)
		}
	}
	if strings.Contains(got, "cmd/simrun imports") || strings.Contains(got, "scenarios imports") {
		t.Errorf("check reported an allowed arrow:\n%s", got)
	}
}

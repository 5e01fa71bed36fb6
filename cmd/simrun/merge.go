package main

import (
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/logstream-sim/logstream-sim/sim/swarm"
)

// MergeCommand is "simrun merge": one report from the JUnit files of a
// sharded run (a CI matrix, a Kubernetes indexed Job).
type MergeCommand struct {
	main *Main
}

// Usage returns the help text of "merge".
func (c *MergeCommand) Usage() string {
	return `Usage: simrun merge [--junit OUT] FILE...

Merges the JUnit reports of the shards of one run (simrun swarm --shard i/n
--junit FILE on each machine) into one report, the same as the unsharded
run of the same seed range would have written: test cases of every shard in
natural name order ("seed 9" before "seed 10"), counts recomputed, times
added up. Prints a summary, the failing cases, and the merged coverage
table when the shards report one.

Suites are merged by name, generically, property by property:

	shard          every file's i/n for one n, each i exactly once: the
	               merged suite is 0/1; a missing or repeated shard is an
	               error
	coverage.NAME  an integer count per shard (runs that hit the coverage
	count.NAME     class NAME): the merged value is the sum
	anything else  must be equal in every file (the mix, the range: the
	               same command line apart from --shard)

A test case that appears in two files (overlapping shards) is an error,
except the swarm's coverage verdict (classname ` + coverageClass + `): each
shard judged its own counts, so the merged verdict is judged again from the
summed coverage.CLASS counts, the property coverage-required (the k of
--require-coverage) and coverage-exempt (comma-separated classes not
required).

Flags:

	--junit OUT    write the merged JUnit XML to OUT

Exit codes: 0 the merged run held, 1 a case failed or erred, 2 bad usage
or input (unreadable or malformed file, shards that do not fit together).
`
}

// Run runs the command.
func (c *MergeCommand) Run(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	out := fs.String("junit", "", "")
	rest, err := c.main.parseFlags(fs, c.Usage(), args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef("merge: no JUnit files given", "e.g. simrun merge --junit all.xml shard-*.xml")
	}
	docs := make([]junitSuites, len(rest))
	for i, path := range rest {
		b, err := os.ReadFile(path)
		if err != nil {
			return usagef("merge: %v", "", err)
		}
		if err := xml.Unmarshal(b, &docs[i]); err != nil {
			return usagef("merge: %s: not a JUnit report: %v", "give the files simrun wrote with --junit", path, err)
		}
	}
	merged, err := mergeJUnit(rest, docs)
	if err != nil {
		return usagef("merge: %v", "", err)
	}
	var fl files
	defer fl.abort()
	if *out != "" {
		f, err := fl.create("--junit", *out)
		if err != nil {
			return err
		}
		if err := writeSuites(f, merged); err != nil {
			return fmt.Errorf("--junit %s: %w", *out, err)
		}
		if err := f.Commit(); err != nil {
			return err
		}
	}
	c.summary(c.main.Stdout, rest, merged)
	if n := merged.Failures + merged.Errors; n > 0 {
		return &FailedError{Failed: n, Total: merged.Tests, What: "case"}
	}
	return nil
}

// summary prints what the merged report says.
func (c *MergeCommand) summary(w io.Writer, paths []string, m junitSuites) {
	for _, s := range m.Suites {
		fmt.Fprintf(w, "merge: %d file(s), suite %q: %d cases, %d failed, %d errors\n", len(paths), s.Name, s.Tests, s.Failures, s.Errors)
		for _, tc := range s.Cases {
			switch {
			case tc.Failure != nil:
				fmt.Fprintf(w, "FAIL %s: %s\n", tc.Name, tc.Failure.Message)
			case tc.Error != nil:
				fmt.Fprintf(w, "ERROR %s: %s\n", tc.Name, tc.Error.Message)
			}
		}
		var rows [][2]string
		if s.Props != nil {
			for _, p := range s.Props.Props {
				if name, ok := summed(p.Name); ok {
					rows = append(rows, [2]string{name, p.Value})
				}
			}
		}
		if len(rows) > 0 {
			fmt.Fprintf(w, "coverage (summed over shards):\n")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			for _, r := range rows {
				fmt.Fprintf(tw, "  %s\t%s\n", r[0], r[1])
			}
			tw.Flush()
		}
	}
}

// summed reports whether a suite property is a count to add up across
// shards, and the name it counts.
func summed(prop string) (string, bool) {
	for _, p := range []string{"coverage.", "count."} {
		if rest, ok := strings.CutPrefix(prop, p); ok {
			return rest, true
		}
	}
	return "", false
}

// coverageClass is the classname of the swarm's coverage verdict test case.
const coverageClass = "simrun.swarm.coverage"

// coverageVerdict judges merged coverage counts as 'simrun swarm
// --require-coverage k' does: the classes below k that are not exempt, in
// property order, fail the case.
func coverageVerdict(s *junitSuite) (junitCase, error) {
	props := map[string]string{}
	var classes []string
	for _, p := range s.Props.Props {
		props[p.Name] = p.Value
		if c, ok := strings.CutPrefix(p.Name, "coverage."); ok {
			classes = append(classes, c)
		}
	}
	k, err := strconv.Atoi(props["coverage-required"])
	if err != nil || k < 1 {
		return junitCase{}, fmt.Errorf("suite %q: the shards' coverage verdicts cannot be merged without a property coverage-required (a count >= 1), have %q",
			s.Name, props["coverage-required"])
	}
	exempt := map[string]bool{}
	for _, c := range split(props["coverage-exempt"]) {
		exempt[c] = true
	}
	var short []string
	for _, c := range classes {
		if n, _ := strconv.Atoi(props["coverage."+c]); n < k && !exempt[c] {
			short = append(short, c)
		}
	}
	tc := junitCase{Name: "coverage", Classname: coverageClass, Time: "0"}
	if len(short) > 0 {
		tc.Failure = &junitProblem{Type: "coverage",
			Message: fmt.Sprintf("coverage: %d class(es) hit fewer than %d time(s): %s", len(short), k, strings.Join(short, ", "))}
	}
	return tc, nil
}

// mergeJUnit merges the documents read from paths.
func mergeJUnit(paths []string, docs []junitSuites) (junitSuites, error) {
	type suiteAcc struct {
		suite  junitSuite
		props  []string          // property names in first-seen order
		values map[string]string // merged value
		from   map[string]string // file the value came from
		shards map[int]string    // shard index -> file
		count  int               // shard count n
		nShard int               // files with a shard property
		cases  map[string]string // classname/name -> file
		times  []string
		files  int
		covers int // coverage verdict cases seen
	}
	var order []string
	acc := map[string]*suiteAcc{}
	var rootName string
	for i, doc := range docs {
		path := paths[i]
		if doc.XMLName.Local != "testsuites" {
			return junitSuites{}, fmt.Errorf("%s: root element <%s>, want <testsuites>", path, doc.XMLName.Local)
		}
		if i == 0 {
			rootName = doc.Name
		} else if doc.Name != rootName {
			return junitSuites{}, fmt.Errorf("%s: <testsuites name=%q>, but %s has %q", path, doc.Name, paths[0], rootName)
		}
		for _, s := range doc.Suites {
			a := acc[s.Name]
			if a == nil {
				a = &suiteAcc{suite: junitSuite{Name: s.Name}, values: map[string]string{}, from: map[string]string{},
					shards: map[int]string{}, cases: map[string]string{}}
				acc[s.Name] = a
				order = append(order, s.Name)
			}
			a.files++
			a.times = append(a.times, s.Time)
			var props []junitProp
			if s.Props != nil {
				props = s.Props.Props
			}
			for _, p := range props {
				prev, seen := a.values[p.Name]
				if !seen {
					a.props = append(a.props, p.Name)
				}
				switch _, isSum := summed(p.Name); {
				case p.Name == "shard":
					sh, err := swarm.ParseShard(p.Value)
					if err != nil {
						return junitSuites{}, fmt.Errorf("%s: suite %q: property shard: %v", path, s.Name, err)
					}
					if a.nShard > 0 && sh.Count != a.count {
						return junitSuites{}, fmt.Errorf("%s: shard %s, but %s is a shard of %d", path, sh, a.from["shard"], a.count)
					}
					if other, dup := a.shards[sh.Index]; dup {
						return junitSuites{}, fmt.Errorf("%s: shard %s again (also in %s)", path, sh, other)
					}
					a.count, a.shards[sh.Index] = sh.Count, path
					a.nShard++
					a.values[p.Name], a.from[p.Name] = "", path
				case isSum:
					n, err := strconv.ParseInt(p.Value, 10, 64)
					if err != nil {
						return junitSuites{}, fmt.Errorf("%s: suite %q: property %s=%q is not an integer count", path, s.Name, p.Name, p.Value)
					}
					old, _ := strconv.ParseInt(prev, 10, 64)
					a.values[p.Name], a.from[p.Name] = strconv.FormatInt(old+n, 10), path
				default:
					if seen && prev != p.Value {
						return junitSuites{}, fmt.Errorf("suite %q: property %s is %q in %s but %q in %s (shards of one run differ only in --shard)",
							s.Name, p.Name, a.from[p.Name], prev, path, p.Value)
					}
					a.values[p.Name], a.from[p.Name] = p.Value, path
				}
			}
			for _, tc := range s.Cases {
				if tc.Classname == coverageClass {
					a.covers++
					continue
				}
				key := tc.Classname + "/" + tc.Name
				if other, dup := a.cases[key]; dup {
					return junitSuites{}, fmt.Errorf("%s: test case %q is also in %s (overlapping shards?)", path, tc.Name, other)
				}
				a.cases[key] = path
				a.suite.Cases = append(a.suite.Cases, tc)
			}
		}
	}
	out := junitSuites{XMLName: xml.Name{Local: "testsuites"}, Name: rootName}
	var total []string
	for _, name := range order {
		a := acc[name]
		if a.nShard > 0 {
			if a.nShard != a.files {
				return junitSuites{}, fmt.Errorf("suite %q: %d of %d files name their shard", name, a.nShard, a.files)
			}
			var missing []string
			for i := range a.count {
				if _, ok := a.shards[i]; !ok {
					missing = append(missing, fmt.Sprintf("%d/%d", i, a.count))
				}
			}
			if len(missing) > 0 {
				return junitSuites{}, fmt.Errorf("suite %q: shards %s missing (every shard of the run is needed)", name, strings.Join(missing, ", "))
			}
			a.values["shard"] = "0/1"
		}
		if len(a.props) > 0 {
			a.suite.Props = &junitPropList{}
			for _, p := range a.props {
				a.suite.Props.Props = append(a.suite.Props.Props, junitProp{Name: p, Value: a.values[p]})
			}
		}
		if a.covers > 0 {
			if a.covers != a.files || a.suite.Props == nil {
				return junitSuites{}, fmt.Errorf("suite %q: %d of %d files hold a coverage verdict", name, a.covers, a.files)
			}
			tc, err := coverageVerdict(&a.suite)
			if err != nil {
				return junitSuites{}, err
			}
			a.suite.Cases = append(a.suite.Cases, tc)
		}
		slices.SortStableFunc(a.suite.Cases, func(x, y junitCase) int {
			return cmp.Or(naturalCompare(x.Classname, y.Classname), naturalCompare(x.Name, y.Name))
		})
		for _, tc := range a.suite.Cases {
			a.suite.Tests++
			switch {
			case tc.Error != nil:
				a.suite.Errors++
			case tc.Failure != nil:
				a.suite.Failures++
			}
		}
		a.suite.Time = addTimes(a.times)
		total = append(total, a.suite.Time)
		out.Tests += a.suite.Tests
		out.Failures += a.suite.Failures
		out.Errors += a.suite.Errors
		out.Suites = append(out.Suites, a.suite)
	}
	if len(out.Suites) == 0 {
		return junitSuites{}, errors.New("the files hold no test suite")
	}
	out.Time = addTimes(total)
	return out, nil
}

// addTimes adds JUnit times in seconds; all "0" (as --no-wall writes) stays
// "0".
func addTimes(ts []string) string {
	sum := 0.0
	for _, t := range ts {
		v, err := strconv.ParseFloat(t, 64)
		if err == nil {
			sum += v
		}
	}
	if sum == 0 {
		return "0"
	}
	return fmt.Sprintf("%.3f", sum)
}

// naturalCompare orders strings with runs of digits compared as numbers, so
// "seed 9" comes before "seed 10".
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Or(cmp.Compare(len(na), len(nb)), strings.Compare(na, nb)); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// writeSuites writes a JUnit document: the XML header, the indented
// document, a final newline (junitReport.write and merge).
func writeSuites(w io.Writer, doc junitSuites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

package scenarios

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

// Errors.
var (
	// ErrSyntax is wrapped by every error about malformed scenario text.
	ErrSyntax = errors.New("scenario syntax error")
	// ErrUnknown is wrapped by errors about a scenario name that is neither a
	// file, a directory nor a built-in scenario.
	ErrUnknown = errors.New("unknown scenario")
)

// ParseError reports a problem on one line of a scenario file.
type ParseError struct {
	File string // as given to Parse
	Line int    // 1-based
	Err  error  // what was wrong and what was expected there
}

// Error returns "file:line: message".
func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns ErrSyntax and the cause, so that errors.Is matches ErrSyntax
// and any sentinel of the cause (such as faults.ErrUnknownKind).
func (e *ParseError) Unwrap() []error { return []error{ErrSyntax, e.Err} }

// Separator is the line between a scenario's header and its expected output.
const Separator = "----"

// Scenario is one parsed scenario file: why it exists, the run to simulate
// and what the run must produce.
type Scenario struct {
	// Name is the file's base name without ".txt", such as
	// "rename_rotation_drains_old_handle".
	Name string
	// File is where the scenario came from, as given to Parse; built-in
	// scenarios are "builtin/NAME.txt".
	File string
	// Doc is the leading comment paragraph without its "# " prefixes, one
	// line per comment line.
	Doc string
	// Config is the run: every field but Trace and Variants, which a
	// scenario cannot carry.
	Config sim.Config
	// ExpectFail, when set, declares that the oracle must report a
	// violation of this property (a scenario that pins a failure).
	ExpectFail oracle.Property
	// KnownFailure, when not zero, is the number of the issue whose fix
	// makes this scenario pass ("known-failure issue=N"): the oracle
	// reports a real loss of the streamer that is not fixed yet. The run
	// then counts as a known failure, not a failure, as long as the oracle
	// still reports a violation; once it passes, the run fails so that the
	// mark is removed. The doc paragraph must name the issue.
	KnownFailure int
	// Expected is the checked-in output block, each line ending in "\n",
	// or "" when the file has none yet.
	Expected string
}

// properties are the names an "expect fail" line accepts.
var properties = []oracle.Property{
	oracle.PropBytes, oracle.PropDoneOnce, oracle.PropDoneAfter, oracle.PropDoneRC,
	oracle.PropAgreement, oracle.PropCause, oracle.PropLiveness, oracle.PropHeartbeat, oracle.PropTermination,
	oracle.PropCrashDetection, oracle.PropHistory,
}

func propertyNames() string {
	var b []string
	for _, p := range properties {
		b = append(b, string(p))
	}
	return strings.Join(b, ", ")
}

// nameOf returns the scenario name of a file path.
func nameOf(file string) string {
	return strings.TrimSuffix(filepath.Base(filepath.ToSlash(file)), ".txt")
}

// FromConfig returns a scenario for cfg with no expected output yet, for a
// swarm or shrinker to save a failing case; Format or Run fill the expected
// block. The trace writer and the variants are dropped, the doc is
// normalized as Parse would read it, and cfg's values are normalized as
// described on Scenario.String. The file is name + ".txt".
func FromConfig(name, doc string, cfg sim.Config) *Scenario {
	return &Scenario{Name: name, File: name + ".txt", Doc: normalizeDoc(doc), Config: normalizeConfig(cfg)}
}

// normalizeDoc returns doc as it prints and parses back: lines split on
// newlines, trailing white space and carriage returns removed.
func normalizeDoc(doc string) string {
	if doc == "" {
		return ""
	}
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r\v\f")
	}
	return strings.Join(lines, "\n")
}

// String returns s in canonical scenario text: the doc as "# " comment
// lines, the config on up to three "config" lines (run, tail, writer keys;
// keys at their zero value are omitted, seed is always printed), the
// "expect" line if any, the fault plan in faults' canonical text, the
// separator and the expected block. For a scenario returned by Parse,
// Parse(s.File, []byte(s.String())) is Equal to s.
func (s *Scenario) String() string {
	var b strings.Builder
	if s.Doc != "" {
		for _, l := range strings.Split(s.Doc, "\n") {
			if l == "" {
				b.WriteString("#\n")
			} else {
				b.WriteString("# ")
				b.WriteString(l)
				b.WriteByte('\n')
			}
		}
	}
	cfg := s.Config
	for g := 0; g < 3; g++ {
		var parts []string
		for i := range keys {
			k := &keys[i]
			if k.group != g {
				continue
			}
			if v := k.get(&cfg); v != "" {
				parts = append(parts, k.name+"="+v)
			}
		}
		if len(parts) > 0 {
			b.WriteString("config ")
			b.WriteString(strings.Join(parts, " "))
			b.WriteByte('\n')
		}
	}
	if s.ExpectFail != "" {
		b.WriteString("expect fail ")
		b.WriteString(string(s.ExpectFail))
		b.WriteByte('\n')
	}
	if s.KnownFailure != 0 {
		fmt.Fprintf(&b, "known-failure issue=%d\n", s.KnownFailure)
	}
	b.WriteString(cfg.Plan.String())
	b.WriteString(Separator)
	b.WriteByte('\n')
	b.WriteString(s.Expected)
	return b.String()
}

// Equal reports whether s and o describe the same scenario: name, file,
// doc, expectation, expected block and every config field a scenario
// carries (the plan compared with faults.Plan.Equal).
func (s *Scenario) Equal(o *Scenario) bool {
	if s == nil || o == nil {
		return s == o
	}
	if s.Name != o.Name || s.File != o.File || s.Doc != o.Doc || s.ExpectFail != o.ExpectFail ||
		s.KnownFailure != o.KnownFailure || s.Expected != o.Expected {
		return false
	}
	a, b := normalizeConfig(s.Config), normalizeConfig(o.Config)
	if !a.Plan.Equal(b.Plan) {
		return false
	}
	a.Plan, b.Plan = faults.Plan{}, faults.Plan{}
	return reflect.DeepEqual(a, b)
}

// WithExpected returns a copy of s whose expected block is out.
func (s *Scenario) WithExpected(out string) *Scenario {
	c := *s
	c.Config = normalizeConfig(s.Config)
	c.Expected = out
	return &c
}

package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

//go:embed builtin/*.txt
var builtinFS embed.FS

var builtin struct {
	once sync.Once
	list []*Scenario
	err  error
}

func loadBuiltin() ([]*Scenario, error) {
	builtin.once.Do(func() {
		ents, err := fs.ReadDir(builtinFS, "builtin")
		if err != nil {
			builtin.err = err
			return
		}
		for _, e := range ents {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".txt") {
				continue
			}
			file := "builtin/" + e.Name()
			data, err := builtinFS.ReadFile(file)
			if err != nil {
				builtin.err = err
				return
			}
			s, err := Parse(file, data)
			if err != nil {
				builtin.err = err
				return
			}
			builtin.list = append(builtin.list, s)
		}
		slices.SortFunc(builtin.list, func(a, b *Scenario) int { return strings.Compare(a.Name, b.Name) })
	})
	return builtin.list, builtin.err
}

// Builtin returns the built-in suite, embedded in the binary, sorted by
// name. Each call returns fresh copies the caller may modify. It panics if
// an embedded file does not parse: the package's tests make sure none does.
func Builtin() []*Scenario {
	list, err := loadBuiltin()
	if err != nil {
		panic("scenarios: built-in suite: " + err.Error())
	}
	out := make([]*Scenario, len(list))
	for i, s := range list {
		out[i] = s.clone()
	}
	return out
}

// BuiltinText returns the text of the built-in scenario called name, as
// embedded, or false.
func BuiltinText(name string) ([]byte, bool) {
	data, err := builtinFS.ReadFile("builtin/" + strings.TrimSuffix(name, ".txt") + ".txt")
	return data, err == nil
}

func (s *Scenario) clone() *Scenario {
	c := *s
	c.Config = normalizeConfig(s.Config)
	return &c
}

// Lookup returns the built-in scenario called name (with or without
// ".txt"). The error for an unknown name wraps ErrUnknown, names the input
// and suggests close names.
func Lookup(name string) (*Scenario, error) {
	want := strings.TrimSuffix(name, ".txt")
	list := Builtin()
	for _, s := range list {
		if s.Name == want {
			return s, nil
		}
	}
	msg := fmt.Sprintf("%q: %v: not a built-in scenario", name, ErrUnknown)
	if near := nearNames(want, list); len(near) > 0 {
		msg += " (did you mean " + strings.Join(near, ", ") + "?)"
	}
	return nil, &lookupError{msg: msg}
}

type lookupError struct{ msg string }

func (e *lookupError) Error() string { return "scenarios: " + e.msg }
func (e *lookupError) Unwrap() error { return ErrUnknown }

// nearNames returns up to three built-in names sharing a word with want.
func nearNames(want string, list []*Scenario) []string {
	var out []string
	words := strings.FieldsFunc(want, func(r rune) bool { return r == '_' || r == '-' || r == ' ' })
	for _, s := range list {
		for _, w := range words {
			if len(w) >= 4 && strings.Contains(s.Name, strings.ToLower(w)) {
				out = append(out, s.Name)
				break
			}
		}
		if len(out) == 3 {
			break
		}
	}
	return out
}

// Load returns the scenarios named by args, in order: a path to a file is
// parsed, a path to a directory contributes its *.txt files sorted by name,
// and anything else is looked up as a built-in name. With no args it
// returns the built-in suite. Errors name the input that failed.
func Load(args ...string) ([]*Scenario, error) {
	if len(args) == 0 {
		return Builtin(), nil
	}
	var out []*Scenario
	for _, a := range args {
		fi, err := os.Stat(a)
		switch {
		case err == nil && fi.IsDir():
			ents, err := os.ReadDir(a)
			if err != nil {
				return nil, fmt.Errorf("scenarios: %w", err)
			}
			n := 0
			for _, e := range ents {
				if e.IsDir() || !strings.HasSuffix(e.Name(), ".txt") {
					continue
				}
				s, err := ReadFile(filepath.Join(a, e.Name()))
				if err != nil {
					return nil, err
				}
				out = append(out, s)
				n++
			}
			if n == 0 {
				return nil, fmt.Errorf("scenarios: %q: directory holds no *.txt scenario files", a)
			}
		case err == nil:
			s, err := ReadFile(a)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		case errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(a, `/\`):
			s, lerr := Lookup(a)
			if lerr != nil {
				return nil, &lookupError{msg: fmt.Sprintf("%q: %v: no such file, directory or built-in scenario%s",
					a, ErrUnknown, suggest(a))}
			}
			out = append(out, s)
		default:
			return nil, fmt.Errorf("scenarios: %w", err)
		}
	}
	return out, nil
}

func suggest(name string) string {
	near := nearNames(strings.TrimSuffix(name, ".txt"), Builtin())
	if len(near) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(near, ", ") + "?)"
}

// ReadFile reads and parses the scenario file at path.
func ReadFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	return Parse(path, data)
}

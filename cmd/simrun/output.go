package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

// outputFlags are the report options every running command takes.
type outputFlags struct {
	trace    string
	junit    string
	timeline string
	noWall   bool
}

const outputUsage = `
Output flags (every running command):

	--trace FILE     write the run's JSON-lines trace (one file per scenario
	                 when several run: FILE's name gets ".NAME" before its
	                 extension; for swarm: the first failure's shrunk case)
	--junit FILE     write a JUnit XML report, one testcase per scenario/seed
	--timeline FILE  write an HTML timeline of the run (same naming as --trace),
	                 highlighting the first violation's step
	--no-wall        print wall times as "-" (and 0 in JUnit), for
	                 reproducible output
`

func (o *outputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.trace, "trace", "", "write the JSON-lines trace to `FILE`")
	fs.StringVar(&o.junit, "junit", "", "write a JUnit XML report to `FILE`")
	fs.StringVar(&o.timeline, "timeline", "", "write an HTML timeline to `FILE`")
	fs.BoolVar(&o.noWall, "no-wall", false, "hide wall times")
}

// check rejects output paths that collide with each other.
func (o *outputFlags) check() error {
	seen := map[string]string{}
	for _, p := range [][2]string{{"--trace", o.trace}, {"--junit", o.junit}, {"--timeline", o.timeline}} {
		if p[1] == "" {
			continue
		}
		abs, err := filepath.Abs(p[1])
		if err != nil {
			abs = p[1]
		}
		if other, ok := seen[abs]; ok {
			return usagef("%s and %s name the same file %q", "give each report its own file", other, p[0], p[1])
		}
		seen[abs] = p[0]
	}
	return nil
}

// wall formats a wall time, or "-" with --no-wall.
func (o *outputFlags) wall(d time.Duration) string {
	if o.noWall {
		return "-"
	}
	return roundWall(d).String()
}

// seconds formats a wall time for JUnit, or "0" with --no-wall.
func (o *outputFlags) seconds(d time.Duration) string {
	if o.noWall {
		return "0"
	}
	return fmt.Sprintf("%.3f", d.Seconds())
}

func roundWall(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// perName returns path with ".name" inserted before its extension, for one
// report file per scenario: out.jsonl -> out.NAME.jsonl.
func perName(path, name string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "." + name + ext
}

// pendingFile is a report being written: a temporary file in the target's
// directory, renamed onto the target by Commit, removed by Abort. No partial
// report is ever left at the target path.
type pendingFile struct {
	path string
	f    *os.File
	done bool
}

// createPending opens a temporary file beside path. The error names path.
func createPending(flagName, path string) (*pendingFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return nil, usagef("%s %q: not a file name", "give a file path such as out.xml", flagName, path)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, usagef("%s %q: is a directory", "give a file path such as "+filepath.Join(path, "out"), flagName, path)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, usagef("%s %q: cannot write there: %v", "check that the directory exists and is writable", flagName, path, unwrapPath(err))
	}
	return &pendingFile{path: path, f: f}, nil
}

// unwrapPath drops the temporary file's name from a *PathError.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Write writes to the temporary file.
func (p *pendingFile) Write(b []byte) (int, error) { return p.f.Write(b) }

// Commit closes the temporary file and renames it onto the target.
func (p *pendingFile) Commit() error {
	if p == nil || p.done {
		return nil
	}
	p.done = true
	err := p.f.Close()
	if err == nil {
		err = os.Rename(p.f.Name(), p.path)
	}
	if err != nil {
		os.Remove(p.f.Name())
		return fmt.Errorf("%s: %w", p.path, unwrapPath(err))
	}
	return nil
}

// Abort removes the temporary file, unless committed.
func (p *pendingFile) Abort() {
	if p == nil || p.done {
		return
	}
	p.done = true
	p.f.Close()
	os.Remove(p.f.Name())
}

// files tracks the pending report files of one command, so that every
// uncommitted one is removed whatever path the command returns by.
type files struct{ list []*pendingFile }

func (fs *files) create(flagName, path string) (*pendingFile, error) {
	p, err := createPending(flagName, path)
	if err != nil {
		return nil, err
	}
	fs.list = append(fs.list, p)
	return p, nil
}

// abort removes every uncommitted file.
func (fs *files) abort() {
	for _, p := range fs.list {
		p.Abort()
	}
}

// writeFile writes data to path atomically (temporary file and rename).
func writeFile(flagName, path string, data []byte) error {
	p, err := createPending(flagName, path)
	if err != nil {
		return err
	}
	if _, err := p.Write(data); err != nil {
		p.Abort()
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	return p.Commit()
}

// tuneGC raises the garbage collector's target to 400% unless GOGC is set:
// each simulated run allocates a few MB of short-lived garbage, and with the
// default 100% the collector takes about half of a swarm's CPU time;
// heaps stay small either way.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// Command simrun runs the log streamer's simulation: the built-in scenario
// suite, scenario files, random swarms of seeds with shrinking, and exact
// replays of one case.
//
//	simrun [flags]                      run the built-in suite
//	simrun run [flags] FILE|DIR|NAME... run the given scenarios
//	simrun list                         list the built-in scenarios
//	simrun swarm [flags]                random seeds and fault plans
//	simrun replay [flags] FILE|NAME     rerun one scenario exactly
//	simrun replay [flags] --seed S [--plan FILE]   rerun one swarm seed
//
// Every command that runs something takes --trace FILE (JSON lines),
// --junit FILE (JUnit XML) and --timeline FILE (HTML); report files are
// written to a temporary file beside the target and renamed into place only
// when complete.
//
// Exit codes: 0 every property held (and every scenario matched), 1 a
// property failed, 2 bad usage or bad input (unknown scenario, malformed
// file, conflicting flags, unwritable output path).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Terminal: isTerminal(os.Stdout)}
	os.Exit(m.Run(ctx, os.Args[1:]))
}

// isTerminal reports whether f is a character device (a terminal), where a
// progress line may be rewritten in place.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Exit codes.
const (
	ExitOK     = 0 // every property held
	ExitFailed = 1 // a property failed (or a scenario's output differed)
	ExitUsage  = 2 // bad usage or bad input
)

// Main is the program: where it writes and whether stdout is a terminal.
// Tests run it in-process.
type Main struct {
	Stdout, Stderr io.Writer
	// Terminal enables the swarm's progress line on Stdout.
	Terminal bool
}

// Command is one subcommand: Run parses its own flags from args.
type Command interface {
	Run(ctx context.Context, args []string) error
	// Usage returns the help text, ending in a newline.
	Usage() string
}

// command is one entry of the subcommand table.
type command struct {
	name    string
	summary string
	new     func(m *Main) Command
}

// commands is the subcommand table, in the order the usage text lists them.
// To add a subcommand (such as issue 5's "live"), write one file (live.go)
// with a type implementing Command and add one entry here; nothing else
// needs to change.
var commands = []command{
	{"run", "run scenario files, directories or built-in names", func(m *Main) Command { return &RunCommand{main: m} }},
	{"list", "list the built-in scenarios", func(m *Main) Command { return &ListCommand{main: m} }},
	{"swarm", "run random seeds and fault plans; shrink and save failures", func(m *Main) Command { return &SwarmCommand{main: m} }},
	{"merge", "merge the JUnit reports of a sharded swarm into one", func(m *Main) Command { return &MergeCommand{main: m} }},
	{"replay", "rerun one case exactly: a scenario file, or a swarm seed", func(m *Main) Command { return &ReplayCommand{main: m} }},
	{"live", "tail a real file and stream it to receivers over TCP", func(m *Main) Command { return &LiveCommand{main: m} }},
	{"receive", "receive live streams over TCP into a directory", func(m *Main) Command { return &ReceiveCommand{main: m} }},
	{"certs", "make a development CA and certificates for mutual TLS", func(m *Main) Command { return &CertsCommand{main: m} }},
	{"subject", "run scenarios against an external subject (any language) in real time", func(m *Main) Command { return &SubjectCommand{main: m} }},
	// Add new subcommands here: {"live", "...", func(m *Main) Command { return &LiveCommand{main: m} }},
}

// Run runs the subcommand args[0] (the built-in suite when args is empty or
// starts with a flag) and returns the exit code. It is all main does.
func (m *Main) Run(ctx context.Context, args []string) int {
	err := m.run(ctx, args)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	}
	var fe *FailedError
	var ce *CoverageError
	if errors.As(err, &fe) || errors.As(err, &ce) {
		fmt.Fprintf(m.Stderr, "simrun: %v\n", err)
		return ExitFailed
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(m.Stderr, "simrun: %s\n", ue.Msg)
		if ue.Hint != "" {
			fmt.Fprintf(m.Stderr, "hint: %s\n", ue.Hint)
		}
		return ExitUsage
	}
	fmt.Fprintf(m.Stderr, "simrun: %v\n", err)
	return ExitUsage
}

func (m *Main) run(ctx context.Context, args []string) error {
	if len(args) == 0 || (strings.HasPrefix(args[0], "-") && !isHelp(args[0])) {
		return (&RunCommand{main: m, suite: true}).Run(ctx, args)
	}
	name := args[0]
	if isHelp(name) || name == "help" {
		if name == "help" && len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				fmt.Fprint(m.Stdout, c.new(m).Usage())
				return nil
			}
			return usagef("simrun help: unknown command %q", "run 'simrun help' for the list of commands", args[1])
		}
		fmt.Fprint(m.Stdout, m.Usage())
		return nil
	}
	c := lookup(name)
	if c == nil {
		return usagef("unknown command %q", "run 'simrun help' for the list of commands", name)
	}
	return c.new(m).Run(ctx, args[1:])
}

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// Usage returns the program's help text.
func (m *Main) Usage() string {
	var b strings.Builder
	b.WriteString(`simrun runs the log streamer's simulation and judges each run with the oracle.

Usage:

	simrun [flags]              run the built-in suite (flags as for "run")
	simrun <command> [arguments]

Commands:

`)
	for _, c := range commands {
		fmt.Fprintf(&b, "	%-8s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Run 'simrun help <command>' for a command's flags.
Exit codes: 0 all properties held, 1 a property failed, 2 bad usage or input.
`)
	return b.String()
}

// UsageError is bad usage or bad input: main prints it with its hint and
// exits with ExitUsage.
type UsageError struct {
	Msg  string
	Hint string
}

func (e *UsageError) Error() string { return e.Msg }

func usagef(format, hint string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// FailedError reports that a property failed (or a scenario's output
// differed from its expected block): main exits with ExitFailed.
type FailedError struct {
	Failed, Total int
	What          string // "scenario", "seed"
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d of %d %ss failed", e.Failed, e.Total, e.What)
}

// parseFlags parses args with fs and returns the positional arguments;
// flags may come before, between or after them ("--" ends the flags). A
// flag error becomes a UsageError naming the command; -h prints usage.
func (m *Main) parseFlags(fs *flag.FlagSet, usage string, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(m.Stdout, usage)
				return nil, err
			}
			return nil, usagef("%s: %v", "run 'simrun help "+fs.Name()+"' for usage", fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

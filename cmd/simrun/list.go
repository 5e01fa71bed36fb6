package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/logstream-sim/logstream-sim/scenarios"
)

// ListCommand lists the built-in scenarios with the first line of each doc.
type ListCommand struct{ main *Main }

// Usage returns the help text of "list".
func (c *ListCommand) Usage() string {
	return `Usage: simrun list

Lists the built-in scenarios, one per line: name and the first line of its
doc comment. Run one with 'simrun run NAME'.
`
}

// Run runs the command.
func (c *ListCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	args, err := c.main.parseFlags(fs, c.Usage(), args)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return usagef("list: unexpected argument %q", "'simrun list' takes no arguments; run scenarios with 'simrun run NAME'", args[0])
	}
	tw := tabwriter.NewWriter(c.main.Stdout, 0, 8, 2, ' ', 0)
	for _, s := range scenarios.Builtin() {
		fmt.Fprintf(tw, "%s\t%s\n", s.Name, firstLine(strings.TrimSpace(s.Doc)))
	}
	return tw.Flush()
}

// Command logstream-subject is this module's log streamer as an external
// subject: one site of the subject protocol (subject/PROTOCOL.md) on stdin
// and stdout, logs on stderr. The harness starts one process per site:
//
//	simrun subject --cmd "logstream-subject"
//
// It is the protocol's conformance subject: it must pass every runnable
// built-in scenario.
package main

import (
	"os"

	"github.com/logstream-sim/logstream-sim/subject/gosite"
)

func main() {
	os.Exit(gosite.Main(os.Stdin, os.Stdout, os.Stderr))
}

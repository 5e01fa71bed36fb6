//go:build peers

// Command nxtail follows a file with github.com/nxadm/tail (Follow and
// ReOpen, like tail -F) and copies every line to standard output, for the
// peer comparison (scripts/peers.sh). It stops on SIGTERM or SIGINT.
//
// It is its own module, built only with -tags peers, so that the project's
// module does not depend on nxadm/tail.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nxadm/tail"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: nxtail FILE")
		os.Exit(2)
	}
	t, err := tail.TailFile(os.Args[1], tail.Config{Follow: true, ReOpen: true, MustExist: false,
		Logger: tail.DiscardingLogger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nxtail:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	out := os.Stdout
	for {
		select {
		case line, ok := <-t.Lines:
			if !ok {
				return
			}
			if line.Err != nil {
				fmt.Fprintln(os.Stderr, "nxtail:", line.Err)
				continue
			}
			if _, err := fmt.Fprintln(out, line.Text); err != nil {
				os.Exit(1)
			}
		case <-sig:
			t.Stop()
			return
		}
	}
}

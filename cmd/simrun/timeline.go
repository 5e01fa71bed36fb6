package main

import (
	"errors"
	"io"
)

// errNoTimeline is returned for --timeline while package sim/timeline is
// not available in this build.
var errNoTimeline = errors.New("--timeline: not available in this build (package sim/timeline has no Write yet)")

// timelineAvailable reports whether --timeline can work.
func timelineAvailable() bool { return false }

// writeTimeline renders an HTML timeline of trace to w, highlighting step
// (0: none).
func writeTimeline(w io.Writer, trace io.Reader, title string, step int64) error {
	return errNoTimeline
}

package main

import (
	"io"

	"github.com/logstream-sim/logstream-sim/sim/timeline"
)

// writeTimeline renders an HTML timeline of trace to w (package
// sim/timeline), highlighting step (0: none).
func writeTimeline(w io.Writer, trace io.Reader, title string, step int64) error {
	return timeline.Write(w, trace, timeline.Options{Title: title, Highlight: step})
}

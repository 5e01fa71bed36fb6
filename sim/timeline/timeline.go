package timeline

import "io"

// Options control the page.
type Options struct {
	// Title is the page's title (default "Simulated run timeline").
	Title string
	// Highlight is the trace step to highlight; 0: none.
	Highlight int64
}

// Write renders the JSON-lines trace read from trace as one self-contained
// HTML page with an inline SVG. It reads the trace once, keeping only
// aggregates and the events drawn individually. A line that is not a trace
// event is an error naming the line.
func Write(w io.Writer, trace io.Reader, opt Options) error {
	m, err := read(trace, opt.Highlight)
	if err != nil {
		return err
	}
	return render(w, m, opt)
}

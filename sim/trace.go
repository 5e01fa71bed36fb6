package sim

import (
	"bufio"
	"io"
	"strconv"
	"time"
)

// tracer writes the trace: JSON lines, one event per line, each with its
// step number, virtual time since start, actor and event name, then fields in
// the order given. Output depends only on the run, never on map order.
type tracer struct {
	w     *bufio.Writer
	start time.Time
	buf   []byte
	err   error
}

func newTracer(w io.Writer, start time.Time) *tracer {
	if w == nil {
		return nil
	}
	return &tracer{w: bufio.NewWriterSize(w, 64<<10), start: start}
}

// field is one key and value of a trace line: a string or an integer.
type field struct {
	k   string
	s   string
	n   int64
	str bool
}

func str(k, v string) field { return field{k: k, s: v, str: true} }
func num(k string, v int64) field {
	return field{k: k, n: v}
}

func (t *tracer) line(step int64, at time.Time, actor, ev string, fields ...field) {
	b := t.buf[:0]
	b = append(b, `{"step":`...)
	b = strconv.AppendInt(b, step, 10)
	b = append(b, `,"t":`...)
	b = strconv.AppendQuote(b, at.Sub(t.start).String())
	b = append(b, `,"actor":`...)
	b = strconv.AppendQuote(b, actor)
	b = append(b, `,"ev":`...)
	b = strconv.AppendQuote(b, ev)
	for _, f := range fields {
		b = append(b, ',')
		b = strconv.AppendQuote(b, f.k)
		b = append(b, ':')
		if f.str {
			b = strconv.AppendQuote(b, f.s)
		} else {
			b = strconv.AppendInt(b, f.n, 10)
		}
	}
	b = append(b, "}\n"...)
	t.buf = b
	if _, err := t.w.Write(b); err != nil && t.err == nil {
		t.err = err
	}
}

func (t *tracer) flush() error {
	if err := t.w.Flush(); err != nil && t.err == nil {
		t.err = err
	}
	return t.err
}

package sim

import "time"

// This file exports what a harness that records a History outside the
// simulator needs (package subject runs processes in real time): the
// defaults a Config gets, and the decoder that turns delivered bytes into
// Runs.

// WithDefaults validates c and returns it with every zero field replaced by
// its default, exactly as Simulate would run it.
func (c Config) WithDefaults() (Config, error) { return c.withDefaults() }

// Decoder turns the bytes one target's chunk callback received, in the order
// it received them, into Runs of content positions (see History.Runs). It is
// the simulator's decoder without the tailer's hints: it locates bytes from
// their content alone.
type Decoder struct{ d decoder }

// NewDecoder returns a decoder for content key key (History.Key).
func NewDecoder(key uint64) *Decoder { return &Decoder{d: decoder{key: key}} }

// Add decodes data delivered at at (step: the record's step), appending to
// runs, and returns the new runs.
func (d *Decoder) Add(runs []Run, at time.Time, step int64, data []byte) []Run {
	return d.d.add(runs, at, step, data)
}

// Flush places bytes still pending at the end of the delivery and returns
// the final runs.
func (d *Decoder) Flush(runs []Run) []Run { return d.d.flush(runs) }

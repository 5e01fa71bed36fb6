package sim

import (
	"encoding/binary"
	"time"
)

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
// their content alone and places a piece too short to locate (fewer than
// MinLocate bytes before a jump in the content, such as the last bytes read
// before a truncation) at a write's boundary (Writes).
type Decoder struct{ d decoder }

// NewDecoder returns a decoder for content key key (History.Key). Writes,
// if not nil, is the record of the writes made so far (the harness adds to
// it as it writes): pieces too short to locate are placed only where a
// write began or ended.
func NewDecoder(key uint64, writes *Writes) *Decoder {
	d := &Decoder{d: decoder{key: key}}
	if writes != nil {
		d.d.guess = writes.guess
	}
	return d
}

// Add decodes data delivered at at (step: the record's step), appending to
// runs, and returns the new runs.
func (d *Decoder) Add(runs []Run, at time.Time, step int64, data []byte) []Run {
	return d.d.add(runs, at, step, data)
}

// Flush places bytes still pending at the end of the delivery and returns
// the final runs.
func (d *Decoder) Flush(runs []Run) []Run { return d.d.flush(runs) }

// Writes indexes a run's writes by the content at their boundaries, for a
// Decoder with no record of the reads the streamer made. A piece of fewer
// than MinLocate bytes that the decoder cannot locate lies before a jump in
// the content a streamer delivers: what it read of a file just before the
// file was truncated or replaced. Such a read ends where the file ended (at
// the end of a write) or starts where a file's new life started (at the
// start of a write), so the piece is placed where it matches the content
// from a write's start or up to a write's end, and only if it is at least
// minJumpPiece bytes long (a shorter piece matches a boundary by chance).
// Only writes already made are candidates: a piece is never placed at
// content written after it was delivered.
type Writes struct {
	key     uint64
	starts  map[uint32][]int64 // first 4 bytes of a write -> its content position
	ends    map[uint32][]int64 // last 4 bytes of a write -> its end
	written int64              // content positions below are written
}

// NewWrites returns an empty index for content key key.
func NewWrites(key uint64) *Writes {
	return &Writes{key: key, starts: map[uint32][]int64{}, ends: map[uint32][]int64{}}
}

// Add records a write of n bytes of content from content position src on.
func (x *Writes) Add(src, n int64) {
	if n <= 0 {
		return
	}
	x.starts[x.word(src)] = append(x.starts[x.word(src)], src)
	if e := src + n; e >= minJumpPiece {
		x.ends[x.word(e-minJumpPiece)] = append(x.ends[x.word(e-minJumpPiece)], e)
	}
	x.written = max(x.written, src+n)
}

// word is the content of the minJumpPiece bytes at content position p.
func (x *Writes) word(p int64) uint32 {
	var b [minJumpPiece]byte
	Content(x.key, p, b[:])
	return binary.LittleEndian.Uint32(b[:])
}

// guess places a leading piece of data at a write boundary: the longest
// match from a write's start, or data's first k bytes (minJumpPiece <= k <
// MinLocate) ending at a write's end.
func (x *Writes) guess(data []byte) (src, n int64, ok bool) {
	if len(data) < minJumpPiece {
		return 0, 0, false
	}
	for _, s := range x.starts[binary.LittleEndian.Uint32(data)] {
		k := int64(MatchLen(x.key, s, data))
		k = min(k, x.written-s)
		if k >= minJumpPiece && k > n {
			src, n, ok = s, k, true
		}
	}
	for k := minJumpPiece; k <= len(data) && k < MinLocate; k++ {
		if int64(k) <= n {
			continue
		}
		for _, e := range x.ends[binary.LittleEndian.Uint32(data[k-minJumpPiece:])] {
			if s := e - int64(k); s >= 0 && MatchLen(x.key, s, data[:k]) == k {
				src, n, ok = s, int64(k), true
				break
			}
		}
	}
	return src, n, ok
}

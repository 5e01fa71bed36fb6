package sim

import (
	"testing"
	"time"
)

// The external decoder places a short piece before a jump at a write's
// boundary. The record of a real-time run of the built-in scenario
// partly_read_stretch_delivered_late_is_located (seen in CI): the writer
// wrote [0,1) into the copytruncate window, then [1,8) at the new file's
// start, [8,21) and [21,22), the file was truncated and [22,37) written
// at its start. The streamer read [1,8) before the truncation and [22,37)
// after it; a target got the 7 bytes alone, then the 15. Without Writes
// the 7 bytes were counted invented (the oracle said "invented: 7 bytes").
func TestExternalDecoderPlacesShortPieceAtWriteBoundary(t *testing.T) {
	const key = 11
	at := time.Unix(0, 0)
	chunk := func(pos, n int64) []byte { return contentBytes(key, pos, n) }
	decode := func(w *Writes, deliveries ...[]byte) []Run {
		d := NewDecoder(key, w)
		var runs []Run
		for i, b := range deliveries {
			runs = d.Add(runs, at, int64(i), b)
		}
		return d.Flush(runs)
	}
	writes := func(upTo int64) *Writes {
		w := NewWrites(key)
		for _, x := range [][2]int64{{0, 1}, {1, 7}, {8, 13}, {21, 1}, {22, 15}, {37, 20}} {
			if x[0] < upTo {
				w.Add(x[0], x[1])
			}
		}
		return w
	}
	check := func(name string, runs []Run, want []Run) {
		t.Helper()
		if len(runs) != len(want) {
			t.Fatalf("%s: runs %+v, want %+v", name, runs, want)
		}
		for i := range want {
			if runs[i].Src != want[i].Src || runs[i].Len != want[i].Len || runs[i].Off != want[i].Off {
				t.Fatalf("%s: run %d = %+v, want %+v (all %+v)", name, i, runs[i], want[i], runs)
			}
		}
	}

	// The record's case: a piece from a write's start, then a jump.
	check("start", decode(writes(37), chunk(1, 7), chunk(22, 15)),
		[]Run{{Src: 1, Len: 7}, {Src: 22, Len: 15, Off: 7}})
	// Without the writes the piece is invented (what CI saw).
	check("no writes", decode(nil, chunk(1, 7), chunk(22, 15)),
		[]Run{{Src: -1, Len: 7}, {Src: 22, Len: 15, Off: 7}})
	// A piece that ends at a write's end (the last bytes read before a
	// truncation), alone at the end of the delivery.
	check("end", decode(writes(37), chunk(14, 7)), []Run{{Src: 14, Len: 7}})
	// Bytes no write wrote stay invented, and so does a piece that starts
	// and ends inside writes (no boundary to place it at).
	check("garbage", decode(writes(37), []byte("garbage"), chunk(22, 15)),
		[]Run{{Src: -1, Len: 7}, {Src: 22, Len: 15, Off: 7}})
	check("inside", decode(writes(37), chunk(10, 6)), []Run{{Src: -1, Len: 6}})
	// A piece is never placed at content written after it came: [37,44)
	// matches the start of a write the index does not hold yet.
	check("not yet written", decode(writes(22), chunk(37, 7)), []Run{{Src: -1, Len: 7}})
	// A piece shorter than minJumpPiece is not placed (a chance match).
	check("short", decode(writes(37), chunk(1, 3)), []Run{{Src: -1, Len: 3}})
}

package oracle

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// TestBytesProperty: a history in which every written byte is delivered
// once, in order, in chunks of any size, passes; cut any range out of the
// deliveries, with nothing to excuse it, and the oracle reports exactly that
// range as lost.
func TestBytesProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		b := newHist(t)
		r1 := b.target("r1")
		at := 0
		for range rapid.IntRange(1, 20).Draw(rt, "writes") {
			at += rapid.IntRange(1, 100).Draw(rt, "gap")
			b.write(at, 1, int64(rapid.IntRange(1, 500).Draw(rt, "size")))
		}
		total := b.total()
		h1 := rapid.Int64Range(0, total).Draw(rt, "hole-from")
		h2 := rapid.Int64Range(h1, total).Draw(rt, "hole-to")
		deliver := func(from, to int64) {
			for from < to {
				n := min(to-from, int64(rapid.IntRange(1, 700).Draw(rt, "chunk")))
				at += 10
				b.deliver(r1, at, from, n)
				from += n
			}
		}
		at += 10
		b.arrive(r1, at) // the first message creates the stream
		deliver(0, h1)
		deliver(h2, total)
		b.done(r1, at+5100, logstream.OK)
		b.finish(at+5000, at+5200, nil)
		rep := Check(b.History)
		if h1 == h2 {
			if !rep.OK() {
				rt.Fatalf("exact delivery flagged:\n%s", rep)
			}
			return
		}
		var lost int64
		for _, v := range rep.Violations {
			if v.Property != PropBytes || !v.Ranged || v.From < h1 || v.To > h2 {
				rt.Fatalf("unexpected violation %s for hole [%d,%d)", v, h1, h2)
			}
			lost += v.To - v.From
		}
		if lost != h2-h1 {
			rt.Fatalf("hole [%d,%d): violations cover %d bytes:\n%s", h1, h2, lost, rep)
		}
	})
}

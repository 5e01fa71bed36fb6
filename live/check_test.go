package live

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func lines(seqs ...int) string {
	var b strings.Builder
	for _, s := range seqs {
		b.WriteString(Line(s))
	}
	return b.String()
}

func TestLineShape(t *testing.T) {
	seen := map[string]bool{}
	lengths := map[int]bool{}
	for seq := range 5000 {
		l := Line(seq)
		if seen[l] {
			t.Fatalf("line %d repeats: %q", seq, l)
		}
		seen[l] = true
		lengths[len(Pad(seq))] = true
		if got, ok := parseLine([]byte(strings.TrimSuffix(l, "\n")), 5000); !ok || got != seq {
			t.Fatalf("parse %q = %d, %v", l, got, ok)
		}
	}
	if len(lengths) < 32 {
		t.Fatalf("only %d distinct padding lengths", len(lengths))
	}
	// Known values: testdata/rotating_writer.py must produce the same.
	if Line(0) != "seq=0 "+Pad(0)+"\n" || Pad(7) == Pad(8) {
		t.Fatal("padding not seq-dependent")
	}
}

func TestCheck(t *testing.T) {
	l5 := Line(5)
	for _, c := range []struct {
		name    string
		data    string
		written int
		want    Report
	}{
		{"clean", lines(0, 1, 2, 3), 4, Report{Written: 4, Delivered: 4}},
		{"empty", "", 3, Report{Written: 3, Lost: []int{0, 1, 2}}},
		{"lost", lines(0, 2, 5), 6, Report{Written: 6, Delivered: 3, Lost: []int{1, 3, 4}}},
		{"dup", lines(0, 1, 1, 2, 0), 3, Report{Written: 3, Delivered: 3, Dup: 2}},
		{"reordered", lines(0, 2, 1, 3), 4, Report{Written: 4, Delivered: 4, Reordered: 1}},
		{"unterminated", lines(0, 1) + Line(2)[:4], 3, Report{Written: 3, Delivered: 2, Lost: []int{2}, Partial: 1}},
		// A truncation between the two halves of line 5: its head is glued to line 6.
		{"fragment glued", lines(4) + l5[:len(l5)/2] + lines(6, 7), 8,
			Report{Written: 8, Delivered: 3, Lost: []int{0, 1, 2, 3, 5}, Partial: 1}},
		{"garbled pad", "seq=0 " + Pad(0) + "x\n" + lines(1), 2, Report{Written: 2, Delivered: 1, Lost: []int{0}, Partial: 1}},
		{"invented seq", lines(0) + Line(9), 2, Report{Written: 2, Delivered: 1, Lost: []int{1}, Partial: 1}},
		{"leading zero", "seq=01 " + Pad(1) + "\n", 2, Report{Written: 2, Lost: []int{0, 1}, Partial: 1}},
		{"blank line", lines(0) + "\n" + lines(1), 2, Report{Written: 2, Delivered: 2, Partial: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Check([]byte(c.data), c.written)
			if got.Written != c.want.Written || got.Delivered != c.want.Delivered || !slices.Equal(got.Lost, c.want.Lost) ||
				got.Dup != c.want.Dup || got.Reordered != c.want.Reordered || got.Partial != c.want.Partial {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
			if got.Clean() != (c.name == "clean") {
				t.Fatalf("Clean() = %v", got.Clean())
			}
		})
	}
}

// Chunk boundaries are invisible to the checker: the same bytes in any
// split give the same report (the streamer's consumer concatenates them).
func TestCheckSplitInvariant(t *testing.T) {
	var all []int
	for i := range 300 {
		all = append(all, i)
	}
	data := lines(all...)
	r := Check([]byte(data), 300)
	if !r.Clean() || r.Delivered != 300 {
		t.Fatalf("%+v", r)
	}
	for cut := 1; cut < len(data); cut += 97 {
		joined := data[:cut] + data[cut:]
		if got := Check([]byte(joined), 300); !got.Clean() {
			t.Fatalf("cut %d: %+v", cut, got)
		}
	}
}

func TestSeqsAndSplit(t *testing.T) {
	s := Seqs([]byte(lines(3, 1)+"junk\n"+Line(2)[:3]), 5)
	if len(s) != 2 || !s[1] || !s[3] {
		t.Fatalf("Seqs = %v", s)
	}
	r := Report{Lost: []int{1, 2, 7, 8}}
	in, out := r.Split(func(seq int) bool { return seq < 5 })
	if !slices.Equal(in, []int{1, 2}) || !slices.Equal(out, []int{7, 8}) {
		t.Fatalf("split %v %v", in, out)
	}
}

func TestWindows(t *testing.T) {
	ms := time.Millisecond
	at := []time.Duration{0, 5 * ms, 10 * ms, 15 * ms, 20 * ms, 25 * ms, 30 * ms}
	in := Windows(at, []Interval{{From: 20 * ms, To: 22 * ms}, {From: 5 * ms, To: 6 * ms}}, 4*ms)
	var got []int
	for seq := -1; seq <= len(at); seq++ {
		if in(seq) {
			got = append(got, seq)
		}
	}
	// [1ms,6ms] holds seq 1; [16ms,22ms] holds seq 4.
	if !slices.Equal(got, []int{1, 4}) {
		t.Fatalf("in window: %v", got)
	}
}

func TestFormatAndRanges(t *testing.T) {
	r := Report{Written: 20000, Delivered: 19987, Lost: make([]int, 13)}
	want := "live: logrotate-copytruncate: written=20000 delivered=19987 lost=13 (in window=13) dup=0 reordered=0 partial=0 runs=4"
	if got := r.Format("logrotate-copytruncate", 13, "runs=4"); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := r.Format("x", -1, ""); got != "live: x: written=20000 delivered=19987 lost=13 dup=0 reordered=0 partial=0" {
		t.Fatal(got)
	}
	if got := Ranges([]int{1, 2, 3, 7, 9, 10}, 10); got != "1-3,7,9-10" {
		t.Fatal(got)
	}
	if got := Ranges([]int{1, 3, 5}, 2); got != "1,3,..." {
		t.Fatal(got)
	}
}

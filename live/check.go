package live

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Pad returns the padding of line seq: 0 to 63 lowercase letters derived
// from seq, so that lines have varied lengths, every line is unique, and a
// line's content can be checked against its number. testdata/rotating_writer.py
// computes the same padding.
func Pad(seq int) string {
	x := uint32(seq)*2654435761 + 0x9e3779b9
	b := make([]byte, x>>26)
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = 'a' + byte((x>>16)%26)
	}
	return string(b)
}

// Line returns line seq, newline included: "seq=<n> <padding>\n".
func Line(seq int) string {
	return "seq=" + strconv.Itoa(seq) + " " + Pad(seq) + "\n"
}

// parseLine returns the number of an intact line (without its newline) whose
// number is below written; ok is false for anything else.
func parseLine(l []byte, written int) (seq int, ok bool) {
	rest, found := bytes.CutPrefix(l, []byte("seq="))
	if !found {
		return 0, false
	}
	num, pad, found := bytes.Cut(rest, []byte(" "))
	if !found || len(num) == 0 || len(num) > 1 && num[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(string(num))
	if err != nil || n < 0 || n >= written || string(pad) != Pad(n) {
		return 0, false
	}
	return n, true
}

// Report is what Check found in a received stream of numbered lines.
type Report struct {
	// Written is how many lines the writer wrote: seqs 0..Written-1.
	Written int
	// Delivered is how many distinct seqs arrived intact.
	Delivered int
	// Lost lists the seqs that never arrived intact, ascending.
	Lost []int
	// Dup counts intact lines that arrived again.
	Dup int
	// Reordered counts intact lines that arrived after a higher seq (and
	// were not duplicates).
	Reordered int
	// Partial counts malformed pieces: a line that is not an intact line
	// (a fragment, garbled or invented content), or text left after the
	// last newline. A fragment glued to a following intact line (what a
	// truncation between the halves of a read leaves) counts once here, and
	// the intact line is still delivered.
	Partial int
}

// Check parses data as lines written by Line for seqs 0..written-1 and
// reports delivered, lost, duplicated, reordered and malformed lines.
func Check(data []byte, written int) Report {
	r := Report{Written: written}
	seen := make([]bool, written)
	maxSeq := -1
	accept := func(seq int) {
		switch {
		case seen[seq]:
			r.Dup++
			return
		case seq < maxSeq:
			r.Reordered++
		default:
			maxSeq = seq
		}
		seen[seq] = true
		r.Delivered++
	}
	for len(data) > 0 {
		l, rest, found := bytes.Cut(data, []byte("\n"))
		data = rest
		if !found {
			r.Partial++
			break
		}
		if seq, ok := parseLine(l, written); ok {
			accept(seq)
			continue
		}
		r.Partial++
		// A fragment followed by an intact line: keep the line.
		if i := bytes.LastIndex(l, []byte("seq=")); i > 0 {
			if seq, ok := parseLine(l[i:], written); ok {
				accept(seq)
			}
		}
	}
	for seq, ok := range seen {
		if !ok {
			r.Lost = append(r.Lost, seq)
		}
	}
	return r
}

// Seqs returns the set of seqs of the intact lines in data (the contents of
// a file on disk, say).
func Seqs(data []byte, written int) map[int]bool {
	s := map[int]bool{}
	for _, l := range bytes.Split(data, []byte("\n")) {
		if seq, ok := parseLine(l, written); ok {
			s[seq] = true
		}
	}
	return s
}

// Split divides r.Lost into the seqs for which in is true and the others.
func (r Report) Split(in func(seq int) bool) (inside, outside []int) {
	for _, seq := range r.Lost {
		if in(seq) {
			inside = append(inside, seq)
		} else {
			outside = append(outside, seq)
		}
	}
	return inside, outside
}

// Format is the stable one-line summary the live tests log:
//
//	live: NAME: written=W delivered=D lost=L[ (in window=I)] dup=U reordered=R partial=P[ EXTRA]
//
// inWindow < 0 leaves out the window part.
func (r Report) Format(name string, inWindow int, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "live: %s: written=%d delivered=%d lost=%d", name, r.Written, r.Delivered, len(r.Lost))
	if inWindow >= 0 {
		fmt.Fprintf(&b, " (in window=%d)", inWindow)
	}
	fmt.Fprintf(&b, " dup=%d reordered=%d partial=%d", r.Dup, r.Reordered, r.Partial)
	if extra != "" {
		b.WriteString(" " + extra)
	}
	return b.String()
}

// Clean reports whether nothing was lost, duplicated, reordered or malformed.
func (r Report) Clean() bool {
	return len(r.Lost) == 0 && r.Dup == 0 && r.Reordered == 0 && r.Partial == 0
}

// Interval is a span of a writer's time, measured from the writer's start.
type Interval struct{ From, To time.Duration }

// Windows returns a predicate that is true for the seqs whose write time
// (at[seq], from the writer's start) lies in one of ivs, each extended back
// by lead.
func Windows(at []time.Duration, ivs []Interval, lead time.Duration) func(seq int) bool {
	ivs = append([]Interval(nil), ivs...)
	sort.Slice(ivs, func(i, j int) bool { return ivs[i].From < ivs[j].From })
	return func(seq int) bool {
		if seq < 0 || seq >= len(at) {
			return false
		}
		w := at[seq]
		for _, iv := range ivs {
			if w >= iv.From-lead && w <= iv.To {
				return true
			}
		}
		return false
	}
}

// Ranges formats ascending seqs as compact ranges ("3-7,12"), at most max
// ranges, for failure messages.
func Ranges(seqs []int, max int) string {
	var parts []string
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if len(parts) == max {
			parts = append(parts, "...")
			break
		}
		if i == j {
			parts = append(parts, strconv.Itoa(seqs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", seqs[i], seqs[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

package oracle

import (
	"sort"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// inFileOrder returns h with its write stream in the order a correct tailer
// delivers it: file by file, each file's bytes in the order they were
// written, files in the order they appeared at the path. That is the
// writer's order, except when something appends to a rotated file after the
// next generation got bytes (a second writer, or a late write): no tailer
// can interleave two files by write time, so those bytes count before the
// next generation's. When the orders agree, h itself is returned; otherwise
// a copy whose Writes are renumbered (Pos and Src) and whose Runs are
// remapped to the new positions, so that positions in the report are
// positions in delivery order. orig, when not nil, holds the original Src
// (content position) of each write of the copy: content is a function of
// the original position (package sim).
func inFileOrder(h *sim.History) (_ *sim.History, orig []int64) {
	gen := map[logstream.FileID]int{}
	for _, e := range h.Files {
		if e.Kind == sim.FileCreated {
			if _, ok := gen[e.File]; !ok {
				gen[e.File] = len(gen)
			}
		}
	}
	// g[i] is write i's generation (looked up once per run of writes to
	// one file; files never seen at the path go last, in write order);
	// order is the writes stably sorted by it, by counting: O(writes +
	// generations).
	g := make([]int, len(h.Writes))
	sorted := true
	var last logstream.FileID
	lastGen := -1
	for i, w := range h.Writes {
		if lastGen < 0 || w.File != last {
			x, ok := gen[w.File]
			if !ok {
				x = len(gen)
				gen[w.File] = x
			}
			last, lastGen = w.File, x
		}
		g[i] = lastGen
		if i > 0 && g[i] < g[i-1] {
			sorted = false
		}
	}
	if sorted {
		return h, nil
	}
	start := make([]int, len(gen)+1)
	for _, x := range g {
		start[x+1]++
	}
	for x := 1; x < len(start); x++ {
		start[x] += start[x-1]
	}
	order := make([]int, len(h.Writes))
	for i, x := range g {
		order[start[x]] = i
		start[x]++
	}
	// newPos[i] is the new position of write i's first byte.
	newPos := make([]int64, len(h.Writes))
	var p int64
	for _, i := range order {
		newPos[i] = p
		p += h.Writes[i].N
	}
	// remap turns a content position (an original write position) into its
	// new position; n is how many positions from there stay contiguous.
	remap := func(x int64) (y, n int64, ok bool) {
		i := sort.Search(len(h.Writes), func(i int) bool { return h.Writes[i].Pos+h.Writes[i].N > x })
		if i == len(h.Writes) || h.Writes[i].Pos > x {
			return 0, 0, false
		}
		w := h.Writes[i]
		return newPos[i] + x - w.Pos, w.Pos + w.N - x, true
	}
	c := *h
	c.Writes = make([]sim.Write, 0, len(h.Writes))
	orig = make([]int64, 0, len(h.Writes))
	for _, i := range order {
		w := h.Writes[i]
		orig = append(orig, w.Src)
		w.Pos = newPos[i]
		if src, _, ok := remap(h.Writes[i].Src); ok {
			w.Src = src
		}
		c.Writes = append(c.Writes, w)
	}
	c.Targets = make([]*sim.TargetLog, len(h.Targets))
	for k, t := range h.Targets {
		if t == nil {
			continue
		}
		tc := *t
		tc.Runs = nil
		for _, r := range t.Runs {
			if r.Src < 0 {
				tc.Runs = append(tc.Runs, r)
				continue
			}
			src, off, left := r.Src, r.Off, r.Len
			for left > 0 {
				y, n, ok := remap(src)
				if !ok {
					// Beyond what was written: leave it as it is; the byte
					// rule reports it.
					tc.Runs = append(tc.Runs, sim.Run{Step: r.Step, At: r.At, Off: off, Src: src, Len: left})
					break
				}
				n = min(n, left)
				if last := len(tc.Runs) - 1; last >= 0 && tc.Runs[last].Src >= 0 &&
					tc.Runs[last].Src+tc.Runs[last].Len == y && tc.Runs[last].Off+tc.Runs[last].Len == off {
					tc.Runs[last].Len += n
				} else {
					tc.Runs = append(tc.Runs, sim.Run{Step: r.Step, At: r.At, Off: off, Src: y, Len: n})
				}
				src, off, left = src+n, off+n, left-n
			}
		}
		c.Targets[k] = &tc
	}
	return &c, orig
}

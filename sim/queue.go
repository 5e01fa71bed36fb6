package sim

import (
	"math"
	"time"
)

// event is one scheduled action. Events run in (at, seq) order: equal times
// run in the order they were scheduled.
type event struct {
	at  time.Time
	seq uint64
	fn  func()
	// key is at.Sub(Epoch), which saturates: it orders events exactly
	// unless two keys are both at a bound (see before).
	key int64
}

// before reports whether a runs before b: by time, then by schedule order.
func (a *event) before(b *event) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	if (a.key == math.MaxInt64 || a.key == math.MinInt64) && !a.at.Equal(b.at) {
		return a.at.Before(b.at) // both more than 292 years from Epoch
	}
	return a.seq < b.seq
}

// queue is the simulator's agenda: a binary min-heap of events in (at, seq)
// order. It is written out rather than built on container/heap, whose
// interface calls and boxing were a tenth of a swarm's CPU; since (at, seq)
// is a total order, the order events pop in is the same.
type queue struct {
	h   []event
	seq uint64
}

func (q *queue) push(at time.Time, fn func()) {
	q.seq++
	e := event{at: at, seq: q.seq, fn: fn, key: int64(at.Sub(Epoch))}
	h := append(q.h, event{})
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !e.before(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
	q.h = h
}

func (q *queue) pop() (event, bool) {
	h := q.h
	n := len(h) - 1
	if n < 0 {
		return event{}, false
	}
	top := h[0]
	last := h[n]
	h[n] = event{} // let the garbage collector have fn
	h = h[:n]
	if n > 0 {
		i := 0
		for {
			c := 2*i + 1
			if c >= n {
				break
			}
			if r := c + 1; r < n && h[r].before(&h[c]) {
				c = r
			}
			if !h[c].before(&last) {
				break
			}
			h[i] = h[c]
			i = c
		}
		h[i] = last
	}
	q.h = h
	return top, true
}

func (q *queue) len() int { return len(q.h) }

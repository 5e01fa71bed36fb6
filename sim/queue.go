package sim

import (
	"container/heap"
	"time"
)

// event is one scheduled action. Events run in (at, seq) order: equal times
// run in the order they were scheduled.
type event struct {
	at  time.Time
	seq uint64
	fn  func()
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*h = old[:len(old)-1]
	return e
}

// queue is the simulator's agenda.
type queue struct {
	h   eventHeap
	seq uint64
}

func (q *queue) push(at time.Time, fn func()) {
	q.seq++
	heap.Push(&q.h, event{at: at, seq: q.seq, fn: fn})
}

func (q *queue) pop() (event, bool) {
	if len(q.h) == 0 {
		return event{}, false
	}
	return heap.Pop(&q.h).(event), true
}

func (q *queue) len() int { return len(q.h) }

package sim

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The queue pops events in (at, seq) order, whatever the order of pushes
// and pops, including times that share an instant and times too far from
// Epoch for a Duration.
func TestQueueOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	far := []time.Time{Epoch.AddDate(300, 0, 0), Epoch.AddDate(-300, 0, 0)}
	type item struct {
		at  time.Time
		seq int
	}
	for round := 0; round < 200; round++ {
		var q queue
		var want []item // pushed, not yet popped
		seq := 0
		for op := 0; op < 300; op++ {
			if r.IntN(3) == 0 {
				ev, ok := q.pop()
				if len(want) == 0 {
					if ok {
						t.Fatalf("round %d: pop from an empty queue gave %v", round, ev.at)
					}
					continue
				}
				slices.SortStableFunc(want, func(a, b item) int {
					if c := a.at.Compare(b.at); c != 0 {
						return c
					}
					return a.seq - b.seq
				})
				if !ok || !ev.at.Equal(want[0].at) {
					t.Fatalf("round %d: popped %v (ok %v), want %v", round, ev.at, ok, want[0].at)
				}
				if int(ev.seq) != want[0].seq {
					t.Fatalf("round %d: popped seq %d, want %d", round, ev.seq, want[0].seq)
				}
				want = want[1:]
				continue
			}
			var at time.Time
			switch k := r.IntN(10); {
			case k == 0:
				at = far[r.IntN(2)].Add(time.Duration(r.IntN(3)))
			default:
				at = Epoch.Add(time.Duration(r.IntN(20)) * time.Millisecond)
			}
			seq++
			q.push(at, nil)
			want = append(want, item{at, seq})
			if q.len() != len(want) {
				t.Fatalf("round %d: len %d, want %d", round, q.len(), len(want))
			}
		}
	}
}

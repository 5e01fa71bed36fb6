package sim

import (
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Runs of lost attempts are in send order (TargetLog.Lost). With a window,
// the reply to a chunk sent before the first lost attempt can come after
// it: it neither ends nor splits the run (swarm seed 13264 of the default
// draw, mix receivers: an unreachable window lost the attempts 170..181 of
// one chunk, 11 in a row, but the OK reply of attempt 168 came between the
// first loss and the second, and the record counted 10, so the sender's
// give-up after RetryLimit+1 = 11 had no cause). An answer to an attempt
// sent among the losses splits the run there.
func TestLostRunsInSendOrder(t *testing.T) {
	ok := logstream.Reply{RC: logstream.OK}
	lost := logstream.Reply{RC: logstream.CommunicationError}
	run := func(outcomes ...any) []Span {
		w := &World{hist: &History{}}
		r := &receiver{name: "r1", log: &TargetLog{Name: "r1"}}
		w.receivers = []*receiver{r}
		for i := 0; i < len(outcomes); i += 2 {
			w.now = Epoch.Add(time.Duration(i) * time.Millisecond)
			w.noteOutcome("r1", uint64(outcomes[i].(int)), outcomes[i+1].(logstream.Reply), true)
		}
		return r.log.Lost
	}
	ns := func(sp []Span) []int {
		var out []int
		for _, s := range sp {
			out = append(out, s.N)
		}
		return out
	}
	eq := func(a, b []int) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	// 170 and 171 lost, then 168's OK reply, then 172..174 lost: one run.
	if got := ns(run(170, lost, 171, lost, 168, ok, 172, lost, 173, lost, 174, lost)); !eq(got, []int{5}) {
		t.Errorf("reply to an earlier attempt: runs %v, want [5]", got)
	}
	// 170 lost, 172 lost, then 171's OK: 170 alone, 172 starts the next run.
	if got := ns(run(170, lost, 172, lost, 171, ok, 173, lost)); !eq(got, []int{1, 2}) {
		t.Errorf("reply to an attempt among the losses: runs %v, want [1 2]", got)
	}
	// A later attempt's OK ends the run.
	if got := ns(run(170, lost, 171, lost, 172, ok, 173, lost)); !eq(got, []int{2, 1}) {
		t.Errorf("reply to a later attempt: runs %v, want [2 1]", got)
	}
}

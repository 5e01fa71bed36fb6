package sim

import (
	"testing"
	"time"
)

// TargetLog.Acked grows only with the run of acknowledged bytes from 0: a
// chunk acknowledged past a gap waits until the gap's chunk is, and a
// duplicate changes nothing.
func TestAckedIsTheAcknowledgedRun(t *testing.T) {
	r := &receiver{log: &TargetLog{}}
	at := func(ms int) time.Time { return Epoch.Add(time.Duration(ms) * time.Millisecond) }
	r.noteAck(1, at(1), 10, 20) // past the gap [0,10)
	r.noteAck(2, at(2), 20, 30)
	if len(r.log.Acked) != 0 {
		t.Fatalf("acked past a gap: %+v", r.log.Acked)
	}
	r.noteAck(3, at(3), 0, 10) // the gap: the run reaches 30
	r.noteAck(4, at(4), 0, 10) // a duplicate
	r.noteAck(5, at(5), 40, 50)
	r.noteAck(6, at(6), 30, 40) // reaches 50
	want := []Ack{{3, at(3), 30}, {6, at(6), 50}}
	if len(r.log.Acked) != len(want) {
		t.Fatalf("acked %+v, want %+v", r.log.Acked, want)
	}
	for i := range want {
		if r.log.Acked[i] != want[i] {
			t.Fatalf("acked %+v, want %+v", r.log.Acked, want)
		}
	}
}

package enginetest

import (
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// counting is a stop-and-wait producer that sends n data messages to two
// targets, each until both acknowledge it, and records what it was told.
type counting struct {
	n, sent  int
	acked    map[string]bool
	timeouts int
	row      map[string]int
	maxRow   int
	waits    int
	id       uint64
	left     int // replies due for send id
}

func (c *counting) Next(now time.Time) logstream.Step {
	if c.sent == c.n {
		return logstream.Step{Kind: logstream.StepDone}
	}
	if c.left > 0 {
		return logstream.Step{Kind: logstream.StepWait, Until: now.Add(time.Hour)}
	}
	var to []string
	for _, t := range []string{"a", "b"} {
		if !c.acked[t] {
			to = append(to, t)
		}
	}
	c.id++
	c.left = len(to)
	return logstream.Step{Kind: logstream.StepSend, ID: c.id, Msg: data(int64(c.sent), "x", false), Targets: to, Timeout: time.Second}
}

func (c *counting) Reply(_ time.Time, id uint64, t string, rep logstream.Reply) {
	if id != c.id {
		panic("reply to an old send")
	}
	c.left--
	if rep.RC == logstream.Timeout {
		c.timeouts++
		c.row[t]++
		c.maxRow = max(c.maxRow, c.row[t])
	} else {
		c.row[t] = 0
		c.acked[t] = true
	}
	if c.left == 0 && c.acked["a"] && c.acked["b"] {
		c.sent++
		c.acked = map[string]bool{}
	}
}

func (c *counting) Abort(time.Time) logstream.Result { return logstream.Result{} }

// TestFaultyInjects drives a faulty producer by hand, as an engine whose
// targets always answer OK would, and checks that every fault kind fires,
// that dropped requests never reach the engine, and that no target sees
// more than MaxInARow faults in a row.
func TestFaultyInjects(t *testing.T) {
	c := &counting{n: 500, acked: map[string]bool{}, row: map[string]int{}}
	fp := newFaultyProducer(c, Faults{Seed: 9, DropRequest: 0.2, LoseReply: 0.2, Duplicate: 0.2, Delay: 0.2, MaxDelay: time.Millisecond})
	now := time.Unix(0, 0)
	delivered := 0
	for range 100000 {
		st := fp.Next(now)
		if st.Kind == logstream.StepDone {
			break
		}
		if st.Kind == logstream.StepWait {
			c.waits++
			now = st.Until
			continue
		}
		inner := fp.out[st.ID].inner
		for _, tg := range st.Targets {
			for _, d := range fp.synth {
				if d.id == inner && d.target == tg {
					t.Fatalf("dropped target %s was handed to the engine", tg)
				}
			}
			delivered++
		}
		for _, tg := range st.Targets {
			fp.Reply(now, st.ID, tg, logstream.Reply{RC: logstream.OK, Next: st.Msg.End()})
		}
	}
	if c.sent != c.n {
		t.Fatalf("sent %d of %d messages", c.sent, c.n)
	}
	if fp.nDrop == 0 || fp.nLose == 0 || fp.nDup == 0 || fp.nDelay == 0 || c.waits == 0 {
		t.Errorf("faults: drop %d lose %d dup %d delay %d (waits %d); want each > 0", fp.nDrop, fp.nLose, fp.nDup, fp.nDelay, c.waits)
	}
	if c.timeouts != fp.nDrop+fp.nLose {
		t.Errorf("producer saw %d TIMEOUTs, want %d (drops + losses)", c.timeouts, fp.nDrop+fp.nLose)
	}
	if c.maxRow > 3 {
		t.Errorf("a target saw %d faults in a row, more than MaxInARow 3", c.maxRow)
	}
}

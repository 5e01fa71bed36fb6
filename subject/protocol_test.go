package subject

import (
	"container/heap"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/sim"
)

// TestParseLine: malformed lines, unknown versions and types, missing
// fields and oversized lines are protocol errors quoting the line; good
// lines parse.
func TestParseLine(t *testing.T) {
	for _, c := range []struct {
		line string
		want string // "" means it parses
	}{
		{`{"type":"init_ok","protocol":1}`, ""},
		{`{"type":"init_ok","protocol":2}`, "site speaks protocol version 2, the harness speaks 1"},
		{`{"type":"init_ok"}`, "site speaks protocol version 0"},
		{`{"type":"send","id":1,"to":"r1","body":{"a":1},"meta":{"kind":"data"}}`, ""},
		{`{"type":"send","id":1,"to":"r1"}`, `send line without "body"`},
		{`{"type":"send","to":"r1","body":1}`, `send line without "id"`},
		{`{"type":"reply","id":3,"body":null}`, ""},
		{`{"type":"reply","id":3}`, `reply line without "body"`},
		{`{"type":"chunk","stream":"s","offset":0,"data":"aGk="}`, ""},
		{`{"type":"chunk","stream":"s","offset":-1,"data":"aGk="}`, "negative offset"},
		{`{"type":"chunk","stream":"s","data":"not base64!"}`, "not a JSON object"},
		{`{"type":"done","stream":"s"}`, `done line without "rc"`},
		{`{"type":"result","rc":"OK","results":{"r1":"OK"}}`, ""},
		{`{"type":"deliver","id":1}`, `unknown type "deliver"`},
		{`{"type":"gossip"}`, `unknown type "gossip"`},
		{`{"id":1}`, `no "type"`},
		{`[1,2]`, "not a JSON object"},
		{`{"type":"open","stream":"s"} {"type":"open"}`, "trailing data"},
		{`{"type":"open",`, "not a JSON object"},
		{``, "not a JSON object"},
		{`{"type":"open","stream":"` + strings.Repeat("x", MaxLine) + `"}`, "exceeds the limit"},
	} {
		l, err := ParseLine([]byte(c.line))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%.60s: %v", c.line, err)
		case c.want == "" && l == nil:
			t.Errorf("%.60s: nil line", c.line)
		case c.want != "" && err == nil:
			t.Errorf("%.60s: parsed, want error %q", c.line, c.want)
		case c.want != "" && (!strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrProtocol)):
			t.Errorf("%.60s: error %v, want %q wrapping ErrProtocol", c.line, err, c.want)
		case c.want != "" && len(err.Error()) > 400:
			t.Errorf("error is %d bytes long: the line must be quoted in short", len(err.Error()))
		}
	}
}

// fakeSite is a site whose stdin is a channel the test reads.
func fakeSite(name string) *site {
	return &site{name: name, in: make(chan []byte, 16), exited: make(chan struct{})}
}

// TestOutOfOrderReplies: replies are matched to deliveries by id, whatever
// their order; each goes back to the sender under the sender's own id.
func TestOutOfOrderReplies(t *testing.T) {
	sc, err := sim.Config{Targets: []string{"r1"}}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	r := &run{sc: sc, factor: 1000, t0: time.Now(), h: &sim.History{Start: sim.Epoch},
		pend: map[uint64]*pending{}, sends: map[uint64]bool{}, tg: map[string]*targetState{}}
	r.sender = fakeSite("sender")
	r1 := fakeSite("r1")
	r.tg["r1"] = &targetState{log: &sim.TargetLog{Name: "r1"}, dec: sim.NewDecoder(0, nil), site: r1}
	r.order = []string{"r1"}
	r.pend[10] = &pending{target: "r1", sendID: 1, want: true}
	r.pend[11] = &pending{target: "r1", sendID: 2, want: true}
	feed := func(s *site, line string) {
		r.handle(event{site: s, at: time.Now(), raw: []byte(line)})
		if r.fatal != nil {
			t.Fatal(r.fatal)
		}
	}
	feed(r1, `{"type":"reply","id":11,"body":{"n":2}}`)
	feed(r1, `{"type":"reply","id":10,"body":{"n":1}}`)
	// Run the scheduled reply deliveries in order, without waiting.
	for r.timers.Len() > 0 {
		heap.Pop(&r.timers).(*timer).fn()
	}
	var got []Line
	for len(r.sender.in) > 0 {
		var l Line
		json.Unmarshal(<-r.sender.in, &l)
		got = append(got, l)
	}
	if len(got) != 2 || got[0].ID != 2 || got[1].ID != 1 || string(got[0].Body) != `{"n":2}` || got[0].From != "r1" {
		t.Fatalf("sender got %+v", got)
	}
	// A second reply to 10, and a reply to an id never delivered, are errors.
	for _, c := range []struct{ line, want string }{
		{`{"type":"reply","id":10,"body":{}}`, "second reply to deliver id 10"},
		{`{"type":"reply","id":99,"body":{}}`, "reply to unknown deliver id 99"},
		{`{"type":"result","rc":"OK"}`, "a receiver may not write result lines"},
	} {
		r.fatal = nil
		r.handle(event{site: r1, at: time.Now(), raw: []byte(c.line)})
		if r.fatal == nil || !strings.Contains(r.fatal.Error(), c.want) || !strings.Contains(r.fatal.Error(), "site r1 line") {
			t.Errorf("%s: error %v, want %q naming the site and line", c.line, r.fatal, c.want)
		}
	}
}

// TestOutcomes: lost attempts and NOT_READY answers form separate runs; any
// other answer ends both.
func TestOutcomes(t *testing.T) {
	t0 := sim.Epoch
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	att := []Attempt{
		{Target: "r1", At: at(0), Reply: true}, // lost
		{Target: "r1", At: at(1), Reply: true, Answered: true, AnsweredAt: at(1), RC: "NOT_READY"},
		{Target: "r1", At: at(2), Reply: true, Answered: true, AnsweredAt: at(9), RC: "OK"}, // too late: lost
		{Target: "r2", At: at(2), Reply: true},                                              // other target
		{Target: "r1", At: at(3), Reply: false},                                             // abort: no reply wanted
		{Target: "r1", At: at(4), Reply: true, Answered: true, AnsweredAt: at(4), RC: "NOT_READY"},
		{Target: "r1", At: at(5), Reply: true, Answered: true, AnsweredAt: at(5), RC: "OK"},
		{Target: "r1", At: at(6), Reply: true},
	}
	lost, nr := Outcomes(att, "r1", 2*time.Second)
	want := []sim.Span{{From: at(0), To: at(4), N: 2}, {From: at(6), To: at(8), N: 1}}
	if len(lost) != 2 || lost[0] != want[0] || lost[1] != want[1] {
		t.Errorf("lost = %+v, want %+v", lost, want)
	}
	if len(nr) != 1 || nr[0] != (sim.Span{From: at(1), To: at(4), N: 2}) {
		t.Errorf("not ready = %+v", nr)
	}
}

// TestSkipCloseFaults: file faults closer than the harness can place them
// in real time are skipped with the reason.
func TestSkipCloseFaults(t *testing.T) {
	plan, err := faults.Parse("at 30s rotate\nat 30.01s rotate\n")
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.Config{Horizon: time.Minute, Plan: plan}
	if got := SkipReason(cfg, 25); !strings.Contains(got, "below the harness's timing precision") {
		t.Errorf("factor 25: %q", got)
	}
	if got := SkipReason(cfg, 10); got != "" {
		t.Errorf("factor 10 (1ms apart): %q", got)
	}
}

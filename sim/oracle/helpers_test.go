package oracle

import (
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func fid(n uint64) logstream.FileID { return logstream.FileID{Dev: 1, Ino: n} }

// hist builds a History step by step; every record gets the next step.
type hist struct {
	*sim.History
	size map[logstream.FileID]int64
}

// newHist returns a history with default options, a 30s watchdog, and file
// 1 created at the path and opened by the tailer at time 0.
func newHist(t *testing.T) *hist {
	t.Helper()
	o, err := logstream.TailOptions{IdleTimeout: 30 * time.Second}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	b := &hist{History: &sim.History{Key: 1, Start: t0,
		Params: sim.Params{Tail: o, IdleTimeout: 30 * time.Second}},
		size: map[logstream.FileID]int64{}}
	b.file(0, sim.FileCreated, 1, "")
	return b
}

func (b *hist) next() int64 { b.Steps++; return b.Steps }

func (b *hist) total() int64 {
	if n := len(b.Writes); n > 0 {
		return b.Writes[n-1].Pos + b.Writes[n-1].N
	}
	return 0
}

// write appends n bytes to file f at time at (ms); atPath says whether f is
// at the tailed path.
func (b *hist) writeTo(at int, f uint64, n int64, atPath bool) sim.Write {
	id := fid(f)
	pos := b.total()
	w := sim.Write{Step: b.next(), At: ms(at), Pos: pos, N: n, Src: pos, File: id, FileOff: b.size[id], AtPath: atPath}
	b.size[id] += n
	b.Writes = append(b.Writes, w)
	return w
}

func (b *hist) write(at int, f uint64, n int64) sim.Write { return b.writeTo(at, f, n, true) }

// replay appends n bytes to f that repeat content from src.
func (b *hist) replay(at int, f uint64, src, n int64) sim.Write {
	id := fid(f)
	pos := b.total()
	w := sim.Write{Step: b.next(), At: ms(at), Pos: pos, N: n, Src: src, File: id, FileOff: b.size[id], AtPath: true}
	b.size[id] += n
	b.Writes = append(b.Writes, w)
	return w
}

func (b *hist) file(at int, k sim.FileEventKind, f uint64, cause string) {
	id := fid(f)
	b.Files = append(b.Files, sim.FileEvent{Step: b.next(), At: ms(at), Kind: k, File: id, Size: b.size[id], Cause: cause})
	if k == sim.FileTruncated {
		b.size[id] = 0
	}
}

// tail records what the tailer says about itself: testimony the oracle
// must ignore.
func (b *hist) tail(at int, k logstream.TailEventKind, f uint64) {
	b.Tail = append(b.Tail, logstream.TailEvent{Kind: k, At: ms(at), File: fid(f)})
	if k == logstream.TailOpened || k == logstream.TailChecked {
		b.Checks = append(b.Checks, ms(at))
	}
}

// until says the run was observed until at (History.End).
func (b *hist) until(at int) { b.End = ms(at) }

func (b *hist) target(name string) *sim.TargetLog {
	if t := b.Target(name); t != nil {
		return t
	}
	t := &sim.TargetLog{Name: name, Registered: t0}
	b.Targets = append(b.Targets, t)
	return t
}

// deliver hands content [src,src+n) to the receiver at time at, as the
// simulator's decoder would record it.
func (b *hist) deliver(tl *sim.TargetLog, at int, src, n int64) int64 {
	step := b.next()
	b.arrive(tl, at)
	if k := len(tl.Runs); k > 0 && src >= 0 && tl.Runs[k-1].Src >= 0 && tl.Runs[k-1].Src+tl.Runs[k-1].Len == src {
		tl.Runs[k-1].Len += n
	} else {
		tl.Runs = append(tl.Runs, sim.Run{Step: step, At: ms(at), Off: tl.Delivered, Src: src, Len: n})
	}
	tl.Delivered += n
	return step
}

// arrive records a message arrival (a heartbeat when alone).
func (b *hist) arrive(tl *sim.TargetLog, at int) {
	if tl.Created.IsZero() {
		tl.Created = ms(at)
	}
	tl.Arrivals = append(tl.Arrivals, ms(at))
}

func (b *hist) done(tl *sim.TargetLog, at int, rc logstream.ReturnCode) int64 {
	s := b.next()
	tl.Done = append(tl.Done, sim.Done{Step: s, At: ms(at), RC: rc})
	return s
}

func (b *hist) net(at int, k sim.NetKind, target string, msg logstream.Kind, delay time.Duration) {
	b.Net = append(b.Net, sim.NetEvent{Step: b.next(), At: ms(at), Kind: k, Target: target, Msg: msg, Delay: delay})
}

// finish stops the sender at stop and ends it at end with rc per target;
// every target got its EOF message at stop+50ms (or at end, if earlier).
func (b *hist) finish(stop, end int, rcs map[string]logstream.ReturnCode) {
	b.StopAt = ms(stop)
	for _, t := range b.Targets {
		if t.EOFSent.IsZero() {
			t.EOFSent = ms(min(stop+50, end))
		}
	}
	b.SenderEnd = ms(end)
	b.Result = logstream.Result{RC: logstream.OK}
	for _, t := range b.Targets {
		rc := rcs[t.Name]
		if rc == "" {
			rc = logstream.OK
		}
		if rc != logstream.OK {
			b.Result.RC = logstream.Error
		}
		b.Result.Targets = append(b.Result.Targets, logstream.TargetResult{Target: t.Name, RC: rc})
	}
}

// healthy returns a run with three 100-byte writes to file 1, all delivered
// to r1, stopped at 5s, done OK at 5.1s, sender OK at 5.2s.
func healthy(t *testing.T) (*hist, *sim.TargetLog) {
	b := newHist(t)
	r1 := b.target("r1")
	for i := range 3 {
		b.write(100*i, 1, 100)
		b.deliver(r1, 100*i+10, int64(100*i), 100)
	}
	b.done(r1, 5100, logstream.OK)
	b.finish(5000, 5200, nil)
	return b, r1
}

// only asserts that r's violations are exactly of the given properties, in
// order, and returns them.
func only(t *testing.T, r *Report, props ...Property) []Violation {
	t.Helper()
	var got []string
	for _, v := range r.Violations {
		got = append(got, string(v.Property))
	}
	var want []string
	for _, p := range props {
		want = append(want, string(p))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("violations %v, want %v\n%s", got, want, r)
	}
	if r.OK() != (len(props) == 0) {
		t.Fatalf("OK() = %v with %d violations", r.OK(), len(props))
	}
	return r.Violations
}

func wantRange(t *testing.T, v Violation, from, to int64) {
	t.Helper()
	if !v.Ranged || v.From != from || v.To != to {
		t.Fatalf("violation range [%d,%d) ranged=%v, want [%d,%d)\n%s", v.From, v.To, v.Ranged, from, to, v)
	}
}

func wantLosses(t *testing.T, r *Report, want ...Loss) {
	t.Helper()
	var g, w []string
	for _, l := range r.Losses {
		g = append(g, l.String())
	}
	for _, l := range want {
		w = append(w, l.String())
	}
	if strings.Join(g, "; ") != strings.Join(w, "; ") {
		t.Fatalf("losses\n got %v\nwant %v\n%s", g, w, r)
	}
}

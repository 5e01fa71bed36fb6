package timeline

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/sim"
)

func TestParseLine(t *testing.T) {
	e, err := parseLine([]byte(`{"step":335,"t":"1m11.66s","actor":"net","ev":"unreachable","target":"r2","msg":"data","seq":38,"off":200347,"len":27182,"rc":"COMMUNICATION_ERROR","delay":"1ms"}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.Step != 335 || e.at != 71660*time.Millisecond || e.Actor != "net" || e.Ev != "unreachable" ||
		e.Target != "r2" || e.Msg != "data" || e.Off != 200347 || e.Len != 27182 || e.RC != "COMMUNICATION_ERROR" {
		t.Errorf("parsed %+v", e)
	}
	for _, bad := range []string{`{"step":1`, `{"step":1,"t":"1s","ev":"x"}`, `{"step":1,"t":"soon","actor":"a","ev":"x"}`, `[1]`} {
		if _, err := parseLine([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestDetails(t *testing.T) {
	got := details([]byte(`{"step":1,"t":"0s","actor":"file","ev":"created","file":"1:3","size":0,"to":"","cause":"","x":{"a":1},"ok":true}`))
	if want := `file=1:3 size=0 x={"a":1} ok=true`; got != want {
		t.Errorf("details = %q, want %q", got, want)
	}
	got = resultRCs([]byte(`{"step":9,"t":"2m","actor":"sender","ev":"result","rc":"ERROR","r1":"OK","r2":"TIMEOUT"}`))
	if want := "r1 OK, r2 TIMEOUT"; got != want {
		t.Errorf("resultRCs = %q, want %q", got, want)
	}
}

func TestFmtDur(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0s", 500 * time.Millisecond: "500ms", 70 * time.Second: "1m10s",
		2 * time.Minute: "2m", time.Hour: "1h", 65 * time.Minute: "1h5m", 3610 * time.Second: "1h0m10s"} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestLaneOf(t *testing.T) {
	for _, c := range []struct {
		e    event
		want string
	}{
		{event{Actor: "writer", Ev: "write", File: "1:3"}, "file:1:3"},
		{event{Actor: "file", Ev: "renamed", File: "1:4"}, "file:1:4"},
		{event{Actor: "fault", Ev: "rotate"}, laneFaults},
		{event{Actor: "tail", Ev: "opened", File: "1:3"}, laneTail},
		{event{Actor: "fs", Ev: "inject"}, laneTail},
		{event{Actor: "net", Ev: "send", Target: "r2"}, "target:r2"},
		{event{Actor: "recv", Ev: "done", Target: "r1"}, "target:r1"},
		{event{Actor: "sender", Ev: "result"}, laneSender},
		{event{Actor: "world", Ev: "stuck"}, laneSender},
		{event{Actor: "world", Ev: "end"}, laneNone},
		{event{Actor: "martian", Ev: "landed"}, laneOther},
		{event{Actor: "net", Ev: "send"}, laneOther},
	} {
		if got := laneOf(&c.e); got != c.want {
			t.Errorf("laneOf(%s %s) = %q, want %q", c.e.Actor, c.e.Ev, got, c.want)
		}
	}
}

func TestHist(t *testing.T) {
	h := newHist()
	total := 0.0
	for i := 0; i < 10000; i++ {
		at := time.Duration(i) * 731 * time.Millisecond
		h.add(at, float64(i%7))
		total += float64(i % 7)
	}
	if h.w < 731*time.Millisecond*10000/histBuckets {
		t.Errorf("bucket width %v too small for the range", h.w)
	}
	sum := 0.0
	for _, c := range h.columns(500, 731*time.Millisecond*10000) {
		sum += c
	}
	if d := sum - total; d > 1e-6 || d < -1e-6 {
		t.Errorf("columns sum %v, want %v", sum, total)
	}
}

// trace builds a trace from lines with step and time filled in.
func trace(lines ...string) string {
	var b strings.Builder
	for i, l := range lines {
		at := time.Duration(i) * time.Second
		b.WriteString(`{"step":` + strconv.Itoa(i+1) + `,"t":"` + at.String() + `",` + l + "}\n")
	}
	return b.String()
}

func TestModelLanes(t *testing.T) {
	tr := trace(
		`"actor":"file","ev":"created","file":"1:3","size":0,"to":"","cause":""`,
		`"actor":"recv","ev":"registered","target":"r1"`,
		`"actor":"tail","ev":"opened","file":"1:3","gen":1,"foff":0,"off":0`,
		`"actor":"writer","ev":"write","pos":0,"len":100,"file":"1:3","foff":0`,
		`"actor":"net","ev":"send","target":"r1","msg":"data","seq":0,"off":0,"len":100,"delay":"1ms"`,
		`"actor":"net","ev":"deliver","target":"r1","msg":"data","seq":0,"off":0,"len":100,"delay":"1ms"`,
		`"actor":"net","ev":"drop-reply","target":"r1","msg":"data","seq":0,"off":0,"len":100,"rc":"OK"`,
		`"actor":"net","ev":"timeout","target":"r1","msg":"data","seq":0,"off":0,"len":100,"rc":"TIMEOUT"`,
		`"actor":"net","ev":"send","target":"r1","msg":"data","seq":1,"off":0,"len":100,"delay":"1ms"`,
		`"actor":"net","ev":"send","target":"r1","msg":"heartbeat","seq":2,"off":100,"len":0,"delay":"1ms"`,
		`"actor":"net","ev":"deliver","target":"r1","msg":"heartbeat","seq":2,"off":100,"len":0,"delay":"1ms"`,
		`"actor":"fault","ev":"rotate","fault":"at 12s rotate keep=2"`,
		`"actor":"file","ev":"renamed","file":"1:3","size":100,"to":"/logs/app.log.1","cause":"rotate"`,
		`"actor":"file","ev":"created","file":"1:4","size":0,"to":"","cause":""`,
		`"actor":"tail","ev":"rotated","file":"1:3","gen":1,"foff":100,"off":100`,
		`"actor":"tail","ev":"opened","file":"1:4","gen":2,"foff":0,"off":100`,
		`"actor":"fault","ev":"unreachable","fault":"at 17s unreachable target=r1 for=5s"`,
		`"actor":"net","ev":"unreachable","target":"r1","msg":"data","seq":3,"off":100,"len":50,"rc":"COMMUNICATION_ERROR"`,
		`"actor":"net","ev":"unreachable","target":"r1","msg":"data","seq":4,"off":100,"len":60,"rc":"COMMUNICATION_ERROR"`,
		`"actor":"recv","ev":"done","target":"r1","rc":"TIMEOUT","delivered":100`,
		`"actor":"recv","ev":"watchdog","target":"r1"`,
		`"actor":"sender","ev":"stop"`,
		`"actor":"sender","ev":"result","rc":"ERROR","r1":"TIMEOUT"`,
		`"actor":"martian","ev":"landed"`,
		`"actor":"world","ev":"end","written":100`,
	)
	m, err := read(strings.NewReader(tr), 20)
	if err != nil {
		t.Fatal(err)
	}
	if m.end != 24*time.Second || m.maxStep != 25 || m.written != 100 || m.result != "ERROR" {
		t.Errorf("end %v, steps %d, written %d, result %q", m.end, m.maxStep, m.written, m.result)
	}
	if len(m.files) != 2 || m.files[0].id != "1:3" || m.files[1].id != "1:4" || m.files[0].n != 1 || m.files[1].n != 2 {
		t.Fatalf("files %+v", m.files)
	}
	if f := m.files[0]; !f.gone || f.left != 12*time.Second || f.movedTo != "/logs/app.log.1" {
		t.Errorf("file 1: gone %v at %v to %q", f.gone, f.left, f.movedTo)
	}
	if len(m.targets) != 1 || m.targets[0].name != "r1" {
		t.Fatalf("targets %+v", m.targets)
	}
	kinds := func(ms []mark) string {
		var s []string
		for _, mk := range ms {
			s = append(s, mk.kind)
		}
		return strings.Join(s, " ")
	}
	// The first send is routine; the re-send of offset 0 and the first
	// unreachable (offset 100, not attempted before) are not the same:
	// only re-sends of attempted bytes are retries.
	if got, want := kinds(m.targets[0].marks), "recv-registered net-drop-reply net-timeout retry net-unreachable retry net-unreachable recv-done-bad recv-watchdog"; got != want {
		t.Errorf("target marks:\n got %s\nwant %s", got, want)
	}
	if got, want := kinds(m.tail), "tail-opened tail-rotated tail-opened"; got != want {
		t.Errorf("tail marks %s, want %s", got, want)
	}
	if got, want := kinds(m.faults), "fault fault"; got != want {
		t.Errorf("fault marks %s, want %s", got, want)
	}
	if got, want := kinds(m.sender), "sender-stop sender-result"; got != want {
		t.Errorf("sender marks %s, want %s", got, want)
	}
	if got, want := kinds(m.other), "other"; got != want {
		t.Errorf("other marks %s, want %s", got, want)
	}
	if len(m.windows) != 1 || m.windows[0].target != "r1" || m.windows[0].from != 16*time.Second || m.windows[0].to != 21*time.Second || !m.windows[0].network {
		t.Errorf("windows %+v", m.windows)
	}
	if len(m.gens) != 2 || m.gens[0].to != 15*time.Second || m.gens[1].to != m.end {
		t.Errorf("gens %+v", m.gens)
	}
	if !m.hlFound || m.hlAt != 19*time.Second || len(m.hlEvents) != 1 || !strings.HasPrefix(m.hlEvents[0], "recv done target=r1 rc=TIMEOUT") {
		t.Errorf("highlight %v %v %q", m.hlFound, m.hlAt, m.hlEvents)
	}
	if got := m.targets[0].bytes.columns(10, m.end); sum(got) != 100 {
		t.Errorf("delivered bytes %v", got)
	}
	if got := m.targets[0].hbs.columns(10, m.end); sum(got) != 1 {
		t.Errorf("heartbeats %v", got)
	}
	if got := m.files[0].bytes.columns(10, m.end); sum(got) != 100 {
		t.Errorf("written bytes %v", got)
	}
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func TestBadTrace(t *testing.T) {
	err := Write(io.Discard, strings.NewReader(trace(`"actor":"sender","ev":"stop"`)+"not json\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want one naming line 2", err)
	}
	long := `{"step":1,"t":"1s","actor":"x","ev":"y","pad":"` + strings.Repeat("a", 256<<10) + `"}` + "\n"
	if err := Write(io.Discard, strings.NewReader(long), Options{}); err != nil {
		t.Errorf("a 256 KB line: %v", err)
	}
	if err := Write(io.Discard, errReader{}, Options{}); err == nil {
		t.Error("read error not reported")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

// checkPage checks that a page is one HTML document whose SVG is well-formed
// XML and that it fetches nothing.
// pageT is what checkPage needs of a test: *testing.T or a rapid check.
type pageT interface {
	Helper()
	Error(args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func checkPage(t pageT, page string) string {
	t.Helper()
	if !strings.HasPrefix(page, "<!DOCTYPE html>\n<html lang=\"en\">") || !strings.HasSuffix(page, "</html>\n") {
		t.Error("not one HTML5 document")
	}
	i, j := strings.Index(page, "<svg"), strings.LastIndex(page, "</svg>")
	if i < 0 || j < i {
		t.Fatal("no SVG")
	}
	svg := page[i : j+len("</svg>")]
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
	}
	for _, bad := range []string{"<script", "<link", " src=", "href=", "@import", "url(http"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if strings.Count(page, "http") != 1 { // the SVG namespace
		t.Errorf("page names %d URLs", strings.Count(page, "http"))
	}
	return svg
}

func TestEscaping(t *testing.T) {
	tr := trace(
		`"actor":"recv","ev":"registered","target":"<b>&\"x'"`,
		`"actor":"tail","ev":"error","file":"1:3","gen":1,"foff":0,"off":0,"err":"open </logs/a&b>: boom"`,
		`"actor":"<script>","ev":"alert(1)"`,
	)
	var out bytes.Buffer
	if err := Write(&out, strings.NewReader(tr), Options{Title: `<script>alert("t")</script>`, Highlight: 2}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	checkPage(t, page)
	if strings.Contains(page, "<script") || strings.Contains(page, "<b>&\"x") || strings.Contains(page, "</logs") {
		t.Error("unescaped text in the page")
	}
	if !strings.Contains(page, "target &lt;b&gt;&amp;&#34;x&#39;") {
		t.Error("escaped target name missing")
	}
}

func TestEmptyTraceAndMissingHighlight(t *testing.T) {
	var out bytes.Buffer
	if err := Write(&out, strings.NewReader(""), Options{Highlight: 7}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	checkPage(t, page)
	if !strings.Contains(page, "step 7 to highlight is not in the trace") {
		t.Error("missing highlight not reported")
	}
}

// smallRunDoneAt is when r2's receiver gave up in the last smallRun.
var smallRunDoneAt time.Duration

// smallRun simulates the run of the brief and returns its trace and the
// step at which r2's receiver gave up.
func smallRun(t testing.TB, horizon time.Duration) ([]byte, int64) {
	plan, err := faults.Parse("at 20s rotate keep=2\nat 40s copytruncate for=200ms\nat 50s drop-request target=r1 count=3\nat 60s truncate regrow=100\nat 70s unreachable target=r2 for=40s\nprob drop-reply 0.05\n")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	h, err := sim.Simulate(sim.Config{Seed: 1, Targets: []string{"r1", "r2"}, Horizon: horizon, Plan: plan, Trace: &buf})
	if err != nil {
		t.Fatal(err)
	}
	var step int64
	for _, tl := range h.Targets {
		if tl.Name == "r2" && len(tl.Done) > 0 {
			step = tl.Done[0].Step
			smallRunDoneAt = tl.Done[0].At.Sub(h.Start)
		}
	}
	if step == 0 {
		t.Fatal("r2 never done")
	}
	return buf.Bytes(), step
}

func TestSmallRunPage(t *testing.T) {
	tr, step := smallRun(t, 2*time.Minute)
	var out bytes.Buffer
	if err := Write(&out, bytes.NewReader(tr), Options{Title: "small run", Highlight: step}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	svg := checkPage(t, page)
	if n := len(page); n > 150<<10 {
		t.Errorf("page is %d bytes", n)
	}
	if os.Getenv("TIMELINE_OUT") != "" { // to look at it: TIMELINE_OUT=/tmp/x.html go test -run SmallRun
		os.WriteFile(os.Getenv("TIMELINE_OUT"), out.Bytes(), 0o644)
	}
	// lanes
	for _, lane := range []string{">faults<", ">file #1<", ">file #2<", ">tailer<", ">target r1<", ">target r2<", ">sender<"} {
		if !strings.Contains(svg, lane) {
			t.Errorf("lane %s missing", lane)
		}
	}
	if strings.Contains(svg, ">file #3<") || strings.Contains(svg, ">other<") {
		t.Error("unexpected lanes")
	}
	// labelled marks
	for _, label := range []string{
		">rotate keep=2<", ">unreachable target=r2 for=40s<",
		">renamed → /logs/app.log.1<", ">copied → /logs/app.log.1<", "truncated (83.4 KB, copytruncate)", "truncate)<",
		">rotated<", ">truncated<", ">end<", "gen 1 · file #1", "gen 2 · file #2",
		">done OK<", ">done TIMEOUT<", ">watchdog<",
		">stop<", "result ERROR (r1 OK, r2 COMMUNICATION_ERROR)",
		"step " + strconv.FormatInt(step, 10) + " · " + smallRunDoneAt.String() + " · recv done target=r2 rc=TIMEOUT",
	} {
		if !strings.Contains(svg, label) {
			t.Errorf("label %q missing", label)
		}
	}
	// glyphs, by their colour: drops and timeouts, unreachable, retries
	count := func(s string) int { return strings.Count(svg, s) }
	if n := count(`<circle cx="`) - count(`r="8"`); n < 5 {
		t.Errorf("%d circles: unreachable marks missing", n)
	}
	if n := count(`fill="#ff8c00"`); n < 10 {
		t.Errorf("%d retry marks", n)
	}
	if n := count(`stroke="#d62728" stroke-width="1.6"`); n < 3 {
		t.Errorf("%d lost-reply marks", n)
	}
	if n := count(`<rect x="`) - count(`fill="transparent"`); n < 10 {
		t.Errorf("%d rects", n)
	}
	if !strings.Contains(svg, `stroke="`+colHighlight+`" stroke-width="2.5"`) {
		t.Error("no highlight line")
	}
	if count(`<path d="M`) < 4 || !strings.Contains(svg, `fill="`+colChunks+`"`) || !strings.Contains(svg, `fill="`+colWrites+`"`) {
		t.Error("histograms missing")
	}
	// hover titles carry the events
	if !strings.Contains(svg, "<title>step ") || !strings.Contains(svg, "delivered in") || !strings.Contains(svg, "net unreachable target=r2 msg=data") {
		t.Error("hover titles missing")
	}
	// the events table has the highlighted step
	if !strings.Contains(page, `<h2>Around step `+strconv.FormatInt(step, 10)+`</h2>`) || !strings.Contains(page, `<tr class="h">`) {
		t.Error("table around the step missing")
	}
}

// TestLongRunPageSize checks that the page of a long run stays small: writes
// and deliveries are aggregated. (An hour of the same run, 67k lines and
// 8.4 MB of trace, makes a page of about 210 KB.)
func TestLongRunPageSize(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	t.Parallel()
	tr, _ := smallRun(t, 10*time.Minute)
	start := time.Now()
	var out bytes.Buffer
	if err := Write(&out, bytes.NewReader(tr), Options{}); err != nil {
		t.Fatal(err)
	}
	checkPage(t, out.String())
	t.Logf("%d trace bytes (%d lines) -> %d page bytes in %v", len(tr), bytes.Count(tr, []byte("\n")), out.Len(), time.Since(start))
	if out.Len() > 300<<10 {
		t.Errorf("page is %d bytes", out.Len())
	}
}

package timeline

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Geometry of the SVG, in pixels.
const (
	svgW    = 1400
	plotX0  = 200  // left edge of the plot; lane labels are left of it
	plotX1  = 1385 // right edge of the plot
	colW    = 2    // width of a histogram column
	axisH   = 46   // height of the top axis (with the highlight label row)
	hoverCW = 12   // histogram columns per hover rectangle
	maxHint = 6    // event lines in one mark's hover title
	binPx   = 3    // marks of one kind closer than this merge into one
	labelCW = 6.1  // estimated width of a label character
)

// style says how a mark kind is drawn and explained.
type style struct {
	color   string
	shape   string // vline, vdash, tick, tridown, triup, square, circle, diamond, retry, dot
	label   bool   // draw the mark's label
	legend  string // legend text; "" keeps it out of the legend
	section string // legend group
}

var styles = map[string]style{
	"fault": {"#7b4fa0", "diamond", true, "fault of the plan (band: its window)", "Plan"},

	"file-created":   {"#2ca02c", "tick", false, "file created at the path", "Files"},
	"file-renamed":   {"#1f77b4", "vline", true, "renamed away (rotation)", "Files"},
	"file-copied":    {"#17becf", "vdash", true, "copied (copytruncate)", "Files"},
	"file-truncated": {"#ff7f0e", "vline", true, "truncated", "Files"},
	"file-deleted":   {"#d62728", "vline", true, "deleted", "Files"},

	"tail-opened":        {"#2ca02c", "tick", false, "tailer opened a file", "Tailer"},
	"tail-rotated":       {"#1f77b4", "vline", true, "tailer saw a rotation", "Tailer"},
	"tail-truncated":     {"#ff7f0e", "vline", true, "tailer saw a truncation", "Tailer"},
	"tail-regrown":       {"#ff7f0e", "vdash", true, "tailer saw a regrowth", "Tailer"},
	"tail-error":         {"#d62728", "tick", true, "tailer error", "Tailer"},
	"tail-drain-expired": {"#c71585", "vdash", true, "drain window expired", "Tailer"},
	"tail-end":           {"#222222", "vline", true, "tailer decided EOF", "Tailer"},
	"fs":                 {"#d62728", "dot", false, "injected file-system fault", "Tailer"},

	"retry":            {"#ff8c00", "retry", false, "retry (re-send of bytes already sent)", "Targets"},
	"net-drop-request": {"#d62728", "tridown", false, "request lost", "Targets"},
	"net-drop-reply":   {"#d62728", "triup", false, "reply lost", "Targets"},
	"net-timeout":      {"#d62728", "square", false, "no reply: timeout", "Targets"},
	"net-unreachable":  {"#8b0000", "circle", false, "target unreachable", "Targets"},
	"net-duplicate":    {"#9467bd", "diamond", false, "duplicate / stale copy", "Targets"},
	"net-stale":        {"#9467bd", "diamond", false, "", ""},
	"msg-eof":          {"#222222", "tick", false, "eof message", "Targets"},
	"msg-abort":        {"#d62728", "tick", false, "abort message", "Targets"},

	"recv-registered":       {"#999999", "tick", false, "receiver registered / stream created", "Targets"},
	"recv-created":          {"#999999", "tick", false, "", ""},
	"recv-done":             {"#2ca02c", "vline", true, "done OK", "Targets"},
	"recv-done-bad":         {"#d62728", "vline", true, "done with an error RC", "Targets"},
	"recv-watchdog":         {"#c71585", "vdash", true, "idle watchdog fired", "Targets"},
	"recv-shutdown":         {"#8b0000", "vline", true, "receiver shut down", "Targets"},
	"recv-chunk-after-done": {"#d62728", "vline", true, "chunk after done", "Targets"},

	"sender-stop":   {"#1f77b4", "vline", true, "stop", "Sender"},
	"sender-abort":  {"#d62728", "vline", true, "abort / crash / stuck", "Sender"},
	"sender-crash":  {"#d62728", "vline", true, "", ""},
	"sender-result": {"#222222", "vline", true, "result", "Sender"},
	"world-stuck":   {"#d62728", "vline", true, "", ""},
	"other":         {"#555555", "tick", true, "", ""},
}

func styleOf(kind string) style {
	if s, ok := styles[kind]; ok {
		return s
	}
	if strings.HasPrefix(kind, "msg-") || strings.HasPrefix(kind, "net-") {
		return style{color: "#555555", shape: "tick"}
	}
	return style{color: "#555555", shape: "tick", label: true}
}

// Colours of the aggregated parts.
const (
	colWrites    = "#3b6fb6"
	colChunks    = "#2e8b57"
	colHeartbeat = "#707070"
	colHighlight = "#e0001b"
)

// css is the page's style sheet.
const css = `<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:16px 20px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:16px;margin:18px 0 6px}
.sum{color:#444;margin:0 0 10px}
.sum b{color:#111}
.bad{color:#c00000;font-weight:600}
.wrap{overflow-x:auto}
svg{display:block;width:100%;max-width:1400px;height:auto;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
svg text{font-size:10.5px;fill:#222}
svg .ln{font-size:12px;font-weight:600}
svg .sub{font-size:10px;fill:#666}
svg .ax{font-size:10.5px;fill:#555}
svg .hl{font-size:12px;font-weight:700;fill:#e0001b}
svg .in{font-size:10px;fill:#fff}
svg .lg{font-size:11px}
svg .lgh{font-size:11px;font-weight:700}
table{border-collapse:collapse;font-size:12px}
td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#f4f4f4}
td.n{text-align:right;font-variant-numeric:tabular-nums;color:#555}
tr.h td{background:#ffe3e3;font-weight:600}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11.5px}
</style>
`

// esc escapes text for HTML and SVG text and attribute values.
func esc(s string) string { return html.EscapeString(s) }

// f1 formats a coordinate.
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// page renders a model.
type page struct {
	m   *model
	opt Options
	b   strings.Builder
	end time.Duration
	// writeMax and chunkMax are the tallest columns of the file lanes'
	// and of the target lanes: lanes of one sort share a scale.
	writeMax, chunkMax float64
}

func (p *page) x(at time.Duration) float64 {
	return plotX0 + float64(at)/float64(p.end)*(plotX1-plotX0)
}

func (p *page) w(format string, args ...any) { fmt.Fprintf(&p.b, format, args...) }

// labeler places labels in a lane's label rows without overlaps.
type labeler struct {
	rows [][][2]float64
}

// place returns the row and text anchor x of a label at mark position x,
// and ok false when it fits nowhere.
func (l *labeler) place(x float64, text string) (row int, tx float64, anchorEnd bool, ok bool) {
	wd := float64(utf8.RuneCountInString(text))*labelCW + 4
	a, b := x+3, x+3+wd
	if b > plotX1 {
		a, b, anchorEnd = x-3-wd, x-3, true
	}
	for r := range l.rows {
		free := true
		for _, iv := range l.rows[r] {
			if a < iv[1] && iv[0] < b {
				free = false
				break
			}
		}
		if free {
			l.rows[r] = append(l.rows[r], [2]float64{a, b})
			if anchorEnd {
				return r, x - 3, true, true
			}
			return r, x + 3, false, true
		}
	}
	return 0, 0, false, false
}

// laneGeom says where a lane draws its parts, relative to its top.
type laneGeom struct {
	h       float64
	labelY  []float64 // label row baselines
	markY   float64   // centre of glyph marks
	retryY  float64
	lineTop float64 // vertical lines span lineTop..h
}

var (
	geomFaults = laneGeom{h: 52, labelY: []float64{12, 23}, markY: 36, lineTop: 26}
	geomFile   = laneGeom{h: 48, labelY: []float64{11, 21}, markY: 34, lineTop: 2}
	geomTail   = laneGeom{h: 52, labelY: []float64{12, 23}, markY: 38, lineTop: 2}
	geomTarget = laneGeom{h: 86, labelY: []float64{12, 23}, markY: 35, retryY: 45, lineTop: 2}
	geomSender = laneGeom{h: 40, labelY: []float64{14, 26}, markY: 30, lineTop: 2}
)

// render writes the whole page.
func render(out io.Writer, m *model, opt Options) error {
	p := &page{m: m, opt: opt, end: m.end}
	if p.end <= 0 {
		p.end = time.Second
	}
	var hs []*hist
	for _, f := range m.files {
		hs = append(hs, f.bytes)
	}
	p.writeMax = p.colMax(hs)
	hs = hs[:0]
	for _, t := range m.targets {
		hs = append(hs, t.bytes)
	}
	p.chunkMax = p.colMax(hs)
	title := opt.Title
	if title == "" {
		title = "Simulated run timeline"
	}
	p.w(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title>
%s</head>
<body>
<h1>%s</h1>
`, esc(title), css, esc(title))
	p.summary()
	p.svg()
	p.tables()
	p.w("</body>\n</html>\n")
	_, err := io.WriteString(out, p.b.String())
	return err
}

func (p *page) summary() {
	m := p.m
	p.w(`<p class="sum">virtual time <b>%s</b> · <b>%d</b> steps · <b>%d</b> trace lines · <b>%d</b> file generation(s) · targets <b>%s</b>`,
		esc(fmtDur(m.end)), m.maxStep, m.lines, len(m.files), esc(targetNames(m)))
	if m.written > 0 {
		p.w(` · written <b>%s</b>`, esc(fmtBytes(float64(m.written))))
	}
	if m.result != "" {
		cls := ""
		if m.result != "OK" {
			cls = ` class="bad"`
		}
		p.w(` · sender result <span%s>%s</span>`, cls, esc(m.result))
	}
	if p.opt.Highlight != 0 {
		if m.hlFound {
			p.w(` · <span class="bad">highlighted: step %d at %s</span>`, p.opt.Highlight, esc(fmtDur(m.hlAt)))
		} else {
			p.w(` · <span class="bad">step %d to highlight is not in the trace</span>`, p.opt.Highlight)
		}
	}
	p.w("</p>\n")
}

func targetNames(m *model) string {
	var s []string
	for _, t := range m.targets {
		s = append(s, t.name)
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// lane is one row of the timeline being drawn.
type lane struct {
	name, sub string
	g         laneGeom
	draw      func(y float64, lb *labeler)
}

func (p *page) lanes() []lane {
	m := p.m
	var ls []lane
	if len(m.faults) > 0 {
		ls = append(ls, lane{"faults", "the plan", geomFaults, p.drawFaults})
	}
	for _, f := range m.files {
		f := f
		ls = append(ls, lane{fmt.Sprintf("file #%d", f.n), "id " + f.id, geomFile, func(y float64, lb *labeler) { p.drawFile(f, y, lb) }})
	}
	ls = append(ls, lane{"tailer", "reads, rotations, errors", geomTail, p.drawTail})
	for _, t := range m.targets {
		t := t
		ls = append(ls, lane{"target " + t.name, "chunks, heartbeats, losses", geomTarget, func(y float64, lb *labeler) { p.drawTarget(t, y, lb) }})
	}
	ls = append(ls, lane{"sender", "stop, abort, result", geomSender, func(y float64, lb *labeler) { p.drawMarks(p.m.sender, y, geomSender, lb) }})
	if len(m.other) > 0 {
		ls = append(ls, lane{"other", "unknown events", geomSender, func(y float64, lb *labeler) { p.drawMarks(p.m.other, y, geomSender, lb) }})
	}
	return ls
}

func (p *page) svg() {
	ls := p.lanes()
	lanesH := 0.0
	for _, l := range ls {
		lanesH += l.g.h
	}
	top := float64(axisH)
	bottom := top + lanesH
	legend, legendH := legendLayout(legendEntries(), bottom+28)
	total := bottom + 28 + legendH
	p.w(`<div class="wrap"><svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%s" viewBox="0 0 %d %s" role="img" aria-label="timeline">`+"\n",
		svgW, f1(total), svgW, f1(total))
	p.w(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f3f3f3"/><line x1="0" y1="0" x2="0" y2="6" stroke="#dddddd" stroke-width="2"/></pattern></defs>` + "\n")
	// lane backgrounds and names
	y := top
	for i, l := range ls {
		fill := "#ffffff"
		if i%2 == 1 {
			fill = "#f8f9fb"
		}
		p.w(`<rect x="0" y="%s" width="%d" height="%s" fill="%s"/>`, f1(y), svgW, f1(l.g.h), fill)
		p.w(`<text class="ln" x="8" y="%s">%s</text><text class="sub" x="8" y="%s">%s</text>`+"\n",
			f1(y+l.g.h/2-1), esc(l.name), f1(y+l.g.h/2+12), esc(l.sub))
		y += l.g.h
	}
	p.axis(top, bottom)
	// lanes
	y = top
	for _, l := range ls {
		lb := &labeler{rows: make([][][2]float64, len(l.g.labelY))}
		p.w(`<g>`)
		l.draw(y, lb)
		p.w("</g>\n")
		p.w(`<line x1="0" x2="%d" y1="%s" y2="%s" stroke="#d8dce3"/>`+"\n", svgW, f1(y+l.g.h), f1(y+l.g.h))
		y += l.g.h
	}
	p.w(`<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#b8bec8"/>`+"\n", plotX0, plotX0, f1(top), f1(bottom))
	p.highlight(top, bottom)
	p.legend(legend, bottom+28)
	p.w("</svg></div>\n")
}

// ticks returns the axis step for the run's length.
func ticks(end time.Duration) time.Duration {
	steps := []time.Duration{}
	for _, base := range []time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond} {
		steps = append(steps, base, 2*base, 5*base)
	}
	steps = append(steps, time.Second, 2*time.Second, 5*time.Second, 10*time.Second, 15*time.Second, 30*time.Second,
		time.Minute, 2*time.Minute, 5*time.Minute, 10*time.Minute, 15*time.Minute, 30*time.Minute,
		time.Hour, 2*time.Hour, 3*time.Hour, 6*time.Hour, 12*time.Hour, 24*time.Hour)
	for _, s := range steps {
		if end/s <= 14 {
			return s
		}
	}
	return end / 10
}

func (p *page) axis(top, bottom float64) {
	step := ticks(p.end)
	p.w(`<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#888"/>`, plotX0, plotX1, f1(top-1), f1(top-1))
	p.w(`<text class="sub" x="8" y="%s">virtual time</text>`, f1(top-8))
	for t := time.Duration(0); t <= p.end; t += step {
		x := f1(p.x(t))
		p.w(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#e6e8ec"/>`, x, x, f1(top), f1(bottom))
		p.w(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#888"/>`, x, x, f1(top-5), f1(top-1))
		p.w(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#888"/>`, x, x, f1(bottom), f1(bottom+4))
		anchor := "middle"
		if t == 0 {
			anchor = "start"
		}
		p.w(`<text class="ax" x="%s" y="%s" text-anchor="%s">%s</text>`, x, f1(top-8), anchor, esc(fmtDur(t)))
		p.w(`<text class="ax" x="%s" y="%s" text-anchor="%s">%s</text>`+"\n", x, f1(bottom+15), anchor, esc(fmtDur(t)))
	}
}

func (p *page) highlight(top, bottom float64) {
	m := p.m
	if !m.hlFound {
		return
	}
	x := p.x(m.hlAt)
	p.w(`<g><title>%s</title>`, esc(p.hlText(true)))
	p.w(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2.5" opacity="0.85"/>`, f1(x), f1(x), f1(top-18), f1(bottom+2), colHighlight)
	text := p.hlText(false)
	anchor, tx := "start", x+5
	if x > (plotX0+plotX1)/2 {
		anchor, tx = "end", x-5
	}
	p.w(`<path d="M%s %sl-5 -7h10z" fill="%s"/>`, f1(x), f1(top-12), colHighlight)
	p.w(`<text class="hl" x="%s" y="%s" text-anchor="%s">%s</text></g>`+"\n", f1(tx), f1(top-30), anchor, esc(text))
}

// hlText describes the highlighted step: its first event, or all of them.
func (p *page) hlText(all bool) string {
	m := p.m
	s := fmt.Sprintf("step %d · %s", p.opt.Highlight, fmtDur(m.hlAt))
	if len(m.hlEvents) == 0 {
		return s
	}
	if all {
		return s + "\n" + strings.Join(m.hlEvents, "\n")
	}
	ev := m.hlEvents[0]
	if len(ev) > 90 {
		ev = ev[:87] + "…"
	}
	if len(m.hlEvents) > 1 {
		ev += fmt.Sprintf(" (+%d more)", len(m.hlEvents)-1)
	}
	return s + " · " + ev
}

// group is marks of one kind merged because they fall on the same pixels.
type group struct {
	kind  string
	at    time.Duration
	n     int
	label string
	lines []string
	hl    bool
}

func (p *page) groups(ms []mark) []*group {
	var gs []*group
	idx := map[string]*group{}
	for _, mk := range ms {
		key := mk.kind + "@" + strconv.Itoa(int(p.x(mk.at)/binPx))
		g := idx[key]
		if g == nil {
			g = &group{kind: mk.kind, at: mk.at, label: mk.label}
			idx[key] = g
			gs = append(gs, g)
		}
		g.n++
		if len(g.lines) < maxHint {
			g.lines = append(g.lines, mk.detail)
		}
		if p.opt.Highlight != 0 && mk.step == p.opt.Highlight {
			g.hl = true
		}
	}
	return gs
}

func (g *group) title() string {
	s := strings.Join(g.lines, "\n")
	if g.n > len(g.lines) {
		s += fmt.Sprintf("\n… and %d more", g.n-len(g.lines))
	}
	return s
}

// drawMarks draws marks in a lane: lines first, glyphs over them.
func (p *page) drawMarks(ms []mark, y float64, g laneGeom, lb *labeler) {
	gs := p.groups(ms)
	for pass := 0; pass < 2; pass++ {
		for _, gr := range gs {
			st := styleOf(gr.kind)
			isLine := st.shape == "vline" || st.shape == "vdash"
			if isLine != (pass == 0) {
				continue
			}
			p.drawGroup(gr, st, y, g, lb)
		}
	}
}

func (p *page) drawGroup(gr *group, st style, y float64, g laneGeom, lb *labeler) {
	x := p.x(gr.at)
	p.w(`<g><title>%s</title>`, esc(gr.title()))
	my := y + g.markY
	switch st.shape {
	case "vline", "vdash":
		dash := ""
		if st.shape == "vdash" {
			dash = ` stroke-dasharray="4 3"`
		}
		p.w(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`, f1(x), f1(x), f1(y+g.lineTop), f1(y+g.h-2), st.color, dash)
		// a wide invisible line makes the hover target easier to hit
		p.w(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="transparent" stroke-width="7"/>`, f1(x), f1(x), f1(y+g.lineTop), f1(y+g.h-2))
	case "retry":
		my = y + g.retryY
		p.glyph(st.shape, st.color, x, my)
	default:
		p.glyph(st.shape, st.color, x, my)
	}
	if gr.hl {
		p.w(`<circle cx="%s" cy="%s" r="8" fill="none" stroke="%s" stroke-width="2.5"/>`, f1(x), f1(my), colHighlight)
	}
	if st.label && gr.label != "" {
		text := gr.label
		if gr.n > 1 {
			text += fmt.Sprintf(" ×%d", gr.n)
		}
		if row, tx, end, ok := lb.place(x, text); ok {
			anchor := ""
			if end {
				anchor = ` text-anchor="end"`
			}
			p.w(`<text x="%s" y="%s"%s fill="%s" style="fill:%s">%s</text>`, f1(tx), f1(y+g.labelY[row]), anchor, st.color, labelColor(st.color), esc(text))
		}
	}
	p.w("</g>\n")
}

// labelColor darkens light mark colours so labels stay readable.
func labelColor(c string) string {
	switch c {
	case "#ff7f0e", "#ff8c00":
		return "#c25400"
	case "#17becf":
		return "#0e7f8c"
	case "#2ca02c":
		return "#1d7a1d"
	case "#999999":
		return "#666666"
	}
	return c
}

// glyph draws a mark's symbol centred at x, y.
func (p *page) glyph(shape, color string, x, y float64) {
	switch shape {
	case "tick":
		p.w(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2"/>`, f1(x), f1(x), f1(y-7), f1(y+7), color)
	case "tridown":
		p.w(`<path d="M%s %sl5 0l-5 8l-5 -8z" fill="%s"/>`, f1(x), f1(y-4), color)
	case "triup":
		p.w(`<path d="M%s %sl5 0l-5 -8l-5 8z" fill="none" stroke="%s" stroke-width="1.6"/>`, f1(x), f1(y+4), color)
	case "square":
		p.w(`<rect x="%s" y="%s" width="7" height="7" fill="%s"/>`, f1(x-3.5), f1(y-3.5), color)
	case "circle":
		p.w(`<circle cx="%s" cy="%s" r="4" fill="%s"/>`, f1(x), f1(y), color)
	case "diamond":
		p.w(`<path d="M%s %sl5 5l-5 5l-5 -5z" fill="%s"/>`, f1(x), f1(y-5), color)
	case "dot":
		p.w(`<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`, f1(x), f1(y), color)
	case "retry":
		p.w(`<path d="M%s %sl4 6h-8z" fill="%s"/>`, f1(x), f1(y-3), color)
	default:
		p.w(`<circle cx="%s" cy="%s" r="3" fill="%s"/>`, f1(x), f1(y), color)
	}
}

func (p *page) drawFaults(y float64, lb *labeler) {
	g := geomFaults
	inBand := map[time.Duration]string{} // faults labelled inside their band
	for _, w := range p.m.windows {
		x0, x1 := p.x(w.from), p.x(min(w.to, p.end))
		p.w(`<rect x="%s" y="%s" width="%s" height="16" rx="3" fill="#7b4fa0" fill-opacity="0.18" stroke="#7b4fa0" stroke-opacity="0.5"><title>%s</title></rect>`,
			f1(x0), f1(y+g.markY-8), f1(max(x1-x0, 1)), esc(w.label+" ("+fmtDur(w.from)+" – "+fmtDur(w.to)+")"))
		if x1-x0 > float64(utf8.RuneCountInString(w.label))*labelCW+16 {
			p.w(`<text x="%s" y="%s" style="fill:#5a3680">%s</text>`, f1(x0+9), f1(y+g.markY+3.5), esc(w.label))
			inBand[w.from] += w.label + "\n"
		}
		p.w("\n")
	}
	ms := make([]mark, len(p.m.faults))
	copy(ms, p.m.faults)
	for i := range ms {
		if strings.Contains(inBand[ms[i].at], ms[i].label+"\n") {
			ms[i].label = ""
		}
	}
	p.drawMarks(ms, y, g, lb)
}

func (p *page) drawFile(f *fileLane, y float64, lb *labeler) {
	g := geomFile
	barTop, barBot := y+24, y+g.h-4
	x0 := p.x(f.created)
	xl := p.x(p.end)
	if f.gone {
		xl = p.x(f.left)
	}
	p.w(`<rect x="%s" y="%s" width="%s" height="%s" fill="#dce9f7" stroke="#9bbbe0"><title>%s</title></rect>`,
		f1(x0), f1(barTop), f1(max(xl-x0, 1)), f1(barBot-barTop), esc(fmt.Sprintf("file %s at the path from %s to %s", f.id, fmtDur(f.created), fmtDur(p.endOf(f)))))
	if f.gone && f.movedTo != "" {
		xe := p.x(p.end)
		p.w(`<rect x="%s" y="%s" width="%s" height="%s" fill="url(#hatch)" stroke="#cccccc"><title>%s</title></rect>`,
			f1(xl), f1(barTop), f1(max(xe-xl, 1)), f1(barBot-barTop), esc("file "+f.id+" renamed to "+f.movedTo+" at "+fmtDur(f.left)))
		if xe-xl > 80 {
			p.w(`<text class="sub" x="%s" y="%s">%s</text>`, f1(xl+60), f1(barTop+11), esc("as "+f.movedTo))
		}
	}
	p.histogram(f.bytes, f.writes, nil, p.writeMax, barBot, barBot-barTop-2, colWrites, "written", "write")
	p.drawMarks(f.marks, y, g, lb)
}

func (p *page) endOf(f *fileLane) time.Duration {
	if f.gone {
		return f.left
	}
	return p.end
}

// histogram draws per-column sums of v (with counts n, and heartbeats hb
// if set) as bars on base, hmax high at most, with hover rectangles.
func (p *page) histogram(v, n, hb *hist, top, base, hmax float64, color, verb, unit string) {
	ncol := ncols
	cols := v.columns(ncol, p.end)
	cnt := n.columns(ncol, p.end)
	var hbs []float64
	if hb != nil {
		hbs = hb.columns(ncol, p.end)
	}
	var d strings.Builder
	if top > 0 {
		for i, c := range cols {
			if c <= 0 {
				continue
			}
			h := max(1.5, hmax*sqrtRatio(c, top))
			fmt.Fprintf(&d, "M%s %sh%dv-%sh-%dz", f1(plotX0+float64(i*colW)), f1(base), colW, f1(h), colW)
		}
		p.w(`<path d="%s" fill="%s"/>`+"\n", d.String(), color)
	}
	if hbs != nil {
		var hd strings.Builder
		for i, c := range hbs {
			if c > 0 {
				fmt.Fprintf(&hd, "M%s %sv5", f1(plotX0+float64(i*colW)+1), f1(base+1))
			}
		}
		if hd.Len() > 0 {
			p.w(`<path d="%s" stroke="%s" stroke-width="1.5"/>`+"\n", hd.String(), colHeartbeat)
		}
	}
	// hover rectangles, hoverCW columns each
	cw := float64(p.end) / float64(ncol)
	for i := 0; i < ncol; i += hoverCW {
		var sv, sn, sh float64
		for j := i; j < min(i+hoverCW, ncol); j++ {
			sv += cols[j]
			sn += cnt[j]
			if hbs != nil {
				sh += hbs[j]
			}
		}
		if sv < 0.5 && sh < 0.5 {
			continue
		}
		from, to := time.Duration(float64(i)*cw), time.Duration(float64(min(i+hoverCW, ncol))*cw)
		t := fmt.Sprintf("%s – %s: %s %s in %.0f %s(s)", fmtDur(from.Round(time.Millisecond)), fmtDur(to.Round(time.Millisecond)), fmtBytes(sv), verb, sn, unit)
		if hbs != nil {
			t += fmt.Sprintf(", %.0f heartbeat(s)", sh)
		}
		p.w(`<rect x="%s" y="%s" width="%d" height="%s" fill="transparent"><title>%s</title></rect>`,
			f1(plotX0+float64(i*colW)), f1(base-hmax), hoverCW*colW, f1(hmax+5), esc(t))
	}
	p.w("\n")
}

// ncols is the number of histogram columns.
const ncols = int((plotX1 - plotX0) / colW)

// colMax returns the largest column of any of hs, so that lanes of one
// sort share a scale.
func (p *page) colMax(hs []*hist) float64 {
	top := 0.0
	for _, h := range hs {
		for _, c := range h.columns(ncols, p.end) {
			top = max(top, c)
		}
	}
	return top
}

// sqrtRatio scales bar heights by the square root, so that small chunks
// stay visible next to large ones.
func sqrtRatio(v, top float64) float64 {
	if top <= 0 || v <= 0 {
		return 0
	}
	return math.Sqrt(v / top)
}

func (p *page) drawTail(y float64, lb *labeler) {
	g := geomTail
	colors := []string{"#5b8fd0", "#4aa3a0", "#8c74c4", "#c8875a"}
	for i, s := range p.m.gens {
		x0, x1 := p.x(s.from), p.x(s.to)
		c := colors[i%len(colors)]
		text := fmt.Sprintf("gen %d · file %s", s.gen, s.file)
		if f := p.m.fileIdx[s.file]; f != nil {
			text = fmt.Sprintf("gen %d · file #%d (%s)", s.gen, f.n, s.file)
		}
		p.w(`<rect x="%s" y="%s" width="%s" height="14" rx="2" fill="%s"><title>%s</title></rect>`,
			f1(x0), f1(y+g.markY-7), f1(max(x1-x0, 1)), c, esc(text+": "+fmtDur(s.from)+" – "+fmtDur(s.to)))
		if x1-x0 > float64(len(text))*5.8+8 {
			p.w(`<text class="in" x="%s" y="%s">%s</text>`, f1(x0+4), f1(y+g.markY+3.5), esc(text))
		}
		p.w("\n")
	}
	p.drawMarks(p.m.tail, y, g, lb)
}

func (p *page) drawTarget(t *targetLane, y float64, lb *labeler) {
	g := geomTarget
	for _, w := range p.m.windows {
		if !w.network || w.target != "" && w.target != t.name {
			continue
		}
		x0, x1 := p.x(w.from), p.x(min(w.to, p.end))
		p.w(`<rect x="%s" y="%s" width="%s" height="%s" fill="#d62728" fill-opacity="0.07"><title>%s</title></rect>`+"\n",
			f1(x0), f1(y+1), f1(max(x1-x0, 1)), f1(g.h-2), esc(w.label+" ("+fmtDur(w.from)+" – "+fmtDur(w.to)+")"))
	}
	base := y + g.h - 7
	p.w(`<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#d0d4da"/>`, plotX0, plotX1, f1(base), f1(base))
	p.histogram(t.bytes, t.chunks, t.hbs, p.chunkMax, base, base-(y+g.retryY+5), colChunks, "delivered", "chunk")
	p.drawMarks(t.marks, y, g, lb)
}

// legendEntry is one line of the legend.
type legendEntry struct {
	section, text, shape, color string
}

func legendEntries() []legendEntry {
	order := []string{"fault",
		"file-created", "file-renamed", "file-copied", "file-truncated", "file-deleted",
		"tail-opened", "tail-rotated", "tail-truncated", "tail-regrown", "tail-error", "tail-drain-expired", "tail-end", "fs",
		"net-drop-request", "net-drop-reply", "net-timeout", "net-unreachable", "retry", "net-duplicate", "msg-eof", "msg-abort",
		"recv-registered", "recv-done", "recv-done-bad", "recv-watchdog", "recv-shutdown", "recv-chunk-after-done",
		"sender-stop", "sender-abort", "sender-result"}
	var es []legendEntry
	for _, k := range order {
		s := styles[k]
		es = append(es, legendEntry{s.section, s.legend, s.shape, s.color})
	}
	extra := []legendEntry{
		{"Files", "bytes written (√-scaled bars)", "bar", colWrites},
		{"Files", "at the path / renamed away", "file", ""},
		{"Targets", "bytes delivered (√-scaled bars)", "bar", colChunks},
		{"Targets", "heartbeat delivered", "hb", colHeartbeat},
		{"Targets", "network fault window", "win", "#d62728"},
		{"Plan", "highlighted step", "vline", colHighlight},
	}
	return append(es, extra...)
}

// legendItem is a legend entry placed at x, y.
type legendItem struct {
	e       legendEntry
	x, y    float64
	heading bool
}

// legendLayout places the legend's sections side by side, each in columns
// of up to legendRows entries as wide as their longest text, wrapping to a
// new band when the plot's width is used up. It returns the items and the
// legend's height.
func legendLayout(es []legendEntry, top float64) ([]legendItem, float64) {
	const legendRows = 8
	var items []legendItem
	x, bandTop, bottom := float64(plotX0), top, top
	for _, sec := range []string{"Plan", "Files", "Tailer", "Targets", "Sender"} {
		var sel []legendEntry
		for _, e := range es {
			if e.section == sec {
				sel = append(sel, e)
			}
		}
		var widths []float64
		for i, e := range sel {
			c := i / legendRows
			if c == len(widths) {
				widths = append(widths, 0)
			}
			widths[c] = max(widths[c], float64(utf8.RuneCountInString(e.text))*6.2+34)
		}
		total := 0.0
		for _, w := range widths {
			total += w
		}
		if x > plotX0 && x+total > plotX1 {
			x, bandTop = plotX0, bottom+10
		}
		items = append(items, legendItem{e: legendEntry{text: sec}, x: x, y: bandTop + 8, heading: true})
		cx := x
		for c, w := range widths {
			for i := c * legendRows; i < min(len(sel), (c+1)*legendRows); i++ {
				y := bandTop + 24 + float64(i%legendRows)*16
				items = append(items, legendItem{e: sel[i], x: cx, y: y})
				bottom = max(bottom, y+6)
			}
			cx += w
		}
		x = cx + 10
	}
	return items, bottom - top + 8
}

func (p *page) legend(items []legendItem, top float64) {
	p.w(`<text class="lgh" x="8" y="%s">Legend</text>`+"\n", f1(top+8))
	p.w(`<text class="sub" x="8" y="%s">hover any mark for details</text>`+"\n", f1(top+22))
	for _, it := range items {
		if it.heading {
			p.w(`<text class="lgh" x="%s" y="%s">%s</text>`+"\n", f1(it.x), f1(it.y), esc(it.e.text))
			continue
		}
		p.legendIcon(it.e, it.x+8, it.y-4)
		p.w(`<text class="lg" x="%s" y="%s">%s</text>`+"\n", f1(it.x+20), f1(it.y), esc(it.e.text))
	}
}

func (p *page) legendIcon(e legendEntry, x, y float64) {
	switch e.shape {
	case "vline", "vdash":
		dash := ""
		if e.shape == "vdash" {
			dash = ` stroke-dasharray="3 2"`
		}
		p.w(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`, f1(x), f1(x), f1(y-7), f1(y+7), e.color, dash)
	case "bar":
		p.w(`<path d="M%s %sh2v-6h-2zM%s %sh2v-11h-2zM%s %sh2v-4h-2z" fill="%s"/>`, f1(x-5), f1(y+6), f1(x-1), f1(y+6), f1(x+3), f1(y+6), e.color)
	case "file":
		p.w(`<rect x="%s" y="%s" width="8" height="10" fill="#dce9f7" stroke="#9bbbe0"/><rect x="%s" y="%s" width="8" height="10" fill="url(#hatch)" stroke="#cccccc"/>`, f1(x-8), f1(y-5), f1(x), f1(y-5))
	case "hb":
		p.w(`<path d="M%s %sv4M%s %sv4M%s %sv4" stroke="%s" stroke-width="1.5"/>`, f1(x-4), f1(y), f1(x), f1(y), f1(x+4), f1(y), e.color)
	case "win":
		p.w(`<rect x="%s" y="%s" width="14" height="10" fill="%s" fill-opacity="0.15"/>`, f1(x-7), f1(y-5), e.color)
	default:
		p.glyph(e.shape, e.color, x, y)
	}
}

// tables writes the events tables under the timeline.
func (p *page) tables() {
	m := p.m
	if p.opt.Highlight != 0 && m.hlFound {
		p.w("<h2>Around step %d</h2>\n<table><tr><th>step</th><th>time</th><th>event</th></tr>\n", p.opt.Highlight)
		if len(m.hlEvents) > 0 {
			for _, ev := range m.hlEvents {
				p.w(`<tr class="h"><td class="n">%d</td><td class="n">%s</td><td><code>%s</code></td></tr>`+"\n", p.opt.Highlight, esc(fmtDur(m.hlAt)), esc(ev))
			}
		}
		for _, mk := range append(append([]mark{}, m.before...), m.after...) {
			if mk.step == p.opt.Highlight {
				continue
			}
			p.row(mk, false)
		}
		p.w("</table>\n")
	}
	open := ""
	if m.nNotable <= 120 {
		open = " open"
	}
	p.w("<details%s><summary><b>Events</b> (%d, without routine writes, sends, deliveries and replies)</summary>\n<table><tr><th>step</th><th>time</th><th>event</th></tr>\n", open, m.nNotable)
	for _, mk := range m.notable {
		p.row(mk, mk.step == p.opt.Highlight && p.opt.Highlight != 0)
	}
	if m.nNotable > len(m.notable) {
		p.w(`<tr><td></td><td></td><td>… and %d more</td></tr>`+"\n", m.nNotable-len(m.notable))
	}
	p.w("</table></details>\n")
}

func (p *page) row(mk mark, hl bool) {
	cls := ""
	if hl {
		cls = ` class="h"`
	}
	// detail is "step N · t · actor ev fields"
	parts := strings.SplitN(mk.detail, " · ", 3)
	ev := mk.detail
	if len(parts) == 3 {
		ev = parts[2]
	}
	p.w(`<tr%s><td class="n">%d</td><td class="n">%s</td><td><code>%s</code></td></tr>`+"\n", cls, mk.step, esc(fmtDur(mk.at)), esc(ev))
}

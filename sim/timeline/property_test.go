package timeline

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// events are trace line bodies of every actor the simulator writes, with
// fields drawn by the property below.
var events = []func(t *rapid.T) string{
	func(t *rapid.T) string {
		return `"actor":"writer","ev":"write","pos":` + num(t, "pos") + `,"len":` + num(t, "len") + `,"file":"1:` + small(t) + `","foff":` + num(t, "foff")
	},
	func(t *rapid.T) string {
		k := rapid.SampledFrom([]string{"created", "renamed", "copied", "truncated", "deleted"}).Draw(t, "file-ev")
		return `"actor":"file","ev":"` + k + `","file":"1:` + small(t) + `","size":` + num(t, "size") + `,"to":"/logs/app.log.1","cause":"<&>\"x"`
	},
	func(t *rapid.T) string {
		k := rapid.SampledFrom([]string{"opened", "rotated", "truncated", "regrown", "error", "drain-expired", "end", "capped", "gave-up"}).Draw(t, "tail-ev")
		return `"actor":"tail","ev":"` + k + `","file":"1:` + small(t) + `","gen":` + small(t) + `,"foff":` + num(t, "foff") + `,"off":` + num(t, "off")
	},
	func(t *rapid.T) string {
		k := rapid.SampledFrom([]string{"send", "deliver", "reply", "drop-request", "drop-reply", "timeout", "unreachable", "duplicate", "stale"}).Draw(t, "net-ev")
		m := rapid.SampledFrom([]string{"data", "heartbeat", "eof", "abort"}).Draw(t, "msg")
		return `"actor":"net","ev":"` + k + `","target":"r` + small(t) + `","msg":"` + m + `","seq":` + num(t, "seq") + `,"off":` + num(t, "off") + `,"len":` + num(t, "len")
	},
	func(t *rapid.T) string {
		k := rapid.SampledFrom([]string{"registered", "created", "done", "watchdog", "shutdown", "chunk-after-done"}).Draw(t, "recv-ev")
		return `"actor":"recv","ev":"` + k + `","target":"r` + small(t) + `","rc":"TIMEOUT"`
	},
	func(t *rapid.T) string {
		k := rapid.SampledFrom([]string{"stop", "abort", "crash", "result"}).Draw(t, "sender-ev")
		return `"actor":"sender","ev":"` + k + `","rc":"OK"`
	},
	func(t *rapid.T) string {
		return `"actor":"fault","ev":"rotate","fault":"at 1s rotate keep=` + small(t) + `"`
	},
	func(t *rapid.T) string { return `"actor":"something-new","ev":"odd"` },
}

func num(t *rapid.T, name string) string { return strconv.Itoa(rapid.IntRange(0, 1<<30).Draw(t, name)) }
func small(t *rapid.T) string            { return strconv.Itoa(rapid.IntRange(0, 5).Draw(t, "small")) }

// TestPageProperty: any trace the simulator could write, in any order of
// actors, renders to one well-formed, self-contained page, and the
// highlighted step, when it exists, is drawn.
func TestPageProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 60).Draw(t, "lines")
		var b strings.Builder
		at := time.Duration(0)
		for i := range n {
			at += time.Duration(rapid.IntRange(0, 5000).Draw(t, "gap-ms")) * time.Millisecond
			body := rapid.SampledFrom(events).Draw(t, "event")(t)
			b.WriteString(`{"step":` + strconv.Itoa(i+1) + `,"t":"` + at.String() + `",` + body + "}\n")
		}
		hl := int64(0)
		if n > 0 {
			hl = int64(rapid.IntRange(0, n).Draw(t, "highlight"))
		}
		var out bytes.Buffer
		if err := Write(&out, strings.NewReader(b.String()), Options{Title: "prop <&>", Highlight: hl}); err != nil {
			t.Fatalf("Write: %v\n%s", err, b.String())
		}
		checkPage(tb{t}, out.String())
	})
}

// tb lets checkPage, written for *testing.T, run inside a rapid check.
type tb struct{ *rapid.T }

func (tb) Helper() {}

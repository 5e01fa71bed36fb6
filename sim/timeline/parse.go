package timeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// event is one trace line, decoded into the fields the page uses.
type event struct {
	Step   int64  `json:"step"`
	T      string `json:"t"`
	Actor  string `json:"actor"`
	Ev     string `json:"ev"`
	File   string `json:"file"`
	To     string `json:"to"`
	Cause  string `json:"cause"`
	Target string `json:"target"`
	Msg    string `json:"msg"`
	RC     string `json:"rc"`
	Err    string `json:"err"`
	Fault  string `json:"fault"`
	Why    string `json:"why"`
	Gen    int64  `json:"gen"`
	Off    int64  `json:"off"`
	Len    int64  `json:"len"`
	Size   int64  `json:"size"`

	Written int64 `json:"written"`

	at time.Duration
}

// parseLine decodes one trace line.
func parseLine(b []byte) (event, error) {
	var e event
	if err := json.Unmarshal(b, &e); err != nil {
		return e, err
	}
	if e.Actor == "" || e.Ev == "" {
		return e, fmt.Errorf("no actor or ev")
	}
	d, err := time.ParseDuration(e.T)
	if err != nil {
		return e, fmt.Errorf("bad time %q: %w", e.T, err)
	}
	e.at = d
	return e, nil
}

// details formats a trace line's fields other than step, t, actor and ev
// as "k=v" pairs in the line's order, leaving out empty strings. It is only
// called for the few events the page describes in full.
func details(line []byte) string {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	var b strings.Builder
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			break
		}
		k, _ := kt.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		switch k {
		case "step", "t", "actor", "ev":
			continue
		}
		var s string
		switch v := v.(type) {
		case string:
			if v == "" {
				continue
			}
			s = v
		case json.Number:
			s = v.String()
		case bool:
			s = strconv.FormatBool(v)
		case nil:
			continue
		default:
			bs, _ := json.Marshal(v)
			s = string(bs)
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(s)
	}
	return b.String()
}

// resultRCs returns the per-target return codes of a sender result line:
// every string field that is not one of the common ones, in line order.
func resultRCs(line []byte) string {
	d := details(line)
	var parts []string
	for _, kv := range strings.Fields(d) {
		if strings.HasPrefix(kv, "rc=") {
			continue
		}
		parts = append(parts, strings.Replace(kv, "=", " ", 1))
	}
	return strings.Join(parts, ", ")
}

// faultParam returns the value of "key=" in a fault's plan text.
func faultParam(fault, key string) string {
	for _, f := range strings.Fields(fault) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// faultLabel is a fault's plan text without its leading "at T".
func faultLabel(fault string) string {
	f := strings.Fields(fault)
	if len(f) >= 3 && f[0] == "at" {
		return strings.Join(f[2:], " ")
	}
	return fault
}

// fmtDur formats a duration for axis ticks and labels: "1m30s", "2m", "1h5m".
func fmtDur(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if d >= time.Minute && d%time.Minute == 0 {
		s = strings.TrimSuffix(s, "0s")
		if d%time.Hour == 0 {
			s = strings.TrimSuffix(s, "0m")
		}
	}
	return s
}

// fmtBytes formats a byte count: "812 B", "12.3 KB", "4.1 MB".
func fmtBytes(n float64) string {
	switch {
	case n < 1000:
		return strconv.FormatFloat(n, 'f', 0, 64) + " B"
	case n < 1e6:
		return strconv.FormatFloat(n/1e3, 'f', 1, 64) + " KB"
	default:
		return strconv.FormatFloat(n/1e6, 'f', 1, 64) + " MB"
	}
}

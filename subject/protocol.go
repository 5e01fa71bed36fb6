package subject

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Version is the protocol version this harness speaks (PROTOCOL.md).
const Version = 1

// MaxLine bounds one protocol line, newline excluded. A longer line is a
// protocol error.
const MaxLine = 4 << 20

// Errors.
var (
	// ErrProtocol is wrapped by every error about a line a site wrote.
	ErrProtocol = errors.New("protocol error")
	// ErrSite is wrapped by errors about a site process itself (it could not
	// start, crashed, or did not answer in time).
	ErrSite = errors.New("site failed")
)

// Line types. Harness to site: init, deliver, reply, register, stop, abort,
// shutdown, exit. Site to harness: init_ok, send, reply, open, chunk, done,
// result, error.
const (
	TInit     = "init"
	TInitOK   = "init_ok"
	TDeliver  = "deliver"
	TReply    = "reply"
	TRegister = "register"
	TStop     = "stop"
	TAbort    = "abort"
	TShutdown = "shutdown"
	TExit     = "exit"
	TSend     = "send"
	TOpen     = "open"
	TChunk    = "chunk"
	TDone     = "done"
	TResult   = "result"
	TError    = "error"
)

// Role of a site.
const (
	RoleSender   = "sender"
	RoleReceiver = "receiver"
)

// Options are the declared configuration the harness hands a site, already
// divided by the run's time factor. Durations are in milliseconds (floats,
// so that scaled values below 1 ms survive).
type Options struct {
	PollIntervalMS     float64 `json:"poll_interval_ms,omitempty"`
	LivenessIntervalMS float64 `json:"liveness_interval_ms,omitempty"`
	ChunkSize          int     `json:"chunk_size,omitempty"`
	ChunkTimeoutMS     float64 `json:"chunk_timeout_ms,omitempty"`
	DrainWindowMS      float64 `json:"drain_window_ms,omitempty"`
	RetryBackoffMS     float64 `json:"retry_backoff_ms,omitempty"`
	MaxRetryBackoffMS  float64 `json:"max_retry_backoff_ms,omitempty"`
	RetryLimit         int     `json:"retry_limit,omitempty"`
	NotReadyTimeoutMS  float64 `json:"not_ready_timeout_ms,omitempty"`
	IdleTimeoutMS      float64 `json:"idle_timeout_ms"`
}

// Meta describes a message for the record. The harness never interprets a
// body; Meta is the adapter's description of it (what kind of message, which
// sequence number, which bytes) and is used only in traces and to classify
// network events (an abort message excuses a TASK_ABORTED done).
type Meta struct {
	Kind   string `json:"kind,omitempty"` // data, heartbeat, eof, abort, other
	Seq    uint64 `json:"seq,omitempty"`
	Offset int64  `json:"offset,omitempty"`
	Len    int    `json:"len,omitempty"`
	// RC, on a receiver's reply line, is the engine's answer code (OK,
	// NOT_READY, EXECUTION_EXCEPTION, ...), for the record.
	RC string `json:"rc,omitempty"`
}

// Line is one protocol line, either direction. Only the fields of its type
// are set; see PROTOCOL.md for which.
type Line struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol,omitempty"`

	// init
	Site    string   `json:"site,omitempty"`
	Role    string   `json:"role,omitempty"`
	Targets []string `json:"targets,omitempty"`
	Channel string   `json:"channel,omitempty"`
	Topic   string   `json:"topic,omitempty"`
	File    string   `json:"file,omitempty"`
	Options *Options `json:"options,omitempty"`
	// Register is false when the receiver must not register its handler
	// until a register line arrives.
	Register *bool `json:"register,omitempty"`

	// send, deliver, reply
	ID    uint64          `json:"id,omitempty"`
	To    string          `json:"to,omitempty"`
	From  string          `json:"from,omitempty"`
	Body  json.RawMessage `json:"body,omitempty"`
	Reply *bool           `json:"reply,omitempty"`
	Meta  *Meta           `json:"meta,omitempty"`

	// open, chunk, done
	Stream string `json:"stream,omitempty"`
	Offset int64  `json:"offset,omitempty"`
	Data   []byte `json:"data,omitempty"`
	RC     string `json:"rc,omitempty"`

	// result: rc above, plus one code per target
	Results map[string]string `json:"results,omitempty"`

	// error
	Text string `json:"text,omitempty"`
}

// wantsReply reports whether a send or deliver expects a reply (default yes).
func (l *Line) wantsReply() bool { return l.Reply == nil || *l.Reply }

// fieldsByType lists the fields each site-to-harness type requires.
var siteTypes = map[string]bool{
	TInitOK: true, TSend: true, TReply: true, TOpen: true, TChunk: true,
	TDone: true, TResult: true, TError: true,
}

// ParseLine decodes one line a site wrote and checks it is well-formed for
// its type. Errors wrap ErrProtocol and quote the start of the line.
func ParseLine(b []byte) (*Line, error) {
	if len(b) > MaxLine {
		return nil, fmt.Errorf("%w: line of %d bytes exceeds the limit of %d: %s", ErrProtocol, len(b), MaxLine, Quote(b))
	}
	var l Line
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object (%v): %s", ErrProtocol, err, Quote(b))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object: %s", ErrProtocol, Quote(b))
	}
	if l.Type == "" {
		return nil, fmt.Errorf("%w: no \"type\": %s", ErrProtocol, Quote(b))
	}
	if !siteTypes[l.Type] {
		return nil, fmt.Errorf("%w: unknown type %q: %s", ErrProtocol, l.Type, Quote(b))
	}
	var missing string
	switch l.Type {
	case TInitOK:
		if l.Protocol != Version {
			return nil, fmt.Errorf("%w: site speaks protocol version %d, the harness speaks %d: %s", ErrProtocol, l.Protocol, Version, Quote(b))
		}
	case TSend:
		switch {
		case l.ID == 0:
			missing = "id"
		case l.To == "":
			missing = "to"
		case len(l.Body) == 0:
			missing = "body"
		}
	case TReply:
		switch {
		case l.ID == 0:
			missing = "id"
		case len(l.Body) == 0:
			missing = "body"
		}
	case TOpen, TChunk:
		if l.Stream == "" {
			missing = "stream"
		}
	case TDone:
		switch {
		case l.Stream == "":
			missing = "stream"
		case l.RC == "":
			missing = "rc"
		}
	case TResult:
		if l.RC == "" {
			missing = "rc"
		}
	}
	if missing != "" {
		return nil, fmt.Errorf("%w: %s line without %q: %s", ErrProtocol, l.Type, missing, Quote(b))
	}
	if l.Type == TChunk && l.Offset < 0 {
		return nil, fmt.Errorf("%w: chunk with negative offset: %s", ErrProtocol, Quote(b))
	}
	return &l, nil
}

// Quote returns the start of a line for an error message.
func Quote(b []byte) string {
	const max = 120
	s := string(b)
	if len(s) > max {
		s = s[:max] + "..."
	}
	s = strings.Map(func(r rune) rune {
		if r < ' ' {
			return ' '
		}
		return r
	}, strings.TrimRight(s, "\r\n"))
	return "line `" + s + "`"
}

// encode returns l as one line with its newline.
func encode(l *Line) []byte {
	b, err := json.Marshal(l)
	if err != nil {
		panic("subject: encode: " + err.Error()) // only our own types
	}
	return append(b, '\n')
}

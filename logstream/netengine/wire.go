package netengine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Wire format. Every frame is a fixed 20-byte header followed by a body:
//
//	0  4  magic "LSN" and protocol version (1)
//	4  1  frame type: 1 request (a logstream.Message), 2 reply (a logstream.Reply)
//	5  3  reserved, zero
//	8  8  request ID (big endian); a reply carries the ID of its request
//	16 4  body length (big endian), at most the receiver's MaxFrame
//
// A request body is
//
//	str16 stream ID, str16 channel, str16 topic, u64 seq, u8 kind,
//	i64 offset, i64 size, u8 has-context (0 or 1),
//	[u16 n, n × (str16 key, str16 value), keys strictly increasing],
//	data (the rest of the body)
//
// and a reply body is
//
//	str8 return code, i64 next, u8 closed (0 or 1)
//
// where strN is an N-bit big-endian length followed by that many bytes.
// Every field has exactly one encoding, so a decoded frame encodes to the
// bytes it was decoded from.
const (
	// HeaderSize is the size of a frame header.
	HeaderSize = 20
	// Version is the protocol version this package speaks.
	Version = 1
	// DefaultMaxFrame is the default bound on a frame body: a 16 MiB chunk
	// and its metadata.
	DefaultMaxFrame = 16<<20 + 1<<20
	// MaxString bounds the stream ID, channel, topic and each context key
	// and value.
	MaxString = 4096
	// MaxContext bounds the number of stream context entries.
	MaxContext = 256
	// maxRC bounds a reply's return code.
	maxRC = 64
)

var magic = [3]byte{'L', 'S', 'N'}

// FrameType says what a frame carries.
type FrameType uint8

// Frame types.
const (
	FrameRequest FrameType = 1
	FrameReply   FrameType = 2
)

// Decoding errors. Each error returned by the decoder wraps one of them.
var (
	// ErrBadMagic: the bytes are not a frame of this protocol.
	ErrBadMagic = errors.New("netengine: bad frame magic")
	// ErrVersion: a frame of another protocol version.
	ErrVersion = errors.New("netengine: unsupported protocol version")
	// ErrFrameTooLarge: the declared body length exceeds the maximum.
	ErrFrameTooLarge = errors.New("netengine: frame too large")
	// ErrTruncated: the input ended inside a frame.
	ErrTruncated = errors.New("netengine: truncated frame")
	// ErrMalformed: a header or body field is invalid.
	ErrMalformed = errors.New("netengine: malformed frame")
)

// Header is a decoded frame header.
type Header struct {
	Type FrameType
	ID   uint64
	Len  int
}

// Frame is one decoded frame: Msg for a request, Reply for a reply.
type Frame struct {
	Header
	Msg   *logstream.Message
	Reply logstream.Reply
}

// ParseHeader decodes a frame header and checks the body length against
// maxFrame (DefaultMaxFrame when <= 0) before anything is allocated for it.
func ParseHeader(b []byte, maxFrame int) (Header, error) {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d of %d header bytes", ErrTruncated, len(b), HeaderSize)
	}
	if b[0] != magic[0] || b[1] != magic[1] || b[2] != magic[2] {
		return Header{}, fmt.Errorf("%w: % x", ErrBadMagic, b[:3])
	}
	if b[3] != Version {
		return Header{}, fmt.Errorf("%w: %d (want %d)", ErrVersion, b[3], Version)
	}
	h := Header{Type: FrameType(b[4]), ID: binary.BigEndian.Uint64(b[8:16])}
	if h.Type != FrameRequest && h.Type != FrameReply {
		return Header{}, fmt.Errorf("%w: frame type %d", ErrMalformed, b[4])
	}
	if b[5]|b[6]|b[7] != 0 {
		return Header{}, fmt.Errorf("%w: reserved header bytes set", ErrMalformed)
	}
	n := binary.BigEndian.Uint32(b[16:20])
	if uint64(n) > uint64(maxFrame) {
		return Header{}, fmt.Errorf("%w: body of %d bytes, limit %d", ErrFrameTooLarge, n, maxFrame)
	}
	h.Len = int(n)
	return h, nil
}

func putHeader(b []byte, t FrameType, id uint64, n int) {
	b[0], b[1], b[2], b[3] = magic[0], magic[1], magic[2], Version
	b[4], b[5], b[6], b[7] = byte(t), 0, 0, 0
	binary.BigEndian.PutUint64(b[8:16], id)
	binary.BigEndian.PutUint32(b[16:20], uint32(n))
}

// Decode decodes the frame at the start of b, allowing bodies of up to
// maxFrame bytes, and returns it with the number of bytes it took. A
// request's Data aliases b.
func Decode(b []byte, maxFrame int) (Frame, int, error) {
	h, err := ParseHeader(b, maxFrame)
	if err != nil {
		return Frame{}, 0, err
	}
	end := HeaderSize + h.Len
	if len(b) < end {
		return Frame{}, 0, fmt.Errorf("%w: %d of %d body bytes", ErrTruncated, len(b)-HeaderSize, h.Len)
	}
	f, err := decodeBody(h, b[HeaderSize:end])
	if err != nil {
		return Frame{}, 0, err
	}
	return f, end, nil
}

func decodeBody(h Header, body []byte) (Frame, error) {
	f := Frame{Header: h}
	var err error
	switch h.Type {
	case FrameRequest:
		f.Msg, err = DecodeRequest(body)
	case FrameReply:
		f.Reply, err = DecodeReply(body)
	}
	return f, err
}

// ReadFrame reads one frame from r. hdr is scratch space for the header; the
// body is allocated only after its length was checked against maxFrame. At a
// clean end of input it returns io.EOF.
func ReadFrame(r io.Reader, hdr *[HeaderSize]byte, maxFrame int) (Frame, error) {
	h, body, err := readRaw(r, hdr, maxFrame)
	if err != nil {
		return Frame{}, err
	}
	return decodeBody(h, body)
}

// readRaw reads a header and its body, not decoding the body.
func readRaw(r io.Reader, hdr *[HeaderSize]byte, maxFrame int) (Header, []byte, error) {
	h, err := readHeader(r, hdr, maxFrame)
	if err != nil {
		return Header{}, nil, err
	}
	body, err := readBody(r, h, nil)
	if err != nil {
		return Header{}, nil, err
	}
	return h, body, nil
}

// readHeader reads and checks a frame header.
func readHeader(r io.Reader, hdr *[HeaderSize]byte, maxFrame int) (Header, error) {
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return Header{}, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return Header{}, fmt.Errorf("%w: %d of %d header bytes", ErrTruncated, n, HeaderSize)
		}
		return Header{}, err
	}
	return ParseHeader(hdr[:], maxFrame)
}

// readBody reads h's body into buf when it is large enough (the body then
// aliases buf), into a new slice otherwise.
func readBody(r io.Reader, h Header, buf []byte) ([]byte, error) {
	var body []byte
	if cap(buf) >= h.Len {
		body = buf[:h.Len]
	} else {
		body = make([]byte, h.Len)
	}
	if n, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: %d of %d body bytes", ErrTruncated, n, h.Len)
		}
		return nil, err
	}
	return body, nil
}

// decoder reads fields from a body; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail("%s: need %d bytes, %d left", what, n, len(d.b))
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8(what string) uint8 {
	if v := d.take(1, what); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if v := d.take(2, what); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if v := d.take(8, what); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) str16(what string) string {
	n := int(d.u16(what))
	if n > MaxString {
		d.fail("%s: %d bytes, limit %d", what, n, MaxString)
		return ""
	}
	return string(d.take(n, what))
}

func (d *decoder) bool(what string) bool {
	switch v := d.u8(what); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("%s: %d is not 0 or 1", what, v)
		return false
	}
}

// DecodeRequest decodes a request body. Data aliases body.
func DecodeRequest(body []byte) (*logstream.Message, error) {
	d := decoder{b: body}
	m := &logstream.Message{}
	m.StreamID = d.str16("stream id")
	m.Channel = d.str16("channel")
	m.Topic = d.str16("topic")
	m.Seq = d.u64("seq")
	m.Kind = logstream.Kind(d.u8("kind"))
	m.Offset = int64(d.u64("offset"))
	size := int64(d.u64("size"))
	if size < math.MinInt || size > math.MaxInt {
		d.fail("size %d out of range", size)
	}
	m.Size = int(size)
	if d.bool("has context") {
		n := int(d.u16("context entries"))
		if n > MaxContext {
			d.fail("%d context entries, limit %d", n, MaxContext)
			n = 0
		}
		m.Ctx = make(logstream.StreamContext, n)
		prev := ""
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str16("context key")
			v := d.str16("context value")
			if i > 0 && k <= prev {
				d.fail("context keys not strictly increasing at %q", k)
			}
			m.Ctx[k], prev = v, k
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if m.Kind < logstream.KindData || m.Kind > logstream.KindAbort {
		return nil, fmt.Errorf("%w: unknown message kind %d", ErrMalformed, uint8(m.Kind))
	}
	if len(d.b) > 0 {
		m.Data = d.b
	}
	return m, nil
}

// DecodeReply decodes a reply body.
func DecodeReply(body []byte) (logstream.Reply, error) {
	d := decoder{b: body}
	n := int(d.u8("return code"))
	if n > maxRC {
		d.fail("return code of %d bytes, limit %d", n, maxRC)
	}
	var r logstream.Reply
	r.RC = logstream.ReturnCode(d.take(n, "return code"))
	r.Next = int64(d.u64("next"))
	r.Closed = d.bool("closed")
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the reply", len(d.b))
	}
	if d.err != nil {
		return logstream.Reply{}, d.err
	}
	return r, nil
}

// ErrEncode wraps every encoding error: a field over its limit.
var ErrEncode = errors.New("netengine: cannot encode")

func appendStr16(b []byte, s, what string) ([]byte, error) {
	if len(s) > MaxString {
		return b, fmt.Errorf("%w: %s of %d bytes, limit %d", ErrEncode, what, len(s), MaxString)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...), nil
}

// AppendRequestHead appends the header and the metadata of a request for m,
// everything but m.Data, which must follow it on the wire.
func AppendRequestHead(b []byte, id uint64, m *logstream.Message) ([]byte, error) {
	start := len(b)
	b = append(b, make([]byte, HeaderSize)...)
	var err error
	for _, f := range []struct{ s, what string }{{m.StreamID, "stream id"}, {m.Channel, "channel"}, {m.Topic, "topic"}} {
		if b, err = appendStr16(b, f.s, f.what); err != nil {
			return b[:start], err
		}
	}
	b = binary.BigEndian.AppendUint64(b, m.Seq)
	b = append(b, byte(m.Kind))
	b = binary.BigEndian.AppendUint64(b, uint64(m.Offset))
	b = binary.BigEndian.AppendUint64(b, uint64(int64(m.Size)))
	if m.Ctx == nil {
		b = append(b, 0)
	} else {
		if len(m.Ctx) > MaxContext {
			return b[:start], fmt.Errorf("%w: %d context entries, limit %d", ErrEncode, len(m.Ctx), MaxContext)
		}
		b = append(b, 1)
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.Ctx)))
		keys := make([]string, 0, len(m.Ctx))
		for k := range m.Ctx {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, strings.Compare)
		for _, k := range keys {
			if b, err = appendStr16(b, k, "context key"); err != nil {
				return b[:start], err
			}
			if b, err = appendStr16(b, m.Ctx[k], "context value"); err != nil {
				return b[:start], err
			}
		}
	}
	n := len(b) - start - HeaderSize + len(m.Data)
	if n > math.MaxUint32 {
		return b[:start], fmt.Errorf("%w: body of %d bytes", ErrEncode, n)
	}
	putHeader(b[start:], FrameRequest, id, n)
	return b, nil
}

// AppendRequest appends a whole request frame for m.
func AppendRequest(b []byte, id uint64, m *logstream.Message) ([]byte, error) {
	b, err := AppendRequestHead(b, id, m)
	if err != nil {
		return b, err
	}
	return append(b, m.Data...), nil
}

// AppendReply appends a reply frame.
func AppendReply(b []byte, id uint64, r logstream.Reply) ([]byte, error) {
	if len(r.RC) > maxRC {
		return b, fmt.Errorf("%w: return code of %d bytes", ErrEncode, len(r.RC))
	}
	start := len(b)
	b = append(b, make([]byte, HeaderSize)...)
	b = append(b, byte(len(r.RC)))
	b = append(b, r.RC...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Next))
	closed := byte(0)
	if r.Closed {
		closed = 1
	}
	b = append(b, closed)
	putHeader(b[start:], FrameReply, id, len(b)-start-HeaderSize)
	return b, nil
}

// Encode appends f (as Decode returns it) to b.
func Encode(b []byte, f Frame) ([]byte, error) {
	switch f.Type {
	case FrameRequest:
		if f.Msg == nil {
			return b, fmt.Errorf("%w: request without a message", ErrEncode)
		}
		return AppendRequest(b, f.ID, f.Msg)
	case FrameReply:
		return AppendReply(b, f.ID, f.Reply)
	}
	return b, fmt.Errorf("%w: frame type %d", ErrEncode, f.Type)
}

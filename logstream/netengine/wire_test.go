package netengine

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/logstream-sim/logstream-sim/logstream"
)

func sampleFrames(t testing.TB) [][]byte {
	msgs := []*logstream.Message{
		{StreamID: "s-1", Channel: "log_streaming", Topic: "live_log", Seq: 0, Kind: logstream.KindData,
			Offset: 0, Size: 5, Data: []byte("hello"),
			Ctx: logstream.StreamContext{logstream.KeyFileName: "app.log", "job": "42"}},
		{StreamID: "s-1", Channel: "c", Topic: "t", Seq: 7, Kind: logstream.KindHeartbeat, Offset: 5},
		{StreamID: "s-1", Channel: "c", Topic: "t", Seq: 8, Kind: logstream.KindEOF, Offset: 5, Ctx: logstream.StreamContext{}},
		{StreamID: "s-2", Channel: "c", Topic: "t", Seq: 1, Kind: logstream.KindAbort, Offset: -1},
		{StreamID: "s-3", Channel: "c", Topic: "t", Kind: logstream.KindData, Offset: 1 << 40, Size: 99, Data: []byte("lying size")},
	}
	var out [][]byte
	for i, m := range msgs {
		b, err := AppendRequest(nil, uint64(i+1), m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for i, r := range []logstream.Reply{{}, {RC: logstream.OK, Next: 5}, {RC: logstream.NotReady},
		{RC: logstream.TaskAborted, Next: 1 << 50, Closed: true}} {
		b, err := AppendReply(nil, uint64(100+i), r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	m := &logstream.Message{StreamID: "id", Channel: "ch", Topic: "tp", Seq: 3, Kind: logstream.KindData,
		Offset: 10, Size: 3, Data: []byte("abc"), Ctx: logstream.StreamContext{"b": "2", "a": "1", "": ""}}
	b, err := AppendRequest(nil, 77, m)
	if err != nil {
		t.Fatal(err)
	}
	f, n, err := Decode(b, 0)
	if err != nil || n != len(b) {
		t.Fatalf("decode: %v n=%d len=%d", err, n, len(b))
	}
	if f.Type != FrameRequest || f.ID != 77 || !reflect.DeepEqual(f.Msg, m) {
		t.Fatalf("got %+v %+v", f.Header, f.Msg)
	}
	r := logstream.Reply{RC: logstream.Timeout, Next: -3, Closed: true}
	b, _ = AppendReply(nil, 9, r)
	f, _, err = Decode(b, 0)
	if err != nil || f.Reply != r || f.ID != 9 {
		t.Fatalf("reply %+v %v", f, err)
	}
	// A stream of frames through ReadFrame.
	var all []byte
	for _, fr := range sampleFrames(t) {
		all = append(all, fr...)
	}
	br := bufio.NewReader(bytes.NewReader(all))
	var hdr [HeaderSize]byte
	for i := range sampleFrames(t) {
		if _, err := ReadFrame(br, &hdr, 0); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if _, err := ReadFrame(br, &hdr, 0); err != io.EOF {
		t.Fatalf("at end: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := sampleFrames(t)[0]
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short header", good[:10], ErrTruncated},
		{"short body", good[:len(good)-1], ErrTruncated},
		{"magic", mut(func(b []byte) []byte { b[0] = 'X'; return b }), ErrBadMagic},
		{"version", mut(func(b []byte) []byte { b[3] = 2; return b }), ErrVersion},
		{"type", mut(func(b []byte) []byte { b[4] = 9; return b }), ErrMalformed},
		{"reserved", mut(func(b []byte) []byte { b[6] = 1; return b }), ErrMalformed},
		{"oversized", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[16:], 0xffffffff); return b }), ErrFrameTooLarge},
		{"kind", mut(func(b []byte) []byte {
			// kind byte: after 3 strings and seq
			off := HeaderSize + 2 + 3 + 2 + len("log_streaming") + 2 + len("live_log") + 8
			b[off] = 0
			return b
		}), ErrMalformed},
		{"long string", mut(func(b []byte) []byte { binary.BigEndian.PutUint16(b[HeaderSize:], MaxString+1); return b }), ErrMalformed},
		{"string past body", mut(func(b []byte) []byte { binary.BigEndian.PutUint16(b[HeaderSize:], 4000); return b }), ErrMalformed},
		{"garbage", []byte(strings.Repeat("\xff", 64)), ErrBadMagic},
	}
	for _, c := range cases {
		_, _, err := Decode(c.b, 0)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		_, err = ReadFrame(bytes.NewReader(c.b), new([HeaderSize]byte), 0)
		if c.name != "empty" && !errors.Is(err, c.want) {
			t.Errorf("%s (ReadFrame): got %v, want %v", c.name, err, c.want)
		}
	}
	// The max frame size is enforced before the body is read.
	big, _ := AppendRequest(nil, 1, &logstream.Message{StreamID: "s", Channel: "c", Topic: "t",
		Kind: logstream.KindData, Data: make([]byte, 1000), Size: 1000})
	if _, _, err := Decode(big, 100); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("max frame: %v", err)
	}
	// Context: too many entries, keys out of order, bad bools, trailing reply bytes.
	ctx := logstream.StreamContext{}
	for i := range MaxContext + 1 {
		ctx[string(rune('a'+i%26))+strings.Repeat("x", i)] = ""
	}
	if _, err := AppendRequest(nil, 1, &logstream.Message{Ctx: ctx, Kind: logstream.KindEOF}); !errors.Is(err, ErrEncode) {
		t.Fatalf("encode big ctx: %v", err)
	}
	r, _ := AppendReply(nil, 1, logstream.Reply{RC: logstream.OK})
	r[len(r)-1] = 2
	if _, _, err := Decode(r, 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad bool: %v", err)
	}
	r2, _ := AppendReply(nil, 1, logstream.Reply{RC: logstream.OK})
	r2 = append(r2, 0)
	binary.BigEndian.PutUint32(r2[16:], uint32(len(r2)-HeaderSize))
	if _, _, err := Decode(r2, 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing: %v", err)
	}
	two, _ := AppendRequest(nil, 1, &logstream.Message{Kind: logstream.KindEOF, Ctx: logstream.StreamContext{"a": "1", "b": "2"}})
	i := bytes.Index(two, []byte{0, 1, 'a'})
	j := bytes.Index(two, []byte{0, 1, 'b'})
	two[i+2], two[j+2] = 'b', 'a'
	if _, _, err := Decode(two, 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unsorted keys: %v", err)
	}
}

// TestDecodeAllocBound: a header that declares a huge body allocates nothing
// for it.
func TestDecodeAllocBound(t *testing.T) {
	var b [HeaderSize]byte
	putHeader(b[:], FrameRequest, 1, 1<<31)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		if _, err := ReadFrame(bytes.NewReader(b[:]), new([HeaderSize]byte), 0); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("%d bytes allocated for 100 rejected headers", n)
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range sampleFrames(f) {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("LSN\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := Decode(b, 1<<20)
		if err != nil {
			if n != 0 {
				t.Fatalf("error with n=%d", n)
			}
			for _, e := range []error{ErrBadMagic, ErrVersion, ErrFrameTooLarge, ErrTruncated, ErrMalformed} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("unclassified error %v", err)
		}
		out, err := Encode(nil, fr)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(out, b[:n]) {
			t.Fatalf("re-encoded bytes differ:\n in %x\nout %x", b[:n], out)
		}
		// The streaming reader agrees.
		fr2, err := ReadFrame(bytes.NewReader(b), new([HeaderSize]byte), 1<<20)
		if err != nil || !reflect.DeepEqual(fr, fr2) {
			t.Fatalf("ReadFrame: %v %+v vs %+v", err, fr2, fr)
		}
	})
}

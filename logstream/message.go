package logstream

import (
	"fmt"
	"maps"
)

// Kind says what a Message carries.
type Kind uint8

// Message kinds.
const (
	// KindData carries log bytes starting at Offset.
	KindData Kind = iota + 1
	// KindHeartbeat carries nothing; it resets the receiver's idle clock.
	KindHeartbeat
	// KindEOF ends the stream; Offset is the total number of bytes sent.
	KindEOF
	// KindAbort tells the receiver the sender gave up; it expects no reply.
	KindAbort
)

var kindNames = [...]string{"", "data", "heartbeat", "eof", "abort"}

// String returns the kind's lower-case name.
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Stream context keys set by this package.
const (
	// KeyFileName holds the base name of the tailed file.
	KeyFileName = "Streamer.file_name"
	// KeyChannel and KeyTopic hold the stream's channel and topic.
	KeyChannel = "__channel__"
	// KeyTopic holds the stream's topic.
	KeyTopic = "__topic__"
)

// StreamContext is the sender's description of a stream (file name, job id,
// ...). It travels with every message until the target has acknowledged one,
// so a receiver that was not ready for the first message can still start the
// stream from a retry.
type StreamContext map[string]string

// Clone returns a copy of c (nil for nil).
func (c StreamContext) Clone() StreamContext {
	if c == nil {
		return nil
	}
	return maps.Clone(c)
}

// Message is one request of a stream. The engine stamps StreamID, Channel,
// Topic and Seq; the producer fills in the rest.
type Message struct {
	StreamID string
	Channel  string
	Topic    string
	// Seq counts the messages the engine sent on this stream (retries too).
	Seq uint64
	// Ctx is the stream context; set until every addressed target has
	// acknowledged a message.
	Ctx  StreamContext
	Kind Kind
	// Offset is the stream offset of Data[0] (for data), the number of
	// bytes sent so far (heartbeat, EOF).
	Offset int64
	// Size is the declared length of Data; a receiver rejects a chunk whose
	// Size does not match len(Data).
	Size int
	Data []byte
}

// End returns the stream offset just past this message's data.
func (m *Message) End() int64 { return m.Offset + int64(len(m.Data)) }

// String describes m briefly, without its data.
func (m *Message) String() string {
	return fmt.Sprintf("%s seq=%d off=%d size=%d", m.Kind, m.Seq, m.Offset, m.Size)
}

// Reply is a receiver's answer to one message.
type Reply struct {
	RC ReturnCode
	// Next is the receiver's next expected stream offset: every byte before
	// it has been forwarded.
	Next int64
	// Closed is set when the receiver's stream is already over; RC then is
	// the code it ended with.
	Closed bool
}

// rc returns the reply's code, OK when it is empty.
func (r Reply) rc() ReturnCode {
	if r.RC == "" {
		return OK
	}
	return r.RC
}

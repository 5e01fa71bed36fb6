package netengine

import (
	"time"

	"github.com/benbjohnson/clock"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Defaults for Options.
const (
	DefaultDialTimeout = 2 * time.Second
	DefaultMaxInFlight = 64
)

// Options configure a Server or a Client. The zero value selects defaults.
type Options struct {
	// Clock is the time source for reply timeouts, waits and idle deadlines;
	// nil means the real clock.
	Clock logstream.Clock
	// MaxFrame bounds the body of a frame this side accepts and sends
	// (default DefaultMaxFrame). A chunk must fit in it with its metadata.
	MaxFrame int
	// DialTimeout bounds each connection attempt of a Client (default
	// DefaultDialTimeout); a send to a target that cannot be reached fails
	// with COMMUNICATION_ERROR once it passes.
	DialTimeout time.Duration
	// MaxInFlight bounds the requests a Server handles at once per
	// connection (default DefaultMaxInFlight); the connection is not read
	// while the bound is reached. Memory per connection is bounded by
	// MaxInFlight × MaxFrame.
	MaxInFlight int
	// MaxWait bounds how long a Server request waits behind its stream's
	// running Consume (a chunk callback that blocks) before it is answered
	// TIMEOUT unconsumed (default logstream.DefaultChunkTimeout, real time):
	// the sender has given up on it by then, and its goroutine must not
	// outlive that by much.
	MaxWait time.Duration
	// SocketBuffer, if > 0, sets SO_SNDBUF and SO_RCVBUF of every
	// connection; 0 keeps the system's (auto-tuned) sizes.
	SocketBuffer int
	// Logf, if set, is told of connection errors.
	Logf func(format string, args ...any)
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.New()
	}
	if o.MaxFrame <= 0 {
		o.MaxFrame = DefaultMaxFrame
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.MaxWait <= 0 {
		o.MaxWait = logstream.DefaultChunkTimeout
	}
	return o
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

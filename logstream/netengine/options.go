package netengine

import (
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Defaults for Options.
const (
	DefaultDialTimeout = 2 * time.Second
	DefaultMaxInFlight = 64
)

// Options configure a Server or a Client. Zero fields select defaults, but
// one of TLS (mutual TLS) and Insecure (plain TCP) must be set.
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

	// TLS secures every connection with mutual TLS 1.3 (see tls.go and
	// LoadTLS): a Server presents TLS.Certificates and requires a client
	// certificate issued by TLS.ClientCAs; a Client presents its
	// certificate and verifies the server against TLS.RootCAs. Exactly one
	// of TLS and Insecure must be set.
	TLS *tls.Config
	// Insecure selects plain TCP: no encryption, no authentication, and
	// any client may stream as any site. For tests and trusted networks.
	Insecure bool
	// Identity maps a verified client certificate to its site name on a
	// TLS Server (default CommonNameIdentity; URIIdentity for SPIFFE-style
	// URIs). An error refuses the connection (RejectIdentity).
	Identity func(cert *x509.Certificate) (site string, err error)
	// HandshakeTimeout bounds a TLS handshake and the server's verdict, on
	// both sides (default DefaultHandshakeTimeout). DialTimeout bounds only
	// the TCP connect before it, so a redial can hold up a send for up to
	// DialTimeout + HandshakeTimeout.
	HandshakeTimeout time.Duration
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
	if o.Identity == nil {
		o.Identity = CommonNameIdentity
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
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

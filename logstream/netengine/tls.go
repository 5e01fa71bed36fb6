package netengine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// KeySite is the stream context key in which a sender names its site. On a
// TLS Server the claim must equal the site of the client certificate, or the
// stream is refused (RejectClaim). The context reaches consumers as the
// sender sent it (the engine contract); the authenticated site is in the
// stream ID (see SiteOf).
const KeySite = "__site__"

// SiteOf returns the authenticated site of a stream received by a TLS
// Server (the prefix the Server puts on its ID), or "" for a stream
// received over plain TCP.
func SiteOf(info *logstream.StreamInfo) string {
	site, _, ok := strings.Cut(info.ID, ":")
	if !ok || CheckSite(site) != nil {
		return ""
	}
	return site
}

// DefaultHandshakeTimeout bounds a TLS handshake and the server's verdict.
const DefaultHandshakeTimeout = 10 * time.Second

// ErrNoTransport is returned by Listen and Dial when Options name neither
// TLS nor Insecure: plain TCP must be asked for explicitly.
var ErrNoTransport = errors.New("netengine: no transport security chosen: set Options.TLS (mutual TLS) or Options.Insecure (plain TCP, no authentication)")

// ErrRefused wraps the error a Client gets when a TLS Server refuses its
// certificate or identity.
var ErrRefused = errors.New("netengine: server refused the connection")

// Reasons a TLS Server refuses a connection or a stream, the keys of
// Server.Rejections.
const (
	// RejectNotTLS: the client did not speak TLS (plain TCP against a TLS
	// server).
	RejectNotTLS = "not-tls"
	// RejectNoCertificate: the client presented no certificate.
	RejectNoCertificate = "no-certificate"
	// RejectUnknownAuthority: the client certificate was not issued by the
	// operator's CA (Options.TLS.ClientCAs).
	RejectUnknownAuthority = "unknown-authority"
	// RejectExpired: the client certificate has expired or is not valid yet.
	RejectExpired = "expired"
	// RejectBadCertificate: the client certificate failed verification for
	// another reason (wrong key usage, bad signature, ...).
	RejectBadCertificate = "bad-certificate"
	// RejectHandshake: the handshake failed otherwise (timeout, protocol
	// version below TLS 1.3, connection closed).
	RejectHandshake = "handshake"
	// RejectIdentity: Options.Identity found no acceptable site name in
	// the certificate.
	RejectIdentity = "identity"
	// RejectClaim: a stream's KeySite names another site than the client
	// certificate's. The message is answered BAD_REQUEST_DATA and creates
	// nothing.
	RejectClaim = "claim"
)

// CommonNameIdentity is the default Options.Identity: the site is the
// certificate's Subject CommonName (FLARE's provisioning names sites so),
// which must be a valid site name (letters, digits, '.', '_', '-').
func CommonNameIdentity(cert *x509.Certificate) (string, error) {
	if err := CheckSite(cert.Subject.CommonName); err != nil {
		return "", fmt.Errorf("certificate subject common name: %w", err)
	}
	return cert.Subject.CommonName, nil
}

// URIIdentity returns an Options.Identity that takes the site from the
// certificate's first URI subject alternative name beginning with prefix,
// e.g. with prefix "spiffe://example.org/site/" the URI
// spiffe://example.org/site/hospital-3 names site hospital-3. The rest of
// the URI must be a valid site name.
func URIIdentity(prefix string) func(*x509.Certificate) (string, error) {
	return func(cert *x509.Certificate) (string, error) {
		for _, u := range cert.URIs {
			if site, ok := strings.CutPrefix(u.String(), prefix); ok {
				if err := CheckSite(site); err != nil {
					return "", fmt.Errorf("certificate URI %s: %w", u, err)
				}
				return site, nil
			}
		}
		return "", fmt.Errorf("certificate has no URI beginning with %q", prefix)
	}
}

// LoadTLS reads a PEM certificate and key (this side's identity) and a PEM
// CA bundle (the operator's CA) and returns a mutual TLS 1.3 configuration
// that serves both a Server (the CA verifies client certificates) and a
// Client (the CA verifies the server). Errors name the file.
func LoadTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" || caFile == "" {
		return nil, fmt.Errorf("netengine: TLS needs a certificate, a key and a CA file (have cert=%q key=%q ca=%q)", certFile, keyFile, caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("netengine: %s, %s: %w", certFile, keyFile, err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("netengine: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("netengine: %s: no PEM certificate in it", caFile)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}, nil
}

// checkTransport checks the TLS and Insecure options.
func (o Options) checkTransport() error {
	switch {
	case o.TLS == nil && !o.Insecure:
		return ErrNoTransport
	case o.TLS != nil && o.Insecure:
		return errors.New("netengine: Options.TLS and Options.Insecure both set; choose one")
	}
	return nil
}

// serverTLS returns the Server's TLS configuration (nil for plain TCP):
// a copy of Options.TLS that requires and verifies a client certificate and
// TLS 1.3.
func serverTLS(o Options) (*tls.Config, error) {
	if err := o.checkTransport(); err != nil {
		return nil, err
	}
	if o.TLS == nil {
		return nil, nil
	}
	cfg := o.TLS.Clone()
	if cfg.ClientCAs == nil {
		return nil, errors.New("netengine: Options.TLS.ClientCAs is nil: a Server needs the CA that issues client certificates")
	}
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil {
		return nil, errors.New("netengine: Options.TLS has no server certificate")
	}
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS13)
	return cfg, nil
}

// tlsConn is a TLS connection whose Close closes the socket at once: no
// close_notify, which could wait behind a blocked write. Frames are length
// prefixed, so a truncated connection is noticed without it.
type tlsConn struct{ *tls.Conn }

func (c tlsConn) Close() error { return c.NetConn().Close() }

// tlsListener wraps accepted TCP connections in server-side TLS; the
// handshake happens later, on the connection's own goroutine
// (Server.authenticate), so a slow client never holds up Accept.
type tlsListener struct {
	net.Listener
	cfg *tls.Config
	buf int
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tune(c, l.buf)
	return tlsConn{tls.Server(c, l.cfg)}, nil
}

// rejections counts refused connections and streams by reason.
type rejections struct {
	mu sync.Mutex
	n  map[string]uint64
}

func (r *rejections) add(reason string) {
	r.mu.Lock()
	if r.n == nil {
		r.n = map[string]uint64{}
	}
	r.n[reason]++
	r.mu.Unlock()
}

// Rejections returns how many connections (by handshake or identity) and
// streams (by claim) the Server refused, by reason (the Reject* constants).
// A plain-TCP Server refuses nothing.
func (s *Server) Rejections() map[string]uint64 {
	s.rej.mu.Lock()
	defer s.rej.mu.Unlock()
	return maps.Clone(s.rej.n)
}

func (s *Server) reject(reason string, c net.Conn, err error) {
	s.rej.add(reason)
	s.opt.logf("netengine: %v: refused (%s): %v", c.RemoteAddr(), reason, err)
}

// classify names the reason a server-side handshake failed.
func classify(err error) string {
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &rh):
		return RejectNotTLS
	case strings.Contains(err.Error(), "didn't provide a certificate"):
		return RejectNoCertificate
	case errors.As(err, &ua):
		return RejectUnknownAuthority
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return RejectExpired
	case errors.As(err, &cv), errors.As(err, &ci):
		return RejectBadCertificate
	}
	return RejectHandshake
}

// Verdict bytes the Server sends after a TLS handshake: accepted, or
// refused followed by a reason line. TLS 1.3 finishes the client's side of
// the handshake before the server has checked the client certificate, so
// without a verdict a refused client would learn of it only at its first
// message.
const (
	verdictOK      = 'Y'
	verdictRefused = 'N'
	maxVerdict     = 256
)

// authenticate runs the TLS handshake of an accepted connection, maps the
// client certificate to a site and sends the verdict. It returns the site
// ("" on a plain-TCP Server) and whether to serve the connection. A refusal
// is counted and logged.
func (s *Server) authenticate(c net.Conn) (site string, ok bool) {
	tc, isTLS := c.(tlsConn)
	if !isTLS {
		return "", true
	}
	c.SetDeadline(time.Now().Add(s.opt.HandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			// A client that hung up before sending a byte (or a port
			// probe), or the Server shutting down: nobody was refused.
			s.opt.logf("netengine: %v: closed before the TLS handshake: %v", c.RemoteAddr(), err)
			return "", false
		}
		s.reject(classify(err), c, err)
		return "", false
	}
	site, err := s.opt.Identity(tc.ConnectionState().PeerCertificates[0])
	if err == nil {
		err = CheckSite(site)
	}
	if err != nil {
		s.reject(RejectIdentity, c, err)
		msg := fmt.Sprintf("%c%.*s\n", verdictRefused, maxVerdict-2, "no site identity in the client certificate: "+err.Error())
		c.Write([]byte(msg))
		return "", false
	}
	if _, err := c.Write([]byte{verdictOK}); err != nil {
		s.opt.logf("netengine: %v: %v", c.RemoteAddr(), err)
		return "", false
	}
	c.SetDeadline(time.Time{})
	return site, true
}

// admit checks a request from a connection authenticated as site (nothing to
// check on a plain-TCP Server): a claimed site must be site. Stream IDs are
// prefixed with the site and ':', so one site cannot reach another's streams
// by naming their IDs. It reports
// whether to handle m; a refusal is counted and logged.
func (s *Server) admit(c net.Conn, site string, m *logstream.Message) bool {
	if site == "" {
		return true
	}
	if claim, ok := m.Ctx[KeySite]; ok && claim != site {
		s.reject(RejectClaim, c, fmt.Errorf("certificate of site %q, stream %s claims site %q", site, m.StreamID, claim))
		return false
	}
	m.StreamID = site + ":" + m.StreamID
	return true
}

// handshake secures a freshly dialled connection to addr when Options.TLS
// is set: the TLS handshake, then the server's verdict, within timeout.
func (c *Client) handshake(ctx context.Context, nc net.Conn, addr string, timeout time.Duration) (net.Conn, error) {
	if c.opt.TLS == nil {
		return nc, nil
	}
	cfg := c.opt.TLS.Clone()
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS13)
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
	}
	tc := tlsConn{tls.Client(nc, cfg)}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		tc.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	tc.SetReadDeadline(time.Now().Add(timeout))
	var v [1]byte
	if _, err := io.ReadFull(tc, v[:]); err != nil {
		tc.Close()
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if v[0] != verdictOK {
		buf := make([]byte, maxVerdict)
		n, _ := io.ReadAtLeast(tc, buf, 1)
		tc.Close()
		return nil, fmt.Errorf("%w: %s", ErrRefused, strings.TrimSpace(string(buf[:n])))
	}
	tc.SetReadDeadline(time.Time{})
	return tc, nil
}

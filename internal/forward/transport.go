package forward

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// TransportOptions configure the upstream transport.
type TransportOptions struct {
	DialTimeout           time.Duration
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration
	IdleConnTimeout       time.Duration
	ConnMaxAge            time.Duration
	MaxIdleConnsPerHost   int
	// DisableHTTP2 keeps https:// upstreams on HTTP/1.1, carried by
	// edgehog's own client like http:// ones (see forwardH1), even when
	// they offer HTTP/2.
	DisableHTTP2 bool
	// RootCAs verifies upstream certificates; nil means the system pool.
	RootCAs *x509.CertPool
	// dial replaces the dialer (tests point a real host name at loopback).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func newHTTPTransport(o TransportOptions) *http.Transport {
	d := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	dial := d.DialContext
	if o.dial != nil {
		dial = o.dial
	}
	var tlsConf *tls.Config
	if o.RootCAs != nil {
		tlsConf = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	}
	return &http.Transport{
		// No Proxy: edgehog talks to its configured upstreams only, never
		// through an environment-configured proxy.
		Proxy:                 nil,
		DialContext:           dial,
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		IdleConnTimeout:       o.IdleConnTimeout,
		MaxIdleConns:          4 * o.MaxIdleConnsPerHost,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		ExpectContinueTimeout: time.Second,
		// Bytes pass through untouched: without this the transport would
		// add Accept-Encoding: gzip when the client sent none and then
		// decompress the answer, changing what the client receives.
		DisableCompression: true,
	}
}

// rotatingTransport hands requests to an http.Transport that is replaced
// after ConnMaxAge. Go resolves DNS on every new connection but keeps busy
// connections forever; retiring the whole pool now and then makes edgehog
// follow changed upstream DNS records (PostHog Cloud rotates addresses),
// at the price of one new handshake per upstream per ConnMaxAge.
type rotatingTransport struct {
	opts TransportOptions
	cur  atomic.Pointer[generation]

	mu  sync.Mutex // serialises rotation
	old *http.Transport
}

type generation struct {
	t      *http.Transport
	expiry int64 // unix nanoseconds
}

func newRotatingTransport(o TransportOptions) *rotatingTransport {
	rt := &rotatingTransport{opts: o}
	rt.cur.Store(&generation{t: newHTTPTransport(o), expiry: time.Now().Add(o.ConnMaxAge).UnixNano()})
	return rt
}

// RoundTrip implements http.RoundTripper.
func (rt *rotatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return rt.current().RoundTrip(req)
}

func (rt *rotatingTransport) current() *http.Transport {
	g := rt.cur.Load()
	if rt.opts.ConnMaxAge <= 0 || time.Now().UnixNano() < g.expiry {
		return g.t
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if g2 := rt.cur.Load(); g2 != g {
		return g2.t // another request rotated first
	}
	// The generation before the previous one has had a whole ConnMaxAge to
	// finish its requests; whatever it still holds is idle.
	if rt.old != nil {
		rt.old.CloseIdleConnections()
	}
	rt.old = g.t
	g.t.CloseIdleConnections()
	n := &generation{t: newHTTPTransport(rt.opts), expiry: time.Now().Add(rt.opts.ConnMaxAge).UnixNano()}
	rt.cur.Store(n)
	return n.t
}

// CloseIdleConnections closes idle connections of every generation.
func (rt *rotatingTransport) CloseIdleConnections() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.old != nil {
		rt.old.CloseIdleConnections()
	}
	rt.cur.Load().t.CloseIdleConnections()
}

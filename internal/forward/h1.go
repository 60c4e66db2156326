package forward

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"
)

// h1Pool holds the keep-alive connections of edgehog's own HTTP/1.1
// client, used for upstreams that speak only HTTP/1.1 (plain http://, or
// https:// with HTTP/2 turned off); see forwardH1.
//
// Connections are kept in a LIFO list per upstream, so that a quiet
// period lets the least recently used ones time out, and retired after
// ConnMaxAge, each new connection resolving DNS afresh. A connection that
// sat idle for a while is probed before reuse.
type h1Pool struct {
	opts TransportOptions
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	tls  *tls.Config

	mu     sync.Mutex
	idle   map[string][]*h1Conn // key: scheme://host:port; newest last
	reaper *time.Timer
}

// h1InlineBody is the largest request body sent in the same write as the
// request head (and held for a resend on a stale connection).
const h1InlineBody = 16 << 10

// h1ProbeAfter is how long a connection may sit idle before it is probed
// for an upstream close before reuse.
const h1ProbeAfter = time.Second

func newH1Pool(o TransportOptions) *h1Pool {
	d := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	p := &h1Pool{opts: o, dial: d.DialContext, idle: map[string][]*h1Conn{}}
	if o.dial != nil {
		p.dial = o.dial
	}
	p.tls = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	return p
}

// hostPort adds the scheme's default port to a URL host without one.
func hostPort(scheme, host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if scheme == "https" {
		return net.JoinHostPort(host, "443")
	}
	return net.JoinHostPort(host, "80")
}

// get returns an idle connection to the upstream, or dials one. probe
// checks even a connection idle for less than h1ProbeAfter: a request
// whose body streams cannot be sent again once it has begun.
func (p *h1Pool) get(ctx context.Context, up *h1Upstream, now time.Time, probe bool) (*h1Conn, error) {
	for {
		c := p.popIdle(up.key)
		if c == nil {
			break
		}
		if p.expired(c, now) || ((probe || now.Sub(c.idleSince) > h1ProbeAfter) && !c.alive()) {
			c.close()
			continue
		}
		c.reused = true
		return c, nil
	}
	return p.dialConn(ctx, up)
}

func (p *h1Pool) popIdle(key string) *h1Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.idle[key]
	if len(l) == 0 {
		return nil
	}
	c := l[len(l)-1]
	l[len(l)-1] = nil
	p.idle[key] = l[:len(l)-1]
	return c
}

func (p *h1Pool) expired(c *h1Conn, now time.Time) bool {
	if p.opts.ConnMaxAge > 0 && now.Sub(c.created) >= p.opts.ConnMaxAge {
		return true
	}
	return p.opts.IdleConnTimeout > 0 && !c.idleSince.IsZero() && now.Sub(c.idleSince) >= p.opts.IdleConnTimeout
}

// put takes back a connection whose exchange ended cleanly.
func (p *h1Pool) put(c *h1Conn, now time.Time) {
	if p.expired(c, now) {
		c.close()
		return
	}
	c.idleSince = now
	c.reused = false
	p.mu.Lock()
	l := p.idle[c.key]
	if len(l) >= max(p.opts.MaxIdleConnsPerHost, 1) {
		p.mu.Unlock()
		c.close()
		return
	}
	p.idle[c.key] = append(l, c)
	if p.reaper == nil && p.opts.IdleConnTimeout > 0 {
		p.reaper = time.AfterFunc(p.opts.IdleConnTimeout, p.reap)
	}
	p.mu.Unlock()
}

// reap closes connections idle for longer than IdleConnTimeout. It runs
// while the pool holds any.
func (p *h1Pool) reap() {
	now := time.Now()
	var dead []*h1Conn
	p.mu.Lock()
	left := 0
	for key, l := range p.idle {
		kept := l[:0]
		for _, c := range l {
			if p.expired(c, now) {
				dead = append(dead, c)
			} else {
				kept = append(kept, c)
			}
		}
		clear(l[len(kept):])
		p.idle[key] = kept
		left += len(kept)
	}
	p.reaper = nil
	if left > 0 {
		p.reaper = time.AfterFunc(p.opts.IdleConnTimeout/2, p.reap)
	}
	p.mu.Unlock()
	for _, c := range dead {
		c.close()
	}
}

// closeIdle closes every idle connection.
func (p *h1Pool) closeIdle() {
	p.mu.Lock()
	var all []*h1Conn
	for key, l := range p.idle {
		all = append(all, l...)
		delete(p.idle, key)
	}
	p.mu.Unlock()
	for _, c := range all {
		c.close()
	}
}

func (p *h1Pool) dialConn(ctx context.Context, up *h1Upstream) (*h1Conn, error) {
	nc, err := p.dial(ctx, "tcp", up.addr)
	if err != nil {
		return nil, err
	}
	if up.tls {
		conf := p.tls.Clone()
		conf.ServerName = up.name
		tc := tls.Client(nc, conf)
		hctx := ctx
		if p.opts.TLSHandshakeTimeout > 0 {
			var cancel context.CancelFunc
			hctx, cancel = context.WithTimeout(ctx, p.opts.TLSHandshakeTimeout)
			defer cancel()
		}
		if err := tc.HandshakeContext(hctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", up.addr, err)
		}
		if proto := tc.ConnectionState().NegotiatedProtocol; proto != "" && proto != "http/1.1" {
			tc.Close()
			return nil, fmt.Errorf("upstream %s negotiated %q, not http/1.1", up.addr, proto)
		}
		nc = tc
	}
	return newH1Conn(p, up.key, nc), nil
}

// h1Upstream is where an HTTP/1.1 upstream is: its pool key, dial address,
// TLS server name and Host header.
type h1Upstream struct {
	key, addr, name, host string
	tls                   bool
}

func newH1Upstream(scheme, host string) *h1Upstream {
	addr := hostPort(scheme, host)
	name, _, _ := net.SplitHostPort(addr)
	return &h1Upstream{key: scheme + "://" + addr, addr: addr, name: name, host: host, tls: scheme == "https"}
}

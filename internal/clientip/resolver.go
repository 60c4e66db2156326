package clientip

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// Options configure a Resolver.
type Options struct {
	// TrustedProxies are the networks of the proxies in front of edgehog
	// (load balancer, CDN). Only a peer inside them is believed about the
	// client's address. Empty: nobody is, and the socket peer is the client.
	TrustedProxies []netip.Prefix
	// TrustAll believes every peer and every X-Forwarded-For entry, so the
	// leftmost entry wins. Anyone can then choose their own address; it
	// exists for setups where every path to edgehog is already controlled.
	TrustAll bool
	// Header names the single header a trusted proxy puts the client's
	// address in: CF-Connecting-IP, True-Client-IP, Fly-Client-IP,
	// X-Real-IP or CloudFront-Viewer-Address. Empty means X-Forwarded-For,
	// read from the right.
	Header string
	// Truncate sends a network instead of the address: the /24 of an IPv4
	// address, the /48 of an IPv6 address (the address with its host bits
	// zeroed), so that a full address never leaves.
	Truncate bool
}

// SupportedHeaders are the single-address headers Options.Header accepts,
// in canonical form.
func SupportedHeaders() []string {
	return []string{"Cf-Connecting-Ip", "True-Client-Ip", "Fly-Client-Ip", "X-Real-Ip", "Cloudfront-Viewer-Address"}
}

// Resolver determines the client address of a request. It is safe for
// concurrent use.
type Resolver struct {
	trusted  []netip.Prefix
	trustAll bool
	header   string // canonical; "" for X-Forwarded-For
	truncate bool
}

// ErrInvalid is wrapped by every error New returns.
var ErrInvalid = errors.New("invalid client IP setting")

// New builds a Resolver.
func New(o Options) (*Resolver, error) {
	r := &Resolver{trustAll: o.TrustAll, truncate: o.Truncate}
	for _, p := range o.TrustedProxies {
		if !p.IsValid() {
			return nil, invalidf("trusted_proxies: invalid network")
		}
		p = p.Masked()
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		r.trusted = append(r.trusted, p)
	}
	if o.Header != "" {
		h := http.CanonicalHeaderKey(strings.TrimSpace(o.Header))
		if h != "X-Forwarded-For" {
			ok := false
			for _, s := range SupportedHeaders() {
				ok = ok || s == h
			}
			if !ok {
				return nil, invalidf("header: %q is not one of X-Forwarded-For, %s", o.Header, strings.Join(SupportedHeaders(), ", "))
			}
			r.header = h
		}
	}
	return r, nil
}

// ParsePrefix parses a trusted network: a CIDR ("10.0.0.0/8",
// "2001:db8::/32") or a single address ("192.0.2.1", a /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, invalidf("%q is not a network", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, invalidf("%q is not an address or network", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Trusted reports whether a is inside the trusted networks.
func (r *Resolver) Trusted(a netip.Addr) bool {
	if r.trustAll {
		return true
	}
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the client address of a request from its socket peer
// (http.Request.RemoteAddr) and headers, truncated when configured. It
// reports false when there is no IP peer (a Unix socket) and no trusted
// header.
func (r *Resolver) Resolve(remoteAddr string, h http.Header) (netip.Addr, bool) {
	a, ok := r.resolve(remoteAddr, h)
	if ok && r.truncate {
		a = Truncate(a)
	}
	return a, ok
}

func (r *Resolver) resolve(remoteAddr string, h http.Header) (netip.Addr, bool) {
	peer, ok := Peer(remoteAddr)
	if !ok || !r.Trusted(peer) {
		// An untrusted peer's headers are never believed.
		return peer, ok
	}
	if r.header != "" {
		v := h[r.header]
		if len(v) == 1 {
			var a netip.Addr
			var ok bool
			if r.header == "Cloudfront-Viewer-Address" {
				a, ok = parseViewerAddress(v[0])
			} else {
				a, ok = ParseEntry(v[0])
			}
			if ok {
				return a, true
			}
		}
		// Missing, repeated or unparsable: the trusted proxy did not
		// vouch for anyone, so the peer is the client.
		return peer, true
	}
	return r.walkForwardedFor(peer, h["X-Forwarded-For"]), true
}

// walkForwardedFor reads X-Forwarded-For from the right, the end the
// trusted proxies wrote, skipping trusted hops: the first untrusted address
// is the client. Everything to its left was written by the client itself.
func (r *Resolver) walkForwardedFor(peer netip.Addr, values []string) netip.Addr {
	client := peer
	for i := len(values) - 1; i >= 0; i-- {
		line := values[i]
		for line != "" {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				entry, line = line[j+1:], line[:j]
			} else {
				entry, line = line, ""
			}
			if strings.TrimSpace(entry) == "" {
				continue
			}
			a, ok := ParseEntry(entry)
			if !ok {
				// Garbage cannot come from a trusted proxy (they write the
				// peer they saw): stop at the last address vouched for.
				return client
			}
			client = a
			if !r.Trusted(a) {
				return client
			}
		}
	}
	return client
}

// Truncate zeroes the host bits of a: an IPv4 address becomes its /24, an
// IPv6 address its /48.
func Truncate(a netip.Addr) netip.Addr {
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return a
	}
	return p.Addr()
}

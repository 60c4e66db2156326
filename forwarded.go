package edgehog

import (
	"net/http"
	"strings"

	"github.com/edgehog/edgehog/internal/clientip"
)

func (p *Proxy) peerTrusted(remoteAddr string) bool {
	peer, ok := clientip.Peer(remoteAddr)
	return ok && p.ips.Trusted(peer)
}

// forwardedProtoHost returns the scheme and host the client used: what
// edgehog saw itself, or what a trusted proxy in front of it (one that
// terminates TLS) says it saw.
func forwardedProtoHost(r *http.Request, peerTrusted bool) (proto, host string) {
	proto, host = "http", r.Host
	if r.TLS != nil {
		proto = "https"
	}
	if peerTrusted {
		if v := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto"))); v == "http" || v == "https" {
			proto = v
		}
		if v := strings.TrimSpace(r.Header.Get("X-Forwarded-Host")); v != "" && validHost(v) {
			host = v
		}
	}
	if !validHost(host) {
		host = ""
	}
	return proto, host
}

// validHost accepts host names, IPv4 and bracketed IPv6 addresses with an
// optional port, and nothing that could smuggle a second value or a path.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_') {
			return false
		}
	}
	return true
}

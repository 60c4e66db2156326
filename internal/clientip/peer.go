// Package clientip determines the IP address of the client a request came
// from, for the X-Forwarded-For header PostHog geolocates by.
package clientip

import (
	"net/netip"
	"strings"
)

// Peer parses an http.Request.RemoteAddr ("1.2.3.4:5678", "[::1]:5678",
// "[fe80::1%eth0]:5678" or a bare address) into an address without port or
// zone. IPv4-mapped IPv6 addresses are unmapped. It reports false for
// anything else (a Unix socket peer, for example).
func Peer(remoteAddr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	s := strings.TrimSuffix(strings.TrimPrefix(remoteAddr, "["), "]")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), true
	}
	return netip.Addr{}, false
}

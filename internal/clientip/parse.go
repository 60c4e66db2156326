package clientip

import (
	"net/netip"
	"strings"
)

// ParseEntry parses one address as proxies write it into X-Forwarded-For
// and the single-address headers: "1.2.3.4", "1.2.3.4:80", "2001:db8::1",
// "[2001:db8::1]", "[2001:db8::1]:443", "fe80::1%eth0", with surrounding
// spaces and quotes. The result has no port or zone and is unmapped. It
// reports false for anything else ("unknown", obfuscated identifiers,
// garbage).
func ParseEntry(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, `"`)
	if s == "" || len(s) > 64 {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return clean(a)
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return clean(ap.Addr())
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return clean(a)
		}
	}
	return netip.Addr{}, false
}

// parseViewerAddress parses CloudFront-Viewer-Address, always "ip:port",
// where an IPv6 address is written without brackets ("2001:db8::1:443"):
// the port is what follows the last colon.
func parseViewerAddress(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		if port := s[i+1:]; port != "" && len(port) <= 5 && strings.Trim(port, "0123456789") == "" {
			if a, ok := ParseEntry(s[:i]); ok {
				return a, true
			}
		}
	}
	return ParseEntry(s)
}

func clean(a netip.Addr) (netip.Addr, bool) {
	a = a.WithZone("").Unmap()
	if !a.IsValid() || a.IsUnspecified() {
		return netip.Addr{}, false
	}
	return a, true
}

// Package guard decides, before anything goes upstream, whether a request
// may pass: which endpoints are exposed, which paths are sane, and how fast
// one client may send.
package guard

import (
	"errors"
	"strings"
)

// MaxPathLen is the longest escaped path accepted. PostHog's SDK paths are
// short; the longest legitimate ones (site apps, conversations) stay far
// below this.
const MaxPathLen = 2048

// Path errors.
var (
	ErrPathTooLong = errors.New("path too long")
	ErrPathUnsafe  = errors.New("path has dot segments, empty segments, backslashes or encoded separators")
)

// CheckPath refuses escaped paths that could be read differently by
// edgehog and by the upstream: dot segments ("/../", "/./"), empty segments
// ("//"), backslashes, encoded dots, slashes, backslashes and NULs
// ("%2e", "%2f", "%5c", "%00"), and control characters. No PostHog SDK
// sends any of these, so refusing them costs nothing and keeps the
// exposure allow-list exact.
func CheckPath(p string) error {
	if len(p) > MaxPathLen {
		return ErrPathTooLong
	}
	if p == "" || p[0] != '/' {
		return ErrPathUnsafe
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c < 0x20 || c == 0x7f || c == '\\':
			return ErrPathUnsafe
		case c == '%':
			if i+2 >= len(p) {
				return ErrPathUnsafe
			}
			switch strings.ToLower(p[i+1 : i+3]) {
			case "2e", "2f", "5c", "00":
				return ErrPathUnsafe
			}
		case c == '/':
			rest := p[i+1:]
			if strings.HasPrefix(rest, "/") ||
				rest == "." || strings.HasPrefix(rest, "./") ||
				rest == ".." || strings.HasPrefix(rest, "../") {
				return ErrPathUnsafe
			}
		}
	}
	return nil
}

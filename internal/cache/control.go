package cache

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Directives are the Cache-Control response directives a shared cache
// acts on (RFC 9111 §5.2.2, RFC 5861, RFC 8246). Durations are -1 when
// the directive is absent.
type Directives struct {
	MaxAge, SMaxAge                    time.Duration
	StaleWhileRevalidate, StaleIfError time.Duration

	NoStore, NoCache, Private, Public bool
	MustRevalidate, ProxyRevalidate   bool
	Immutable                         bool
	// Invalid is set when a directive the cache relies on carried a value
	// that does not parse (max-age=abc): RFC 9111 §4.2.1 says to treat
	// the response as stale then.
	Invalid bool
}

// maxDelta is the largest delta-seconds honoured: RFC 9111 §1.2.2 says to
// treat anything larger as 2^31 seconds.
const maxDelta = 1 << 31

// ParseCacheControl parses every Cache-Control field line of h. Unknown
// directives are ignored; for a repeated directive the first wins (RFC
// 9111 §4.2.1).
func ParseCacheControl(h http.Header) Directives {
	d := Directives{MaxAge: -1, SMaxAge: -1, StaleWhileRevalidate: -1, StaleIfError: -1}
	seen := 0 // bit per duration directive already set
	for _, line := range h.Values("Cache-Control") {
		for len(line) > 0 {
			var name, value string
			name, value, line = nextDirective(line)
			switch strings.ToLower(name) {
			case "no-store":
				d.NoStore = true
			case "no-cache":
				// With field names (no-cache="Set-Cookie") the rest of the
				// answer could be reused; edgehog is conservative and treats
				// it as plain no-cache.
				d.NoCache = true
			case "private":
				d.Private = true
			case "public":
				d.Public = true
			case "must-revalidate":
				d.MustRevalidate = true
			case "proxy-revalidate":
				d.ProxyRevalidate = true
			case "immutable":
				d.Immutable = true
			case "max-age":
				d.setDelta(&d.MaxAge, value, &seen, 1)
			case "s-maxage":
				d.setDelta(&d.SMaxAge, value, &seen, 2)
			case "stale-while-revalidate":
				d.setDelta(&d.StaleWhileRevalidate, value, &seen, 4)
			case "stale-if-error":
				d.setDelta(&d.StaleIfError, value, &seen, 8)
			}
		}
	}
	return d
}

func (d *Directives) setDelta(dst *time.Duration, value string, seen *int, bit int) {
	if *seen&bit != 0 {
		return
	}
	*seen |= bit
	v, ok := parseDelta(value)
	if !ok {
		d.Invalid = true
		v = 0
	}
	*dst = v
}

// parseDelta parses delta-seconds: digits only, capped at 2^31.
func parseDelta(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDelta {
			n = n*10 + int64(c-'0')
		}
	}
	n = min(n, maxDelta)
	return time.Duration(n) * time.Second, true
}

// nextDirective splits the first directive off a Cache-Control line:
// token [ "=" ( token / quoted-string ) ], separated by commas.
func nextDirective(s string) (name, value, rest string) {
	s = strings.TrimLeft(s, " \t,")
	i := 0
	for i < len(s) && s[i] != '=' && s[i] != ',' {
		i++
	}
	name = strings.TrimSpace(s[:i])
	if i == len(s) || s[i] == ',' {
		return name, "", s[i:]
	}
	s = strings.TrimLeft(s[i+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		j := 1
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' && j+1 < len(s) {
				j++
			}
			b.WriteByte(s[j])
		}
		if j < len(s) {
			j++ // closing quote
		}
		rest = s[j:]
		if k := strings.IndexByte(rest, ','); k >= 0 {
			rest = rest[k:]
		} else {
			rest = ""
		}
		return name, b.String(), rest
	}
	j := strings.IndexByte(s, ',')
	if j < 0 {
		return name, strings.TrimSpace(s), ""
	}
	return name, strings.TrimSpace(s[:j]), s[j:]
}

// seconds renders d as whole seconds for a header, capped so the value
// never overflows a client's parser.
func seconds(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 0 {
		s = 0
	}
	return strconv.FormatInt(min(s, math.MaxInt32), 10)
}

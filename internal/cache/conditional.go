package cache

import (
	"net/http"
	"strings"
)

// keptOn304 are the fields a 304 carries (RFC 9110 §15.4.5), plus Age,
// HeaderName and Last-Modified (useful when there is no ETag). Keys are
// canonical: ETag is "Etag" in an http.Header.
var keptOn304 = map[string]bool{
	"Cache-Control": true, "Content-Location": true, "Date": true, "Etag": true,
	"Expires": true, "Vary": true, "Last-Modified": true, "Age": true, HeaderName: true,
}

// notModified evaluates the client's own conditionals against e (RFC 9110
// §13.2.2): If-None-Match first, and If-Modified-Since only without it.
func notModified(h http.Header, e *entry) bool {
	if inm := h.Values("If-None-Match"); len(inm) > 0 {
		return e.etag != "" && etagListMatch(inm, e.etag)
	}
	ims := h.Get("If-Modified-Since")
	if ims == "" || e.lastMod == "" {
		return false
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	lm, err := http.ParseTime(e.lastMod)
	return err == nil && !lm.After(t)
}

// etagListMatch applies the weak comparison of If-None-Match (RFC 9110
// §13.1.2): a listed tag equal to etag ignoring W/, or "*".
func etagListMatch(lines []string, etag string) bool {
	etag = strings.TrimPrefix(etag, "W/")
	for _, line := range lines {
		for line != "" {
			var tag string
			tag, line, _ = strings.Cut(line, ",")
			tag = strings.TrimSpace(tag)
			if tag == "*" || (tag != "" && strings.TrimPrefix(tag, "W/") == etag) {
				return true
			}
		}
	}
	return false
}

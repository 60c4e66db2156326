package cache

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/edgehog/edgehog/internal/route"
)

// primaryKey names the upstream resource: the origin and the canonical
// path and query. Requests through different hosts, prefixes or aliases
// for one PostHog path share it.
func primaryKey(m route.Match, rawQuery string) string {
	return m.Upstream.String() + " " + m.Path + "?" + rawQuery
}

// perClientHeaders are request headers edgehog itself sets per client on
// the way up; an answer that varies on them is never stored.
var perClientHeaders = map[string]bool{
	"X-Forwarded-For":   true,
	"X-Real-Ip":         true,
	"Forwarded":         true,
	"Authorization":     true,
	"X-Forwarded-Host":  true,
	"X-Forwarded-Proto": true,
}

// parseVary returns the canonical field names of a response's Vary,
// without Accept-Encoding (variants by coding are chosen by codingQ), and
// false when the answer cannot be stored: "Vary: *" or a per-client field.
func parseVary(h http.Header) ([]string, bool) {
	var names []string
	for _, line := range h.Values("Vary") {
		for f := range strings.SplitSeq(line, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if f == "*" {
				return nil, false
			}
			f = http.CanonicalHeaderKey(f)
			if perClientHeaders[f] {
				return nil, false
			}
			if f == "Accept-Encoding" || contains(names, f) {
				continue
			}
			names = append(names, f)
		}
	}
	return names, true
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// varyValue is the value of the request field name as the cache keys on
// it: what goes upstream. Cookies never go up with a cached request (the
// ones an operator keeps make the request bypass the cache), so a
// response varying on Cookie varies on nothing here.
func varyValue(h http.Header, name string) string {
	if name == "Cookie" {
		return ""
	}
	vs := h.Values(name)
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	return strings.Join(vs, ", ")
}

// varyKey joins the request's values for names into one comparable
// string.
func varyKey(h http.Header, names []string) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	for _, n := range names {
		b.WriteString(varyValue(h, n))
		b.WriteByte(0)
	}
	return b.String()
}

// refererOrigin reduces a Referer to its origin plus "/" (what browsers
// send cross-origin under strict-origin-when-cross-origin), or "" when it
// is not an absolute http(s) URL.
func refererOrigin(ref string) string {
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + "/"
}

// isVersioned reports whether a /static path names a bundle of one exact
// SDK version, /static/<major.minor.patch[-pre]>/..., which never changes
// (protocol.md §2.1). A bare major (/static/1/array.js) moves with every
// release, so it is not one.
func isVersioned(p string) bool {
	rest, ok := strings.CutPrefix(p, "/static/")
	if !ok {
		return false
	}
	ver, file, ok := strings.Cut(rest, "/")
	if !ok || file == "" {
		return false
	}
	core, _, _ := strings.Cut(ver, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

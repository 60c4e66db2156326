package cache

import (
	"net/http"
	"testing"
	"time"
)

func TestParseCacheControl(t *testing.T) {
	const absent = -1
	s := time.Second
	tests := []struct {
		name  string
		lines []string
		want  Directives
	}{
		{"none", nil, Directives{MaxAge: absent, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}},
		{"static", []string{"public, max-age=3600"}, Directives{Public: true, MaxAge: 3600 * s, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}},
		{"shared", []string{"max-age=60, s-maxage=300"}, Directives{MaxAge: 60 * s, SMaxAge: 300 * s, StaleWhileRevalidate: absent, StaleIfError: absent}},
		{"case and spaces", []string{" Max-Age = 5 ,NO-STORE"}, Directives{NoStore: true, MaxAge: 5 * s, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}},
		{"two lines", []string{"no-cache", "must-revalidate, proxy-revalidate"}, Directives{NoCache: true, MustRevalidate: true, ProxyRevalidate: true, MaxAge: absent, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}},
		{"quoted", []string{`private="Set-Cookie, X", max-age="10"`}, Directives{Private: true, MaxAge: 10 * s, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}},
		{"stale", []string{"max-age=1, stale-while-revalidate=30, stale-if-error=86400, immutable"}, Directives{Immutable: true, MaxAge: s, SMaxAge: absent, StaleWhileRevalidate: 30 * s, StaleIfError: 86400 * s}},
		// RFC 9111 §4.2.1: the first of repeated directives wins.
		{"repeated", []string{"max-age=10", "max-age=99"}, Directives{MaxAge: 10 * s, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}},
		// An unparsable max-age makes the answer stale.
		{"invalid", []string{"max-age=ten"}, Directives{Invalid: true, MaxAge: 0, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}},
		{"negative", []string{"max-age=-1"}, Directives{Invalid: true, MaxAge: 0, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}},
		// RFC 9111 §1.2.2: huge values are capped at 2^31 seconds.
		{"huge", []string{"max-age=99999999999999999999999"}, Directives{MaxAge: maxDelta * s, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}},
		{"empty parts", []string{",,, ,max-age=2,,"}, Directives{MaxAge: 2 * s, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}},
		{"unknown", []string{"foo=bar, community=\"UCI\""}, Directives{MaxAge: absent, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Cache-Control": tt.lines}
			if got := ParseCacheControl(h); got != tt.want {
				t.Errorf("ParseCacheControl(%q) = %+v, want %+v", tt.lines, got, tt.want)
			}
		})
	}
}

// FuzzParseCacheControl checks that no Cache-Control line panics and that
// durations are never below -1s (absent) or above 2^31 s.
func FuzzParseCacheControl(f *testing.F) {
	f.Add("public, max-age=3600")                               // what PostHog's assets send
	f.Add("public, max-age=300")                                // remote config
	f.Add(`private="a, b", no-cache="Set-Cookie", max-age="1"`) // quoted lists
	f.Add(`max-age="unterminated`)                              // broken quoting
	f.Add("s-maxage=99999999999999999999999999")                // overflow
	f.Add("=,=,==,\"\\")                                        // punctuation only
	f.Add("stale-while-revalidate=60, stale-if-error=86400")    // RFC 5861
	f.Fuzz(func(t *testing.T, line string) {
		d := ParseCacheControl(http.Header{"Cache-Control": {line}})
		for _, v := range []time.Duration{d.MaxAge, d.SMaxAge, d.StaleWhileRevalidate, d.StaleIfError} {
			if v < -1 || v > maxDelta*time.Second {
				t.Fatalf("ParseCacheControl(%q) gave duration %v out of range", line, v)
			}
		}
	})
}

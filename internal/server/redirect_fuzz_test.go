package server

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzRedirectHandler: whatever Host and path a client sends, the
// redirect stays on https and on the host the client asked for; it never
// points at another host through userinfo, a path or a backslash.
func FuzzRedirectHandler(f *testing.F) {
	f.Add("ph.example.com", "/e/?ip=1")         // the common case
	f.Add("ph.example.com:80", "/static/a.js")  // a port to replace
	f.Add("[2001:db8::1]:80", "/x")             // an IPv6 literal
	f.Add("evil.com@ph.example.com", "/")       // userinfo smuggling
	f.Add("ph.example.com\\evil.com", "/")      // a backslash
	f.Add("ph.example.com", "//evil.com/x")     // a scheme-relative path
	f.Add("", "/")                              // no host at all
	f.Add("ph.example.com", "/a%2F..%2F?q=%00") // escapes kept as sent
	f.Fuzz(func(t *testing.T, host, path string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r, err := http.NewRequest("GET", "http://placeholder"+path, nil)
		if err != nil {
			return // not a request a server would parse either
		}
		r.Host = host
		w := httptest.NewRecorder()
		redirectHandler("8443").ServeHTTP(w, r)
		if w.Code != http.StatusPermanentRedirect {
			return
		}
		loc := w.Header().Get("Location")
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("Location %q does not parse: %v", loc, err)
		}
		want := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if h, _, err := net.SplitHostPort(host); err == nil {
			want = h
		}
		if a, err := netip.ParseAddr(want); err == nil {
			want = a.Unmap().String()
		}
		if u.Scheme != "https" || u.User != nil || u.Port() != "8443" || !strings.EqualFold(u.Hostname(), want) {
			t.Fatalf("Host %q path %q: Location %q, want https://%s:8443/…", host, path, loc, want)
		}
	})
}

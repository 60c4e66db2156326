package edgehog_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/edgehog/edgehog"
)

func TestCORSPreflightAtEdge(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	for _, p := range []string{"/e/", "/flags/?v=2", "/i/v1/analytics/events", "/static/array.js"} {
		req := e.newRequest(t, "OPTIONS", p, nil)
		req.Header.Set("Origin", "https://www.site.test")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type, authorization, posthog-attempt")
		res, body := e.do(t, req)
		want := map[string]string{
			"Access-Control-Allow-Origin":      "https://www.site.test",
			"Access-Control-Allow-Methods":     "GET, HEAD, POST, OPTIONS",
			"Access-Control-Allow-Headers":     "content-type, authorization, posthog-attempt",
			"Access-Control-Max-Age":           "600",
			"Access-Control-Allow-Credentials": "",
		}
		if res.StatusCode != http.StatusNoContent || len(body) != 0 {
			t.Errorf("OPTIONS %s = %d with %d bytes, want 204 and no body", p, res.StatusCode, len(body))
		}
		for k, v := range want {
			if got := res.Header.Get(k); got != v {
				t.Errorf("OPTIONS %s: %s = %q, want %q", p, k, got, v)
			}
		}
		if !strings.Contains(res.Header.Get("Vary"), "Origin") {
			t.Errorf("OPTIONS %s: Vary = %q, want Origin in it", p, res.Header.Get("Vary"))
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("upstream saw %d requests, want 0: preflights are answered at the edge", n)
	}
	// A plain OPTIONS (no Access-Control-Request-Method) is not a
	// preflight and goes upstream.
	req := e.newRequest(t, "OPTIONS", "/e/", nil)
	req.Header.Set("Origin", "https://www.site.test")
	e.do(t, req)
	if n := len(e.fake.Requests()); n != 1 {
		t.Errorf("upstream saw %d requests after a plain OPTIONS, want 1", n)
	}
}

func TestCORSExactlyOneAllowOrigin(t *testing.T) {
	tests := []struct {
		name      string
		cfg       edgehog.CORSOptions
		origin    string
		wantACAO  string
		wantCreds string
		rejected  uint64
	}{
		{"mirror any by default", edgehog.CORSOptions{}, "https://www.site.test", "https://www.site.test", "", 0},
		{"credentials when configured", edgehog.CORSOptions{Credentials: true}, "https://www.site.test", "https://www.site.test", "true", 0},
		{"exact allowed", edgehog.CORSOptions{Origins: []string{"https://www.example.com"}}, "https://www.example.com", "https://www.example.com", "", 0},
		{"wildcard subdomain", edgehog.CORSOptions{Origins: []string{"https://*.example.com"}}, "https://shop.example.com", "https://shop.example.com", "", 0},
		{"wildcard refuses the lookalike", edgehog.CORSOptions{Origins: []string{"https://*.example.com"}}, "https://evil-example.com", "", "", 1},
		{"wildcard refuses the suffix trick", edgehog.CORSOptions{Origins: []string{"https://*.example.com"}}, "https://example.com.evil.test", "", "", 1},
		{"disallowed", edgehog.CORSOptions{Origins: []string{"https://www.example.com"}}, "https://evil.test", "", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, edgehog.Config{CORS: tt.cfg})
			for _, r := range []struct{ method, path string }{{"POST", "/e/"}, {"GET", "/static/array.js"}, {"GET", "/array/phc_x/config.js"}, {"GET", "/nope"}} {
				var req *http.Request
				if r.method == "POST" {
					req = e.newRequest(t, r.method, r.path, strings.NewReader(`{"api_key":"phc_x","batch":[]}`))
				} else {
					req = e.newRequest(t, r.method, r.path, nil)
				}
				req.Header.Set("Origin", tt.origin)
				res, _ := e.do(t, req)
				acao := res.Header.Values("Access-Control-Allow-Origin")
				if tt.wantACAO == "" && len(acao) != 0 || tt.wantACAO != "" && (len(acao) != 1 || acao[0] != tt.wantACAO) {
					t.Errorf("%s %s: Access-Control-Allow-Origin = %q, want exactly %q", r.method, r.path, acao, tt.wantACAO)
				}
				if got := res.Header.Values("Access-Control-Allow-Credentials"); strings.Join(got, ",") != tt.wantCreds {
					t.Errorf("%s %s: Access-Control-Allow-Credentials = %q, want %q", r.method, r.path, got, tt.wantCreds)
				}
				if !strings.Contains(res.Header.Get("Vary"), "Origin") {
					t.Errorf("%s %s: Vary = %q, want Origin in it", r.method, r.path, res.Header.Get("Vary"))
				}
			}
			if got := e.proxy.CacheStats().CORSRejected; got != tt.rejected*4 {
				t.Errorf("CORSRejected = %d, want %d", got, tt.rejected*4)
			}
		})
	}
}

func TestCORSOnCachedAnswers(t *testing.T) {
	// The stored answer serves every origin: each gets its own ACAO, and
	// what upstream said for the first origin never leaks to the next.
	e := newEnv(t, edgehog.Config{})
	for _, origin := range []string{"https://a.test", "https://b.test", "https://a.test"} {
		res, _ := e.get(t, "/static/array.js", "Origin", origin)
		if got := res.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != origin {
			t.Errorf("Origin %s: Access-Control-Allow-Origin = %q, want [%s]", origin, got, origin)
		}
	}
	res, _ := e.get(t, "/static/array.js")
	if got := res.Header.Values("Access-Control-Allow-Origin"); len(got) != 0 {
		t.Errorf("no Origin: Access-Control-Allow-Origin = %q, want none", got)
	}
}

func TestCORSDisabledPassesUpstream(t *testing.T) {
	e := newEnv(t, edgehog.Config{CORS: edgehog.CORSOptions{Disabled: true}})
	req := e.newRequest(t, "OPTIONS", "/e/", nil)
	req.Header.Set("Origin", "https://www.site.test")
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, _ := e.do(t, req)
	if n := len(e.fake.Requests()); n != 1 {
		t.Errorf("upstream saw %d requests, want the preflight forwarded", n)
	}
	// The fake (like PostHog capture) mirrors with credentials.
	if res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("upstream's CORS answer did not pass through: %v", res.Header)
	}
}

func TestCORSConfigErrors(t *testing.T) {
	_, err := edgehog.New(edgehog.Config{CORS: edgehog.CORSOptions{Origins: []string{"example.com"}}})
	if err == nil || !strings.Contains(err.Error(), "cors.origins[0]") {
		t.Errorf("New with a bad origin = %v, want an error naming cors.origins[0]", err)
	}
}

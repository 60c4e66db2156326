package guard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCORSAllowed(t *testing.T) {
	policy := []string{"https://www.example.com", "https://*.example.org", "http://localhost:3000"}
	tests := []struct {
		origin string
		want   bool
	}{
		{"https://www.example.com", true},
		{"https://www.example.com:443", true}, // default port
		{"https://WWW.EXAMPLE.COM", true},
		{"http://www.example.com", false}, // scheme differs
		{"https://example.com", false},
		{"https://www.example.com:8443", false},
		{"https://app.example.org", true},
		{"https://a.b.example.org", true},
		{"https://example.org", false},          // the wildcard needs a subdomain
		{"https://evilexample.org", false},      // lookalike without the dot
		{"https://example.org.evil.com", false}, // lookalike suffix
		{"https://app.example.org:444", false},
		{"http://app.example.org", false},
		{"http://localhost:3000", true},
		{"http://localhost", false},
		{"null", false},
		{"", false},
		{"https://www.example.com/", true}, // a trailing slash is tolerated
		{"https://www.example.com/path", false},
		{"https://user@www.example.com", false},
		{"javascript:alert(1)", false},
	}
	c, err := NewCORS(CORSOptions{Origins: policy})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if got := c.Allowed(tt.origin); got != tt.want {
			t.Errorf("Allowed(%q) = %v, want %v", tt.origin, got, tt.want)
		}
	}
}

func TestCORSMirrorAny(t *testing.T) {
	tests := []struct {
		creds  bool
		origin string
		want   bool
	}{
		{false, "https://anything.test", true},
		{false, "null", true},
		{true, "https://anything.test", true},
		{true, "null", false}, // never credentials for opaque origins
		{false, "not an origin", false},
	}
	for _, tt := range tests {
		c, err := NewCORS(CORSOptions{Credentials: tt.creds})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Allowed(tt.origin); got != tt.want {
			t.Errorf("credentials=%v: Allowed(%q) = %v, want %v", tt.creds, tt.origin, got, tt.want)
		}
	}
}

func TestNewCORSRejects(t *testing.T) {
	for _, o := range []string{"www.example.com", "https://", "ftp://x.com", "https://x.com/path", "https://*.", "https://*", "https://a.*.com", "https://*.x.com/y", "https://x..com"} {
		if _, err := NewCORS(CORSOptions{Origins: []string{o}}); err == nil {
			t.Errorf("NewCORS(%q) succeeded, want an error", o)
		}
	}
}

func TestPreflight(t *testing.T) {
	tests := []struct {
		name       string
		opts       CORSOptions
		origin     string
		reqHeaders string
		wantStatus int
		want       map[string]string // "" means absent
	}{
		{
			name: "mirror", opts: CORSOptions{}, origin: "https://site.test", reqHeaders: "content-type, x-conversations-token",
			wantStatus: 204,
			want: map[string]string{
				"Access-Control-Allow-Origin":      "https://site.test",
				"Access-Control-Allow-Credentials": "",
				"Access-Control-Allow-Methods":     "GET, HEAD, POST, OPTIONS",
				"Access-Control-Allow-Headers":     "content-type, x-conversations-token",
				"Access-Control-Max-Age":           "600",
				"Vary":                             "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
			},
		},
		{
			name: "credentials and max age", opts: CORSOptions{Credentials: true, MaxAge: time.Hour}, origin: "https://site.test",
			wantStatus: 204,
			want: map[string]string{
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Max-Age":           "3600",
				"Access-Control-Allow-Headers":     "",
			},
		},
		{
			name: "no max age", opts: CORSOptions{MaxAge: -1}, origin: "https://site.test",
			wantStatus: 204, want: map[string]string{"Access-Control-Max-Age": ""},
		},
		{
			name: "refused", opts: CORSOptions{Origins: []string{"https://www.example.com"}}, origin: "https://evil.test",
			wantStatus: 403, want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""},
		},
		{
			name: "header list with junk is not mirrored", opts: CORSOptions{}, origin: "https://site.test", reqHeaders: "x-a\x7f",
			wantStatus: 204, want: map[string]string{"Access-Control-Allow-Headers": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCORS(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("OPTIONS", "http://edge.test/e/", nil)
			r.Header.Set("Origin", tt.origin)
			r.Header.Set("Access-Control-Request-Method", "POST")
			if tt.reqHeaders != "" {
				r.Header["Access-Control-Request-Headers"] = []string{tt.reqHeaders}
			}
			if !IsPreflight(r) {
				t.Fatal("IsPreflight = false, want true")
			}
			w := httptest.NewRecorder()
			c.Preflight(w, r)
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			for k, v := range tt.want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			wantRejected := uint64(0)
			if tt.wantStatus == 403 {
				wantRejected = 1
			}
			if got := c.Rejected(); got != wantRejected {
				t.Errorf("Rejected() = %d, want %d", got, wantRejected)
			}
		})
	}
}

func TestApply(t *testing.T) {
	c, err := NewCORS(CORSOptions{Origins: []string{"https://www.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	upstream := func() http.Header {
		return http.Header{
			"Access-Control-Allow-Origin":      {"https://whoever.test"},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Expose-Headers":    {"X-Upstream"},
			"Access-Control-Max-Age":           {"86400"},
			"Vary":                             {"Accept-Encoding"},
		}
	}
	h := upstream()
	c.Apply(h, "https://www.example.com", "ph.example.com")
	if got := h.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "https://www.example.com" {
		t.Errorf("allowed: Access-Control-Allow-Origin = %q, want exactly [https://www.example.com]", got)
	}
	if got := h.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("allowed: Access-Control-Allow-Credentials = %q, want none (not configured)", got)
	}
	if got := h.Get("Vary"); got != "Accept-Encoding, Origin" {
		t.Errorf("allowed: Vary = %q, want \"Accept-Encoding, Origin\"", got)
	}

	h = upstream()
	c.Apply(h, "https://evil.test", "ph.example.com")
	if got := h.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("refused: Access-Control-Allow-Origin = %q, want none", got)
	}
	// Same-origin requests need no CORS and are not refusals.
	h = upstream()
	c.Apply(h, "https://ph.example.com", "ph.example.com")
	if got := c.Rejected(); got != 1 {
		t.Errorf("Rejected() = %d, want 1 (same-origin is not counted)", got)
	}
	h = upstream()
	c.Apply(h, "", "ph.example.com")
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("no Origin: upstream's %s survived", k)
		}
	}
}

// FuzzCORSAllowed checks that origin matching never panics and that an
// allowed origin under a wildcard policy really is a subdomain.
func FuzzCORSAllowed(f *testing.F) {
	f.Add("https://app.example.com")       // a subdomain
	f.Add("https://example.com")           // the apex, refused
	f.Add("https://evilexample.com")       // lookalike
	f.Add("https://example.com.evil.test") // lookalike suffix
	f.Add("https://[::1]:8080")            // IPv6 literal
	f.Add("null")                          // opaque origin
	f.Add("https://a.example.com:443/")    // default port and slash
	f.Add("https://a.example.com%2f.evil") // escaped separator
	f.Add("HTTPS://A.EXAMPLE.COM")         // upper case
	c, err := NewCORS(CORSOptions{Origins: []string{"https://*.example.com"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, origin string) {
		if !c.Allowed(origin) {
			return
		}
		norm, ok := normalizeOrigin(origin)
		if !ok || !strings.HasPrefix(norm, "https://") || !strings.HasSuffix(norm, ".example.com") || norm == "https://.example.com" {
			t.Fatalf("Allowed(%q) = true, but %q is not a subdomain of example.com over https", origin, norm)
		}
	})
}

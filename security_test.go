package edgehog_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgehog/edgehog"
)

// reqFrom builds a request that arrives from peer (the socket address).
func (e *env) serveFrom(t *testing.T, peer, method, target string, h http.Header) (*http.Response, []byte) {
	t.Helper()
	// The handler is called directly so that the socket peer can be any
	// address; everything after it is real (the fake upstream on loopback).
	req := e.newRequest(t, method, target, strings.NewReader(`{"api_key":"phc_x","event":"e","properties":{"distinct_id":"d"}}`))
	req.RemoteAddr = peer
	req.RequestURI = ""
	for k, v := range h {
		req.Header[k] = v
	}
	rec := newResponseRecorder()
	e.proxy.ServeHTTP(rec, req)
	return rec.result(), rec.body.Bytes()
}

func TestClientIPThroughHandler(t *testing.T) {
	cfg := edgehog.Config{ClientIP: edgehog.ClientIPOptions{TrustedProxies: []string{"10.0.0.0/8", "2001:db8:ff::/48"}}}
	e := newEnv(t, cfg)
	tests := []struct {
		name   string
		peer   string
		header http.Header
		want   string
	}{
		{"direct client", "203.0.113.5:40000", nil, "203.0.113.5"},
		{"spoofed XFF from untrusted peer", "203.0.113.5:40000", http.Header{"X-Forwarded-For": {"8.8.8.8"}}, "203.0.113.5"},
		{"spoofed Forwarded and X-Real-IP", "203.0.113.5:40000", http.Header{"Forwarded": {"for=8.8.8.8"}, "X-Real-Ip": {"8.8.8.8"}}, "203.0.113.5"},
		{"through the LB", "10.0.0.7:40000", http.Header{"X-Forwarded-For": {"198.51.100.23"}}, "198.51.100.23"},
		{"through the LB with a spoof", "10.0.0.7:40000", http.Header{"X-Forwarded-For": {"8.8.8.8, 198.51.100.23"}}, "198.51.100.23"},
		{"two trusted hops", "10.0.0.7:40000", http.Header{"X-Forwarded-For": {"198.51.100.23, 10.1.1.1"}}, "198.51.100.23"},
		{"IPv6 client via v6 LB", "[2001:db8:ff::1]:443", http.Header{"X-Forwarded-For": {"2001:db8:1234::42"}}, "2001:db8:1234::42"},
		{"IPv6 direct", "[2001:db8:1234::42]:5000", nil, "2001:db8:1234::42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.Reset()
			res, body := e.serveFrom(t, tt.peer, "POST", "/e/", tt.header)
			if res.StatusCode != 200 {
				t.Fatalf("status %d %s", res.StatusCode, body)
			}
			got := e.only(t).Header
			if xff := got.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != tt.want {
				t.Errorf("upstream X-Forwarded-For = %q, want exactly [%s]", xff, tt.want)
			}
			if rip := got.Get("X-Real-Ip"); rip != tt.want {
				t.Errorf("upstream X-Real-IP = %q, want %s", rip, tt.want)
			}
			for _, k := range []string{"Forwarded", "Cf-Connecting-Ip", "True-Client-Ip"} {
				if v, ok := got[k]; ok {
					t.Errorf("upstream got %s %q", k, v)
				}
			}
		})
	}
}

func TestClientIPHeaderAndTruncation(t *testing.T) {
	e := newEnv(t, edgehog.Config{ClientIP: edgehog.ClientIPOptions{
		TrustedProxies: []string{"10.0.0.0/8"}, Header: "CF-Connecting-IP", Truncate: true,
	}})
	e.serveFrom(t, "10.0.0.7:1", "POST", "/e/", http.Header{"Cf-Connecting-Ip": {"198.51.100.23"}, "X-Forwarded-For": {"8.8.8.8"}})
	if got := e.only(t).Header.Get("X-Forwarded-For"); got != "198.51.100.0" {
		t.Errorf("X-Forwarded-For = %q, want the truncated 198.51.100.0", got)
	}
	e.fake.Reset()
	e.serveFrom(t, "203.0.113.9:1", "POST", "/e/", http.Header{"Cf-Connecting-Ip": {"198.51.100.23"}})
	if got := e.only(t).Header.Get("X-Forwarded-For"); got != "203.0.113.0" {
		t.Errorf("untrusted peer's header believed: X-Forwarded-For = %q, want 203.0.113.0", got)
	}
}

func TestForwardedProtoHost(t *testing.T) {
	tests := []struct {
		name      string
		cfg       edgehog.Config
		peer      string
		header    http.Header
		wantProto string
		wantHost  string
	}{
		{"self-hosted: what edgehog saw", edgehog.Config{}, "203.0.113.5:1", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example"}}, "http", "ph.example.com"},
		{"trusted TLS terminator", edgehog.Config{ClientIP: edgehog.ClientIPOptions{TrustedProxies: []string{"10.0.0.0/8"}}}, "10.0.0.1:1",
			http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"www.example.com"}}, "https", "www.example.com"},
		{"never", edgehog.Config{ForwardedHeaders: "never"}, "203.0.113.5:1", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			req := http.Header{}
			for k, v := range tt.header {
				req[k] = v
			}
			e.serveFromHost(t, tt.peer, "ph.example.com", "/e/", req)
			got := e.only(t).Header
			if p, h := got.Get("X-Forwarded-Proto"), got.Get("X-Forwarded-Host"); p != tt.wantProto || h != tt.wantHost {
				t.Errorf("X-Forwarded-Proto %q Host %q, want %q %q", p, h, tt.wantProto, tt.wantHost)
			}
		})
	}
	// PostHog Cloud gets neither unless asked for.
	for mode, want := range map[string]bool{"": false, "auto": false, "always": true} {
		var got http.Header
		p, err := edgehog.New(edgehog.Config{Region: "eu", ForwardedHeaders: mode, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r.Header.Clone()
			return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
		})})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "http://ph.example.com/e/", strings.NewReader("{}"))
		p.ServeHTTP(newResponseRecorder(), req)
		p.Close()
		if _, sent := got["X-Forwarded-Proto"]; sent != want {
			t.Errorf("PostHog Cloud with forwarded_headers %q: X-Forwarded-Proto sent = %v, want %v", mode, sent, want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (e *env) serveFromHost(t *testing.T, peer, host, target string, h http.Header) {
	t.Helper()
	req := e.newRequest(t, "POST", target, strings.NewReader(`{"api_key":"phc_x","event":"e","properties":{"distinct_id":"d"}}`))
	req.RemoteAddr, req.Host, req.RequestURI = peer, host, ""
	for k, v := range h {
		req.Header[k] = v
	}
	e.proxy.ServeHTTP(newResponseRecorder(), req)
}

func TestExposure(t *testing.T) {
	public := newEnv(t, edgehog.Config{})
	all := newEnv(t, edgehog.Config{Exposure: "all"})
	tests := []struct {
		method, path string
		public       int // status under exposure public
	}{
		{"POST", "/e/", 200},
		{"GET", "/api/surveys/?token=phc_x", 200},
		{"GET", "/api/projects/1/feature_flags/", 404},
		{"GET", "/api/users/@me/", 404},
		{"GET", "/admin/", 404},
		{"GET", "/", 404},
		{"GET", "/static/../api/projects/", 400},
		{"GET", "/static/%2e%2e/api/projects/", 400},
		{"GET", "/static%2f..%2fapi/projects/", 400},
		{"GET", "/static/..%5capi/projects/", 400},
		{"GET", "//api/projects/", 400},
		{"GET", "/API/projects/", 404},
		{"GET", "/" + strings.Repeat("x", 3000), 414},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path[:min(len(tt.path), 40)], func(t *testing.T) {
			public.fake.Reset()
			res, body := public.serveFrom(t, "203.0.113.5:1", tt.method, tt.path, nil)
			if res.StatusCode != tt.public {
				t.Errorf("public: %d %s, want %d", res.StatusCode, body, tt.public)
			}
			if n := len(public.fake.Requests()); (tt.public < 300) != (n == 1) {
				t.Errorf("public: upstream saw %d requests", n)
			}
			if tt.public == 404 && res.StatusCode == 404 {
				all.fake.Reset()
				all.serveFrom(t, "203.0.113.5:1", tt.method, tt.path, nil)
				if n := len(all.fake.Requests()); n != 1 {
					t.Errorf("all: upstream saw %d requests, want 1", n)
				}
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, edgehog.Config{RateLimit: edgehog.RateLimitOptions{Kinds: map[string]edgehog.Rate{
		"capture": {PerSecond: 0.5, Burst: 3},
	}}})
	statuses := []int{}
	for range 5 {
		res, _ := e.serveFrom(t, "203.0.113.5:1", "POST", "/e/", nil)
		statuses = append(statuses, res.StatusCode)
		if res.StatusCode == 429 {
			if ra := res.Header.Get("Retry-After"); ra != "2" {
				t.Errorf("Retry-After = %q, want 2", ra)
			}
		}
	}
	if want := []int{200, 200, 200, 429, 429}; !equalInts(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	if n := len(e.fake.Requests()); n != 3 {
		t.Errorf("upstream saw %d requests, want 3 (429s stay at the edge)", n)
	}
	// Another client and another kind are not affected.
	if res, _ := e.serveFrom(t, "203.0.113.6:1", "POST", "/e/", nil); res.StatusCode != 200 {
		t.Errorf("another client got %d", res.StatusCode)
	}
	if res, _ := e.serveFrom(t, "203.0.113.5:1", "POST", "/flags/?v=2", nil); res.StatusCode != 200 {
		t.Errorf("an unlimited kind got %d", res.StatusCode)
	}
	if !strings.Contains(e.logs.String(), `"outcome":"rate_limited"`) {
		t.Error("429s are not in the access log")
	}
}

func TestRateLimitConfigErrors(t *testing.T) {
	for name, rl := range map[string]edgehog.RateLimitOptions{
		"rate_limit.kinds.captures": {Kinds: map[string]edgehog.Rate{"captures": {PerSecond: 1}}},
		"rate_limit.kinds.flags":    {Kinds: map[string]edgehog.Rate{"flags": {PerSecond: 0}}},
	} {
		if _, err := edgehog.New(edgehog.Config{RateLimit: rl}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v, want one naming %s", err, name)
		}
	}
	for _, c := range []edgehog.Config{
		{ClientIP: edgehog.ClientIPOptions{TrustedProxies: []string{"10.0.0.0/33"}}},
		{ClientIP: edgehog.ClientIPOptions{Header: "X-Client-IP"}},
		{Exposure: "everything"},
		{ForwardedHeaders: "sometimes"},
	} {
		if _, err := edgehog.New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

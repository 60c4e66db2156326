package edgehog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/fakehog"
)

// env is one edgehog in front of one fake PostHog, both on loopback.
type env struct {
	fake  *fakehog.Fake
	proxy *edgehog.Proxy
	front *httptest.Server
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, cfg edgehog.Config) *env {
	t.Helper()
	fake, err := fakehog.Start(fakehog.Options{Quiet: true})
	if err != nil {
		t.Fatalf("fakehog.Start: %v", err)
	}
	t.Cleanup(func() { fake.Close() })
	if cfg.API == "" {
		cfg.API = fake.APIURL()
	}
	if cfg.Assets == "" {
		cfg.Assets = fake.AssetsURL()
	}
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.AccessLog = true
	p, err := edgehog.New(cfg)
	if err != nil {
		t.Fatalf("edgehog.New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)
	return &env{fake: fake, proxy: p, front: front, logs: logs}
}

func (e *env) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := e.front.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading answer of %s %s: %v", req.Method, req.URL, err)
	}
	return res, b
}

func (e *env) newRequest(t *testing.T, method, target string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, e.front.URL+target, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// last returns the only request the fake saw, failing unless there is exactly one.
func (e *env) only(t *testing.T) fakehog.Request {
	t.Helper()
	reqs := e.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream saw %d requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

func TestRoutes(t *testing.T) {
	e := newEnv(t, edgehog.Config{
		Prefix:   "/ph",
		Exposure: "all", // routes every path; exposure has its own tests
		// Every request must reach upstream; the cache has its own tests.
		Cache: edgehog.CacheOptions{Disabled: true},
		Aliases: []edgehog.Alias{
			{From: "/k/", To: "/e/"},
			{From: "/rec", To: "/s"},
			{From: "/ff/", To: "/flags/"},
			{From: "/cdn/*", To: "/static/*"},
			{From: "/cfg/*", To: "/array/*"},
		},
	})
	tests := []struct {
		method, path string
		upstream     string
		wantPath     string
	}{
		{"POST", "/ph/e/", "api", "/e/"},
		{"POST", "/ph/e", "api", "/e"},
		{"POST", "/ph/i/v0/e/", "api", "/i/v0/e/"},
		{"POST", "/ph/i/v0/e", "api", "/i/v0/e"},
		{"POST", "/ph/batch/", "api", "/batch/"},
		{"POST", "/ph/batch", "api", "/batch"},
		{"POST", "/ph/capture/", "api", "/capture/"},
		{"POST", "/ph/track", "api", "/track"},
		{"POST", "/ph/engage/", "api", "/engage/"},
		{"POST", "/ph/s/", "api", "/s/"},
		{"POST", "/ph/s", "api", "/s"},
		{"POST", "/ph/i/v0/ai/batch/", "api", "/i/v0/ai/batch/"},
		{"POST", "/ph/i/v1/logs", "api", "/i/v1/logs"},
		{"POST", "/ph/i/v1/analytics/events", "api", "/i/v1/analytics/events"},
		{"POST", "/ph/flags/", "api", "/flags/"},
		{"POST", "/ph/flags", "api", "/flags"},
		{"POST", "/ph/decide/", "api", "/decide/"},
		{"GET", "/ph/flags/definitions", "api", "/flags/definitions"},
		{"GET", "/ph/api/feature_flag/local_evaluation", "api", "/api/feature_flag/local_evaluation"},
		{"GET", "/ph/api/surveys/", "api", "/api/surveys/"},
		{"GET", "/ph/site_app/1/phc_x/abc/", "api", "/site_app/1/phc_x/abc/"},
		{"GET", "/ph/static/array.js", "assets", "/static/array.js"},
		{"GET", "/ph/static/1.449.2/lazy-recorder.js", "assets", "/static/1.449.2/lazy-recorder.js"},
		{"GET", "/ph/array/phc_x/config.js", "assets", "/array/phc_x/config.js"},
		{"GET", "/ph/array/phc_x/config", "assets", "/array/phc_x/config"},
		{"HEAD", "/ph/static/array.js", "assets", "/static/array.js"},
		{"POST", "/ph/k/", "api", "/e/"},
		{"POST", "/ph/k", "api", "/e"},
		{"POST", "/ph/rec/", "api", "/s/"},
		{"POST", "/ph/ff/", "api", "/flags/"},
		{"GET", "/ph/cdn/surveys.js", "assets", "/static/surveys.js"},
		{"GET", "/ph/cfg/phc_x/config.js", "assets", "/array/phc_x/config.js"},
		{"PUT", "/ph/somewhere/else", "api", "/somewhere/else"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			e.fake.Reset()
			var body io.Reader
			if tt.method == "POST" || tt.method == "PUT" {
				body = strings.NewReader(`{"api_key":"phc_x","batch":[]}`)
			}
			res, _ := e.do(t, e.newRequest(t, tt.method, tt.path, body))
			if res.StatusCode >= 300 && res.StatusCode < 400 {
				t.Errorf("status %d: edgehog must never redirect", res.StatusCode)
			}
			got := e.only(t)
			if got.Upstream != tt.upstream || got.Path != tt.wantPath || got.Method != tt.method {
				t.Errorf("upstream saw %s %s on %s, want %s %s on %s", got.Method, got.Path, got.Upstream, tt.method, tt.wantPath, tt.upstream)
			}
		})
	}
}

func TestOutsidePrefix(t *testing.T) {
	e := newEnv(t, edgehog.Config{Prefix: "/ph"})
	for _, p := range []string{"/e/", "/phx/e/", "/static/array.js"} {
		res, body := e.do(t, e.newRequest(t, "GET", p, nil))
		if res.StatusCode != http.StatusNotFound || !json.Valid(body) {
			t.Errorf("GET %s = %d %q, want 404 with a JSON body", p, res.StatusCode, body)
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("upstream saw %d requests for paths outside the prefix, want 0", n)
	}
}

func TestQueryByteForByte(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	queries := []string{
		"v=2",
		"compression=gzip-js&ver=1.200.0&_=1700000000000",
		"ip=0&_=1&ver=1.2.3&compression=base64&beacon=1",
		"a=b;c=d",
		"x=%zz&y=%41",
		"token=phc_abc&send_cohorts",
		"q=a+b%20c&q=2&empty=&=x",
		"only_evaluate_survey_feature_flags=true&v=2",
	}
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			e.fake.Reset()
			e.do(t, e.newRequest(t, "POST", "/flags/?"+q, strings.NewReader(`{}`)))
			if got := e.only(t).RawQuery; got != q {
				t.Errorf("upstream query = %q, want %q", got, q)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	e := newEnv(t, edgehog.Config{KeepCookies: []string{"ph_keep"}})
	req := e.newRequest(t, "POST", "/batch/?x=1", strings.NewReader(`{"api_key":"phc_x","batch":[{"event":"e","properties":{"distinct_id":"d"}}]}`))
	h := req.Header
	h.Set("Authorization", "Bearer phc_secret")
	h.Set("If-None-Match", `"etag-1"`)
	h.Set("Origin", "https://site.example")
	h.Set("Referer", "https://site.example/page")
	h.Set("User-Agent", "posthog-node/5.70.0")
	h.Set("Accept-Encoding", "gzip, deflate")
	h.Set("Content-Type", "application/json")
	h.Set("PostHog-Sdk-Info", "posthog-node/5.70.0")
	h.Set("PostHog-Attempt", "2")
	h.Set("X-Conversations-Token", "conv")
	h.Set("X-Site-Header", "site")
	h.Set("Cookie", "session=topsecret; ph_keep=1; other=2")
	h.Set("X-Forwarded-For", "8.8.8.8")
	h.Set("Forwarded", "for=8.8.8.8")
	h.Set("X-Real-IP", "8.8.4.4")
	h.Set("True-Client-IP", "8.8.4.4")
	h.Set("CF-Connecting-IP", "8.8.4.4")
	h.Set("Fly-Client-IP", "8.8.4.4")
	h.Set("CloudFront-Viewer-Address", "8.8.4.4:443")
	h.Set("X-PostHog-Client-IP", "8.8.4.4")
	h.Set("Connection", "X-Hop")
	h.Set("X-Hop", "hop")
	h.Set("Keep-Alive", "timeout=5")
	h.Set("Proxy-Authorization", "Basic eA==")
	res, _ := e.do(t, req)
	if res.StatusCode != 200 {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	got := e.only(t)
	up, _ := url.Parse(e.fake.APIURL())
	if got.Host != up.Host {
		t.Errorf("upstream Host = %q, want %q", got.Host, up.Host)
	}
	kept := []string{"Authorization", "If-None-Match", "Origin", "Referer", "User-Agent", "Accept-Encoding",
		"Content-Type", "Posthog-Sdk-Info", "Posthog-Attempt", "X-Conversations-Token", "X-Site-Header"}
	for _, k := range kept {
		if g, w := got.Header.Get(k), h.Get(k); g != w {
			t.Errorf("upstream %s = %q, want %q", k, g, w)
		}
	}
	if g := got.Header.Get("Cookie"); g != "ph_keep=1" {
		t.Errorf("upstream Cookie = %q, want only the allowed cookie", g)
	}
	if g := got.Header.Values("X-Forwarded-For"); len(g) != 1 || g[0] != "127.0.0.1" {
		t.Errorf("upstream X-Forwarded-For = %q, want exactly [127.0.0.1]", g)
	}
	if g := got.Header.Get("X-Real-Ip"); g != "127.0.0.1" {
		t.Errorf("upstream X-Real-IP = %q, want 127.0.0.1", g)
	}
	for _, k := range []string{"Forwarded", "True-Client-Ip", "Cf-Connecting-Ip", "Fly-Client-Ip", "Cloudfront-Viewer-Address",
		"X-Posthog-Client-Ip", "X-Hop", "Keep-Alive", "Proxy-Authorization", "Connection"} {
		if v, ok := got.Header[k]; ok {
			t.Errorf("upstream got %s = %q, want it removed", k, v)
		}
	}
	logs := e.logs.String()
	for _, secret := range []string{"phc_secret", "topsecret", "Bearer"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestNoCookieByDefault(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	req := e.newRequest(t, "POST", "/e/", strings.NewReader(`{}`))
	req.Header.Set("Cookie", "ph_phc_x_posthog=1; session=2")
	e.do(t, req)
	if v, ok := e.only(t).Header["Cookie"]; ok {
		t.Errorf("upstream got Cookie %q, want none by default", v)
	}
}

func TestBodyAndEncodingUntouched(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	gz := gzipBytes(t, []byte(`{"api_key":"phc_x","batch":[{"event":"e","uuid":"u1","properties":{"distinct_id":"d"}}]}`))
	req := e.newRequest(t, "POST", "/batch/", bytes.NewReader(gz))
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Content-Type", "application/json")
	res, body := e.do(t, req)
	if res.StatusCode != 200 || string(body) != `{"status":"Ok"}` {
		t.Fatalf("answer = %d %q, want 200 {\"status\":\"Ok\"}", res.StatusCode, body)
	}
	got := e.only(t)
	if !bytes.Equal(got.Body, gz) || got.BodyLen != int64(len(gz)) {
		t.Errorf("upstream body differs from what the client sent (%d bytes, want %d)", got.BodyLen, len(gz))
	}
	if g := got.Header.Get("Content-Encoding"); g != "gzip" {
		t.Errorf("upstream Content-Encoding = %q, want gzip", g)
	}
	if g := got.Header.Get("Content-Length"); g != "" && g != itoa(len(gz)) {
		t.Errorf("upstream Content-Length = %q, want %d", g, len(gz))
	}
	if len(got.Events) != 1 || got.Events[0].UUID != "u1" {
		t.Errorf("upstream decoded events %+v, want the one event u1", got.Events)
	}
}

func TestResponseUntouched(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	want := e.fake.StaticBody("/static/array.js")
	if len(want) == 0 {
		t.Fatal("fake has no /static/array.js")
	}
	for _, ae := range []string{"", "gzip"} {
		t.Run("accept-encoding="+ae, func(t *testing.T) {
			req := e.newRequest(t, "GET", "/static/array.js", nil)
			if ae != "" {
				req.Header.Set("Accept-Encoding", ae)
			} else {
				// Go's client would add gzip itself; ask for identity.
				req.Header.Set("Accept-Encoding", "identity")
			}
			res, body := e.do(t, req)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if res.Header.Get("Content-Encoding") != ae {
				t.Fatalf("Content-Encoding = %q, want %q", res.Header.Get("Content-Encoding"), ae)
			}
			if ae == "gzip" {
				body = gunzipBytes(t, body)
			}
			if !bytes.Equal(body, want) {
				t.Errorf("body differs from upstream's (%d bytes, want %d)", len(body), len(want))
			}
			if res.ContentLength <= 0 {
				t.Errorf("Content-Length not relayed: %d", res.ContentLength)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	fake, err := fakehog.Start(fakehog.Options{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	p, err := edgehog.New(edgehog.Config{API: fake.APIURL(), Assets: fake.AssetsURL(), Prefix: "/ph"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	site := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "site:"+r.URL.Path)
	})
	srv := httptest.NewServer(p.Middleware(site))
	defer srv.Close()
	for path, want := range map[string]string{"/": "site:/", "/about": "site:/about", "/phx": "site:/phx"} {
		res, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != want {
			t.Errorf("GET %s = %q, want %q", path, b, want)
		}
	}
	res, err := srv.Client().Post(srv.URL+"/ph/e/", "application/json", strings.NewReader(`{"api_key":"phc_x","event":"x","properties":{"distinct_id":"d"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || len(fake.Requests()) != 1 {
		t.Errorf("POST /ph/e/ = %d with %d upstream requests, want 200 and 1", res.StatusCode, len(fake.Requests()))
	}
}

func TestHostRouting(t *testing.T) {
	e := newEnv(t, edgehog.Config{Hosts: []edgehog.Host{{Name: "a.example", Prefix: "/x"}, {Name: "b.example"}}})
	tests := []struct {
		host, path string
		status     int
	}{
		{"a.example", "/x/e/", 200},
		{"b.example", "/e/", 200},
		{"a.example", "/e/", 404},
		{"c.example", "/e/", 404},
	}
	for _, tt := range tests {
		e.fake.Reset()
		req := e.newRequest(t, "POST", tt.path, strings.NewReader(`{"event":"x","api_key":"phc_x","properties":{"distinct_id":"d"}}`))
		req.Host = tt.host
		res, _ := e.do(t, req)
		if res.StatusCode != tt.status {
			t.Errorf("POST %s%s = %d, want %d", tt.host, tt.path, res.StatusCode, tt.status)
		}
		if n := len(e.fake.Requests()); (tt.status == 200) != (n == 1) {
			t.Errorf("POST %s%s reached upstream %d times", tt.host, tt.path, n)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  edgehog.Config
		want string
	}{
		{"bad region", edgehog.Config{Region: "mars"}, "region"},
		{"bad api", edgehog.Config{API: "ftp://x"}, "upstream.api"},
		{"api with query", edgehog.Config{API: "http://x/?a=b"}, "upstream.api"},
		{"bad assets", edgehog.Config{API: "http://x", Assets: "nope"}, "upstream.assets"},
		{"bad prefix", edgehog.Config{Prefix: "ph"}, "prefix"},
		{"bad alias", edgehog.Config{Aliases: []edgehog.Alias{{From: "/e/", To: "/s/"}}}, "aliases[0]"},
		{"bad cookie", edgehog.Config{KeepCookies: []string{"a=b"}}, "cookies.keep[0]"},
		{"missing ca file", edgehog.Config{Upstream: edgehog.UpstreamOptions{CAFile: "/nonexistent/ca.pem"}}, "upstream.ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := edgehog.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestRegions(t *testing.T) {
	for _, tt := range []struct{ region, api, assets string }{
		{"us", "https://us.i.posthog.com", "https://us-assets.i.posthog.com"},
		{"eu", "https://eu.i.posthog.com", "https://eu-assets.i.posthog.com"},
	} {
		api, assets, ok := edgehog.RegionUpstreams(tt.region)
		if !ok || api != tt.api || assets != tt.assets {
			t.Errorf("RegionUpstreams(%q) = %q, %q, %v; want %q, %q, true", tt.region, api, assets, ok, tt.api, tt.assets)
		}
	}
	if _, _, ok := edgehog.RegionUpstreams("ap"); ok {
		t.Error("RegionUpstreams(\"ap\") ok, want false")
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

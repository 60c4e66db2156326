package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/metrics"
)

func newHandler(t *testing.T, o Options) *Handler {
	t.Helper()
	if o.Metrics == nil {
		o.Metrics = metrics.New(metrics.Options{Build: metrics.BuildInfo{Version: "v9.9.9", Commit: "c0ffee"}})
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, method, path string, hdr http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func TestRoutes(t *testing.T) {
	h := newHandler(t, Options{Config: func() string { return "listen: :8080\n" }})
	tests := []struct {
		method, path string
		status       int
		contentType  string
		contains     string
	}{
		{"GET", "/metrics", 200, "text/plain", "edgehog_build_info"},
		{"GET", "/status", 200, "text/html; charset=utf-8", "<title>edgehog status</title>"},
		{"GET", "/status.json", 200, "application/json", `"config": "listen: :8080\n"`},
		{"GET", "/healthz", 200, "application/json", `{"status":"ok"}`},
		{"GET", "/", 302, "", ""},
		{"POST", "/metrics", 405, "", ""},
		{"GET", "/nope", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := get(t, h, tt.method, tt.path, nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, res.StatusCode, tt.status)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type = %q, want %q", ct, tt.contentType)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("body does not contain %q:\n%.500s", tt.contains, body)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
		})
	}
}

func TestStatusPageSelfContained(t *testing.T) {
	res := get(t, newHandler(t, Options{}), "GET", "/status", nil)
	body, _ := io.ReadAll(res.Body)
	for _, external := range []string{"http://", "https://", "//cdn", "<link", "src="} {
		if strings.Contains(string(body), external) {
			t.Errorf("status page contains %q: it must not load anything from elsewhere", external)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'sha256-", "style-src 'sha256-", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy = %q, want %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy = %q, want no unsafe-* source", csp)
	}
}

func TestToken(t *testing.T) {
	h := newHandler(t, Options{Token: "s3cret", Extra: map[string]http.Handler{
		"POST /cache/purge": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }),
	}})
	basic := func(user, pass string) http.Header {
		r := httptest.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, pass)
		return http.Header{"Authorization": r.Header["Authorization"]}
	}
	tests := []struct {
		name         string
		method, path string
		hdr          http.Header
		status       int
	}{
		{"health needs no token", "GET", "/healthz", nil, 200},
		{"metrics without token", "GET", "/metrics", nil, 401},
		{"status without token", "GET", "/status", nil, 401},
		{"feed without token", "GET", "/status.json", nil, 401},
		{"extra without token", "POST", "/cache/purge", nil, 401},
		{"wrong bearer", "GET", "/metrics", http.Header{"Authorization": {"Bearer nope"}}, 401},
		{"bearer prefix of token", "GET", "/metrics", http.Header{"Authorization": {"Bearer s3cre"}}, 401},
		{"bearer", "GET", "/metrics", http.Header{"Authorization": {"Bearer s3cret"}}, 200},
		{"basic, any user", "GET", "/status", basic("admin", "s3cret"), 200},
		{"basic, wrong password", "GET", "/status", basic("s3cret", "x"), 401},
		{"extra with token", "POST", "/cache/purge", http.Header{"Authorization": {"Bearer s3cret"}}, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, h, tt.method, tt.path, tt.hdr)
			if res.StatusCode != tt.status {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, res.StatusCode, tt.status)
			}
			if res.StatusCode == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge: %q", res.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestExtraConflict(t *testing.T) {
	_, err := New(Options{
		Metrics: metrics.New(metrics.Options{}),
		Extra:   map[string]http.Handler{"GET /metrics": http.NotFoundHandler()},
	})
	if err == nil {
		t.Fatal("New with an Extra pattern equal to /metrics succeeded, want an error")
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without Metrics succeeded, want an error")
	}
}

// TestStatusFeed checks the feed's numbers after real requests through
// the handler.
func TestStatusFeed(t *testing.T) {
	m := metrics.New(metrics.Options{
		Build: metrics.BuildInfo{Version: "v9.9.9", Commit: "c0ffee", GoVersion: "go1.26"},
		Cache: func() metrics.CacheStats { return metrics.CacheStats{Hits: 12, Misses: 3, Entries: 2, Bytes: 2048} },
	})
	traffic(t, m, 7, 2, 1)
	now := time.Unix(1_800_000_000, 0)
	h := newHandler(t, Options{Metrics: m, Now: func() time.Time { return now }, Config: func() string { return "cfg" }})
	res := get(t, h, "GET", "/status.json", nil)
	var st Status
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	byKind := map[string]KindStatus{}
	for _, k := range st.Kinds {
		byKind[k.Kind] = k
	}
	capture := byKind["capture"]
	checks := []struct {
		name      string
		got, want float64
	}{
		{"capture requests", capture.Requests, 7},
		{"capture 2xx", capture.Status2xx, 7},
		{"batch 4xx", byKind["batch"].Status4xx, 2},
		{"batch rejections", byKind["batch"].Rejections, 2},
		{"flags 5xx", byKind["flags"].Status5xx, 1},
		{"flags upstream errors", byKind["flags"].UpstreamErrors, 1},
		{"total requests", st.Total.Requests, 10},
		{"body_too_large", st.Rejections["body_too_large"], 2},
		{"connect errors", st.UpstreamErrors["connect"], 1},
		{"timeout errors", st.UpstreamErrors["timeout"], 0},
		{"upstream latency count", st.Upstream.Count, 7},
		{"cache hits", st.Cache["hits"], 12},
		{"cache entries", st.Cache["entries"], 2},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if st.Upstream.P50ms == nil || *st.Upstream.P50ms <= 0 {
		t.Errorf("upstream p50 = %v, want a positive number", st.Upstream.P50ms)
	}
	if st.Kinds[0].Kind != "capture" {
		t.Errorf("first row %q, want the busiest kind, capture", st.Kinds[0].Kind)
	}
	if st.Build["version"] != "v9.9.9" || st.Config != "cfg" || st.Time != now.UnixMilli() {
		t.Errorf("build %v, config %q, time %d; want v9.9.9, cfg, %d", st.Build, st.Config, st.Time, now.UnixMilli())
	}
}

// traffic sends ok successful captures, tooBig batches over the body
// limit and unreachable flags requests through a real edgehog handler.
func traffic(t *testing.T, m *metrics.Metrics, ok, tooBig, unreachable int) {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"status":"Ok"}`)
	}))
	defer up.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	send := func(cfg edgehog.Config, path, body string, n int) {
		cfg.Observer = m
		p, err := edgehog.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for range n {
			w := httptest.NewRecorder()
			p.ServeHTTP(w, httptest.NewRequest("POST", path, strings.NewReader(body)))
		}
	}
	send(edgehog.Config{API: up.URL, Limits: edgehog.Limits{Events: 100}}, "/e/", `{"event":"x"}`, ok)
	send(edgehog.Config{API: up.URL, Limits: edgehog.Limits{Batch: 100}}, "/batch/", strings.Repeat("x", 200), tooBig)
	send(edgehog.Config{API: dead.URL}, "/flags/?v=2", "{}", unreachable)
}

func TestPublicMetrics(t *testing.T) {
	h := newHandler(t, Options{Token: "s3cret"})
	pm := h.PublicMetrics()
	tests := []struct {
		name   string
		method string
		hdr    http.Header
		status int
	}{
		{"no token", "GET", nil, 401},
		{"token", "GET", http.Header{"Authorization": {"Bearer s3cret"}}, 200},
		{"post", "POST", http.Header{"Authorization": {"Bearer s3cret"}}, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, pm, tt.method, "/internal-metrics", tt.hdr)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("%s = %d, want %d", tt.method, res.StatusCode, tt.status)
			}
			if tt.status == 200 && !strings.Contains(string(body), "edgehog_build_info") {
				t.Errorf("body lacks edgehog_build_info:\n%.300s", body)
			}
		})
	}
}

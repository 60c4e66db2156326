package metrics_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/metrics"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// doneObserver passes observations to Metrics and signals each one, so
// that a test waits for the server side of a request to finish instead of
// guessing how long it takes.
type doneObserver struct {
	*metrics.Metrics
	done chan edgehog.RequestInfo
}

func (o doneObserver) RequestDone(ri edgehog.RequestInfo) {
	o.Metrics.RequestDone(ri)
	o.done <- ri
}

// upstream is a fake PostHog: /e answers 200, /batch 503, and /flags and
// /s never answer until the test ends.
func upstream(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch {
		case strings.HasPrefix(r.URL.Path, "/flags"), r.URL.Path == "/s/":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case strings.HasPrefix(r.URL.Path, "/batch"):
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"Ok"}`)
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.URL
}

// deadURL returns an http:// URL nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// front serves an edgehog Proxy observed by fresh Metrics.
func front(t *testing.T, cfg edgehog.Config) (*metrics.Metrics, *httptest.Server, chan edgehog.RequestInfo) {
	t.Helper()
	m := metrics.New(metrics.Options{Build: metrics.BuildInfo{Version: "test"}})
	done := make(chan edgehog.RequestInfo, 16)
	cfg.Observer = doneObserver{Metrics: m, done: done}
	p, err := edgehog.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(func() { srv.Close(); p.Close() })
	return m, srv, done
}

// wait returns the next observation, or fails the test after a generous
// bound (a hang, not a timing assertion).
func wait(t *testing.T, done chan edgehog.RequestInfo) edgehog.RequestInfo {
	t.Helper()
	select {
	case ri := <-done:
		return ri
	case <-time.After(30 * time.Second):
		t.Fatal("no observation")
	}
	return edgehog.RequestInfo{}
}

// counter reads one series of the metric name from the registry.
func counter(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, s := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range s.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue()
			case s.Gauge != nil:
				return s.Gauge.GetValue()
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

// TestThroughHandler sends one request of each outcome through the real
// handler and checks what each one counted.
func TestThroughHandler(t *testing.T) {
	api := upstream(t)
	type series struct {
		name   string
		labels map[string]string
	}
	tests := []struct {
		name    string
		cfg     edgehog.Config
		method  string
		path    string
		body    string
		header  map[string]string
		cancel  bool // the client gives up before the answer
		status  int
		counted []series // each must be 1 afterwards
	}{
		{
			name: "200", method: "POST", path: "/e/?ip=1", body: `{"api_key":"phc_secret"}`, status: 200,
			counted: []series{
				{metrics.NameRequests, map[string]string{"kind": "capture", "code_class": "2xx", "upstream": "api"}},
				{metrics.NameUpstreamDuration, map[string]string{"kind": "capture"}},
				{metrics.NameRequestDuration, map[string]string{"kind": "capture"}},
			},
		},
		{
			name: "413", cfg: edgehog.Config{Limits: edgehog.Limits{Events: 10}},
			method: "POST", path: "/e/", body: strings.Repeat("x", 100), status: 413,
			counted: []series{
				{metrics.NameRequests, map[string]string{"kind": "capture", "code_class": "4xx"}},
				{metrics.NameRejections, map[string]string{"kind": "capture", "reason": "body_too_large"}},
			},
		},
		{
			name: "403 cors", cfg: edgehog.Config{CORS: edgehog.CORSOptions{Origins: []string{"https://www.example.com"}}},
			method: "OPTIONS", path: "/e/", status: 403,
			header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
			counted: []series{
				{metrics.NameRejections, map[string]string{"kind": "capture", "reason": "cors"}},
			},
		},
		{
			name: "404 no route", cfg: edgehog.Config{Prefix: "/ph"}, method: "POST", path: "/wrong/e/", body: "{}", status: 404,
			counted: []series{
				{metrics.NameRejections, map[string]string{"kind": "other", "reason": "no_route"}},
				{metrics.NameRequests, map[string]string{"kind": "other", "code_class": "4xx"}},
			},
		},
		{
			name: "404 not exposed", method: "GET", path: "/admin/login", status: 404,
			counted: []series{
				{metrics.NameRejections, map[string]string{"kind": "other", "reason": "not_exposed"}},
			},
		},
		{
			name: "503 from upstream", method: "POST", path: "/batch/", body: "{}", status: 503,
			counted: []series{
				{metrics.NameRequests, map[string]string{"kind": "batch", "code_class": "5xx"}},
				{metrics.NameUpstreamErrors, map[string]string{"kind": "batch", "cause": "status_5xx"}},
			},
		},
		{
			name: "502 unreachable", cfg: edgehog.Config{API: deadURL(t)}, method: "POST", path: "/e/", body: "{}", status: 502,
			counted: []series{
				{metrics.NameRequests, map[string]string{"kind": "capture", "code_class": "5xx"}},
				{metrics.NameUpstreamErrors, map[string]string{"kind": "capture", "cause": "connect"}},
			},
		},
		{
			name: "504 timeout", cfg: edgehog.Config{Upstream: edgehog.UpstreamOptions{FlagsTimeout: 100 * time.Millisecond}},
			method: "POST", path: "/flags/?v=2", body: "{}", status: 504,
			counted: []series{
				{metrics.NameUpstreamErrors, map[string]string{"kind": "flags", "cause": "timeout"}},
			},
		},
		{
			name: "client gone", method: "POST", path: "/s/", body: "{}", cancel: true, status: 499,
			counted: []series{
				{metrics.NameClientGone, map[string]string{"kind": "replay"}},
				{metrics.NameRequests, map[string]string{"kind": "replay", "code_class": "4xx"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.API == "" {
				cfg.API = api
			}
			m, srv, done := front(t, cfg)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			if tt.cancel {
				// Give up once the request has reached upstream (which
				// never answers /s): the handler is then waiting.
				go func() {
					for i := 0; i < 10000 && counter(t, m, metrics.NameInflight, nil) == 0; i++ {
						time.Sleep(time.Millisecond)
					}
					time.Sleep(20 * time.Millisecond)
					cancel()
				}()
			}
			res, err := srv.Client().Do(req)
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != tt.status {
					t.Errorf("%s %s = %d, want %d", tt.method, tt.path, res.StatusCode, tt.status)
				}
			} else if !tt.cancel {
				t.Fatal(err)
			}
			ri := wait(t, done)
			if ri.Status != tt.status {
				t.Errorf("observed status %d, want %d", ri.Status, tt.status)
			}
			for _, s := range tt.counted {
				if got := counter(t, m, s.name, s.labels); got != 1 {
					t.Errorf("%s%v = %v, want 1", s.name, s.labels, got)
				}
			}
			if got := counter(t, m, metrics.NameInflight, nil); got != 0 {
				t.Errorf("in flight after the request = %v, want 0", got)
			}
		})
	}
}

// TestRateLimited checks 429s count as rate_limited rejections.
func TestRateLimited(t *testing.T) {
	m, srv, done := front(t, edgehog.Config{API: upstream(t), RateLimit: edgehog.RateLimitOptions{
		Kinds: map[string]edgehog.Rate{"capture": {PerSecond: 0.001, Burst: 1}},
	}})
	var statuses []int
	for range 3 {
		res, err := srv.Client().Post(srv.URL+"/e/", "text/plain", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		statuses = append(statuses, res.StatusCode)
		wait(t, done)
	}
	if statuses[0] != 200 || statuses[1] != 429 || statuses[2] != 429 {
		t.Fatalf("statuses %v, want [200 429 429]", statuses)
	}
	if got := counter(t, m, metrics.NameRejections, map[string]string{"kind": "capture", "reason": "rate_limited"}); got != 2 {
		t.Errorf("rate_limited rejections = %v, want 2", got)
	}
}

// TestNoSecretsInLabels scrapes /metrics after requests full of paths,
// tokens and addresses, and checks none of them became a label value.
func TestNoSecretsInLabels(t *testing.T) {
	m, srv, done := front(t, edgehog.Config{API: upstream(t), Exposure: "all"})
	paths := []string{
		"/e/?token=phc_secrettoken",
		"/array/phc_secrettoken/config.js",
		"/api/projects/12345/secret-path/",
		"/some/unknown/path-xyz",
	}
	for _, p := range paths {
		req, _ := http.NewRequest("POST", srv.URL+p, strings.NewReader(`{"api_key":"phc_secrettoken"}`))
		req.Header.Set("X-Forwarded-For", "198.51.100.77")
		req.Header.Set("Authorization", "Bearer phx_personalkey")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		wait(t, done)
	}
	scrape := httptest.NewRecorder()
	promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{}).ServeHTTP(scrape, httptest.NewRequest("GET", "/metrics", nil))
	text := scrape.Body.String()
	if !strings.Contains(text, `edgehog_requests_total{code_class="`) {
		t.Fatalf("scrape holds no request counts:\n%s", text)
	}
	for _, bad := range []string{"phc_", "phx_", "secret", "12345", "xyz", "127.0.0.1", "198.51.100.77", "/e", "/array", "/api"} {
		if strings.Contains(text, bad) {
			t.Errorf("scrape contains %q", bad)
		}
	}
}

package edgehog_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/metrics"
)

// staticTransport answers every request like PostHog capture, without a
// network, so that benchmarks measure edgehog's own work only.
type staticTransport struct{ body []byte }

func (s staticTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode:    200,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(s.body)),
		ContentLength: int64(len(s.body)),
		Request:       r,
	}, nil
}

// discardWriter is a minimal http.ResponseWriter.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func benchProxy(b *testing.B, cfg edgehog.Config, method, target string, body []byte, header http.Header) {
	cfg.Transport = staticTransport{body: []byte(`{"status":"Ok"}`)}
	cfg.API = "http://127.0.0.1:1"
	p, err := edgehog.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest(method, target, bytes.NewReader(body))
		req.RemoteAddr = "203.0.113.9:52000"
		for k, v := range header {
			req.Header[k] = v
		}
		p.ServeHTTP(&discardWriter{h: http.Header{}}, req)
	}
}

// BenchmarkServeHTTP measures one small browser capture request end to end
// through the handler (route, limit, header rewrite, forward, answer).
func BenchmarkServeHTTP(b *testing.B) {
	event := []byte(`{"api_key":"phc_x","batch":[{"event":"$pageview","properties":{"distinct_id":"d","$current_url":"https://example.com/` + strings.Repeat("p", 1800) + `"}}]}`)
	hdr := http.Header{
		"Content-Type": {"text/plain"},
		"Origin":       {"https://example.com"},
		"User-Agent":   {"Mozilla/5.0"},
		"Cookie":       {"session=abc; ph_phc_x_posthog=xyz"},
	}
	b.Run("capture", func(b *testing.B) { benchProxy(b, edgehog.Config{}, "POST", "/i/v0/e/", event, hdr) })
	b.Run("capture-prefix", func(b *testing.B) {
		benchProxy(b, edgehog.Config{Prefix: "/ph"}, "POST", "/ph/i/v0/e/", event, hdr)
	})
	b.Run("capture-accesslog", func(b *testing.B) {
		log := slog.New(slog.NewJSONHandler(io.Discard, nil))
		benchProxy(b, edgehog.Config{AccessLog: true, Logger: log}, "POST", "/i/v0/e/", event, hdr)
	})
	b.Run("capture-metrics", func(b *testing.B) {
		benchProxy(b, edgehog.Config{Observer: metrics.New(metrics.Options{})}, "POST", "/i/v0/e/", event, hdr)
	})
	b.Run("flags", func(b *testing.B) {
		benchProxy(b, edgehog.Config{}, "POST", "/flags/?v=2", []byte(`{"token":"phc_x","distinct_id":"d"}`), hdr)
	})
}

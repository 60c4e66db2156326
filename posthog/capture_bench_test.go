package posthog

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// staticTransport answers every request 200 {"status":"Ok"} without a
// network, so benchmarks measure only the client's own work.
type staticTransport struct{}

func (staticTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"status":"Ok"}`)),
		Request:    r,
	}, nil
}

func newBenchClient(b *testing.B) *Client {
	b.Helper()
	c, err := New(testKey, Options{Host: "http://posthog.invalid", HTTPClient: &http.Client{Transport: staticTransport{}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Shutdown(ctx); err != nil {
			b.Errorf("Shutdown: %v", err)
		}
	})
	return c
}

// BenchmarkCapture is the cost of one Capture as the caller sees it: the
// event is encoded and queued; batches of 20 are gzipped and sent by the
// background flusher meanwhile.
func BenchmarkCapture(b *testing.B) {
	c := newBenchClient(b)
	e := Event{
		DistinctID: "user-123",
		Event:      "order placed",
		Properties: Properties{"amount": 99.5, "currency": "EUR", "items": 3, "coupon": "SPRING"},
		Groups:     map[string]string{"company": "acme"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Capture(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCaptureParallel is Capture from every P at once.
func BenchmarkCaptureParallel(b *testing.B) {
	c := newBenchClient(b)
	e := Event{DistinctID: "user-123", Event: "page view", Properties: Properties{"path": "/pricing"}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.Capture(e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

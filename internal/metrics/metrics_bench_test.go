package metrics

import (
	"testing"
	"time"

	"github.com/edgehog/edgehog"
)

// BenchmarkRequestDone measures what one request costs the metrics: an
// in-flight increment and the observation of a forwarded capture.
func BenchmarkRequestDone(b *testing.B) {
	m := New(Options{})
	ri := edgehog.RequestInfo{Kind: "capture", Upstream: "api", Status: 200, Duration: 3 * time.Millisecond, UpstreamDuration: 2 * time.Millisecond, BytesIn: 1200, BytesOut: 15}
	b.ReportAllocs()
	for b.Loop() {
		m.RequestStarted()
		m.RequestDone(ri)
	}
}

// BenchmarkRequestDoneParallel measures the same under contention.
func BenchmarkRequestDoneParallel(b *testing.B) {
	m := New(Options{})
	ri := edgehog.RequestInfo{Kind: "capture", Upstream: "api", Status: 200, Duration: 3 * time.Millisecond, UpstreamDuration: 2 * time.Millisecond, BytesIn: 1200, BytesOut: 15}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.RequestStarted()
			m.RequestDone(ri)
		}
	})
}

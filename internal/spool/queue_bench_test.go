package spool

import (
	"testing"
	"time"
)

// BenchmarkPut measures durable Puts of a small capture request from many
// goroutines (group commit) with fsync on every write, and with a 1s sync
// interval for comparison.
func BenchmarkPut(b *testing.B) {
	for _, bc := range []struct {
		name string
		sync time.Duration
	}{
		{"fsync", 0},
		{"interval1s", time.Second},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q := openTest(b, Options{SyncInterval: bc.sync})
			r := sampleRecord()
			r.Body = make([]byte, 900) // a typical gzip /e/ body
			b.ReportAllocs()
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := q.Put(b.Context(), &r); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			q.refresh(b.Context())
			if s := q.State(); s.Frames > 0 {
				b.ReportMetric(float64(s.Stored)/float64(s.Frames), "requests/frame")
			}
		})
	}
}

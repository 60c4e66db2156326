package admin

import (
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

func TestQuantile(t *testing.T) {
	inf := math.Inf(1)
	// 100 observations: 50 ≤ 10ms, 40 in (10ms, 100ms], 10 in (100ms, 1s].
	bs := []bucket{{0.01, 50}, {0.1, 90}, {1, 100}, {inf, 100}}
	tests := []struct {
		q, want float64
	}{
		{0.5, 0.01},
		{0.25, 0.005},
		{0.7, 0.055},
		{0.99, 0.91},
		{1, 1},
	}
	for _, tt := range tests {
		if got := quantile(tt.q, bs); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	// Everything above the last finite bound: the bound is the answer.
	if got := quantile(0.5, []bucket{{0.1, 0}, {1, 0}, {inf, 5}}); got != 1 {
		t.Errorf("quantile in +Inf bucket = %v, want 1", got)
	}
	if got := quantile(0.5, []bucket{{inf, 0}}); !math.IsNaN(got) {
		t.Errorf("quantile of nothing = %v, want NaN", got)
	}
}

func TestLatencyMerges(t *testing.T) {
	h := func(counts ...uint64) *dto.Histogram {
		bounds := []float64{0.01, 0.1, 1}
		hs := &dto.Histogram{}
		var n uint64
		for i, c := range counts {
			hs.Bucket = append(hs.Bucket, &dto.Bucket{UpperBound: proto.Float64(bounds[i]), CumulativeCount: proto.Uint64(c)})
			n = c
		}
		hs.SampleCount = proto.Uint64(n)
		return hs
	}
	l := latency([]*dto.Histogram{h(50, 50, 50), h(0, 40, 50)})
	if l.Count != 100 {
		t.Fatalf("count = %v, want 100", l.Count)
	}
	if *l.P50ms != 10 || *l.P99ms != 910 {
		t.Errorf("p50, p99 = %v ms, %v ms; want 10, 910", *l.P50ms, *l.P99ms)
	}
	if l := latency(nil); l.P50ms != nil || l.Count != 0 {
		t.Errorf("latency(nil) = %+v, want empty", l)
	}
}

package admin

import (
	"math"
	"sort"

	dto "github.com/prometheus/client_model/go"
)

// latency merges histograms with the same buckets and estimates the
// median and 99th percentile, in milliseconds.
func latency(hs []*dto.Histogram) Latency {
	var l Latency
	bounds := map[float64]float64{} // upper bound → cumulative count
	for _, h := range hs {
		l.Count += float64(h.GetSampleCount())
		for _, b := range h.GetBucket() {
			bounds[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
	}
	if l.Count == 0 {
		return l
	}
	bs := make([]bucket, 0, len(bounds)+1)
	for ub, c := range bounds {
		bs = append(bs, bucket{ub, c})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].upper < bs[j].upper })
	bs = append(bs, bucket{math.Inf(1), l.Count})
	ms := func(q float64) *float64 {
		v := math.Round(quantile(q, bs)*1e5) / 100 // seconds → ms, 2 decimals
		return &v
	}
	l.P50ms, l.P99ms = ms(0.5), ms(0.99)
	return l
}

// bucket is one cumulative histogram bucket.
type bucket struct {
	upper float64 // upper bound, in seconds
	count float64 // observations ≤ upper
}

// quantile estimates the q-quantile from cumulative buckets sorted by
// upper bound and ending at +Inf, interpolating linearly inside the
// bucket it falls in, as PromQL's histogram_quantile does. A quantile in
// the +Inf bucket is the highest finite bound.
func quantile(q float64, bs []bucket) float64 {
	total := bs[len(bs)-1].count
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	i := sort.Search(len(bs), func(i int) bool { return bs[i].count >= rank })
	if i == len(bs)-1 && math.IsInf(bs[i].upper, 1) {
		if i == 0 {
			return 0
		}
		return bs[i-1].upper
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = bs[i-1].upper, bs[i-1].count
	}
	in := bs[i].count - below
	if in == 0 {
		return bs[i].upper
	}
	return lower + (bs[i].upper-lower)*(rank-below)/in
}

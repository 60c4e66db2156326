package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSpoolCollector(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	stats := SpoolStats{
		Frames: 3, Bytes: 4096, Oldest: now.Add(-90 * time.Second), DeadFrames: 1, DeadBytes: 100, Full: true,
		Stored: 10, StoredBytes: 9000, PassedThrough: 2, Delivered: 7, Retried: 5, DeadLettered: 1,
		Corrupt: 1, Unshifted: 0, EngineProblems: 4,
	}
	c := newSpoolCollector(func() SpoolStats { return stats }, func() time.Time { return now })
	want := `
# HELP edgehog_spool_oldest_age_seconds Age of the oldest stored request waiting for delivery; 0 when none waits.
# TYPE edgehog_spool_oldest_age_seconds gauge
edgehog_spool_oldest_age_seconds 90
# HELP edgehog_spool_full 1 while the spool refuses new requests (size or age bound reached).
# TYPE edgehog_spool_full gauge
edgehog_spool_full 1
# HELP edgehog_spool_delivered_total Stored requests delivered to PostHog and accepted.
# TYPE edgehog_spool_delivered_total counter
edgehog_spool_delivered_total 7
# HELP edgehog_spool_frames Stored frames (one or more requests stored together) waiting for delivery.
# TYPE edgehog_spool_frames gauge
edgehog_spool_frames 3
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		NameSpoolOldestAge, NameSpoolFull, NameSpoolDelivered, NameSpoolFrames); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c); n != len(spoolHelp) {
		t.Errorf("collected %d metrics, want %d", n, len(spoolHelp))
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
	// An empty queue has no oldest request.
	stats = SpoolStats{}
	if got := testutil.ToFloat64(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		for m := range collectOne(c, NameSpoolOldestAge) {
			ch <- m
		}
	})); got != 0 {
		t.Errorf("oldest age of an empty spool = %v, want 0", got)
	}
}

// collectOne yields the metrics of c named name.
func collectOne(c prometheus.Collector, name string) <-chan prometheus.Metric {
	all := make(chan prometheus.Metric, 64)
	c.Collect(all)
	close(all)
	out := make(chan prometheus.Metric, 64)
	for m := range all {
		if strings.Contains(m.Desc().String(), `"`+name+`"`) {
			out <- m
		}
	}
	close(out)
	return out
}

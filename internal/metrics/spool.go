package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Spool metric names.
const (
	NameSpoolFrames         = "edgehog_spool_frames"
	NameSpoolBytes          = "edgehog_spool_bytes"
	NameSpoolOldestAge      = "edgehog_spool_oldest_age_seconds"
	NameSpoolDeadFrames     = "edgehog_spool_dead_letter_frames"
	NameSpoolDeadBytes      = "edgehog_spool_dead_letter_bytes"
	NameSpoolFull           = "edgehog_spool_full"
	NameSpoolStored         = "edgehog_spool_stored_total"
	NameSpoolStoredBytes    = "edgehog_spool_stored_bytes_total"
	NameSpoolPassedThrough  = "edgehog_spool_passed_through_total"
	NameSpoolDelivered      = "edgehog_spool_delivered_total"
	NameSpoolRetried        = "edgehog_spool_retried_total"
	NameSpoolDeadLettered   = "edgehog_spool_dead_lettered_total"
	NameSpoolCorrupt        = "edgehog_spool_corrupt_total"
	NameSpoolUnshifted      = "edgehog_spool_unshifted_total"
	NameSpoolEngineProblems = "edgehog_spool_engine_problems_total"
)

// SpoolStats are the spool's queue state and counters, read at every
// scrape. Counters only grow over the process's life.
type SpoolStats struct {
	Frames, Bytes         uint64    // waiting for delivery
	Oldest                time.Time // of the oldest waiting frame; zero when none
	DeadFrames, DeadBytes uint64    // dead letters kept
	Full                  bool      // new requests are refused by the spool

	Stored, StoredBytes uint64 // requests stored, and their size
	PassedThrough       uint64 // requests the spool could not take
	Delivered           uint64 // stored requests PostHog accepted
	Retried             uint64 // failed delivery attempts to be retried
	DeadLettered        uint64 // stored requests PostHog refused for good
	Corrupt             uint64 // stored frames skipped as unreadable
	Unshifted           uint64 // deliveries whose timestamps could not be shifted
	EngineProblems      uint64 // warnings and errors of the storage engine
}

// spoolCollector exports SpoolStats from a function at scrape time.
type spoolCollector struct {
	stats func() SpoolStats
	now   func() time.Time
	descs map[string]*prometheus.Desc
}

var spoolHelp = [...][2]string{
	{NameSpoolFrames, "Stored frames (one or more requests stored together) waiting for delivery."},
	{NameSpoolBytes, "Bytes of stored requests waiting for delivery."},
	{NameSpoolOldestAge, "Age of the oldest stored request waiting for delivery; 0 when none waits."},
	{NameSpoolDeadFrames, "Dead-letter frames kept (requests PostHog refused for good)."},
	{NameSpoolDeadBytes, "Bytes of dead letters kept."},
	{NameSpoolFull, "1 while the spool refuses new requests (size or age bound reached)."},
	{NameSpoolStored, "Requests stored durably."},
	{NameSpoolStoredBytes, "Encoded bytes of the requests stored."},
	{NameSpoolPassedThrough, "Requests the spool could not store (full, or the engine failing): passed through, or 503 in always mode."},
	{NameSpoolDelivered, "Stored requests delivered to PostHog and accepted."},
	{NameSpoolRetried, "Delivery attempts that failed and will be retried."},
	{NameSpoolDeadLettered, "Stored requests PostHog refused for good, kept as dead letters."},
	{NameSpoolCorrupt, "Stored frames skipped because they could not be read."},
	{NameSpoolUnshifted, "Deliveries whose body encoding could not carry the timestamp shift."},
	{NameSpoolEngineProblems, "Warnings and errors reported by the storage engine."},
}

func newSpoolCollector(stats func() SpoolStats, now func() time.Time) *spoolCollector {
	c := &spoolCollector{stats: stats, now: now, descs: map[string]*prometheus.Desc{}}
	for _, h := range spoolHelp {
		c.descs[h[0]] = prometheus.NewDesc(h[0], h[1], nil, nil)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *spoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, h := range spoolHelp {
		ch <- c.descs[h[0]]
	}
}

// Collect implements prometheus.Collector.
func (c *spoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v)
	}
	counter := func(name string, v uint64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, float64(v))
	}
	age := 0.0
	if !s.Oldest.IsZero() {
		age = max(c.now().Sub(s.Oldest).Seconds(), 0)
	}
	full := 0.0
	if s.Full {
		full = 1
	}
	gauge(NameSpoolFrames, float64(s.Frames))
	gauge(NameSpoolBytes, float64(s.Bytes))
	gauge(NameSpoolOldestAge, age)
	gauge(NameSpoolDeadFrames, float64(s.DeadFrames))
	gauge(NameSpoolDeadBytes, float64(s.DeadBytes))
	gauge(NameSpoolFull, full)
	counter(NameSpoolStored, s.Stored)
	counter(NameSpoolStoredBytes, s.StoredBytes)
	counter(NameSpoolPassedThrough, s.PassedThrough)
	counter(NameSpoolDelivered, s.Delivered)
	counter(NameSpoolRetried, s.Retried)
	counter(NameSpoolDeadLettered, s.DeadLettered)
	counter(NameSpoolCorrupt, s.Corrupt)
	counter(NameSpoolUnshifted, s.Unshifted)
	counter(NameSpoolEngineProblems, s.EngineProblems)
}

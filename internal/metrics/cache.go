package metrics

import "github.com/prometheus/client_golang/prometheus"

// CacheStats are the cache's counters and size, read at every scrape.
// Counters only grow over the process's life.
type CacheStats struct {
	Hits          uint64 // answered from the cache, fresh
	Misses        uint64 // fetched from upstream
	Stale         uint64 // answered stale (stale-while-revalidate, or upstream down)
	Revalidations uint64 // conditional requests sent upstream
	Evictions     uint64 // entries dropped to stay under the size cap
	Bytes         int64  // bytes held
	Entries       int64  // entries held
}

// cacheCollector exports CacheStats from a function, at scrape time, so
// that the cache keeps plain counters of its own and knows nothing of
// Prometheus.
type cacheCollector struct {
	stats                                         func() CacheStats
	hits, misses, stale, revalidations, evictions *prometheus.Desc
	bytes, entries                                *prometheus.Desc
}

func newCacheCollector(stats func() CacheStats) *cacheCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &cacheCollector{
		stats:         stats,
		hits:          d(NameCacheHits, "Cache lookups answered from a fresh entry."),
		misses:        d(NameCacheMisses, "Cache lookups that went upstream."),
		stale:         d(NameCacheStale, "Answers served from a stale entry (while revalidating, or with upstream down)."),
		revalidations: d(NameCacheRevalidations, "Conditional requests sent upstream to revalidate an entry."),
		evictions:     d(NameCacheEvictions, "Entries evicted to stay under the cache's size cap."),
		bytes:         d(NameCacheBytes, "Bytes held in the cache."),
		entries:       d(NameCacheEntries, "Entries held in the cache."),
	}
}

// Describe implements prometheus.Collector.
func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.hits, c.misses, c.stale, c.revalidations, c.evictions, c.bytes, c.entries} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter(c.hits, s.Hits)
	counter(c.misses, s.Misses)
	counter(c.stale, s.Stale)
	counter(c.revalidations, s.Revalidations)
	counter(c.evictions, s.Evictions)
	gauge(c.bytes, s.Bytes)
	gauge(c.entries, s.Entries)
}

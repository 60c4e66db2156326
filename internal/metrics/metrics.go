// Package metrics holds one edgehog instance's Prometheus metrics: its own
// registry (never the global one), the request-path counters and
// histograms, build information and the cache collector.
//
// The request path calls RequestStarted and RequestDone (Metrics is an
// edgehog.Observer). Both resolve their series from fixed arrays indexed by
// endpoint kind, status class, cause and reason, so a request costs a few
// atomic additions: no label map lookup and no allocation.
package metrics

import (
	"runtime"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Options configure Metrics. The zero value is usable: no cache metrics,
// no Go runtime metrics, and build information with empty version and
// commit.
type Options struct {
	// Build labels edgehog_build_info.
	Build BuildInfo
	// Cache, when set, is called at every scrape for the cache's
	// counters; nil exports no cache metrics.
	Cache func() CacheStats
	// Spool, when set, is called at every scrape for the spool's queue
	// state and counters; nil exports no spool metrics.
	Spool func() SpoolStats
	// Runtime adds the Go runtime and process collectors (go_*,
	// process_*), as a server binary wants. Tests leave it off so that
	// their exposition is deterministic.
	Runtime bool
}

// BuildInfo labels edgehog_build_info.
type BuildInfo struct {
	// Version is edgehog's version, such as "v1.2.3" or "(devel)".
	Version string
	// Commit is the VCS revision the binary was built from.
	Commit string
	// GoVersion is the Go toolchain; empty means runtime.Version().
	GoVersion string
}

// Metrics is one edgehog instance's metrics. Build it with New; it is safe
// for concurrent use. One Metrics may outlive several edgehog.Proxy values
// (a configuration reload), so that counters keep counting.
type Metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	upstreamDur *prometheus.HistogramVec
	bytesIn     *prometheus.CounterVec
	bytesOut    *prometheus.CounterVec
	upErrors    *prometheus.CounterVec
	rejections  *prometheus.CounterVec
	clientGone  *prometheus.CounterVec
	inflight    prometheus.Gauge
	byKind      [numKinds]kindSeries
}

// kindSeries are the series of one endpoint kind, resolved once. The
// histograms and the requests counter are created on first use so that
// kinds never seen do not fill the exposition with zeros; the loss signals
// (errors, rejections, client_gone) exist from the start at zero, so that
// alerts on their increase see the first one.
type kindSeries struct {
	name       string
	requests   [numClasses][numUpstreams]lazy[prometheus.Counter]
	duration   lazy[prometheus.Observer]
	upstream   lazy[prometheus.Observer]
	bytesIn    prometheus.Counter
	bytesOut   prometheus.Counter
	upErrors   [numCauses]prometheus.Counter
	rejections [numReasons]prometheus.Counter
	clientGone prometheus.Counter
}

// durationBuckets span a cached asset answered in a millisecond to a
// replay upload from a slow phone that takes a minute (seconds).
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// New builds Metrics with their own registry.
func New(o Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameRequests,
		Help: "Requests served, by endpoint kind, status class and upstream.",
	}, []string{LabelKind, LabelCodeClass, LabelUpstream})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    NameRequestDuration,
		Help:    "Time from a request's arrival to the end of its answer, by endpoint kind.",
		Buckets: durationBuckets,
	}, []string{LabelKind})
	m.upstreamDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    NameUpstreamDuration,
		Help:    "Time from sending a request upstream to upstream's response headers, by endpoint kind.",
		Buckets: durationBuckets,
	}, []string{LabelKind})
	m.bytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameRequestBytes,
		Help: "Request body bytes read from clients, by endpoint kind.",
	}, []string{LabelKind})
	m.bytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameResponseBytes,
		Help: "Response body bytes written to clients, by endpoint kind.",
	}, []string{LabelKind})
	m.upErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameUpstreamErrors,
		Help: "Requests upstream failed, by endpoint kind and cause (connect, timeout, status_5xx, redirect, reset).",
	}, []string{LabelKind, LabelCause})
	m.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameRejections,
		Help: "Requests edgehog refused itself, by endpoint kind and reason.",
	}, []string{LabelKind, LabelReason})
	m.clientGone = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameClientGone,
		Help: "Requests whose client went away before the answer, by endpoint kind.",
	}, []string{LabelKind})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: NameInflight,
		Help: "Requests being served now.",
	})

	goVersion := o.Build.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: NameBuildInfo,
		Help: "Always 1; the labels say which edgehog build is running.",
		ConstLabels: prometheus.Labels{
			LabelVersion:   o.Build.Version,
			LabelCommit:    o.Build.Commit,
			LabelGoVersion: goVersion,
		},
	})
	build.Set(1)

	m.reg.MustRegister(m.requests, m.duration, m.upstreamDur, m.bytesIn, m.bytesOut,
		m.upErrors, m.rejections, m.clientGone, m.inflight, build)
	if o.Cache != nil {
		m.reg.MustRegister(newCacheCollector(o.Cache))
	}
	if o.Spool != nil {
		m.reg.MustRegister(newSpoolCollector(o.Spool, time.Now))
	}
	if o.Runtime {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m.resolve()
	return m
}

// resolve creates the per-kind series that exist from the start and
// prepares the lazy ones.
func (m *Metrics) resolve() {
	for k := range m.byKind {
		s := &m.byKind[k]
		name := kindNames[k]
		s.name = name
		s.bytesIn = m.bytesIn.WithLabelValues(name)
		s.bytesOut = m.bytesOut.WithLabelValues(name)
		s.clientGone = m.clientGone.WithLabelValues(name)
		// Index 0 is "none": never counted, so never created.
		for c := 1; c < numCauses; c++ {
			s.upErrors[c] = m.upErrors.WithLabelValues(name, causeNames[c])
		}
		for r := 1; r < numReasons; r++ {
			s.rejections[r] = m.rejections.WithLabelValues(name, reasonNames[r])
		}
	}
}

// Registry returns the instance's registry, for /metrics and the status
// page; other components may register their own collectors in it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// RequestStarted implements edgehog.Observer: one more request in flight.
func (m *Metrics) RequestStarted() { m.inflight.Inc() }

// RequestDone implements edgehog.Observer: it records one finished
// request.
func (m *Metrics) RequestDone(ri edgehog.RequestInfo) {
	m.inflight.Dec()
	k := kindIndex(ri.Kind)
	s := &m.byKind[k]
	up := upstreamIndex(ri.Upstream)
	class := classIndex(ri.Status)
	s.requests[class][up].get(func() prometheus.Counter {
		return m.requests.WithLabelValues(s.name, classNames[class], upstreamNames[up])
	}).Inc()
	s.duration.get(func() prometheus.Observer { return m.duration.WithLabelValues(s.name) }).Observe(ri.Duration.Seconds())
	if ri.UpstreamDuration > 0 {
		s.upstream.get(func() prometheus.Observer { return m.upstreamDur.WithLabelValues(s.name) }).Observe(ri.UpstreamDuration.Seconds())
	}
	if ri.BytesIn > 0 {
		s.bytesIn.Add(float64(ri.BytesIn))
	}
	if ri.BytesOut > 0 {
		s.bytesOut.Add(float64(ri.BytesOut))
	}
	switch o := classify(ri.Outcome, ri.Status); {
	case o.clientGone:
		s.clientGone.Inc()
	case o.cause != causeNone:
		s.upErrors[o.cause].Inc()
	case o.reason != reasonNone:
		s.rejections[o.reason].Inc()
	}
}

// Interface guard.
var _ edgehog.Observer = (*Metrics)(nil)

package admin

import (
	"encoding/json"
	"math"
	"net/http"
	"sort"

	"github.com/edgehog/edgehog/internal/metrics"
	dto "github.com/prometheus/client_model/go"
)

// Status is the status feed (/status.json): cumulative counters read from
// the registry at one instant. The page computes rates from the
// differences between two feeds, so the server keeps no history.
type Status struct {
	// Time is when the feed was read, in Unix milliseconds.
	Time int64 `json:"time_ms"`
	// UptimeSeconds is the admin handler's age.
	UptimeSeconds float64 `json:"uptime_seconds"`
	// Build is edgehog_build_info's labels.
	Build map[string]string `json:"build"`
	// Inflight is the number of requests being served.
	Inflight float64 `json:"inflight"`
	// Kinds has one row per endpoint kind that served a request.
	Kinds []KindStatus `json:"kinds"`
	// Total sums the rows of Kinds.
	Total KindStatus `json:"total"`
	// UpstreamErrors and Rejections are totals by cause and reason, every
	// cause and reason listed.
	UpstreamErrors map[string]float64 `json:"upstream_errors"`
	Rejections     map[string]float64 `json:"rejections"`
	// Upstream is the latency to upstream's response headers, all kinds
	// together.
	Upstream Latency `json:"upstream"`
	// Cache holds the cache's counters; nil without a cache.
	Cache map[string]float64 `json:"cache,omitempty"`
	// Config is the active configuration, secrets masked.
	Config string `json:"config"`
}

// KindStatus are one endpoint kind's counters.
type KindStatus struct {
	Kind           string  `json:"kind"`
	Requests       float64 `json:"requests"`
	Status2xx      float64 `json:"status_2xx"`
	Status4xx      float64 `json:"status_4xx"`
	Status5xx      float64 `json:"status_5xx"`
	UpstreamErrors float64 `json:"upstream_errors"`
	Rejections     float64 `json:"rejections"`
	ClientGone     float64 `json:"client_gone"`
	BytesIn        float64 `json:"bytes_in"`
	BytesOut       float64 `json:"bytes_out"`
	Upstream       Latency `json:"upstream"`
}

// Latency summarises a latency histogram. Quantiles are estimated from
// the buckets the way PromQL's histogram_quantile does; NaN (sent as
// null) without observations.
type Latency struct {
	Count float64  `json:"count"`
	P50ms *float64 `json:"p50_ms"`
	P99ms *float64 `json:"p99_ms"`
}

// snapshot reads the registry into a Status.
func (h *Handler) snapshot() (Status, error) {
	mfs, err := h.opts.Metrics.Registry().Gather()
	if err != nil {
		return Status{}, err
	}
	now := h.opts.Now()
	st := Status{
		Time:           now.UnixMilli(),
		UptimeSeconds:  math.Round(now.Sub(h.start).Seconds()*10) / 10,
		Build:          map[string]string{},
		UpstreamErrors: map[string]float64{},
		Rejections:     map[string]float64{},
		Total:          KindStatus{Kind: "total"},
	}
	kinds := map[string]*KindStatus{}
	row := func(m *dto.Metric) *KindStatus {
		k := label(m, metrics.LabelKind)
		r := kinds[k]
		if r == nil {
			r = &KindStatus{Kind: k}
			kinds[k] = r
		}
		return r
	}
	var allUpstream []*dto.Histogram
	byKindUpstream := map[string][]*dto.Histogram{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case metrics.NameRequests:
				v := m.GetCounter().GetValue()
				if v == 0 {
					continue
				}
				r := row(m)
				r.Requests += v
				switch label(m, metrics.LabelCodeClass) {
				case "2xx":
					r.Status2xx += v
				case "4xx":
					r.Status4xx += v
				case "5xx":
					r.Status5xx += v
				}
			case metrics.NameUpstreamErrors:
				v := m.GetCounter().GetValue()
				st.UpstreamErrors[label(m, metrics.LabelCause)] += v
				if v > 0 {
					row(m).UpstreamErrors += v
				}
			case metrics.NameRejections:
				v := m.GetCounter().GetValue()
				st.Rejections[label(m, metrics.LabelReason)] += v
				if v > 0 {
					row(m).Rejections += v
				}
			case metrics.NameClientGone:
				if v := m.GetCounter().GetValue(); v > 0 {
					row(m).ClientGone += v
				}
			case metrics.NameRequestBytes:
				if v := m.GetCounter().GetValue(); v > 0 {
					row(m).BytesIn += v
				}
			case metrics.NameResponseBytes:
				if v := m.GetCounter().GetValue(); v > 0 {
					row(m).BytesOut += v
				}
			case metrics.NameUpstreamDuration:
				hist := m.GetHistogram()
				allUpstream = append(allUpstream, hist)
				k := label(m, metrics.LabelKind)
				byKindUpstream[k] = append(byKindUpstream[k], hist)
			case metrics.NameInflight:
				st.Inflight = m.GetGauge().GetValue()
			case metrics.NameBuildInfo:
				for _, lp := range m.GetLabel() {
					st.Build[lp.GetName()] = lp.GetValue()
				}
			case metrics.NameCacheHits, metrics.NameCacheMisses, metrics.NameCacheStale,
				metrics.NameCacheRevalidations, metrics.NameCacheEvictions,
				metrics.NameCacheBytes, metrics.NameCacheEntries:
				if st.Cache == nil {
					st.Cache = map[string]float64{}
				}
				st.Cache[cacheKey(mf.GetName())] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	for k, r := range kinds {
		r.Upstream = latency(byKindUpstream[k])
		st.Kinds = append(st.Kinds, *r)
		t := &st.Total
		t.Requests += r.Requests
		t.Status2xx += r.Status2xx
		t.Status4xx += r.Status4xx
		t.Status5xx += r.Status5xx
		t.UpstreamErrors += r.UpstreamErrors
		t.Rejections += r.Rejections
		t.ClientGone += r.ClientGone
		t.BytesIn += r.BytesIn
		t.BytesOut += r.BytesOut
	}
	// Busiest kinds first; ties by name, so the order is stable.
	sort.Slice(st.Kinds, func(i, j int) bool {
		a, b := st.Kinds[i], st.Kinds[j]
		if a.Requests != b.Requests {
			return a.Requests > b.Requests
		}
		return a.Kind < b.Kind
	})
	st.Upstream = latency(allUpstream)
	st.Total.Upstream = st.Upstream
	if h.opts.Config != nil {
		st.Config = h.opts.Config()
	}
	return st, nil
}

func (h *Handler) statusJSON(w http.ResponseWriter, _ *http.Request) {
	st, err := h.snapshot()
	if err != nil {
		h.opts.Logger.Warn("reading metrics for the status feed", "error", err.Error())
		http.Error(w, "reading metrics failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(st)
}

// label returns the value of m's label name, or "".
func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// cacheKey turns edgehog_cache_hits_total into "hits".
func cacheKey(name string) string {
	const prefix = "edgehog_cache_"
	k := name[len(prefix):]
	if n := len(k) - len("_total"); n > 0 && k[n:] == "_total" {
		k = k[:n]
	}
	return k
}

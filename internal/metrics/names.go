package metrics

// Metric names, shared with the status page, which reads them back from
// the registry.
const (
	NameRequests         = "edgehog_requests_total"
	NameRequestDuration  = "edgehog_request_duration_seconds"
	NameUpstreamDuration = "edgehog_upstream_duration_seconds"
	NameRequestBytes     = "edgehog_request_bytes_total"
	NameResponseBytes    = "edgehog_response_bytes_total"
	NameUpstreamErrors   = "edgehog_upstream_errors_total"
	NameRejections       = "edgehog_rejections_total"
	NameClientGone       = "edgehog_client_gone_total"
	NameInflight         = "edgehog_inflight_requests"
	NameBuildInfo        = "edgehog_build_info"

	NameCacheHits          = "edgehog_cache_hits_total"
	NameCacheMisses        = "edgehog_cache_misses_total"
	NameCacheStale         = "edgehog_cache_stale_total"
	NameCacheRevalidations = "edgehog_cache_revalidations_total"
	NameCacheEvictions     = "edgehog_cache_evictions_total"
	NameCacheBytes         = "edgehog_cache_bytes"
	NameCacheEntries       = "edgehog_cache_entries"
)

// Label names. Every label's values come from a fixed list below: never a
// path, token, host or address.
const (
	LabelKind      = "kind"
	LabelCodeClass = "code_class"
	LabelUpstream  = "upstream"
	LabelCause     = "cause"
	LabelReason    = "reason"
	LabelVersion   = "version"
	LabelCommit    = "commit"
	LabelGoVersion = "goversion"
)

// Endpoint kinds, in route.Kind order (route.Kind.String gives the same
// names; TestKindNames keeps the two lists equal).
const (
	kindOther = iota
	kindCapture
	kindBatch
	kindReplay
	kindAI
	kindCaptureV1
	kindOTel
	kindFlags
	kindDefinitions
	kindAssets
	kindConfig
	kindAPI
	numKinds
)

var kindNames = [numKinds]string{"other", "capture", "batch", "replay", "ai", "capture_v1", "otel", "flags", "definitions", "assets", "config", "api"}

// kindIndex maps a kind name to its index; a name it does not know (a
// kind added to route but not here) counts as "other".
func kindIndex(name string) int {
	switch name {
	case "capture":
		return kindCapture
	case "batch":
		return kindBatch
	case "replay":
		return kindReplay
	case "ai":
		return kindAI
	case "capture_v1":
		return kindCaptureV1
	case "otel":
		return kindOTel
	case "flags":
		return kindFlags
	case "definitions":
		return kindDefinitions
	case "assets":
		return kindAssets
	case "config":
		return kindConfig
	case "api":
		return kindAPI
	}
	return kindOther
}

// Upstreams.
const (
	upstreamAPI = iota
	upstreamAssets
	numUpstreams
)

var upstreamNames = [numUpstreams]string{"api", "assets"}

func upstreamIndex(name string) int {
	if name == "assets" {
		return upstreamAssets
	}
	return upstreamAPI
}

// Status classes. "other" holds statuses outside 100–599, which net/http
// never sends; it exists so that no status is lost.
const numClasses = 6

var classNames = [numClasses]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

func classIndex(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}

// Package route maps an incoming request (host and path) to what edgehog does
// with it: the endpoint kind, the upstream that serves it and the canonical
// PostHog path to forward. It is pure: no I/O, built once, then only read.
package route

// Kind is the endpoint kind of a request. Body limits, upstream timeouts,
// metrics and (later) caching and spooling are chosen by kind.
type Kind uint8

// The endpoint kinds, from protocol.md §1.
const (
	KindOther       Kind = iota // anything not listed below (self-hosted app, unknown paths)
	KindCapture                 // /e, /i/v0/e, /capture, /track, /engage
	KindBatch                   // /batch (server SDKs)
	KindReplay                  // /s (session recordings)
	KindAI                      // /i/v0/ai, /i/v0/ai/batch, /i/v0/ai/otel
	KindCaptureV1               // /i/v1/analytics/events
	KindOTel                    // /i/v1/logs, /i/v1/metrics, /i/v1/traces
	KindFlags                   // /flags, /decide
	KindDefinitions             // /flags/definitions, /api/feature_flag/local_evaluation
	KindAssets                  // /static/*
	KindConfig                  // /array/*
	KindAPI                     // other /api/... and /site_app/..., /report
	numKinds
)

var kindNames = [numKinds]string{
	KindOther:       "other",
	KindCapture:     "capture",
	KindBatch:       "batch",
	KindReplay:      "replay",
	KindAI:          "ai",
	KindCaptureV1:   "capture_v1",
	KindOTel:        "otel",
	KindFlags:       "flags",
	KindDefinitions: "definitions",
	KindAssets:      "assets",
	KindConfig:      "config",
	KindAPI:         "api",
}

// String returns the kind's name as used in logs, metrics and configuration.
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds returns every kind, in a stable order.
func Kinds() []Kind {
	ks := make([]Kind, numKinds)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// ParseKind returns the kind with the given name.
func ParseKind(name string) (Kind, bool) {
	for i, n := range kindNames {
		if n == name {
			return Kind(i), true
		}
	}
	return 0, false
}

// Upstream names one of the two PostHog origins.
type Upstream uint8

// The upstreams. For a self-hosted PostHog both are the same origin.
const (
	UpstreamAPI    Upstream = iota // {us,eu}.i.posthog.com: everything dynamic
	UpstreamAssets                 // {us,eu}-assets.i.posthog.com: /static and /array
)

// String returns "api" or "assets".
func (u Upstream) String() string {
	if u == UpstreamAssets {
		return "assets"
	}
	return "api"
}

// IsCapture reports whether requests of kind k carry events to capture
// (the kinds a store-and-forward spool applies to).
func (k Kind) IsCapture() bool {
	switch k {
	case KindCapture, KindBatch, KindReplay, KindAI:
		return true
	}
	return false
}

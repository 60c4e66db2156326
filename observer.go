package edgehog

import "time"

// Observer receives what a Proxy does, request by request; the edgehog
// command's Prometheus metrics implement it. Both methods are called on the
// request path, from many goroutines at once: they must be fast and safe
// for concurrent use.
type Observer interface {
	// RequestStarted is called when a routed request begins.
	RequestStarted()
	// RequestDone is called once for every RequestStarted, when the
	// request's handling ends (also when the response copy was aborted).
	RequestDone(RequestInfo)
}

// RequestInfo describes one finished request. Every string in it comes
// from a short fixed list (never a path, token, host or address), so an
// Observer may use them as metric labels.
type RequestInfo struct {
	// Kind is the endpoint kind: capture, batch, replay, ai, capture_v1,
	// otel, flags, definitions, assets, config, api or other.
	Kind string
	// Upstream is the upstream the kind goes to: "api" or "assets".
	Upstream string
	// Status is the status the client got; 499 (never sent) when the
	// client went away before the answer.
	Status int
	// Outcome is empty when upstream answered, and otherwise the code of
	// edgehog's own answer, as in its JSON error body
	// ("payload_too_large", "rate_limited", "not_found", "bad_path",
	// "method_not_allowed", "upstream_unreachable", "upstream_timeout",
	// "upstream_redirect", "upstream_error", "cors_rejected"), "client_gone",
	// or "no_route" for a host or path outside every route (kind "other").
	Outcome string
	// Duration runs from the request's arrival to the end of its answer.
	Duration time.Duration
	// UpstreamDuration runs from sending the request upstream to
	// upstream's response headers; zero when upstream never answered.
	UpstreamDuration time.Duration
	// BytesIn counts the request body bytes read, BytesOut the response
	// body bytes written.
	BytesIn, BytesOut int64
}

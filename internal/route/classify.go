package route

import "strings"

// exact maps a path without its trailing slash to its kind. Every entry is
// accepted with and without a trailing slash, as PostHog's capture and
// feature-flags routers do (protocol.md §1).
var exact = map[string]Kind{
	"/e":                                 KindCapture,
	"/i/v0/e":                            KindCapture,
	"/capture":                           KindCapture,
	"/track":                             KindCapture,
	"/engage":                            KindCapture,
	"/batch":                             KindBatch,
	"/s":                                 KindReplay,
	"/i/v0/ai":                           KindAI,
	"/i/v0/ai/batch":                     KindAI,
	"/i/v0/ai/otel":                      KindAI,
	"/i/v1/analytics/events":             KindCaptureV1,
	"/i/v1/logs":                         KindOTel,
	"/i/v1/metrics":                      KindOTel,
	"/i/v1/traces":                       KindOTel,
	"/flags":                             KindFlags,
	"/decide":                            KindFlags,
	"/flags/definitions":                 KindDefinitions,
	"/api/feature_flag/local_evaluation": KindDefinitions,
	"/report":                            KindAPI,
}

// Classify returns the kind and upstream of a canonical PostHog path (the
// path after the mount prefix is stripped and aliases are applied).
// /static/* and /array/* belong to the assets origin: /array/* carries remote
// config whose Cache-Control the API origin strips (protocol.md §0.2).
func Classify(path string) (Kind, Upstream) {
	if strings.HasPrefix(path, "/static/") {
		return KindAssets, UpstreamAssets
	}
	if strings.HasPrefix(path, "/array/") {
		return KindConfig, UpstreamAssets
	}
	trimmed := path
	if len(trimmed) > 1 && trimmed[len(trimmed)-1] == '/' {
		trimmed = trimmed[:len(trimmed)-1]
	}
	if k, ok := exact[trimmed]; ok {
		return k, UpstreamAPI
	}
	if strings.HasPrefix(path, "/i/v0/ai/") {
		return KindAI, UpstreamAPI
	}
	if strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/site_app/") {
		return KindAPI, UpstreamAPI
	}
	return KindOther, UpstreamAPI
}

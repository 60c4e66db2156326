package fakehog

import (
	"net/http"
	"strings"
)

// apiReply answers the Django API endpoints posthog-js extensions call
// (protocol.md §2.1) with small valid empty documents, and the OTLP
// capture-logs paths (protocol.md §1) with an empty JSON object. Trailing
// slashes are optional: Django would redirect, fakehog never does.
func apiReply(p string) (reply, bool) {
	var body string
	switch strings.TrimSuffix(p, "/") {
	case "/api/surveys":
		body = `{"surveys":[]}`
	case "/api/early_access_features":
		body = `{"earlyAccessFeatures":[]}`
	case "/api/web_experiments":
		body = `{"experiments":[]}`
	case "/api/product_tours":
		body = `{"product_tours":[]}`
	case "/i/v1/logs", "/i/v1/metrics", "/i/v1/traces":
		body = `{}`
	default:
		return reply{}, false
	}
	return jsonReply(http.StatusOK, []byte(body)), true
}

// apiNotFound is Django REST framework's 404 body.
func apiNotFound() reply {
	return jsonReply(http.StatusNotFound, []byte(`{"type":"invalid_request","code":"not_found","detail":"Not found."}`))
}

// assetsNotFound is the assets origin's 404.
func assetsNotFound() reply {
	return newReply(http.StatusNotFound, "text/plain; charset=utf-8", []byte("Not Found\n"))
}

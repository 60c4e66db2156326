package fakehog

import (
	"net/http"
	"strings"
)

// preflightReply answers OPTIONS as PostHog capture's CorsLayer does
// (protocol.md §4.1, PH:rust/capture/src/router.rs): mirror the Origin and
// the requested headers, allow credentials, no body.
func preflightReply(r *http.Request) reply {
	rep := newReply(http.StatusNoContent, "", nil)
	h := rep.header
	h.Set("Allow", "GET, HEAD, POST, OPTIONS")
	if origin := r.Header.Get("Origin"); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if reqHeaders := r.Header.Values("Access-Control-Request-Headers"); len(reqHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ", "))
		}
		h.Set("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	}
	return rep
}

// addCORS puts PostHog's CORS answer headers on h when the request sent an
// Origin. edgehog must replace these, not duplicate them.
func addCORS(h http.Header, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	addVary(h, "Origin")
}

// addVary adds token to h's Vary header unless it is already listed.
func addVary(h http.Header, token string) {
	var have []string
	for _, v := range h.Values("Vary") {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if strings.EqualFold(t, token) {
				return
			}
			if t != "" {
				have = append(have, t)
			}
		}
	}
	h.Set("Vary", strings.Join(append(have, token), ", "))
}

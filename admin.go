package edgehog

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/edgehog/edgehog/internal/forward"
)

// AdminHandler returns the cache's admin endpoints, to mount on a private
// listener (never the public one):
//
//	POST /cache/purge?prefix=/static/   drop cached answers under a prefix
//	GET  /cache/stats                   the CacheStats counters as JSON
//
// Purge answers {"purged": n}. The prefix is a canonical PostHog path
// (after the mount prefix and aliases); "/" purges everything.
func (p *Proxy) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cache/purge", func(w http.ResponseWriter, r *http.Request) {
		prefix := r.URL.Query().Get("prefix")
		if !strings.HasPrefix(prefix, "/") {
			forward.WriteError(w, http.StatusBadRequest, forward.CodeBadRequest, "prefix must be a path starting with /, like /static/ (or / for everything)")
			return
		}
		writeJSON(w, map[string]int{"purged": p.PurgeCache(prefix)})
	})
	mux.HandleFunc("GET /cache/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, p.CacheStats())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		forward.WriteError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}

package server

import (
	"net/http"
	"strconv"
)

// probes answers the health and readiness paths itself, whatever the Host,
// and hands every other request to next. Paths match exactly: /healthz/ is
// not /healthz.
func (s *Server) probes(next http.Handler) http.Handler {
	health, ready := s.opts.HealthPath, s.opts.ReadyPath
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case health:
			writeProbe(w, r, http.StatusOK, "ok")
		case ready:
			if s.draining.Load() {
				writeProbe(w, r, http.StatusServiceUnavailable, "draining")
				return
			}
			if s.opts.Ready != nil {
				if err := s.opts.Ready(); err != nil {
					writeProbe(w, r, http.StatusServiceUnavailable, "not ready: "+err.Error())
					return
				}
			}
			writeProbe(w, r, http.StatusOK, "ok")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// writeProbe answers a probe with {"status":"<status>"}. Probes are GET or
// HEAD; anything else is 405.
func writeProbe(w http.ResponseWriter, r *http.Request, code int, status string) {
	h := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		code, status = http.StatusMethodNotAllowed, "method not allowed"
	}
	body := `{"status":` + strconv.Quote(status) + `}` + "\n"
	h.Set("Content-Type", "application/json")
	// A cached probe answer would hide a drain from the load balancer.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}

// Package admin serves edgehog's admin endpoints on their own listener:
// Prometheus metrics, a live status page, its JSON feed and a health
// probe, plus any handler another component mounts (such as the cache's
// purge endpoint). Nothing here is meant for the public internet; an
// optional bearer token guards everything but the health probe.
package admin

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/edgehog/edgehog/internal/metrics"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure the admin handler.
type Options struct {
	// Metrics is the instance's metrics; required.
	Metrics *metrics.Metrics
	// Config returns the active configuration as YAML with its secrets
	// already masked (config.File.Redacted); it is called for every
	// status request, so that a reload shows. Nil shows none.
	Config func() string
	// Token, when set, must be presented on every request except
	// /healthz: as "Authorization: Bearer <token>" (Prometheus'
	// authorization setting) or as the password of HTTP Basic auth, which
	// browsers prompt for. Empty means no authentication: bind the admin
	// listener to a private address then.
	Token string
	// Extra mounts more handlers, keyed by net/http.ServeMux pattern
	// ("POST /cache/purge"). They sit behind the same token. A pattern
	// that conflicts with the built-in ones is an error.
	Extra map[string]http.Handler
	// Logger receives scrape errors; nil discards.
	Logger *slog.Logger
	// Now is the clock of the status feed; nil means time.Now.
	Now func() time.Time
}

// Handler is the admin http.Handler. Build it with New.
type Handler struct {
	mux     *http.ServeMux
	metrics http.Handler
	token   []byte
	csp     string // of the status page
	opts    Options
	start   time.Time
}

// The built-in paths.
const (
	PathMetrics    = "/metrics"
	PathStatus     = "/status"
	PathStatusJSON = "/status.json"
	PathHealth     = "/healthz"
)

// New builds the admin handler.
func New(o Options) (*Handler, error) {
	if o.Metrics == nil {
		return nil, errors.New("admin: Options.Metrics is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{mux: http.NewServeMux(), token: []byte(o.Token), csp: pageCSP(statusHTML), opts: o, start: o.Now()}
	h.metrics = promhttp.HandlerFor(o.Metrics.Registry(), promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		// A scrape is small; a slow scraper must not pile up work.
		MaxRequestsInFlight: 4,
	})
	h.mux.Handle("GET "+PathMetrics, h.metrics)
	h.mux.HandleFunc("GET "+PathStatus, h.statusPage)
	h.mux.HandleFunc("GET "+PathStatusJSON, h.statusJSON)
	h.mux.HandleFunc("GET "+PathHealth, health)
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, PathStatus, http.StatusFound)
	})
	for pattern, eh := range o.Extra {
		if err := handle(h.mux, pattern, eh); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// handle registers pattern, turning ServeMux's panic on a bad or
// conflicting pattern into an error.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("admin: mounting %q: %v", pattern, r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Admin answers are live data and may hold the configuration.
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path != PathHealth && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="edgehog admin", charset="UTF-8"`)
		http.Error(w, "unauthorized: the admin token is required", http.StatusUnauthorized)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// PublicMetrics returns the metrics handler alone, behind the same token,
// for mounting on the public listener (config admin.public_metrics_path)
// where a platform exposes a single port.
func (h *Handler) PublicMetrics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !h.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="edgehog metrics", charset="UTF-8"`)
			http.Error(w, "unauthorized: the admin token is required", http.StatusUnauthorized)
			return
		}
		h.metrics.ServeHTTP(w, r)
	})
}

// authorized reports whether r carries the token, in constant time.
func (h *Handler) authorized(r *http.Request) bool {
	if len(h.token) == 0 {
		return true
	}
	auth := r.Header.Get("Authorization")
	var got string
	if bearer, ok := strings.CutPrefix(auth, "Bearer "); ok {
		got = strings.TrimSpace(bearer)
	} else if _, pass, ok := r.BasicAuth(); ok {
		got = pass
	} else {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), h.token) == 1
}

func health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

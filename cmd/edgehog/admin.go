package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync/atomic"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/admin"
	"github.com/edgehog/edgehog/internal/config"
	"github.com/edgehog/edgehog/internal/metrics"
	"github.com/edgehog/edgehog/internal/server"
)

// Log keys of the admin listener's lines.
const logKeyListener = "listener"

// observability is what the serve command shows of itself: the process's
// metrics, which outlive configuration reloads so that counters keep
// counting, and the admin handler over them.
type observability struct {
	metrics *metrics.Metrics
	admin   *admin.Handler
	config  atomic.Pointer[string] // redacted YAML of the configuration in service
}

// newObservability builds the metrics and the admin handler for f.
// current returns the proxy serving now (it changes on reload); the cache
// metrics and the cache's admin endpoints ask it.
func newObservability(f config.File, log *slog.Logger, current func() *edgehog.Proxy) (*observability, error) {
	bi, _ := debug.ReadBuildInfo()
	v, c, _ := buildVersion(version, commit, date, bi)
	mo := metrics.Options{Build: metrics.BuildInfo{Version: v, Commit: c}, Runtime: true}
	if !f.Proxy.Cache.Disabled {
		mo.Cache = func() metrics.CacheStats { return cacheStats(current()) }
	}
	if m := f.Proxy.Spool.Mode; m != "" && m != edgehog.SpoolOff {
		mo.Spool = func() metrics.SpoolStats { return spoolStats(current()) }
	}
	o := &observability{metrics: metrics.New(mo)}
	o.applied(f)
	// The cache's own admin endpoints, from whichever proxy serves now.
	cacheAdmin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		current().AdminHandler().ServeHTTP(w, r)
	})
	h, err := admin.New(admin.Options{
		Metrics: o.metrics,
		Config:  func() string { return *o.config.Load() },
		Token:   f.Admin.Token,
		Extra:   map[string]http.Handler{"POST /cache/purge": cacheAdmin, "GET /cache/stats": cacheAdmin},
		Logger:  log,
	})
	if err != nil {
		return nil, fmt.Errorf("building the admin handler: %w", err)
	}
	o.admin = h
	return o, nil
}

// cacheStats reads p's cache counters for the metrics. Answers served
// stale count as stale whether a refresh ran (stale-while-revalidate) or
// upstream failed (stale-if-error).
func cacheStats(p *edgehog.Proxy) metrics.CacheStats {
	if p == nil {
		return metrics.CacheStats{}
	}
	s := p.CacheStats()
	return metrics.CacheStats{
		Hits:          s.Hits,
		Misses:        s.Misses,
		Stale:         s.Stale + s.Updating,
		Revalidations: s.Revalidations,
		Evictions:     s.Evictions,
		Bytes:         s.Bytes,
		Entries:       s.Entries,
	}
}

// applied records f as the configuration in service, for the status page.
func (o *observability) applied(f config.File) {
	s := f.Redacted()
	o.config.Store(&s)
}

// public returns h answering f's admin.public_metrics_path with the
// metrics first, when it is set.
func (o *observability) public(h http.Handler, f config.File) http.Handler {
	path := f.Admin.PublicMetricsPath
	if path == "" {
		return h
	}
	metricsHandler := o.admin.PublicMetrics()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			metricsHandler.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// listen opens f's admin listener, if any, and returns the function that
// serves it until ctx is done (then drains it). Listening happens here so
// that a busy port fails the start, not a background goroutine.
func (o *observability) listen(ctx context.Context, f config.File, log *slog.Logger) (serve func() error, err error) {
	if f.Admin.Listen == "" {
		return func() error { return nil }, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", f.Admin.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	alog := log.With(logKeyListener, "admin")
	alog.Info("admin listening", logKeyAddr, ln.Addr().String())
	// The public listener's timeouts suit the admin one too; server
	// answers the probes, /healthz being admin's own health path.
	s := f.Server
	srv := server.New(server.Options{
		Listen:            f.Admin.Listen,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		ShutdownTimeout:   s.ShutdownTimeout,
		MaxHeaderBytes:    s.MaxHeaderBytes,
		HealthPath:        admin.PathHealth,
		ReadyPath:         "/readyz",
	}, o.admin, alog)
	return func() error {
		if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("admin listener: %w", err)
		}
		return nil
	}, nil
}

// spoolStats reads p's spool state for the metrics.
func spoolStats(p *edgehog.Proxy) metrics.SpoolStats {
	if p == nil {
		return metrics.SpoolStats{}
	}
	s, ok := p.SpoolStatus()
	if !ok {
		return metrics.SpoolStats{}
	}
	return metrics.SpoolStats{
		Frames: s.Frames, Bytes: s.Bytes, Oldest: s.Oldest,
		DeadFrames: s.DeadFrames, DeadBytes: s.DeadBytes, Full: s.Full,
		Stored: s.Stored, StoredBytes: s.StoredBytes, PassedThrough: s.PassedThrough,
		Delivered: s.Delivered, Retried: s.Retried, DeadLettered: s.DeadLettered,
		Corrupt: s.Corrupt, Unshifted: s.Unshifted, EngineProblems: s.EngineProblems,
	}
}

// Package server runs edgehog's HTTP listener: the http.Server with every
// timeout set, health and readiness endpoints answered before the proxy, and
// a graceful drain on shutdown. With TLS it serves HTTPS and HTTP/2 (files
// or ACME, see internal/tlsconf) and an optional plain-HTTP listener that
// answers ACME HTTP-01 and redirects to https. Swappable lets a reload
// replace the handler while requests run.
package server

import (
	"time"

	"github.com/edgehog/edgehog/internal/tlsconf"
)

// Options configure a Server. Zero fields take the default shown on each
// field (DefaultOptions returns them all filled in).
type Options struct {
	// Listen is the TCP address to listen on; default ":8080".
	Listen string

	// ReadHeaderTimeout bounds reading a request's headers; default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included; default
	// 5m.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the response; default 6m. It must exceed ReadTimeout.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long; default 2m.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds the drain of in-flight requests at shutdown;
	// default 30s.
	ShutdownTimeout time.Duration

	// MaxHeaderBytes caps the size of request headers; default 64 KiB.
	MaxHeaderBytes int

	// Engine serves HTTP/1.x: EngineEdgehog (the default) or EngineGo
	// (net/http's server). HTTP/2 is always net/http's.
	Engine string

	// HealthPath answers liveness probes; default "/healthz".
	HealthPath string
	// ReadyPath answers readiness probes, 503 while draining; default
	// "/readyz".
	ReadyPath string
	// Ready, when set, is asked at every readiness probe; an error makes
	// the probe answer 503 with the error (a full spool in always mode,
	// say). Nil means ready whenever not draining.
	Ready func() error
	// TLS, when enabled, serves HTTPS (HTTP/2 and HTTP/1.1) on Listen; the
	// zero value serves plain HTTP. See tls.go.
	TLS tlsconf.Options
	// RedirectListen, when set with TLS, is a plain-HTTP address (like
	// ":80") that answers ACME HTTP-01 challenges and redirects every other
	// request to https with 308; default none.
	RedirectListen string
	// PidFile, when set, is where the edgehog command writes its process
	// ID while serving, for `edgehog reload`; default none.
	PidFile string
}

// Values of Options.Engine.
const (
	// EngineEdgehog serves HTTP/1.x with internal/h1serve.
	EngineEdgehog = "edgehog"
	// EngineGo serves HTTP/1.x with net/http's server.
	EngineGo = "go"
)

// DefaultOptions returns the default options.
func DefaultOptions() Options {
	return Options{
		Listen: ":8080",
		// Slow clients must not pin connections while dribbling headers
		// (Slowloris); 10s is generous for any real client.
		ReadHeaderTimeout: 10 * time.Second,
		// Session-replay and batch uploads may be tens of MiB from slow
		// mobile links, so a whole request may take minutes.
		ReadTimeout: 5 * time.Minute,
		// Go starts the write deadline when the request headers have been
		// read, so the body upload counts against it: it must exceed
		// ReadTimeout, leaving time for upstream's answer.
		WriteTimeout: 6 * time.Minute,
		// Browsers reuse connections for their next batch; two minutes
		// keeps them without hoarding sockets.
		IdleTimeout: 2 * time.Minute,
		// Long enough for an in-flight upload to finish, short enough for
		// an orchestrator's grace period (Kubernetes defaults to 30s too).
		ShutdownTimeout: 30 * time.Second,
		// PostHog's headers are small; 64 KiB admits large cookies while
		// bounding per-connection memory.
		MaxHeaderBytes: 64 << 10,
		HealthPath:     "/healthz",
		ReadyPath:      "/readyz",
		// edgehog's own HTTP/1.x engine spends about a quarter less CPU
		// per small request than net/http's (docs/performance.md).
		Engine: EngineEdgehog,
	}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	str := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	dur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	str(&o.Listen, d.Listen)
	str(&o.HealthPath, d.HealthPath)
	str(&o.ReadyPath, d.ReadyPath)
	str(&o.Engine, d.Engine)
	dur(&o.ReadHeaderTimeout, d.ReadHeaderTimeout)
	dur(&o.ReadTimeout, d.ReadTimeout)
	dur(&o.WriteTimeout, d.WriteTimeout)
	dur(&o.IdleTimeout, d.IdleTimeout)
	dur(&o.ShutdownTimeout, d.ShutdownTimeout)
	if o.MaxHeaderBytes == 0 {
		o.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return o
}

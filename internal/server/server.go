package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Log keys of the server's own lines.
const (
	logKeyAddr  = "addr"
	logKeyError = "error"
	logKeyTLS   = "tls"
)

// Server serves one http.Handler on one listener, with health and readiness
// probes in front of it, until its context ends; then it drains.
type Server struct {
	opts     Options
	log      *slog.Logger
	srv      *http.Server // HTTP/1.x with EngineGo; HTTP/2 always
	draining atomic.Bool

	mu   sync.Mutex
	addr net.Addr
}

// New builds a Server for h. Zero options take their defaults. A nil log
// discards.
func New(o Options, h http.Handler, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: o.withDefaults(), log: log}
	// Every limit is set; DefaultOptions says why each value is what it is.
	s.srv = &http.Server{
		Handler:           s.probes(h),
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		// net/http reports per-connection trouble (TLS handshake errors,
		// broken clients) here; it is noise except when debugging.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s
}

// Addr returns the address the server listens on, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// ListenAndServe listens on Options.Listen and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done, then drains: readiness turns to 503,
// the listener closes, and in-flight requests get ShutdownTimeout to finish
// (on a fresh context: ctx is already done). It returns nil after a clean
// drain, and an error if serving failed or the drain ran out of time (the
// remaining connections are then closed). Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.ServeRedirect(ctx, ln, nil)
}

// ServeRedirect is Serve with the plain-HTTP redirect listener already
// open (see Options.RedirectListen); a nil redirect opens
// Options.RedirectListen when TLS and it are set. ServeRedirect closes
// both listeners.
func (s *Server) ServeRedirect(ctx context.Context, ln, redirect net.Listener) error {
	ln, red, err := s.setupTLS(ctx, ln, redirect)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	// Requests must outlive ctx, or the drain would cancel exactly the
	// requests it waits for; they keep its values only.
	base := context.WithoutCancel(ctx)
	s.srv.BaseContext = func(net.Listener) context.Context { return base }

	e := s.startEngine(ln, base, s.srv.TLSConfig != nil)
	errc := make(chan error, 1)
	go func() { errc <- e.serve(ln) }()
	redErrc := red.start()
	select {
	case err := <-errc:
		e.close()
		red.close()
		return fmt.Errorf("serving: %w", err)
	case err := <-redErrc:
		e.close()
		return fmt.Errorf("serving redirect listener: %w", err)
	case <-ctx.Done():
	}

	s.draining.Store(true)
	s.log.Info("draining", logKeyAddr, ln.Addr().String())
	// The derper lesson: Shutdown gets a fresh deadline, not the
	// cancelled ctx, or nothing would be drained.
	sctx, cancel := context.WithTimeout(base, s.opts.ShutdownTimeout)
	defer cancel()
	err = errors.Join(e.shutdown(sctx), red.shutdown(sctx))
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		e.close()
		red.close()
		return fmt.Errorf("draining: %w", err)
	}
	s.log.Info("drained", logKeyAddr, ln.Addr().String())
	return nil
}

// Package h1serve is edgehog's HTTP/1.x server engine: it serves an
// http.Handler on plain TCP connections and on TLS connections that
// negotiate http/1.1, and hands TLS connections that negotiate h2 to
// another server (net/http's, which serves HTTP/2).
//
// It exists for cost. net/http's server starts a goroutine and a pending
// read per request to notice clients that leave, re-arms several deadline
// timers per request and snapshots the response header; for a proxy whose
// requests are small and short these are about a quarter of the CPU it
// spends. h1serve reads requests with net/http's own parser (the one
// behind http.ReadRequest), so what is accepted on the wire is what net/http
// accepts, and keeps net/http's server behaviour where a client can see
// it: the same status codes for malformed requests (as JSON bodies),
// Expect: 100-continue, keep-alive rules, unread-body handling, timeouts,
// graceful shutdown, Flush and Hijack. It notices a client that leaves
// during a request that has sent its whole body within a quarter second or
// so, by a sweep of long-running requests, instead of per request.
//
// Request contexts carry http.LocalAddrContextKey and
// http.ServerContextKey; the latter holds an *http.Server that only
// describes the engine's settings (it serves nothing), so that handlers
// which look for a server, as httputil.ReverseProxy and edgehog's forwarder
// do before aborting an answer with http.ErrAbortHandler, find one.
//
// What it leaves out: Content-Type sniffing (a proxy relays the upstream's
// type) and HTTP/2 cleartext upgrades.
package h1serve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

// Options configure a Server. Zero timeouts mean none, as in net/http.
type Options struct {
	// Handler answers every request but "OPTIONS *", which the server
	// answers itself, as net/http's does.
	Handler http.Handler
	// ReadHeaderTimeout bounds reading a request's headers, and a TLS
	// handshake.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included, from its
	// first byte.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the response.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and headers; default 1 MiB, as
	// net/http's.
	MaxHeaderBytes int
	// BaseContext is the parent of every request's context; default
	// context.Background().
	BaseContext context.Context
	// HandOff receives TLS connections whose negotiated protocol is neither
	// http/1.1 nor none (h2), after their handshake; nil closes them. It
	// runs on the connection's goroutine, which Shutdown waits for, so it
	// must return promptly (pass the connection on, as to a listener).
	HandOff func(net.Conn)
	// Log receives per-connection trouble (handshake failures, malformed
	// requests) at debug level and handler panics at error level; nil
	// discards.
	Log *slog.Logger
}

// sweepEvery is how often requests in flight are checked for a client that
// may have left; a request older than this with its body read gets a
// watcher (watch.go).
const sweepEvery = 250 * time.Millisecond

// Server serves HTTP/1.x. Its zero value is not usable; see New.
type Server struct {
	o    Options
	desc *http.Server // the value of http.ServerContextKey
	date dateCache

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closed    bool // Shutdown or Close was called

	sweeping atomic.Bool // a sweep is scheduled
	shutdown atomic.Bool
	// nconns counts tracked connections, for Shutdown's wait.
	nconns sync.WaitGroup
}

// New returns a Server for o.
func New(o Options) *Server {
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = http.DefaultMaxHeaderBytes
	}
	if o.BaseContext == nil {
		o.BaseContext = context.Background()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, listeners: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{}}
	s.desc = &http.Server{
		Handler: o.Handler, ReadHeaderTimeout: o.ReadHeaderTimeout, ReadTimeout: o.ReadTimeout,
		WriteTimeout: o.WriteTimeout, IdleTimeout: o.IdleTimeout, MaxHeaderBytes: o.MaxHeaderBytes,
	}
	return s
}

// Serve accepts connections on ln and serves each on its own goroutine
// until ln fails or the server is shut down; it then returns
// ErrServerClosed, or the accept error. Temporary accept errors (too many
// open files, say) are retried with a growing pause, as net/http does.
// Serve closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var pause time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				pause = min(max(2*pause, 5*time.Millisecond), time.Second)
				s.o.Log.Debug("accept failed; retrying", "error", err, "pause", pause)
				time.Sleep(pause)
				continue
			}
			return err
		}
		pause = 0
		c := s.newConn(nc)
		if c == nil {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// ServeConn serves one connection on the calling goroutine until it closes.
func (s *Server) ServeConn(nc net.Conn) {
	if c := s.newConn(nc); c != nil {
		c.serve()
	} else {
		nc.Close()
	}
}

// newConn tracks nc, or returns nil once the server is shutting down.
func (s *Server) newConn(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	c := newConn(s, nc)
	s.conns[c] = struct{}{}
	s.nconns.Add(1)
	return c
}

// forget stops tracking c; it is called once, when c's goroutine ends.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.nconns.Done()
}

// requestStarted makes sure the sweep runs while requests are in flight.
// It is called after conn.started is set; sweep clears sweeping before it
// looks at conn.started for the last time, so either this call or that
// look sees the other and a sweep stays scheduled.
func (s *Server) requestStarted() {
	if !s.sweeping.Load() && s.sweeping.CompareAndSwap(false, true) {
		time.AfterFunc(sweepEvery, s.sweep)
	}
}

// sweep starts a watcher for every request that has been in flight longer
// than sweepEvery with its body read, and reschedules itself while any
// request is in flight.
func (s *Server) sweep() {
	if s.scan() {
		time.AfterFunc(sweepEvery, s.sweep)
		return
	}
	s.sweeping.Store(false)
	if s.scan() && s.sweeping.CompareAndSwap(false, true) {
		time.AfterFunc(sweepEvery, s.sweep)
	}
}

// scan does one sweep and reports whether a request is in flight on a
// server still open.
func (s *Server) scan() bool {
	now := time.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	busy := false
	for c := range s.conns {
		if started := c.started.Load(); started != 0 {
			busy = true
			if now-started >= int64(sweepEvery) {
				c.maybeWatch()
			}
		}
	}
	return busy && !s.closed
}

// Shutdown stops accepting, closes idle connections, and waits for the
// requests in flight to finish (their connections then close) or for ctx to
// end, whichever is first; it returns ctx's error in the second case and
// leaves the remaining connections to Close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Store(true)
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.nconns.Wait()
		close(done)
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.closeIdle()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// closeIdle closes the connections waiting for a request.
func (s *Server) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.closeIfIdle()
	}
}

// Close closes the listeners and every connection at once, cancelling the
// requests in flight.
func (s *Server) Close() error {
	s.shutdown.Store(true)
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.abort()
	}
	s.mu.Unlock()
	return nil
}

package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/edgehog/edgehog/internal/h1serve"
)

// engine is what serves the listener: net/http's server alone, or
// h1serve for HTTP/1.x with net/http's server behind it for the TLS
// connections that negotiate h2.
type engine struct {
	srv *http.Server
	h1  *h1serve.Server // nil with EngineGo
	h2  *connListener   // h2 connections for srv; nil without TLS
	h2c chan error      // srv.Serve(h2)'s result
}

// startEngine builds the engine of Options.Engine. With tls, net/http
// serves the connections that negotiate h2.
func (s *Server) startEngine(ln net.Listener, base context.Context, tls bool) *engine {
	e := &engine{srv: s.srv}
	if s.opts.Engine == EngineGo {
		return e
	}
	var handOff func(net.Conn)
	if tls {
		e.h2 = newConnListener(ln.Addr())
		e.h2c = make(chan error, 1)
		go func() { e.h2c <- s.srv.Serve(e.h2) }()
		handOff = e.h2.hand
	}
	e.h1 = h1serve.New(h1serve.Options{
		Handler:           s.srv.Handler,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		BaseContext:       base,
		HandOff:           handOff,
		Log:               s.log.With(slog.String("engine", EngineEdgehog)),
	})
	return e
}

// serve serves ln until shutdown; it returns http.ErrServerClosed then.
func (e *engine) serve(ln net.Listener) error {
	if e.h1 == nil {
		return e.srv.Serve(ln)
	}
	return e.h1.Serve(ln)
}

// shutdown drains both servers within ctx.
func (e *engine) shutdown(ctx context.Context) error {
	if e.h1 == nil {
		return e.srv.Shutdown(ctx)
	}
	var wg sync.WaitGroup
	var h1err, h2err error
	wg.Add(1)
	go func() {
		defer wg.Done()
		h1err = e.h1.Shutdown(ctx)
	}()
	if e.h2 != nil {
		h2err = e.srv.Shutdown(ctx)
		if err := <-e.h2c; !errors.Is(err, http.ErrServerClosed) {
			h2err = errors.Join(h2err, err)
		}
	}
	wg.Wait()
	return errors.Join(h1err, h2err)
}

// close closes every connection at once.
func (e *engine) close() {
	if e.h1 != nil {
		e.h1.Close()
	}
	e.srv.Close()
}

// connListener is a net.Listener whose connections are handed to it: the
// TLS connections h1serve accepted that negotiated h2, for net/http.
type connListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// hand passes c to Accept, or closes it once the listener is closed.
func (l *connListener) hand(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

// Accept implements net.Listener.
func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener.
func (l *connListener) Addr() net.Addr { return l.addr }

package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/edgehog/edgehog/internal/tlsconf"
)

// Limits of the redirect listener, which serves only tiny answers: a
// redirect or an ACME token.
const (
	redirectHeaderTimeout = 10 * time.Second
	redirectTimeout       = 30 * time.Second
	redirectIdleTimeout   = 30 * time.Second
	redirectMaxHeader     = 16 << 10
)

// setupTLS builds the TLS configuration from Options.TLS and wraps ln in
// it; it also prepares the redirect listener. Without TLS it returns ln
// as it is and a redirect of nil (a redirect listener given is closed:
// there is nothing to redirect to). On error both listeners are closed.
func (s *Server) setupTLS(ctx context.Context, ln, rln net.Listener) (net.Listener, *redirector, error) {
	fail := func(err error) (net.Listener, *redirector, error) {
		ln.Close()
		if rln != nil {
			rln.Close()
		}
		return nil, nil, err
	}
	t, err := tlsconf.New(s.opts.TLS, s.log)
	if err != nil {
		return fail(fmt.Errorf("configuring tls: %w", err))
	}
	if t == nil {
		if rln != nil {
			rln.Close()
		}
		return ln, nil, nil
	}
	s.srv.TLSConfig = t.Config()
	if rln == nil && s.opts.RedirectListen != "" {
		var lc net.ListenConfig
		if rln, err = lc.Listen(ctx, "tcp", s.opts.RedirectListen); err != nil {
			return fail(fmt.Errorf("listening for http_redirect_listen: %w", err))
		}
	}
	mode := "files"
	if t.ACME() {
		mode = "acme"
	}
	s.log.Info("tls on", logKeyAddr, ln.Addr().String(), logKeyTLS, mode)
	var red *redirector
	if rln != nil {
		s.log.Info("redirecting http to https", logKeyAddr, rln.Addr().String())
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		red = &redirector{ln: rln, srv: &http.Server{
			Handler:           t.HTTPHandler(redirectHandler(port)),
			ReadHeaderTimeout: redirectHeaderTimeout,
			ReadTimeout:       redirectTimeout,
			WriteTimeout:      redirectTimeout,
			IdleTimeout:       redirectIdleTimeout,
			MaxHeaderBytes:    redirectMaxHeader,
			ErrorLog:          s.srv.ErrorLog,
		}}
	}
	// The tls listener offers h2 first (tlsconf sets NextProtos); net/http
	// serves HTTP/2 on *tls.Conn connections that negotiate it.
	return tls.NewListener(ln, t.Config()), red, nil
}

// redirectHandler sends every request to the same host and path over
// https with 308 Permanent Redirect, which keeps the method and body (RFC
// 9110 §15.4.9): a POST of events arriving over http is re-sent, not
// turned into a GET. This is the only redirect edgehog ever sends. port is
// the HTTPS listener's; 443 is left out of the URL.
func redirectHandler(port string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, ok := redirectHost(r.Host)
		if !ok {
			http.Error(w, "bad host", http.StatusBadRequest)
			return
		}
		if port != "" && port != "443" {
			host += ":" + port
		}
		target := "https://" + host + r.URL.RequestURI()
		w.Header().Set("Location", target)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusPermanentRedirect)
	})
}

// redirectHost returns the host of a Host header fit for a redirect URL:
// a DNS name (letters, digits, '-', '_' and '.') or an IP address, IPv6 in
// brackets, without the port. Anything else is refused, so the Location
// can only name the host the client asked for.
func redirectHost(hostport string) (string, bool) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return "", false
		}
		if addr.Is6() && !addr.Is4In6() {
			return "[" + addr.String() + "]", true
		}
		return addr.Unmap().String(), true
	}
	if host == "" || len(host) > 253 {
		return "", false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", false
		}
	}
	return host, true
}

// redirector is the plain-HTTP listener beside a TLS one. Its methods are
// no-ops on nil, so Serve reads the same with or without it.
type redirector struct {
	ln  net.Listener
	srv *http.Server
}

// start serves in the background; the channel receives Serve's error if
// it fails (never after shutdown).
func (r *redirector) start() <-chan error {
	errc := make(chan error, 1)
	if r == nil {
		return errc
	}
	go func() {
		if err := r.srv.Serve(r.ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	return errc
}

func (r *redirector) shutdown(ctx context.Context) error {
	if r == nil {
		return nil
	}
	return r.srv.Shutdown(ctx)
}

func (r *redirector) close() {
	if r != nil {
		r.srv.Close()
	}
}

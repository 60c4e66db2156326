package server

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/edgehog/edgehog/internal/tlsconf"
	"github.com/edgehog/edgehog/internal/tlsconf/certtest"
)

func TestTLSFilesHTTP2(t *testing.T) {
	pair := certtest.SelfSigned(t, 7, "ph.example.com")
	certFile, keyFile := pair.Write(t, t.TempDir())
	s := New(Options{TLS: tlsconf.Options{CertFile: certFile, KeyFile: keyFile}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }), quiet())
	ln := listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	}()
	for _, tt := range []struct {
		name  string
		h2    bool
		proto string
	}{{"h2", true, "HTTP/2.0"}, {"http/1.1", false, "HTTP/1.1"}} {
		t.Run(tt.name, func(t *testing.T) {
			tr := &http.Transport{
				TLSClientConfig:   &tls.Config{RootCAs: pair.Roots, ServerName: "ph.example.com"},
				ForceAttemptHTTP2: tt.h2,
			}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/x")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if string(b) != tt.proto {
				t.Errorf("served over %q, want %q", b, tt.proto)
			}
		})
	}
	// Probes answer over TLS too.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pair.Roots, ServerName: "ph.example.com"}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz over TLS = %d, want 200", resp.StatusCode)
	}
}

func TestTLSBadFiles(t *testing.T) {
	s := New(Options{TLS: tlsconf.Options{CertFile: "/nonexistent/cert.pem", KeyFile: "/nonexistent/key.pem"}}, http.NotFoundHandler(), quiet())
	ln, rln := listen(t), listen(t)
	if err := s.ServeRedirect(t.Context(), ln, rln); err == nil {
		t.Fatal("ServeRedirect with missing certificate files = nil, want an error")
	}
	// Both listeners are closed on the way out.
	for _, l := range []net.Listener{ln, rln} {
		if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
			c.Close()
			t.Errorf("listener %s still open", l.Addr())
		}
	}
}

func TestRedirectHandler(t *testing.T) {
	tests := []struct {
		name, port, method, host, target string
		wantCode                         int
		wantLocation                     string
	}{
		{"default port", "443", "GET", "ph.example.com", "/static/array.js?v=1", 308, "https://ph.example.com/static/array.js?v=1"},
		{"other port", "8443", "GET", "ph.example.com", "/x", 308, "https://ph.example.com:8443/x"},
		{"host with port", "443", "GET", "ph.example.com:80", "/x", 308, "https://ph.example.com/x"},
		{"post keeps method", "443", "POST", "ph.example.com", "/e/?ip=1", 308, "https://ph.example.com/e/?ip=1"},
		{"ipv6", "443", "GET", "[::1]:80", "/x", 308, "https://[::1]/x"},
		{"escaped path kept", "443", "GET", "ph.example.com", "/a%2Fb", 308, "https://ph.example.com/a%2Fb"},
		{"bad host", "443", "GET", "evil.com/x@", "/x", 400, ""},
		{"fragment in host", "443", "GET", "#", "/x", 400, ""},
		{"ipv6 without port", "443", "GET", "[::1]", "/x", 308, "https://[::1]/x"},
		{"zone refused", "443", "GET", "[fe80::1%25eth0]:80", "/x", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			redirectHandler(tt.port).ServeHTTP(w, r)
			if w.Code != tt.wantCode || w.Header().Get("Location") != tt.wantLocation {
				t.Errorf("%s %s%s = %d %q, want %d %q", tt.method, tt.host, tt.target, w.Code, w.Header().Get("Location"), tt.wantCode, tt.wantLocation)
			}
		})
	}
}

package h1serve_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/h1serve"
)

// blocker is a handler that blocks each request until released or until
// its context ends, and reports the context's error.
type blocker struct {
	started chan struct{}
	release chan struct{}
	ctxErr  chan error
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}, 1), release: make(chan struct{}), ctxErr: make(chan error, 1)}
}

func (b *blocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/block" {
		io.WriteString(w, "quick")
		return
	}
	b.started <- struct{}{}
	select {
	case <-b.release:
		io.WriteString(w, "released")
	case <-r.Context().Done():
	case <-time.After(ioWait):
	}
	b.ctxErr <- r.Context().Err()
}

func TestShutdownGraceful(t *testing.T) {
	b := newBlocker()
	ts := startServer(t, b, nil)
	idle := dial(t, ts.addr)
	idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	checkStatus(t, idle.read("GET"), 200)
	busy := dial(t, ts.addr)
	busy.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, b.started, "the in-flight request")

	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(context.Background()) }()
	idle.expectClosed() // while the other request is still in flight
	// The listener closed before the idle connection did.
	if nc, err := net.DialTimeout("tcp", ts.addr, ioWait); err == nil {
		nc.Close()
		t.Errorf("a connection after Shutdown was accepted")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}

	close(b.release)
	res := busy.read("GET")
	checkStatus(t, res, 200)
	checkClose(t, res, true)
	if res.body != "released" {
		t.Errorf("body: got %q, want %q", res.body, "released")
	}
	busy.expectClosed()
	if err := waitFor(t, shut, "Shutdown"); err != nil {
		t.Errorf("Shutdown: got %v, want nil", err)
	}
	if err := ts.serveResult(t); err != http.ErrServerClosed {
		t.Errorf("Serve: got %v, want %v", err, http.ErrServerClosed)
	}
}

func TestShutdownExpiredThenClose(t *testing.T) {
	b := newBlocker()
	ts := startServer(t, b, nil)
	c := dial(t, ts.addr)
	c.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, b.started, "the in-flight request")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ts.Shutdown(ctx); err != context.Canceled {
		t.Errorf("Shutdown: got %v, want %v", err, context.Canceled)
	}
	if err := ts.serveResult(t); err != http.ErrServerClosed {
		t.Errorf("Serve: got %v, want %v", err, http.ErrServerClosed)
	}
	ts.Close()
	if err := waitFor(t, b.ctxErr, "the handler"); err != context.Canceled {
		t.Errorf("the handler's context: got %v, want %v", err, context.Canceled)
	}
	c.readRaw() // the connection closes
}

func TestClose(t *testing.T) {
	b := newBlocker()
	ts := startServer(t, b, nil)
	c := dial(t, ts.addr)
	c.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, b.started, "the in-flight request")
	ts.Close()
	if err := waitFor(t, b.ctxErr, "the handler"); err != context.Canceled {
		t.Errorf("the handler's context: got %v, want %v", err, context.Canceled)
	}
	if err := ts.serveResult(t); err != http.ErrServerClosed {
		t.Errorf("Serve: got %v, want %v", err, http.ErrServerClosed)
	}
	c.expectClosed()
}

func TestServeAfterShutdown(t *testing.T) {
	s := h1serve.New(h1serve.Options{Handler: text("x")})
	s.Shutdown(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); err != http.ErrServerClosed {
		t.Errorf("Serve: got %v, want %v", err, http.ErrServerClosed)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), ioWait); err == nil {
		t.Errorf("Serve left its listener open")
	}
}

func TestReadHeaderTimeout(t *testing.T) {
	var n calls
	ts := startServer(t, n.handler(), func(o *h1serve.Options) { o.ReadHeaderTimeout = 100 * time.Millisecond })
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n")
	closed := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(c.nc)
		closed <- string(b)
	}()
	// Dribble a header line now and then, never ending the head, until the
	// server gives up.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range int(ioWait / (20 * time.Millisecond)) {
		select {
		case got := <-closed:
			if got != "" {
				t.Errorf("got %q before the close, want nothing", got)
			}
			if n.count() != 0 {
				t.Errorf("the handler was called")
			}
			return
		case <-tick.C:
			c.nc.Write([]byte("X-Slow: 1\r\n"))
		}
	}
	t.Fatalf("the connection was not closed")
}

func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, text("ok"), func(o *h1serve.Options) { o.IdleTimeout = 100 * time.Millisecond })
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	checkStatus(t, c.read("GET"), 200)
	c.expectClosed()
}

func TestReadTimeout(t *testing.T) {
	errs := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		errs <- err
	}), func(o *h1serve.Options) { o.ReadTimeout = 100 * time.Millisecond })
	c := dial(t, ts.addr)
	// Half the body, then silence.
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
	err := waitFor(t, errs, "the handler")
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("reading the body: got %v, want a timeout", err)
	}
	c.readRaw() // the connection closes
}

func TestWriteTimeout(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond) // past the write deadline
		io.WriteString(w, "too late")
	}), func(o *h1serve.Options) { o.WriteTimeout = 100 * time.Millisecond })
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.expectClosed()
}

func TestPanics(t *testing.T) {
	for _, tt := range []struct {
		name    string
		p       any
		wantLog bool
	}{
		{"abort", http.ErrAbortHandler, false},
		{"other", "boom", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/panic" {
					io.WriteString(w, "partial")
					panic(tt.p)
				}
			}), func(o *h1serve.Options) { o.Log = logs.logger() })
			c := dial(t, ts.addr)
			c.send("GET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
			c.expectClosed()
			got := logs.String()
			if logged := strings.Contains(got, "level=ERROR"); logged != tt.wantLog {
				t.Errorf("got log %q, want an error: %v", got, tt.wantLog)
			}
			if tt.wantLog && (!strings.Contains(got, "panic serving request") || !strings.Contains(got, "boom") || !strings.Contains(got, "stack=")) {
				t.Errorf("got log %q, want the panic and its stack", got)
			}
			// The server goes on serving.
			dial(t, ts.addr).expectOpen()
		})
	}
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "h1serve test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto := "no tls"
		if r.TLS != nil {
			proto = r.TLS.NegotiatedProtocol
		}
		io.WriteString(w, r.Proto+" "+proto)
	})
	handedOff := make(chan string, 1)
	// net/http serves the h2 connections, as internal/server does.
	h2 := &handOffListener{addr: ln.Addr(), ch: make(chan net.Conn, 1), done: make(chan struct{})}
	h2srv := &http.Server{Handler: handler}
	h2done := make(chan error, 1)
	go func() { h2done <- h2srv.Serve(h2) }()
	t.Cleanup(func() {
		h2srv.Close()
		waitFor(t, h2done, "the h2 server")
	})
	ts := serveOn(t, tln, handler, func(o *h1serve.Options) {
		o.HandOff = func(nc net.Conn) {
			tc, ok := nc.(*tls.Conn)
			if !ok {
				handedOff <- "not a *tls.Conn"
				nc.Close()
				return
			}
			handedOff <- tc.ConnectionState().NegotiatedProtocol
			h2.hand(tc)
		}
	})

	for _, tt := range []struct {
		name    string
		tr      *http.Transport
		want    string
		handOff bool
	}{
		{"http/1.1", &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}}, "HTTP/1.1 http/1.1", false},
		{"h2", &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool}}, "HTTP/2.0 h2", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(tt.tr.CloseIdleConnections)
			res, err := (&http.Client{Transport: tt.tr, Timeout: ioWait}).Get("https://" + ts.addr + "/")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || string(b) != tt.want {
				t.Errorf("got %q (%v), want %q", b, err, tt.want)
			}
			select {
			case p := <-handedOff:
				if !tt.handOff || p != "h2" {
					t.Errorf("hand-off: got %q, want it only for h2", p)
				}
			default:
				if tt.handOff {
					t.Errorf("the h2 connection was not handed off")
				}
			}
		})
	}
}

// handOffListener is a net.Listener of the connections handed to it.
type handOffListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

// hand passes nc to Accept, or closes it once the listener is closed.
func (l *handOffListener) hand(nc net.Conn) {
	select {
	case l.ch <- nc:
	case <-l.done:
		nc.Close()
	}
}

func (l *handOffListener) Accept() (net.Conn, error) {
	select {
	case nc := <-l.ch:
		return nc, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handOffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handOffListener) Addr() net.Addr { return l.addr }

func TestTLSHandshakeTimeout(t *testing.T) {
	cert, _ := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	var n calls
	ts := serveOn(t, tln, n.handler(), func(o *h1serve.Options) { o.ReadHeaderTimeout = 100 * time.Millisecond })
	// A client that connects and never says hello is dropped.
	c := dial(t, ts.addr)
	c.expectClosed()
	if n.count() != 0 {
		t.Errorf("the handler was called")
	}
}

package forward

import (
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/route"
)

// TestUpstreamTLS checks what PostHog Cloud needs from the connection: the
// upstream's host name as Host and as TLS SNI, HTTP/2 when offered, and one
// reused connection for many requests.
func TestUpstreamTLS(t *testing.T) {
	type seen struct {
		host, sni string
		proto     int
		remote    string
	}
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Host, r.TLS.ServerName, r.ProtoMajor, r.RemoteAddr})
		mu.Unlock()
		io.WriteString(w, `{"status":"Ok"}`)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	target := "example.com:" + port // the test certificate's name
	f, err := New(Options{
		API:    mustURL("https://" + target),
		Assets: mustURL("https://" + target),
		Conn: TransportOptions{
			DialTimeout: time.Second, TLSHandshakeTimeout: time.Second, ResponseHeaderTimeout: time.Second,
			IdleConnTimeout: time.Minute, ConnMaxAge: time.Hour, MaxIdleConnsPerHost: 4, RootCAs: pool,
			dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if addr != target {
					t.Errorf("dialled %q, want %q", addr, target)
				}
				return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.CloseIdleConnections()
	for range 3 {
		r := httptest.NewRequest("POST", "http://site.example/e/", strings.NewReader("{}"))
		w := httptest.NewRecorder()
		f.Forward(w, r, &State{Match: route.Match{Kind: route.KindCapture, Path: "/e/"}})
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	if len(got) != 3 {
		t.Fatalf("upstream saw %d requests, want 3", len(got))
	}
	for i, s := range got {
		if s.host != target || s.sni != "example.com" || s.proto != 2 {
			t.Errorf("request %d: Host %q SNI %q HTTP/%d; want Host %q SNI example.com HTTP/2", i, s.host, s.sni, s.proto, target)
		}
		if s.remote != got[0].remote {
			t.Errorf("request %d came on a new connection %s (first %s), want reuse", i, s.remote, got[0].remote)
		}
	}
}

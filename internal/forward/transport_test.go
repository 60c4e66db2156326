package forward

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestConnMaxAge checks that connections are reused while young and that a
// new one (with a fresh DNS lookup) is dialled once ConnMaxAge has passed.
func TestConnMaxAge(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	rt := newRotatingTransport(TransportOptions{
		DialTimeout: time.Second, TLSHandshakeTimeout: time.Second, ResponseHeaderTimeout: time.Second,
		IdleConnTimeout: time.Minute, ConnMaxAge: 300 * time.Millisecond, MaxIdleConnsPerHost: 4,
	})
	defer rt.CloseIdleConnections()
	client := &http.Client{Transport: rt}
	get := func() {
		res, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	for range 5 {
		get()
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("5 sequential requests used %d connections, want 1 (keep-alive)", n)
	}
	time.Sleep(350 * time.Millisecond)
	get()
	if n := conns.Load(); n != 2 {
		t.Errorf("after ConnMaxAge, %d connections in total, want 2 (a new dial)", n)
	}
}

package h1serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/h1serve"
)

func TestKeepAliveSequential(t *testing.T) {
	ts := startServer(t, echoPath, nil)
	c := dial(t, ts.addr)
	for _, p := range []string{"/a", "/b", "/c"} {
		c.send("GET " + p + " HTTP/1.1\r\nHost: x\r\n\r\n")
		res := c.read("GET")
		checkStatus(t, res, 200)
		if res.body != p {
			t.Errorf("body: got %q, want %q", res.body, p)
		}
		if res.Close {
			t.Errorf("%s: the answer closes the connection", p)
		}
	}
}

func TestKeepAlivePipelined(t *testing.T) {
	ts := startServer(t, echoPath, nil)
	c := dial(t, ts.addr)
	c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"/1", "/2", "/3"} {
		if res := c.read("GET"); res.body != want {
			t.Errorf("got %q, want %q", res.body, want)
		}
	}
}

func TestKeepAliveClientReuse(t *testing.T) {
	ts := startServer(t, text("hi"), nil)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cl := &http.Client{Transport: tr, Timeout: ioWait}
	for i := range 3 {
		reused := false
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://"+ts.addr+"/", nil)
		res, err := cl.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "hi" {
			t.Errorf("request %d: got body %q, want %q", i, b, "hi")
		}
		if want := i > 0; reused != want {
			t.Errorf("request %d: got reused %v, want %v", i, reused, want)
		}
	}
}

func TestConnectionClose(t *testing.T) {
	for _, tt := range []struct {
		name, req string
	}{
		{"client close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
		{"http/1.0", "GET / HTTP/1.0\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, text("bye"), nil)
			c := dial(t, ts.addr)
			c.send(tt.req)
			res := c.read("GET")
			checkStatus(t, res, 200)
			checkClose(t, res, true)
			if res.body != "bye" {
				t.Errorf("body: got %q, want %q", res.body, "bye")
			}
			c.expectClosed()
		})
	}
}

func TestHTTP10KeepAlive(t *testing.T) {
	ts := startServer(t, echoPath, nil)
	c := dial(t, ts.addr)
	for _, p := range []string{"/a", "/b"} {
		c.send("GET " + p + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		res := c.read("GET")
		checkHeader(t, res, "Connection", "keep-alive")
		checkHeader(t, res, "Content-Length", "2")
		if res.body != p {
			t.Errorf("body: got %q, want %q", res.body, p)
		}
	}
}

func TestRejectedRequests(t *testing.T) {
	long := strings.Repeat("a", 8<<10)
	for _, tt := range []struct {
		name, req string
		status    int
		code      string
	}{
		{"malformed request line", "GARBAGE\r\n\r\n", 400, "bad_request"},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400, "bad_request"},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad_request"},
		{"bad host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "bad_request"},
		{"header too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + long + "\r\n\r\n", 431, "header_too_large"},
		{"gzip, chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "not_implemented"},
		{"unknown te", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n", 501, "not_implemented"},
		{"two te fields", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501, "not_implemented"},
		{"http/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"},
		{"expect other", "GET / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n", 417, "expectation_failed"},
		{"control byte", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400, "bad_request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var n calls
			ts := startServer(t, n.handler(), func(o *h1serve.Options) { o.MaxHeaderBytes = 1 << 10 })
			c := dial(t, ts.addr)
			c.send(tt.req)
			res := c.read("GET")
			checkStatus(t, res, tt.status)
			checkClose(t, res, true)
			checkHeader(t, res, "Content-Type", "application/json")
			var body struct {
				Status int    `json:"status"`
				Code   string `json:"code"`
				Error  string `json:"error"`
			}
			if err := json.Unmarshal([]byte(res.body), &body); err != nil {
				t.Fatalf("body %q: %v", res.body, err)
			}
			if body.Status != tt.status || body.Code != tt.code || body.Error == "" {
				t.Errorf("body: got %+v, want status %d, code %q and a message", body, tt.status, tt.code)
			}
			c.expectClosed()
			if got := n.count(); got != 0 {
				t.Errorf("handler calls: got %d, want 0", got)
			}
		})
	}
}

// echoBody answers with the request body it read.
var echoBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Write(b)
})

func TestExpectContinue(t *testing.T) {
	ts := startServer(t, echoBody, nil)
	c := dial(t, ts.addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	if res := c.read("POST"); res.StatusCode != 100 {
		t.Fatalf("got status %d, want 100 first", res.StatusCode)
	}
	c.send("hello")
	res := c.read("POST")
	checkStatus(t, res, 200)
	if res.body != "hello" {
		t.Errorf("body: got %q, want %q", res.body, "hello")
	}
	c.expectOpen()
}

func TestExpectContinueUnread(t *testing.T) {
	ts := startServer(t, text("no"), nil)
	c := dial(t, ts.addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	res := c.read("POST")
	checkStatus(t, res, 200)
	checkClose(t, res, true)
	if res.body != "no" {
		t.Errorf("body: got %q, want %q", res.body, "no")
	}
	c.expectClosed()
}

func TestChunkedRequestBody(t *testing.T) {
	ts := startServer(t, echoBody, nil)
	c := dial(t, ts.addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
	res := c.read("POST")
	if res.body != "hello world" {
		t.Errorf("body: got %q, want %q", res.body, "hello world")
	}
	c.expectOpen()
}

func TestUnreadBody(t *testing.T) {
	for _, tt := range []struct {
		name      string
		size      int
		wantClose bool
	}{
		{"small", 100 << 10, false},
		{"at the limit", 256 << 10, false},
		{"large", 1 << 20, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, text("ok"), nil)
			c := dial(t, ts.addr)
			c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(tt.size) + "\r\n\r\n")
			if !tt.wantClose {
				c.send(strings.Repeat("b", tt.size))
			}
			res := c.read("POST")
			checkStatus(t, res, 200)
			if tt.wantClose {
				checkClose(t, res, true)
				c.expectClosed()
				return
			}
			checkClose(t, res, false)
			c.expectOpen()
		})
	}
}

func TestBodyCloseDoesNotDrain(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body.Close()
		io.WriteString(w, "closed")
	}), nil)
	c := dial(t, ts.addr)
	// A chunked body that never ends: draining it would hang the answer.
	c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	res := c.read("POST")
	if res.body != "closed" {
		t.Errorf("body: got %q, want %q", res.body, "closed")
	}
	checkClose(t, res, true)
}

func TestBodyReadAfterHandler(t *testing.T) {
	late := make(chan error, 1)
	readNow := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/leak" {
			io.WriteString(w, r.Method+" "+r.URL.Path)
			return
		}
		// A reader left behind by the handler, as a forwarder's body copier
		// may be: once the handler returns it must not reach the next
		// request's bytes.
		go func() {
			<-readNow
			n, err := r.Body.Read(make([]byte, 64))
			if n > 0 {
				err = fmt.Errorf("read %d bytes", n)
			}
			late <- err
		}()
		io.WriteString(w, "leaked")
	}), nil)
	c := dial(t, ts.addr)
	c.send("POST /leak HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	if res := c.read("POST"); res.body != "leaked" {
		t.Errorf("first answer: got %q, want %q", res.body, "leaked")
	}
	if res := c.read("GET"); res.body != "GET /next" {
		t.Errorf("second answer: got %q, want %q", res.body, "GET /next")
	}
	close(readNow)
	if err := waitFor(t, late, "the late reader"); err != http.ErrBodyReadAfterClose {
		t.Errorf("a read after the handler: got %v, want %v", err, http.ErrBodyReadAfterClose)
	}
}

func TestRequestContext(t *testing.T) {
	type seen struct {
		remote string
		local  net.Addr
		srv    *http.Server
		base   any
		ctx    context.Context
	}
	type baseKey struct{}
	got := make(chan seen, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		la, _ := ctx.Value(http.LocalAddrContextKey).(net.Addr)
		srv, _ := ctx.Value(http.ServerContextKey).(*http.Server)
		got <- seen{r.RemoteAddr, la, srv, ctx.Value(baseKey{}), ctx}
	}), func(o *h1serve.Options) {
		o.BaseContext = context.WithValue(context.Background(), baseKey{}, "base")
		o.IdleTimeout = time.Minute
	})
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	checkStatus(t, c.read("GET"), 200)
	s := waitFor(t, got, "the handler")
	if want := c.nc.LocalAddr().String(); s.remote != want {
		t.Errorf("RemoteAddr: got %q, want %q", s.remote, want)
	}
	if s.local == nil || s.local.String() != ts.addr {
		t.Errorf("LocalAddrContextKey: got %v, want %s", s.local, ts.addr)
	}
	if s.srv == nil || s.srv.IdleTimeout != time.Minute {
		t.Errorf("ServerContextKey: got %v, want a server describing the options", s.srv)
	}
	if s.base != "base" {
		t.Errorf("a BaseContext value: got %v, want %q", s.base, "base")
	}
	waitCtx(t, s.ctx, "the request context to end after the handler")
}

func TestClientGone(t *testing.T) {
	started := make(chan struct{})
	result := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			result <- r.Context().Err()
		case <-time.After(ioWait):
			result <- nil
		}
	}), nil)
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, started, "the handler")
	c.nc.Close()
	if err := waitFor(t, result, "the handler's result"); err != context.Canceled {
		t.Errorf("handler's context: got %v, want %v", err, context.Canceled)
	}
}

func TestPipelinedWhileWatched(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
				http.Error(w, "cancelled", 500)
				return
			}
		}
		io.WriteString(w, r.Method+" "+r.URL.Path)
	}), nil)
	c := dial(t, ts.addr)
	c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, started, "the slow handler")
	// Long enough for the sweep (every 250ms) to start a watcher, which
	// then reads the first byte of the next request.
	time.Sleep(time.Second)
	c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	close(release)
	// A lost first byte would make the second request "ET /next".
	for _, want := range []string{"GET /slow", "GET /next"} {
		res := c.read("GET")
		checkStatus(t, res, 200)
		if res.body != want {
			t.Errorf("got %q, want %q", res.body, want)
		}
	}
}

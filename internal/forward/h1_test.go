package forward

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/route"
)

// rawUpstream is an HTTP/1.1 upstream on loopback whose answers the test
// writes byte for byte, so that it controls framing exactly.
type rawUpstream struct {
	ln    net.Listener
	serve func(ex *rawExchange) bool
	// lazy leaves the request body unread for serve.
	lazy bool

	conns atomic.Int32 // connections accepted
	eofs  atomic.Int32 // connections closed by edgehog between requests
	stop  chan struct{}
	wg    sync.WaitGroup

	mu   sync.Mutex
	reqs []rawRequest
	open []net.Conn
}

// rawRequest is a request as the upstream read it.
type rawRequest struct {
	conn     int // connection number, from 1
	req      *http.Request
	body     []byte
	complete bool // the body arrived whole
}

// rawExchange is one request being answered by a rawUpstream.
type rawExchange struct {
	conn, n int // connection number and request number on it, from 1
	req     *http.Request
	body    []byte
	nc      net.Conn
	br      *bufio.Reader
	stop    <-chan struct{}
}

func (ex *rawExchange) write(s string) { _, _ = io.WriteString(ex.nc, s) }

// newRawUpstream starts an upstream whose serve answers each request (its
// body already read unless lazy) and reports whether the connection stays
// open.
func newRawUpstream(t *testing.T, lazy bool, serve func(ex *rawExchange) bool) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln, serve: serve, lazy: lazy, stop: make(chan struct{})}
	u.wg.Add(1)
	go u.accept()
	t.Cleanup(u.close)
	return u
}

func (u *rawUpstream) url() string { return "http://" + u.ln.Addr().String() }

func (u *rawUpstream) accept() {
	defer u.wg.Done()
	for {
		nc, err := u.ln.Accept()
		if err != nil {
			return
		}
		n := int(u.conns.Add(1))
		u.mu.Lock()
		u.open = append(u.open, nc)
		u.mu.Unlock()
		u.wg.Add(1)
		go u.conn(n, nc)
	}
}

func (u *rawUpstream) conn(num int, nc net.Conn) {
	defer u.wg.Done()
	defer nc.Close()
	br := bufio.NewReader(nc)
	for n := 1; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				u.eofs.Add(1)
			}
			return
		}
		ex := &rawExchange{conn: num, n: n, req: req, nc: nc, br: br, stop: u.stop}
		if u.lazy {
			u.record(rawRequest{conn: num, req: req})
		} else {
			body, err := io.ReadAll(req.Body)
			u.record(rawRequest{conn: num, req: req, body: body, complete: err == nil})
			if err != nil {
				return
			}
			ex.body = body
		}
		if !u.serve(ex) {
			return
		}
	}
}

func (u *rawUpstream) record(r rawRequest) {
	u.mu.Lock()
	u.reqs = append(u.reqs, r)
	u.mu.Unlock()
}

func (u *rawUpstream) requests() []rawRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]rawRequest(nil), u.reqs...)
}

func (u *rawUpstream) close() {
	close(u.stop)
	u.ln.Close()
	u.mu.Lock()
	for _, c := range u.open {
		c.Close()
	}
	u.mu.Unlock()
	u.wg.Wait()
}

// answer returns a serve function that writes resp to every request and
// keeps the connection open.
func answer(resp string) func(ex *rawExchange) bool {
	return func(ex *rawExchange) bool {
		ex.write(resp)
		return true
	}
}

// okAnswer is a small keep-alive answer.
const okAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"Ok\"}"

// testConn is the transport configuration of these tests: generous limits
// that the tests that need a small one override.
func testConn() TransportOptions {
	return TransportOptions{
		DialTimeout: 5 * time.Second, TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout: time.Minute, ConnMaxAge: time.Hour, MaxIdleConnsPerHost: 4,
	}
}

// newH1Forwarder builds a Forwarder to upstream with conn and checks that
// it uses edgehog's own HTTP/1.1 client.
func newH1Forwarder(t *testing.T, upstream string, conn TransportOptions, flagsTimeout time.Duration) *Forwarder {
	t.Helper()
	f, err := New(Options{API: mustURL(upstream), Assets: mustURL(upstream), Conn: conn, FlagsTimeout: flagsTimeout})
	if err != nil {
		t.Fatal(err)
	}
	if f.h1API == nil {
		t.Fatalf("upstream %s is not carried by forwardH1", upstream)
	}
	t.Cleanup(f.CloseIdleConnections)
	return f
}

// statusRecorder is a ResponseRecorder that also records the status set
// without a write, as edgehog's access-log writer does.
type statusRecorder struct {
	*httptest.ResponseRecorder
	recorded int
}

func (s *statusRecorder) SetStatus(code int) { s.recorded = code }

// forward sends r through f as a capture request and returns what the
// client got and the request's state.
func forward(f *Forwarder, r *http.Request, kind route.Kind) (*statusRecorder, *State) {
	w := &statusRecorder{ResponseRecorder: httptest.NewRecorder()}
	st := &State{Match: route.Match{Kind: kind, Upstream: route.UpstreamAPI, Path: r.URL.Path}}
	f.Forward(w, r, st)
	return w, st
}

func post(body string) *http.Request {
	return httptest.NewRequest("POST", "http://site.example/e/", strings.NewReader(body))
}

func get() *http.Request { return httptest.NewRequest("GET", "http://site.example/e/", nil) }

// checkError checks that the client got edgehog's JSON error body.
func checkError(t *testing.T, w *statusRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d (body %q)", w.Code, status, w.Body)
	}
	var e struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	if e.Status != status || e.Code != code || e.Error == "" {
		t.Errorf("error body %q, want status %d and code %q", w.Body, status, code)
	}
}

// eventually waits, in a bounded loop, for cond to hold.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s", what)
}

func TestH1KeepAliveAndRequestHead(t *testing.T) {
	u := newRawUpstream(t, false, answer(okAnswer))
	f := newH1Forwarder(t, u.url(), testConn(), 0)
	host := u.ln.Addr().String()
	for i := range 20 {
		body := `{"event":"e","n":` + strings.Repeat("7", i) + `0}`
		r := httptest.NewRequest("POST", "http://site.example/e/?ver=1.2&compression=gzip-js&x=%2F", strings.NewReader(body))
		r.Header.Set("Content-Type", "text/plain")
		r.Header.Set("X-Custom", "kept")
		r.Header.Set("Cookie", "ph_session=secret")
		r.Header.Set("Connection", "keep-alive, X-Drop-Me")
		r.Header.Set("X-Drop-Me", "1")
		r.Header.Set("Keep-Alive", "timeout=5")
		r.Header.Set("Te", "gzip, trailers")
		r.Header.Set("Proxy-Authorization", "Basic eDp5")
		r.Header.Set("X-Forwarded-For", "6.6.6.6")
		r.Header.Set("X-Real-Ip", "6.6.6.6")
		r.Header.Set("Expect", "100-continue")
		w := &statusRecorder{ResponseRecorder: httptest.NewRecorder()}
		st := &State{Match: route.Match{Kind: route.KindCapture, Path: "/e/"}, ClientIP: netip.MustParseAddr("203.0.113.7")}
		f.Forward(w, r, st)
		if w.Code != 200 || w.Body.String() != `{"status":"Ok"}` {
			t.Fatalf("request %d: got %d %q, want 200 {\"status\":\"Ok\"}", i, w.Code, w.Body)
		}
		if got := w.Header().Get("Content-Length"); got != "15" {
			t.Errorf("request %d: Content-Length %q, want 15", i, got)
		}
		reqs := u.requests()
		if len(reqs) != i+1 {
			t.Fatalf("upstream saw %d requests, want %d", len(reqs), i+1)
		}
		got := reqs[i]
		if got.req.Method != "POST" || got.req.RequestURI != "/e/?ver=1.2&compression=gzip-js&x=%2F" || got.req.Proto != "HTTP/1.1" {
			t.Errorf("request line %s %s %s, want POST /e/?ver=1.2&compression=gzip-js&x=%%2F HTTP/1.1", got.req.Method, got.req.RequestURI, got.req.Proto)
		}
		if got.req.Host != host {
			t.Errorf("Host %q, want %q", got.req.Host, host)
		}
		if string(got.body) != body || got.req.ContentLength != int64(len(body)) {
			t.Errorf("body %q (Content-Length %d), want %q", got.body, got.req.ContentLength, body)
		}
		h := got.req.Header
		for k, want := range map[string]string{
			"Content-Type":        "text/plain",
			"X-Custom":            "kept",
			"Te":                  "trailers",
			"X-Forwarded-For":     "203.0.113.7",
			"X-Real-Ip":           "203.0.113.7",
			"Cookie":              "",
			"Connection":          "",
			"X-Drop-Me":           "",
			"Keep-Alive":          "",
			"Proxy-Authorization": "",
			"Expect":              "",
		} {
			if got := strings.Join(h[k], ","); got != want {
				t.Errorf("upstream header %s = %q, want %q", k, got, want)
			}
		}
	}
	if n := u.conns.Load(); n != 1 {
		t.Errorf("20 sequential requests used %d upstream connections, want 1", n)
	}
}

func TestH1ResponseFraming(t *testing.T) {
	tests := []struct {
		name   string
		method string
		resp   string
		status int
		body   string
		header map[string]string // "" means absent
		reused bool
		closes bool // the upstream closes the connection after answering
	}{
		{
			name: "content-length", method: "POST", resp: okAnswer, status: 200, body: `{"status":"Ok"}`,
			header: map[string]string{"Content-Length": "15", "Content-Type": "application/json"}, reused: true,
		},
		{
			name: "chunked", method: "POST",
			resp:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n",
			status: 200, body: "hello, world", header: map[string]string{"Transfer-Encoding": "", "Content-Length": ""}, reused: true,
		},
		{
			name: "close-delimited", method: "POST",
			resp:   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it until close",
			status: 200, body: "all of it until close", closes: true,
		},
		{
			name: "http/1.0 without keep-alive", method: "POST",
			resp:   "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
			status: 200, body: "ok", closes: true,
		},
		{
			name: "http/1.0 with keep-alive", method: "POST",
			resp:   "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok",
			status: 200, body: "ok", header: map[string]string{"Connection": "", "Keep-Alive": ""}, reused: true,
		},
		{
			name: "connection close", method: "POST",
			resp:   "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
			status: 200, body: "ok", header: map[string]string{"Connection": ""}, closes: true,
		},
		{
			name: "connection-listed header", method: "POST",
			resp:   "HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\nX-End: 2\r\nContent-Length: 2\r\n\r\nok",
			status: 200, body: "ok", header: map[string]string{"X-Hop": "", "X-End": "2"}, reused: true,
		},
		{
			// The Content-Length of a 204 announces nothing to read.
			name: "204", method: "POST", resp: "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
			status: 204, body: "", header: map[string]string{"X-A": "1"}, reused: true,
		},
		{
			name: "304", method: "GET", resp: "HTTP/1.1 304 Not Modified\r\nEtag: \"v1\"\r\nContent-Length: 500\r\n\r\n",
			status: 304, body: "", header: map[string]string{"Etag": `"v1"`}, reused: true,
		},
		{
			name: "head", method: "HEAD", resp: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
			status: 200, body: "", header: map[string]string{"Content-Length": "1234"}, reused: true,
		},
		{
			name: "both content-length and chunked", method: "POST",
			resp:   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
			status: 200, body: "hello", header: map[string]string{"Content-Length": "", "Transfer-Encoding": ""}, reused: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newRawUpstream(t, false, func(ex *rawExchange) bool {
				ex.write(tt.resp)
				return !tt.closes
			})
			f := newH1Forwarder(t, u.url(), testConn(), 0)
			for i := range 2 {
				var r *http.Request
				if tt.method == "POST" {
					r = post(`{"a":1}`)
				} else {
					r = httptest.NewRequest(tt.method, "http://site.example/e/", nil)
				}
				w, st := forward(f, r, route.KindCapture)
				if w.Code != tt.status || w.Body.String() != tt.body {
					t.Fatalf("request %d: got %d %q, want %d %q (state %q %v)", i, w.Code, w.Body, tt.status, tt.body, st.Code, st.Err)
				}
				for k, want := range tt.header {
					if got := strings.Join(w.Header()[k], ","); got != want {
						t.Errorf("request %d: header %s = %q, want %q", i, k, got, want)
					}
				}
				if i == 0 {
					// The connection is back in the pool, or closed, before
					// Forward returns.
					want := 0
					if tt.reused {
						want = 1
					}
					if n := len(f.h1.idle[f.h1API.key]); n != want {
						t.Errorf("%d idle connections after the answer, want %d", n, want)
					}
				}
			}
			want := int32(2)
			if tt.reused {
				want = 1
			}
			if n := u.conns.Load(); n != want {
				t.Errorf("2 requests used %d upstream connections, want %d", n, want)
			}
		})
	}
}

// TestH1Trailers checks that the trailers of a chunked answer, announced
// in Trailer, reach the client of the front server.
func TestH1Trailers(t *testing.T) {
	u := newRawUpstream(t, false, answer("HTTP/1.1 200 OK\r\nTrailer: X-Checksum, X-Count\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"3\r\nabc\r\n0\r\nX-Checksum: 900150983cd24fb0\r\nX-Count: 3\r\nX-Unannounced: late\r\n\r\n"))
	f := newH1Forwarder(t, u.url(), testConn(), 0)
	for i, front := range slices.Repeat(fronts(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.Forward(w, r, &State{Match: route.Match{Kind: route.KindCapture, Path: r.URL.Path}})
	})), 2) {
		res, err := front.client.Post(front.url+"/e/", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 || string(body) != "abc" {
			t.Fatalf("request %d (%s): got %d %q, want 200 abc", i, front.name, res.StatusCode, body)
		}
		if got := res.Trailer.Get("X-Checksum"); got != "900150983cd24fb0" {
			t.Errorf("request %d: trailer X-Checksum %q, want 900150983cd24fb0", i, got)
		}
		if got := res.Trailer.Get("X-Count"); got != "3" {
			t.Errorf("request %d: trailer X-Count %q, want 3", i, got)
		}
		if got := res.Trailer.Get("X-Unannounced"); got != "late" {
			t.Errorf("request %d: unannounced trailer X-Unannounced %q, want late", i, got)
		}
	}
	if n := u.conns.Load(); n != 1 {
		t.Errorf("4 requests used %d upstream connections, want 1", n)
	}
}

// TestH1BodyCutShort checks that an answer whose body breaks off after
// its head was relayed reaches the client of the front server as broken,
// never as a complete answer, and that its connection is not reused.
func TestH1BodyCutShort(t *testing.T) {
	tests := []struct {
		name  string
		resp  string
		close bool // the upstream closes after writing resp
	}{
		{"content-length short", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", true},
		{"chunked without last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", true},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n", false},
		{"bad trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nnot a field\r\n\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newRawUpstream(t, false, func(ex *rawExchange) bool {
				ex.write(tt.resp)
				return !tt.close
			})
			f := newH1Forwarder(t, u.url(), testConn(), 0)
			for _, front := range fronts(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				f.Forward(w, r, &State{Match: route.Match{Kind: route.KindCapture, Path: r.URL.Path}})
			})) {
				// The front server may not have sent the head yet when the
				// exchange is aborted: then the error comes before the answer.
				res, err := front.client.Post(front.url+"/e/", "application/json", strings.NewReader("{}"))
				if err == nil {
					body, rerr := io.ReadAll(res.Body)
					res.Body.Close()
					if rerr == nil {
						t.Errorf("%s: client read %d %q whole, want an error", front.name, res.StatusCode, body)
					}
				}
				if n := len(f.h1.idle[f.h1API.key]); n != 0 {
					t.Errorf("%s: %d idle connections, want 0", front.name, n)
				}
			}
		})
	}
}

// TestH1Refusals checks answers edgehog will not relay: each ends in 502
// with the JSON error body, and its connection is not reused.
func TestH1Refusals(t *testing.T) {
	tests := []struct {
		name  string
		resp  string
		close bool // the upstream closes after writing resp
	}{
		{"conflicting content-length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", false},
		{"conflicting content-length list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok", false},
		{"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false},
		{"two transfer-encodings", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 2\r\n\r\nok", false},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", false},
		{"control character in value", "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok", false},
		{"bad status code", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok", false},
		{"http/2 status line", "HTTP/2 200 OK\r\nContent-Length: 2\r\n\r\nok", false},
		{"not http", "SSH-2.0-OpenSSH_9.6\r\n\r\n", false},
		{"head over 1 MiB", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 1<<20) + "\r\nContent-Length: 2\r\n\r\nok", false},
		{"101 unasked", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false},
		{"six interim answers", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 6) + okAnswer, false},
		{"head cut short", "HTTP/1.1 200 OK\r\nContent-Le", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newRawUpstream(t, false, func(ex *rawExchange) bool {
				ex.write(tt.resp)
				return !tt.close
			})
			f := newH1Forwarder(t, u.url(), testConn(), 0)
			w, st := forward(f, post("{}"), route.KindCapture)
			checkError(t, w, http.StatusBadGateway, CodeUpstreamError)
			if st.Code != CodeUpstreamError || st.Err == nil {
				t.Errorf("state code %q err %v, want %q and an error", st.Code, st.Err, CodeUpstreamError)
			}
			if n := len(f.h1.idle[f.h1API.key]); n != 0 {
				t.Errorf("%d idle connections after a refused answer, want 0", n)
			}
			if n := len(u.requests()); n != 1 {
				t.Errorf("upstream saw %d requests, want 1 (no retry)", n)
			}
		})
	}
}

func TestH1InterimAnswers(t *testing.T) {
	tests := []struct {
		name    string
		interim string
	}{
		{"100 continue", "HTTP/1.1 100 Continue\r\n\r\n"},
		{"103 early hints", "HTTP/1.1 103 Early Hints\r\nLink: </static/array.js>; rel=preload\r\n\r\n"},
		{"both", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.js>; rel=preload\r\n\r\n"},
		{"five", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newRawUpstream(t, false, answer(tt.interim+okAnswer))
			f := newH1Forwarder(t, u.url(), testConn(), 0)
			for i := range 2 {
				w, _ := forward(f, post("{}"), route.KindCapture)
				if w.Code != 200 || w.Body.String() != `{"status":"Ok"}` {
					t.Fatalf("request %d: got %d %q, want 200 {\"status\":\"Ok\"}", i, w.Code, w.Body)
				}
				if got := w.Header().Get("Link"); got != "" {
					t.Errorf("request %d: an interim answer's Link %q reached the client", i, got)
				}
			}
			if n := u.conns.Load(); n != 1 {
				t.Errorf("2 requests used %d upstream connections, want 1", n)
			}
		})
	}
}

// TestH1StaleConnectionRetry checks that a request finding its kept-alive
// connection closed by the upstream is sent again on a new one, once.
func TestH1StaleConnectionRetry(t *testing.T) {
	closed := make(chan struct{})
	u := newRawUpstream(t, false, func(ex *rawExchange) bool {
		ex.write(okAnswer)
		if ex.conn == 1 {
			// Keep-alive was promised; the upstream closes the idle
			// connection anyway.
			defer close(closed)
			return false
		}
		return true
	})
	f := newH1Forwarder(t, u.url(), testConn(), 0)
	if w, _ := forward(f, post(`{"n":1}`), route.KindCapture); w.Code != 200 {
		t.Fatalf("first request: status %d, want 200", w.Code)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("upstream did not close its connection")
	}
	if n := len(f.h1.idle[f.h1API.key]); n != 1 {
		t.Fatalf("%d idle connections, want the closed one in the pool", n)
	}
	w, st := forward(f, post(`{"n":2}`), route.KindCapture)
	if w.Code != 200 || w.Body.String() != `{"status":"Ok"}` {
		t.Fatalf("request on a stale connection: got %d %q (state %q %v), want 200", w.Code, w.Body, st.Code, st.Err)
	}
	var second int
	for _, r := range u.requests() {
		if string(r.body) == `{"n":2}` {
			second++
			if r.conn != 2 {
				t.Errorf("second request arrived on connection %d, want 2", r.conn)
			}
		}
	}
	if second != 1 {
		t.Errorf("upstream got the second request %d times, want 1", second)
	}
}

// TestH1IdleProbe checks that a connection idle for longer than
// h1ProbeAfter is probed before reuse, so that a streamed body, which
// cannot be sent twice, does not go out on a connection the upstream has
// closed.
func TestH1IdleProbe(t *testing.T) {
	f, u, big := streamAfterUpstreamClose(t, h1ProbeAfter+100*time.Millisecond)
	// A connection that is still open passes the probe and is reused.
	time.Sleep(h1ProbeAfter + 100*time.Millisecond)
	if w, _ := forward(f, post(big), route.KindCapture); w.Code != 200 {
		t.Fatalf("after an idle pause: status %d, want 200", w.Code)
	}
	if n := u.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2: the open one reused after its probe", n)
	}
}

// TestH1StreamedBodyProbe checks that a request whose body streams (and so
// cannot be sent twice) is not put on a kept-alive connection the upstream
// has just closed, however short the idle time.
func TestH1StreamedBodyProbe(t *testing.T) {
	streamAfterUpstreamClose(t, 0)
}

// streamAfterUpstreamClose sends a small request, lets the upstream close
// its connection, waits pause, then sends a body that streams, which must
// arrive whole on a second connection.
func streamAfterUpstreamClose(t *testing.T, pause time.Duration) (*Forwarder, *rawUpstream, string) {
	t.Helper()
	closed := make(chan struct{})
	u := newRawUpstream(t, false, func(ex *rawExchange) bool {
		ex.write(okAnswer)
		if ex.conn == 1 {
			defer close(closed)
			return false
		}
		return true
	})
	f := newH1Forwarder(t, u.url(), testConn(), 0)
	if w, _ := forward(f, post("{}"), route.KindCapture); w.Code != 200 {
		t.Fatalf("first request: status %d, want 200", w.Code)
	}
	<-closed
	time.Sleep(pause)
	big := strings.Repeat("x", 4*h1InlineBody)
	w, st := forward(f, post(big), route.KindCapture)
	if w.Code != 200 {
		t.Fatalf("streamed body %v after an upstream close: got %d (state %q %v), want 200", pause, w.Code, st.Code, st.Err)
	}
	if r := u.requests(); len(r) != 2 || r[1].conn != 2 || string(r[1].body) != big {
		t.Errorf("upstream saw %d requests, want the second whole on connection 2", len(r))
	}
	return f, u, big
}

// TestH1NoRetryOnFreshConnection checks that a request whose new
// connection is closed without an answer is not sent again: the upstream
// may have acted on it.
func TestH1NoRetryOnFreshConnection(t *testing.T) {
	u := newRawUpstream(t, false, func(ex *rawExchange) bool { return false })
	f := newH1Forwarder(t, u.url(), testConn(), 0)
	w, _ := forward(f, post(`{"n":1}`), route.KindCapture)
	checkError(t, w, http.StatusBadGateway, CodeUpstreamError)
	if n := len(u.requests()); n != 1 {
		t.Errorf("upstream saw the request %d times, want 1", n)
	}
	if n := u.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestH1Redirect(t *testing.T) {
	tests := []struct {
		name   string
		resp   string
		status int
		code   string
	}{
		{"302", "HTTP/1.1 302 Found\r\nLocation: https://us.i.posthog.com/e/\r\nContent-Length: 0\r\n\r\n", http.StatusBadGateway, CodeUpstreamRedirect},
		{"301", "HTTP/1.1 301 Moved Permanently\r\nLocation: /e\r\nContent-Length: 3\r\n\r\nabc", http.StatusBadGateway, CodeUpstreamRedirect},
		{"304", "HTTP/1.1 304 Not Modified\r\n\r\n", http.StatusNotModified, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newRawUpstream(t, false, answer(tt.resp))
			f := newH1Forwarder(t, u.url(), testConn(), 0)
			w, st := forward(f, get(), route.KindCapture)
			if tt.code == "" {
				if w.Code != tt.status || st.Code != "" {
					t.Fatalf("got %d (state %q), want %d relayed", w.Code, st.Code, tt.status)
				}
				return
			}
			checkError(t, w, tt.status, tt.code)
			if st.Code != tt.code {
				t.Errorf("state code %q, want %q", st.Code, tt.code)
			}
			if got := w.Header().Get("Location"); got != "" {
				t.Errorf("Location %q reached the client", got)
			}
		})
	}
}

// silent answers nothing until the test ends.
func silent(ex *rawExchange) bool {
	<-ex.stop
	return false
}

func TestH1Timeouts(t *testing.T) {
	t.Run("response header timeout", func(t *testing.T) {
		u := newRawUpstream(t, false, silent)
		conn := testConn()
		conn.ResponseHeaderTimeout = 300 * time.Millisecond
		f := newH1Forwarder(t, u.url(), conn, 0)
		w, st := forward(f, post("{}"), route.KindCapture)
		checkError(t, w, http.StatusGatewayTimeout, CodeUpstreamTimeout)
		if !errors.Is(st.Err, errHeadTimeout) {
			t.Errorf("state error %v, want the response header timeout", st.Err)
		}
	})
	t.Run("response header timeout after a streamed body", func(t *testing.T) {
		u := newRawUpstream(t, false, silent)
		conn := testConn()
		conn.ResponseHeaderTimeout = 300 * time.Millisecond
		f := newH1Forwarder(t, u.url(), conn, 0)
		w, st := forward(f, post(strings.Repeat("x", 100<<10)), route.KindCapture)
		checkError(t, w, http.StatusGatewayTimeout, CodeUpstreamTimeout)
		if !errors.Is(st.Err, errHeadTimeout) {
			t.Errorf("state error %v, want the response header timeout", st.Err)
		}
		if r := u.requests(); len(r) != 1 || len(r[0].body) != 100<<10 {
			t.Errorf("upstream did not get the whole body before the timeout")
		}
	})
	t.Run("flags timeout", func(t *testing.T) {
		u := newRawUpstream(t, false, silent)
		f := newH1Forwarder(t, u.url(), testConn(), 300*time.Millisecond)
		r := httptest.NewRequest("POST", "http://site.example/flags/?v=2", strings.NewReader(`{"distinct_id":"a"}`))
		w, st := forward(f, r, route.KindFlags)
		checkError(t, w, http.StatusGatewayTimeout, CodeUpstreamTimeout)
		if !errors.Is(st.Err, context.DeadlineExceeded) {
			t.Errorf("state error %v, want the flags deadline", st.Err)
		}
	})
	t.Run("client gone", func(t *testing.T) {
		u := newRawUpstream(t, false, silent)
		f := newH1Forwarder(t, u.url(), testConn(), 0)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := post("{}").WithContext(ctx)
		type result struct {
			w  *statusRecorder
			st *State
		}
		done := make(chan result, 1)
		go func() {
			w, st := forward(f, r, route.KindCapture)
			done <- result{w, st}
		}()
		eventually(t, "the request to reach the upstream", func() bool { return len(u.requests()) == 1 })
		cancel()
		var res result
		select {
		case res = <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Forward did not end after the client went away")
		}
		if res.st.Code != CodeClientGone || res.w.recorded != StatusClientClosed {
			t.Errorf("state code %q, recorded status %d; want %q, %d", res.st.Code, res.w.recorded, CodeClientGone, StatusClientClosed)
		}
		if res.w.Body.Len() != 0 {
			t.Errorf("body %q written to a client that went away", res.w.Body)
		}
	})
}

// blockingReader returns EOF once release is closed.
type blockingReader struct{ release chan struct{} }

func (b blockingReader) Read([]byte) (int, error) {
	<-b.release
	return 0, io.EOF
}

func TestH1StreamedBodies(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	t.Run("content-length", func(t *testing.T) {
		u := newRawUpstream(t, false, answer(okAnswer))
		f := newH1Forwarder(t, u.url(), testConn(), 0)
		for i := range 2 {
			w, _ := forward(f, httptest.NewRequest("POST", "http://site.example/s/", bytes.NewReader(big)), route.KindReplay)
			if w.Code != 200 {
				t.Fatalf("request %d: status %d, want 200", i, w.Code)
			}
		}
		for i, r := range u.requests() {
			if !bytes.Equal(r.body, big) || r.req.ContentLength != int64(len(big)) {
				t.Errorf("request %d: upstream got %d bytes (Content-Length %d), want the 1 MiB body", i, len(r.body), r.req.ContentLength)
			}
		}
		if n := u.conns.Load(); n != 1 {
			t.Errorf("2 requests used %d connections, want 1", n)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		u := newRawUpstream(t, false, answer(okAnswer))
		f := newH1Forwarder(t, u.url(), testConn(), 0)
		r := httptest.NewRequest("POST", "http://site.example/s/", io.MultiReader(bytes.NewReader(big[:1000]), bytes.NewReader(big[1000:])))
		r.ContentLength = -1
		w, _ := forward(f, r, route.KindReplay)
		if w.Code != 200 {
			t.Fatalf("status %d, want 200", w.Code)
		}
		reqs := u.requests()
		if len(reqs) != 1 {
			t.Fatalf("upstream saw %d requests, want 1", len(reqs))
		}
		if !bytes.Equal(reqs[0].body, big) {
			t.Errorf("upstream got %d bytes, want the 1 MiB body", len(reqs[0].body))
		}
		if te := reqs[0].req.TransferEncoding; len(te) != 1 || te[0] != "chunked" {
			t.Errorf("Transfer-Encoding %q, want chunked", te)
		}
		if n := len(f.h1.idle[f.h1API.key]); n != 1 {
			t.Errorf("%d idle connections, want 1", n)
		}
	})
	t.Run("early answer", func(t *testing.T) {
		// The upstream answers 413 having read only the head. The body's
		// last bytes are held back until Forward returns, so its writer is
		// certainly still at work when the answer comes.
		u := newRawUpstream(t, true, func(ex *rawExchange) bool {
			if ex.conn == 1 {
				ex.write("HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"big\":1}\r\n")
				// Read on, so that closing sends no reset.
				_, _ = io.Copy(io.Discard, ex.br)
				return false
			}
			_, _ = io.Copy(io.Discard, ex.req.Body)
			ex.write(okAnswer)
			return true
		})
		f := newH1Forwarder(t, u.url(), testConn(), 0)
		release := make(chan struct{})
		defer func() {
			select {
			case <-release:
			default:
				close(release)
			}
		}()
		body := io.MultiReader(bytes.NewReader(big[:len(big)-1]), blockingReader{release}, bytes.NewReader(big[len(big)-1:]))
		r := httptest.NewRequest("POST", "http://site.example/s/", body)
		r.ContentLength = int64(len(big))
		w, st := forward(f, r, route.KindReplay)
		close(release)
		if w.Code != http.StatusRequestEntityTooLarge || w.Body.String() != "{\"big\":1}\r\n" {
			t.Fatalf("got %d %q (state %q %v), want upstream's 413", w.Code, w.Body, st.Code, st.Err)
		}
		if st.Code != "" {
			t.Errorf("state code %q, want none: upstream answered", st.Code)
		}
		if n := len(f.h1.idle[f.h1API.key]); n != 0 {
			t.Errorf("%d idle connections, want 0: the body was not all sent", n)
		}
		if w, _ := forward(f, post("{}"), route.KindCapture); w.Code != 200 {
			t.Errorf("next request: status %d, want 200", w.Code)
		}
		if n := u.conns.Load(); n != 2 {
			t.Errorf("%d connections, want 2", n)
		}
	})
}

func TestH1BodyOverLimit(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		limit int64
	}{
		{"small", 100, 10},           // inline: read before any upstream contact
		{"large", 1 << 20, 64 << 10}, // streamed: cut short on the wire
		{"just over inline", 20 << 10, 16<<10 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newRawUpstream(t, false, answer(okAnswer))
			f := newH1Forwarder(t, u.url(), testConn(), 0)
			w := &statusRecorder{ResponseRecorder: httptest.NewRecorder()}
			r := post(strings.Repeat("x", tt.size))
			r.Body = http.MaxBytesReader(w, r.Body, tt.limit)
			st := &State{Match: route.Match{Kind: route.KindCapture, Path: "/e/"}}
			f.Forward(w, r, st)
			checkError(t, w, http.StatusRequestEntityTooLarge, CodeTooLarge)
			if st.Code != CodeTooLarge {
				t.Errorf("state code %q, want %q", st.Code, CodeTooLarge)
			}
			if tt.size <= h1InlineBody {
				if n := u.conns.Load(); n != 0 {
					t.Errorf("%d upstream connections, want none", n)
				}
				return
			}
			eventually(t, "the upstream to see the cut body", func() bool { return len(u.requests()) == 1 })
			r0 := u.requests()[0]
			if r0.complete || int64(len(r0.body)) > tt.limit {
				t.Errorf("upstream got a complete=%v body of %d bytes, want one cut at most at %d", r0.complete, len(r0.body), tt.limit)
			}
		})
	}
}

func TestH1Pool(t *testing.T) {
	t.Run("conn max age", func(t *testing.T) {
		u := newRawUpstream(t, false, answer(okAnswer))
		conn := testConn()
		conn.ConnMaxAge = 300 * time.Millisecond
		f := newH1Forwarder(t, u.url(), conn, 0)
		for range 3 {
			forward(f, post("{}"), route.KindCapture)
		}
		if n := u.conns.Load(); n != 1 {
			t.Fatalf("3 requests used %d connections, want 1", n)
		}
		time.Sleep(350 * time.Millisecond)
		if w, _ := forward(f, post("{}"), route.KindCapture); w.Code != 200 {
			t.Fatalf("status %d, want 200", w.Code)
		}
		if n := u.conns.Load(); n != 2 {
			t.Errorf("after ConnMaxAge, %d connections in total, want 2", n)
		}
	})
	t.Run("max idle per host", func(t *testing.T) {
		// The upstream holds its answers until all three requests are in,
		// so that they need three connections.
		var arrived sync.WaitGroup
		arrived.Add(3)
		all := make(chan struct{})
		go func() { arrived.Wait(); close(all) }()
		u := newRawUpstream(t, false, func(ex *rawExchange) bool {
			if ex.n == 1 {
				arrived.Done()
				select {
				case <-all:
				case <-ex.stop:
					return false
				}
			}
			ex.write(okAnswer)
			return true
		})
		conn := testConn()
		conn.MaxIdleConnsPerHost = 1
		f := newH1Forwarder(t, u.url(), conn, 0)
		var wg sync.WaitGroup
		codes := make([]int, 3)
		for i := range codes {
			wg.Go(func() {
				w, _ := forward(f, post("{}"), route.KindCapture)
				codes[i] = w.Code
			})
		}
		wg.Wait()
		for i, c := range codes {
			if c != 200 {
				t.Errorf("request %d: status %d, want 200", i, c)
			}
		}
		if n := u.conns.Load(); n != 3 {
			t.Errorf("%d connections, want 3", n)
		}
		f.h1.mu.Lock()
		idle := len(f.h1.idle[f.h1API.key])
		f.h1.mu.Unlock()
		if idle != 1 {
			t.Errorf("%d idle connections kept, want 1", idle)
		}
		eventually(t, "the surplus connections to be closed", func() bool { return u.eofs.Load() == 2 })
	})
	t.Run("close idle connections", func(t *testing.T) {
		u := newRawUpstream(t, false, answer(okAnswer))
		f := newH1Forwarder(t, u.url(), testConn(), 0)
		forward(f, post("{}"), route.KindCapture)
		if n := u.eofs.Load(); n != 0 {
			t.Fatalf("%d connections closed before CloseIdleConnections, want 0", n)
		}
		f.CloseIdleConnections()
		eventually(t, "the upstream to see its connection closed", func() bool { return u.eofs.Load() == 1 })
		if n := len(f.h1.idle[f.h1API.key]); n != 0 {
			t.Errorf("%d idle connections left, want 0", n)
		}
		forward(f, post("{}"), route.KindCapture)
		if n := u.conns.Load(); n != 2 {
			t.Errorf("%d connections, want 2: a new dial after CloseIdleConnections", n)
		}
	})
}

// TestH1TLS checks that an https:// upstream with HTTP/2 turned off is
// carried by edgehog's own HTTP/1.1 client, and by ReverseProxy otherwise.
func TestH1TLS(t *testing.T) {
	var mu sync.Mutex
	var protos []int
	var remotes []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		protos = append(protos, r.ProtoMajor)
		remotes = append(remotes, r.RemoteAddr)
		mu.Unlock()
		io.WriteString(w, `{"status":"Ok"}`)
	}))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	conn := testConn()
	conn.RootCAs = roots
	conn.DisableHTTP2 = true
	f := newH1Forwarder(t, srv.URL, conn, 0)
	for i := range 3 {
		w, st := forward(f, post("{}"), route.KindCapture)
		if w.Code != 200 || w.Body.String() != `{"status":"Ok"}` {
			t.Fatalf("request %d: got %d %q (state %q %v), want 200", i, w.Code, w.Body, st.Code, st.Err)
		}
	}
	// After a pause the connection is probed, through TLS, and reused.
	time.Sleep(h1ProbeAfter + 100*time.Millisecond)
	if w, _ := forward(f, post("{}"), route.KindCapture); w.Code != 200 {
		t.Fatalf("after an idle pause: status %d, want 200", w.Code)
	}
	mu.Lock()
	if len(protos) != 4 {
		t.Errorf("upstream saw %d requests, want 4", len(protos))
	}
	for i := range protos {
		if protos[i] != 1 || remotes[i] != remotes[0] {
			t.Errorf("request %d: HTTP/%d from %s, want HTTP/1 on the first connection %s", i, protos[i], remotes[i], remotes[0])
		}
	}
	mu.Unlock()

	conn.DisableHTTP2 = false
	f2, err := New(Options{API: mustURL(srv.URL), Assets: mustURL(srv.URL), Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer f2.CloseIdleConnections()
	if f2.h1API != nil || f2.h1Assets != nil {
		t.Errorf("https:// upstream with HTTP/2 allowed is carried by forwardH1, want ReverseProxy")
	}
	if w, _ := forward(f2, post("{}"), route.KindCapture); w.Code != 200 {
		t.Errorf("through ReverseProxy: status %d, want 200", w.Code)
	}
}

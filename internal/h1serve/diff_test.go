package h1serve_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/h1serve"
)

// The differential test sends the same raw bytes to an h1serve.Server and
// to a net/http Server running the same handler with the same limits, and
// compares what a client sees: the statuses, the echoed request of every
// 2xx answer, and whether the server still waited for the client when the
// conversation ended.

// diffTimeout is every read timeout of both servers: each conversation ends
// by it (idle, or a request that never completes) or by the server hanging
// up. It bounds the test's running time, never an assertion.
const diffTimeout = time.Second

// diffMaxHeaderBytes is both servers' MaxHeaderBytes, small so that the
// oversized-head cases stay small.
const diffMaxHeaderBytes = 4 << 10

// diffEcho answers with a deterministic description of the request as the
// handler saw it, after reading the whole body.
func diffEcho(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var b strings.Builder
	fmt.Fprintf(&b, "method=%s\nuri=%s\nhost=%s\nproto=%s %d.%d\ncl=%d\nte=%q\nclose=%v\n",
		r.Method, r.URL.RequestURI(), r.Host, r.Proto, r.ProtoMajor, r.ProtoMinor, r.ContentLength, r.TransferEncoding, r.Close)
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		fmt.Fprintf(&b, "header %s=%q\n", k, r.Header[k])
	}
	fmt.Fprintf(&b, "body=%q\n", body)
	for _, k := range slices.Sorted(maps.Keys(r.Trailer)) {
		fmt.Fprintf(&b, "trailer %s=%q\n", k, r.Trailer[k])
	}
	switch {
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The error's text names the connection's addresses.
		b.WriteString("err=timeout\n")
	default:
		fmt.Fprintf(&b, "err=%v\n", err)
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, b.String())
}

// diffNoRead answers at once, leaving the body to the server.
func diffNoRead(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, r.URL.RequestURI())
}

// diffConn records, for a server's side of a connection, whether the
// server was waiting for the client when it closed it: its last act was a
// read that ran into a read deadline it had set in the future after its
// last write (an idle wait, or a request that never completed), not a
// write, a shutdown of its sending side, a read it cut short with a
// deadline in the past (how both servers stop a pending read), or a read
// into a deadline set before the answer (net/http's attempt to drain an
// unfinished body).
type diffConn struct {
	net.Conn
	mu         sync.Mutex
	waiting    bool
	cutShort   bool // the last read deadline set was in the past
	stale      bool // the server wrote since it set the read deadline
	closeWrite bool
	once       sync.Once
	closed     chan struct{}
}

func (c *diffConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.mu.Lock()
		if !c.cutShort && !c.stale && !c.closeWrite {
			c.waiting = true
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *diffConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.waiting, c.stale = false, true
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *diffConn) SetReadDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *diffConn) SetDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *diffConn) noteDeadline(t time.Time) {
	c.mu.Lock()
	c.cutShort = !t.IsZero() && t.Before(time.Now())
	c.stale = false
	c.mu.Unlock()
}

// CloseWrite keeps both servers' lingering close working through the
// wrapper; a server that calls it is closing the connection.
func (c *diffConn) CloseWrite() error {
	c.mu.Lock()
	c.closeWrite, c.waiting = true, false
	c.mu.Unlock()
	return c.Conn.(*net.TCPConn).CloseWrite()
}

func (c *diffConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// waited reports whether the server was waiting for the client when it
// closed the connection.
func (c *diffConn) waited() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiting
}

// diffListener hands the tests the server side of every connection.
type diffListener struct {
	net.Listener
	conns chan *diffConn
}

func (l *diffListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &diffConn{Conn: nc, closed: make(chan struct{})}
	l.conns <- c
	return c, nil
}

// diffListen listens on loopback; the listener is closed by the server that
// serves it.
func diffListen(t *testing.T) *diffListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	return &diffListener{Listener: ln, conns: make(chan *diffConn, 1)}
}

// diffServers starts an h1serve and a net/http server with the same handler
// and limits, stopped by the test's cleanup.
func diffServers(t *testing.T, h http.Handler) (h1, std *diffListener) {
	t.Helper()
	h1, std = diffListen(t), diffListen(t)
	hs := h1serve.New(h1serve.Options{
		Handler:           h,
		ReadHeaderTimeout: diffTimeout,
		ReadTimeout:       diffTimeout,
		WriteTimeout:      10 * diffTimeout,
		IdleTimeout:       diffTimeout,
		MaxHeaderBytes:    diffMaxHeaderBytes,
	})
	ss := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: diffTimeout,
		ReadTimeout:       diffTimeout,
		WriteTimeout:      10 * diffTimeout,
		IdleTimeout:       diffTimeout,
		MaxHeaderBytes:    diffMaxHeaderBytes,
		ErrorLog:          log.New(io.Discard, "", 0), // quiet for tests
	}
	done := make(chan struct{}, 2)
	go func() { hs.Serve(h1); done <- struct{}{} }()
	go func() { ss.Serve(std); done <- struct{}{} }()
	t.Cleanup(func() {
		hs.Close()
		ss.Close()
		<-done
		<-done
	})
	return h1, std
}

// diffResult is what a client saw of one conversation.
type diffResult struct {
	statuses []int
	bodies   []string // of the 2xx answers, in order
	waited   bool     // the server still waited for the client at the end
}

// summary renders the statuses and the end, as the table states them.
func (r diffResult) summary() string {
	var b strings.Builder
	for _, s := range r.statuses {
		b.WriteString(strconv.Itoa(s))
		b.WriteByte(' ')
	}
	if r.waited {
		b.WriteString("open")
	} else {
		b.WriteString("closed")
	}
	return b.String()
}

// diffConverse writes raw to a new connection to ln and reads answers until
// the server closes it. It runs on its own goroutine, so it returns its
// trouble rather than failing the test.
func diffConverse(ln *diffListener, tc diffCase) (diffResult, error) {
	var res diffResult
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return res, fmt.Errorf("dialing: %w", err)
	}
	defer cc.Close()
	var sc *diffConn
	select {
	case sc = <-ln.conns:
	case <-time.After(10 * time.Second):
		return res, errors.New("the server accepted no connection")
	}
	// A safety net only: every server closes within a few diffTimeouts.
	cc.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		// A failure is harmless: the server hung up first.
		if _, err := cc.Write([]byte(tc.raw)); err == nil && tc.halfClose {
			cc.(*net.TCPConn).CloseWrite()
		}
	}()
	var req *http.Request
	if tc.head {
		req = &http.Request{Method: http.MethodHead}
	}

	br := bufio.NewReader(cc)
	for {
		if _, err := br.Peek(1); errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			// The server closed the connection; a reset, when it closed
			// with bytes unread, may come before the last answer is read
			// or after it, at random: it is not compared.
			break
		} else if err != nil {
			return res, fmt.Errorf("reading: %w", err)
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return res, fmt.Errorf("reading answer %d: %w", len(res.statuses), err)
		}
		body, err := io.ReadAll(resp.Body)
		res.statuses = append(res.statuses, resp.StatusCode)
		if err != nil {
			return res, fmt.Errorf("reading a %d answer's body: %w", resp.StatusCode, err)
		}
		if resp.StatusCode/100 == 2 {
			res.bodies = append(res.bodies, string(body))
		}
	}
	select {
	case <-sc.closed:
	case <-time.After(10 * time.Second):
		return res, errors.New("the server's side of the connection never closed")
	}
	res.waited = sc.waited()
	return res, nil
}

// diffCase is one raw conversation. std and h1 are set only where the two
// servers differ by design: then each must answer as stated.
type diffCase struct {
	name      string
	raw       string
	head      bool // the requests are HEADs: the answers have no body
	noRead    bool // the handler answers without reading the body
	halfClose bool // the client shuts its sending side after raw
	std       string
	h1        string
}

// diffCRLF turns the table's "\n" line ends into CRLF.
func diffCRLF(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func diffCases() []diffCase {
	big := strings.Repeat("a", 2*diffMaxHeaderBytes)
	body300k := strings.Repeat("b", 300<<10)
	return []diffCase{
		{name: "get", raw: diffCRLF("GET / HTTP/1.1\nHost: a.example\n\n")},
		{name: "get-query-escapes", raw: diffCRLF("GET /p/a%20b;c?x=1&y=%2F HTTP/1.1\nHost: a.example\nUser-Agent: t\nAccept: */*\nAccept: text/html\n\n")},
		{name: "lowercase-method", raw: diffCRLF("get / HTTP/1.1\nHost: a\n\n")},
		{name: "invalid-method", raw: diffCRLF("G@T / HTTP/1.1\nHost: a\n\n")},
		{name: "fragment-in-target", raw: diffCRLF("GET /a#b HTTP/1.1\nHost: a\n\n")},
		{name: "absolute-form-with-host", raw: diffCRLF("GET http://b.example/x?y=1 HTTP/1.1\nHost: a.example\n\n")},
		// RFC 9112 §3.2: an HTTP/1.1 request without a Host field is a 400,
		// whatever its target.
		{name: "absolute-form-without-host", raw: diffCRLF("GET http://b.example/x HTTP/1.1\n\n")},
		{name: "absolute-form-bad-host-field", raw: diffCRLF("GET http://b.example/x HTTP/1.1\nHost: a b\n\n")},
		{name: "options-star", raw: diffCRLF("OPTIONS * HTTP/1.1\nHost: a\n\n")},
		{name: "options-star-with-body", raw: diffCRLF("OPTIONS * HTTP/1.1\nHost: a\nContent-Length: 3\n\nabc")},
		{name: "connect-authority", raw: diffCRLF("CONNECT a.example:443 HTTP/1.1\nHost: a.example:443\n\n")},
		{name: "connect-without-host", raw: diffCRLF("CONNECT a.example:443 HTTP/1.1\n\n")},
		{name: "http10", raw: diffCRLF("GET / HTTP/1.0\n\n")},
		{name: "http10-keep-alive", raw: diffCRLF("GET / HTTP/1.0\nConnection: keep-alive\n\n")},
		{name: "http10-post", raw: diffCRLF("POST / HTTP/1.0\nContent-Length: 2\n\nhi")},
		{name: "http11-minor-2", raw: diffCRLF("GET / HTTP/1.2\nHost: a\n\n")},
		{name: "http2-version", raw: diffCRLF("GET / HTTP/2.0\nHost: a\n\n")},
		{name: "malformed-version", raw: diffCRLF("GET / HTTP/x\nHost: a\n\n")},
		{name: "connection-close", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nConnection: close\n\n")},
		{name: "post-content-length", raw: diffCRLF("POST /e HTTP/1.1\nHost: a\nContent-Type: text/plain\nContent-Length: 5\n\nhello")},
		{name: "duplicate-content-length-equal", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: 3\nContent-Length: 3\n\nabc")},
		{name: "duplicate-content-length-list", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: 3, 3\n\nabc")},
		{name: "duplicate-content-length-different", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: 3\nContent-Length: 4\n\nabcd")},
		{name: "content-length-plus", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: +3\n\nabc")},
		{name: "content-length-negative", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: -1\n\n")},
		{name: "content-length-overflow", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: 99999999999999999999\n\n")},
		// The body never comes: the handler's read times out.
		{name: "content-length-huge", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: 1000000000000\n\nabc")},
		{name: "content-length-short-body", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: 10\n\nabc")},
		// RFC 9112 §6.1 has the connection closed after a request with both
		// Content-Length and Transfer-Encoding; net/http's parser drops the
		// Content-Length, so neither server can tell, and both keep it.
		{name: "content-length-and-chunked", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: 3\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n")},
		{name: "chunked", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n2\nde\n0\n\n")},
		{name: "chunked-lowercase-field", raw: diffCRLF("POST / HTTP/1.1\nHost: a\ntransfer-encoding: chunked\n\n3\nabc\n0\n\n")},
		{name: "chunked-uppercase-value", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: CHUNKED\n\n3\nabc\n0\n\n")},
		{name: "chunked-extensions", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3;name=value;x\nabc\n0;last\n\n")},
		{name: "chunked-trailers", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTrailer: X-Sum\nTransfer-Encoding: chunked\n\n3\nabc\n0\nX-Sum: 42\n\n")},
		{name: "chunked-bad-size", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\nzz\nabc\n0\n\n")},
		{name: "chunked-size-overflow", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\nfffffffffffffffffff\nabc\n0\n\n")},
		{name: "chunked-missing-crlf-after-data", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabcX0\n\n")},
		{name: "chunked-unterminated", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n")},
		{name: "transfer-encoding-identity", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: identity\n\n")},
		{name: "transfer-encoding-gzip-chunked", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: gzip, chunked\n\n0\n\n")},
		{name: "transfer-encoding-chunked-twice", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nTransfer-Encoding: chunked\n\n0\n\n")},
		{name: "transfer-encoding-http10", raw: diffCRLF("POST / HTTP/1.0\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n")},
		{name: "obs-fold", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nX-A: one\n two\n\n")},
		{name: "space-before-colon", raw: diffCRLF("GET / HTTP/1.1\nHost : a\n\n")},
		{name: "space-in-field-name", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nX A: 1\n\n")},
		{name: "field-without-colon", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nNoColon\n\n")},
		{name: "bare-lf", raw: "GET /lf HTTP/1.1\nHost: a\nX-A: 1\n\n"},
		{name: "bare-lf-chunked", raw: "POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n"},
		{name: "bare-cr", raw: "GET / HTTP/1.1\rHost: a\r\n\r\n"},
		{name: "nul-in-value", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nX-A: a\x00b\n\n")},
		{name: "nul-in-target", raw: diffCRLF("GET /a\x00b HTTP/1.1\nHost: a\n\n")},
		{name: "control-in-value", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nX-A: a\x01b\n\n")},
		{name: "utf8-in-value", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nX-A: caf\u00e9\n\n")},
		{name: "oversized-header", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nX-Big: " + big + "\n\n")},
		{name: "oversized-request-line", raw: diffCRLF("GET /" + big + " HTTP/1.1\nHost: a\n\n")},
		// net/http accepts an empty Host field (RFC 9112 §3.2 has clients
		// send one when the target URI has no authority); h1serve refuses
		// it for HTTP/1.1, as a missing host, when the target names no
		// host either: edgehog cannot route such a request.
		{name: "empty-host", raw: diffCRLF("GET / HTTP/1.1\nHost:\n\n"), std: "200 open", h1: "400 closed"},
		{name: "missing-host", raw: diffCRLF("GET / HTTP/1.1\n\n")},
		{name: "multiple-host", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nHost: b\n\n")},
		{name: "bad-host", raw: diffCRLF("GET / HTTP/1.1\nHost: a/b\n\n")},
		{name: "ipv6-host", raw: diffCRLF("GET / HTTP/1.1\nHost: [::1]:8080\n\n")},
		{name: "expect-100-continue", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 3\n\nabc")},
		{name: "expect-100-continue-mixed-case", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nExpect: 100-Continue\nContent-Length: 3\n\nabc")},
		{name: "expect-100-continue-no-body", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 0\n\n")},
		{name: "expect-100-continue-http10", raw: diffCRLF("POST / HTTP/1.0\nExpect: 100-continue\nContent-Length: 3\n\nabc")},
		{name: "expect-unknown", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nExpect: teapot\nContent-Length: 3\n\nabc")},
		{name: "expect-twice", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nExpect: 100-continue\nExpect: 100-continue\nContent-Length: 3\n\nabc")},
		{name: "pipelined-gets", raw: diffCRLF("GET /1 HTTP/1.1\nHost: a\n\nGET /2 HTTP/1.1\nHost: a\n\n")},
		{name: "pipelined-post-get", raw: diffCRLF("POST /1 HTTP/1.1\nHost: a\nContent-Length: 3\n\nabcGET /2 HTTP/1.1\nHost: a\n\n")},
		{name: "pipelined-chunked-get", raw: diffCRLF("POST /1 HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n1\nx\n0\n\nGET /2 HTTP/1.1\nHost: a\n\n")},
		{name: "pipelined-close-then-more", raw: diffCRLF("GET /1 HTTP/1.1\nHost: a\n\nGET /2 HTTP/1.1\nHost: a\nConnection: close\n\nGET /3 HTTP/1.1\nHost: a\n\n")},
		{name: "pipelined-get-then-garbage", raw: diffCRLF("GET /1 HTTP/1.1\nHost: a\n\nxyz\n\n")},
		{name: "leading-crlf", raw: diffCRLF("\nGET / HTTP/1.1\nHost: a\n\n")},
		// net/http skips CRLFs after a POST's body, a tolerance for old
		// clients that count a body's trailing CRLF out of its length (RFC
		// 9112 §2.2 allows, never requires, it); h1serve does not, and
		// refuses what follows.
		{name: "crlf-after-post", raw: diffCRLF("POST /1 HTTP/1.1\nHost: a\nContent-Length: 3\n\nabc\nGET /2 HTTP/1.1\nHost: a\n\n"), std: "200 200 open", h1: "200 400 closed"},
		{name: "truncated-head", raw: diffCRLF("GET / HTTP/1.1\nHost: a\n")},
		{name: "nothing-sent", raw: ""},
		{name: "unread-big-body", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: "+strconv.Itoa(len(body300k))+"\n\n") + body300k},
		{name: "pragma-no-cache", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nPragma: no-cache\n\n")},
		{name: "h2c-upgrade-header", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nConnection: Upgrade, HTTP2-Settings\nUpgrade: h2c\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\n\n")},
		// net/http hands the HTTP/2 preface to the handler, which may
		// hijack the connection for cleartext HTTP/2; h1serve serves no
		// cleartext HTTP/2 (see the package doc) and refuses the version.
		{name: "h2-preface", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", std: "200 closed", h1: "505 closed"},
		{name: "options-star-big-body", raw: diffCRLF("OPTIONS * HTTP/1.1\nHost: a\nContent-Length: 5000\n\n") + strings.Repeat("o", 5000)},
		{name: "expect-list", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nExpect: foo, 100-continue\nContent-Length: 3\n\nabc")},
		{name: "expect-continue-then-unknown", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nExpect: 100-continue\nExpect: foo\nContent-Length: 3\n\nabc")},
		{name: "expect-empty", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nExpect:\nContent-Length: 3\n\nabc")},
		{name: "head", raw: diffCRLF("HEAD / HTTP/1.1\nHost: a\n\n"), head: true},
		{name: "head-pipelined", raw: diffCRLF("HEAD /1 HTTP/1.1\nHost: a\n\nHEAD /2 HTTP/1.1\nHost: a\n\n"), head: true},
		{name: "content-length-leading-zeros", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: 003\n\nabc")},
		{name: "content-length-spaces", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length:  3 \n\nabc")},
		{name: "content-length-hex", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: 0x3\n\nabc")},
		{name: "content-length-on-get", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nContent-Length: 2\n\nhi")},
		{name: "body-then-garbage", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: 3\n\nabcXYZ\n\n")},
		{name: "transfer-encoding-ows", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: \tchunked \n\n1\nx\n0\n\n")},
		{name: "transfer-encoding-chunked-identity", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked, identity\n\n0\n\n")},
		{name: "transfer-encoding-chunked-then-other", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nTransfer-Encoding: x\n\n0\n\n")},
		{name: "transfer-encoding-empty", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding:\nContent-Length: 1\n\nx")},
		{name: "chunk-size-leading-space", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n 3\nabc\n0\n\n")},
		{name: "chunk-size-0x", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n0x3\nabc\n0\n\n")},
		{name: "chunk-extension-too-long", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n1;" + strings.Repeat("e", 5000) + "\nx\n0\n\n")},
		{name: "chunk-extension-quoted", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n1;a=\"b;c\"\nx\n0\n\n")},
		{name: "chunks-tiny-many", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n" + strings.Repeat("1;xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nx\n", 2000) + "0\n\n")},
		{name: "chunked-undeclared-trailer", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n1\nx\n0\nX-Sum: 1\nX-Sum: 2\n\n")},
		{name: "trailer-content-length", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n1\nx\n0\nContent-Length: 5\n\n")},
		{name: "trailer-bad-line", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n1\nx\n0\nbad trailer\n\n")},
		{name: "request-line-double-space", raw: diffCRLF("GET  / HTTP/1.1\nHost: a\n\n")},
		{name: "request-line-tab", raw: diffCRLF("GET\t/ HTTP/1.1\nHost: a\n\n")},
		{name: "request-line-extra-word", raw: diffCRLF("GET / HTTP/1.1 x\nHost: a\n\n")},
		{name: "request-line-no-version", raw: diffCRLF("GET /\nHost: a\n\n")},
		{name: "target-bad-escape", raw: diffCRLF("GET /%zz HTTP/1.1\nHost: a\n\n")},
		{name: "target-double-slash", raw: diffCRLF("GET //x/../y HTTP/1.1\nHost: a\n\n")},
		{name: "target-asterisk-get", raw: diffCRLF("GET * HTTP/1.1\nHost: a\n\n")},
		{name: "target-non-ascii", raw: diffCRLF("GET /caf\u00e9 HTTP/1.1\nHost: a\n\n")},
		{name: "options-star-http10", raw: diffCRLF("OPTIONS * HTTP/1.0\n\n")},
		{name: "absolute-form-https", raw: diffCRLF("GET https://b.example:8443/x HTTP/1.1\nHost: a\n\n")},
		{name: "absolute-form-uppercase-scheme", raw: diffCRLF("GET HTTP://B.example/x HTTP/1.1\nHost: a\n\n")},
		{name: "absolute-form-userinfo", raw: diffCRLF("GET http://u:p@b.example/x HTTP/1.1\nHost: a\n\n")},
		{name: "absolute-form-empty-host", raw: diffCRLF("GET http:///x HTTP/1.1\nHost: a\n\n")},
		{name: "absolute-form-empty-host-field", raw: diffCRLF("GET http://b.example/x HTTP/1.1\nHost:\n\n")},
		{name: "absolute-form-http10-without-host", raw: diffCRLF("GET http://b.example/x HTTP/1.0\n\n")},
		{name: "connect-path", raw: diffCRLF("CONNECT /rpc HTTP/1.1\nHost: a\n\n")},
		{name: "host-port-only", raw: diffCRLF("GET / HTTP/1.1\nHost: :80\n\n")},
		{name: "host-userinfo", raw: diffCRLF("GET / HTTP/1.1\nHost: u@a\n\n")},
		{name: "host-http10-bad", raw: diffCRLF("GET / HTTP/1.0\nHost: a b\n\n")},
		{name: "field-name-underscore", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nX_A: 1\n\n")},
		{name: "field-name-non-ascii", raw: diffCRLF("GET / HTTP/1.1\nHost: a\n\u00c4: 1\n\n")},
		{name: "field-value-tabs-spaces", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nX-A:\t 1 \t\n\n")},
		{name: "field-empty-name", raw: diffCRLF("GET / HTTP/1.1\nHost: a\n: 1\n\n")},
		{name: "connection-keep-alive-close", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nConnection: keep-alive, close\n\n")},
		{name: "connection-close-mixed-case", raw: diffCRLF("GET / HTTP/1.1\nHost: a\nConnection: CLOSE\n\n")},
		{name: "http10-keep-alive-post", raw: diffCRLF("POST / HTTP/1.0\nConnection: keep-alive\nContent-Length: 2\n\nhiGET / HTTP/1.0\n\n")},
		{name: "upgrade-websocket", raw: diffCRLF("GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\nSec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n\n")},
		{name: "pri-method-http11", raw: diffCRLF("PRI / HTTP/1.1\nHost: a\n\n")},
		{name: "http09", raw: diffCRLF("GET /\n")},
		{name: "http-version-lowercase", raw: diffCRLF("GET / http/1.1\nHost: a\n\n")},
		{name: "http-version-10-leading-zero", raw: diffCRLF("GET / HTTP/01.1\nHost: a\n\n")},
		// RFC 9112 §6.1 has the connection closed after an HTTP/1.0
		// request with Transfer-Encoding; net/http's parser ignores the
		// field and removes it, so neither server can tell, and both keep
		// the connection.
		{name: "transfer-encoding-http10-keep-alive", raw: diffCRLF("POST / HTTP/1.0\nConnection: keep-alive\nTransfer-Encoding: chunked\nContent-Length: 3\n\nabcGET / HTTP/1.0\nConnection: keep-alive\n\n")},
		// The handler leaves the body: the server reads a small rest to
		// keep the connection, or closes it.
		{name: "unread-small-body", noRead: true, raw: diffCRLF("POST /1 HTTP/1.1\nHost: a\nContent-Length: 3\n\nabcGET /2 HTTP/1.1\nHost: a\n\n")},
		{name: "unread-100k-body", noRead: true, raw: diffCRLF("POST /1 HTTP/1.1\nHost: a\nContent-Length: 102400\n\n") + strings.Repeat("c", 100<<10) + diffCRLF("GET /2 HTTP/1.1\nHost: a\n\n")},
		{name: "unread-300k-body", noRead: true, raw: diffCRLF("POST /1 HTTP/1.1\nHost: a\nContent-Length: "+strconv.Itoa(len(body300k))+"\n\n") + body300k},
		{name: "unread-chunked-body", noRead: true, raw: diffCRLF("POST /1 HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\nGET /2 HTTP/1.1\nHost: a\n\n")},
		{name: "unread-bad-chunked-body", noRead: true, raw: diffCRLF("POST /1 HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\nzz\nabc\n0\n\nGET /2 HTTP/1.1\nHost: a\n\n")},
		{name: "unread-incomplete-body", noRead: true, raw: diffCRLF("POST /1 HTTP/1.1\nHost: a\nContent-Length: 1000\n\nabc")},
		{name: "unread-expect-continue", noRead: true, raw: diffCRLF("POST /1 HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 3\n\n")},
		{name: "unread-expect-continue-body-sent", noRead: true, raw: diffCRLF("POST /1 HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 3\n\nabcGET /2 HTTP/1.1\nHost: a\n\n")},
		{name: "unread-http10-keep-alive", noRead: true, raw: diffCRLF("POST /1 HTTP/1.0\nConnection: keep-alive\nContent-Length: 3\n\nabcGET /2 HTTP/1.0\n\n")},
		// The client shuts its sending side after these bytes.
		{name: "eof-after-request", raw: diffCRLF("GET / HTTP/1.1\nHost: a\n\n"), halfClose: true},
		{name: "eof-in-request-line", raw: "GET / HT", halfClose: true},
		{name: "eof-in-head", raw: diffCRLF("GET / HTTP/1.1\nHost: a\n"), halfClose: true},
		{name: "eof-in-body", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nContent-Length: 10\n\nabc"), halfClose: true},
		{name: "eof-in-chunked-body", raw: diffCRLF("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nab"), halfClose: true},
	}
}

// TestDiffNetHTTP compares h1serve with net/http's server on raw requests.
func TestDiffNetHTTP(t *testing.T) {
	// Every conversation runs at once, since most end only by a server's
	// read timeout; the cases then check their results.
	type outcome struct {
		h1, std       diffResult
		h1err, stderr error
	}
	cases := diffCases()
	got := make([]outcome, len(cases))
	var wg sync.WaitGroup
	for i, tc := range cases {
		h := http.HandlerFunc(diffEcho)
		if tc.noRead {
			h = diffNoRead
		}
		h1ln, stdln := diffServers(t, h)
		wg.Go(func() { got[i].h1, got[i].h1err = diffConverse(h1ln, tc) })
		wg.Go(func() { got[i].std, got[i].stderr = diffConverse(stdln, tc) })
	}
	wg.Wait()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h1, std := got[i].h1, got[i].std
			if got[i].h1err != nil || got[i].stderr != nil {
				t.Fatalf("h1serve: %v; net/http: %v", got[i].h1err, got[i].stderr)
			}
			if tc.h1 != "" {
				if got := std.summary(); got != tc.std {
					t.Errorf("net/http: got %q, want %q", got, tc.std)
				}
				if got := h1.summary(); got != tc.h1 {
					t.Errorf("h1serve: got %q, want %q", got, tc.h1)
				}
				return
			}
			t.Logf("both: %s", std.summary())
			if got, want := h1.summary(), std.summary(); got != want {
				t.Errorf("h1serve: got %q, net/http %q", got, want)
			}
			for i := range min(len(h1.bodies), len(std.bodies)) {
				if h1.bodies[i] != std.bodies[i] {
					t.Errorf("answer %d: h1serve echoed\n%s\nnet/http echoed\n%s", i, h1.bodies[i], std.bodies[i])
				}
			}
		})
	}
}

package h1serve

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Connection states, guarded by conn.mu.
const (
	stateNew      = iota // reading the first request
	stateIdle            // between requests: Shutdown may close it
	stateActive          // reading or answering a request
	stateHijacked        // handed to a handler or to HandOff
	stateClosed          // closed by Shutdown or Close
)

// bufSize is the size of each connection's read and write buffers, as
// net/http's.
const bufSize = 4 << 10

// aLongTimeAgo is a deadline in the past, which makes a pending read return
// at once.
var aLongTimeAgo = time.Unix(1, 0)

// conn is one client connection.
type conn struct {
	s      *Server
	nc     net.Conn
	cr     connReader
	br     *bufio.Reader
	bw     *bufio.Writer
	ctx    context.Context // the base context with the local address
	remote string
	tls    *tls.ConnectionState

	// wmu orders a 100 Continue against the response head: both may be
	// written from different goroutines (the body's reader and the
	// handler).
	wmu sync.Mutex

	mu         sync.Mutex
	state      int
	inRequest  bool
	cancel     context.CancelFunc // the current request's
	watching   bool
	watchDone  chan struct{}
	clientGone bool // the watcher saw the client leave

	started  atomic.Int64 // start of the request in flight (unix ns), 0 if none
	bodyDone atomic.Bool  // the request in flight has no more body to read

	res response // reused by every request on the connection
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, remote: nc.RemoteAddr().String()}
	c.cr.nc = nc
	c.cr.limit = -1
	c.br = bufio.NewReaderSize(&c.cr, bufSize)
	c.bw = bufio.NewWriterSize(nc, bufSize)
	c.ctx = context.WithValue(context.WithValue(s.o.BaseContext, http.ServerContextKey, s.desc), http.LocalAddrContextKey, nc.LocalAddr())
	c.res.c = c
	return c
}

// serve reads and answers requests until the connection ends.
func (c *conn) serve() {
	defer c.s.forget(c)
	defer func() {
		if c.getState() != stateHijacked {
			c.nc.Close()
		}
	}()
	if tc, ok := c.nc.(*tls.Conn); ok && !c.handshake(tc) {
		return
	}
	for first := true; ; first = false {
		if !first && !c.awaitRequest() {
			return
		}
		if !c.serveRequest() {
			return
		}
	}
}

// handshake completes a TLS handshake within ReadHeaderTimeout. It hands an
// h2 connection to HandOff and reports whether the connection is ours to
// serve.
func (c *conn) handshake(tc *tls.Conn) bool {
	if d := c.s.o.ReadHeaderTimeout; d > 0 {
		tc.SetDeadline(time.Now().Add(d))
	}
	if err := tc.HandshakeContext(c.ctx); err != nil {
		c.s.o.Log.Debug("tls handshake failed", "remote", c.remote, "error", err)
		return false
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	if p := st.NegotiatedProtocol; p != "" && p != "http/1.1" {
		if c.s.o.HandOff == nil {
			return false
		}
		c.setState(stateHijacked)
		c.s.o.HandOff(tc)
		return false
	}
	c.tls = &st
	return true
}

func (c *conn) getState() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *conn) setState(st int) {
	c.mu.Lock()
	c.state = st
	c.mu.Unlock()
}

// awaitRequest waits, up to IdleTimeout, for the first byte of the next
// request; it reports false if the connection should close instead.
func (c *conn) awaitRequest() bool {
	if c.br.Buffered() > 0 {
		return !c.s.shutdown.Load()
	}
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return false
	}
	c.state = stateIdle
	c.mu.Unlock()
	if c.s.shutdown.Load() {
		return false
	}
	if d := c.s.o.IdleTimeout; d > 0 {
		c.nc.SetReadDeadline(time.Now().Add(d))
	} else if d := c.s.o.ReadHeaderTimeout; d > 0 {
		// net/http waits for the next request this long without an
		// IdleTimeout.
		c.nc.SetReadDeadline(time.Now().Add(d))
	} else {
		c.nc.SetReadDeadline(time.Time{})
	}
	if _, err := c.br.Peek(1); err != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return false
	}
	c.state = stateActive
	return true
}

// serveRequest reads one request and answers it; it reports whether the
// connection may carry another.
func (c *conn) serveRequest() bool {
	t0 := time.Now()
	switch hd, rd := c.s.o.ReadHeaderTimeout, c.s.o.ReadTimeout; {
	case hd > 0:
		c.nc.SetReadDeadline(t0.Add(hd))
	case rd > 0:
		c.nc.SetReadDeadline(t0.Add(rd))
	default:
		c.nc.SetReadDeadline(time.Time{})
	}
	c.cr.limit = int64(c.s.o.MaxHeaderBytes) + 4096 // net/http's slack
	req, err := readRequest(c.br)
	hitLimit := c.cr.limit == 0
	c.cr.limit = -1
	if err != nil {
		if hitLimit {
			err = errHeaderTooLarge
		}
		c.reject(err)
		return false
	}
	if err := validate(req); err != nil {
		c.reject(err)
		return false
	}
	if d := c.s.o.ReadTimeout; d > 0 {
		c.nc.SetReadDeadline(t0.Add(d))
	} else if c.s.o.ReadHeaderTimeout > 0 {
		c.nc.SetReadDeadline(time.Time{})
	}
	if d := c.s.o.WriteTimeout; d > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(d))
	}

	ctx, cancel := context.WithCancel(c.ctx)
	parsed := req
	req = req.WithContext(ctx)
	req.RemoteAddr = c.remote
	req.TLS = c.tls
	b := &body{c: c, src: req.Body, parsed: parsed, req: req}
	if e := req.Header.Get("Expect"); e != "" {
		// validate refused every expectation but 100-continue. The field
		// stays, as with net/http.
		b.expectContinue = req.ProtoAtLeast(1, 1) && req.ContentLength != 0
	}
	req.Body = b
	noBody := b.src == nil || b.src == http.NoBody
	b.sawEOF = noBody
	c.bodyDone.Store(noBody)

	c.mu.Lock()
	c.inRequest, c.cancel, c.clientGone = true, cancel, false
	c.mu.Unlock()
	c.started.Store(t0.UnixNano())
	c.s.requestStarted()

	w := &c.res
	w.reset(req, b)
	hijacked := c.run(w, req)
	c.endRequest()
	cancel()
	if hijacked {
		return false
	}
	return w.finish()
}

// run calls the handler; a panic other than http.ErrAbortHandler is logged
// with its stack. Either way the connection then closes. It reports whether
// the handler hijacked the connection.
func (c *conn) run(w *response, req *http.Request) (hijacked bool) {
	defer func() {
		if p := recover(); p != nil {
			if c.getState() == stateHijacked {
				hijacked = true
				return
			}
			if p != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.s.o.Log.Error("panic serving request", "remote", c.remote, "path", req.URL.Path, "panic", p, "stack", string(buf))
			}
			w.aborted = true
		}
	}()
	if req.RequestURI == "*" && req.Method == http.MethodOptions {
		answerOptionsStar(w, req)
	} else {
		c.s.o.Handler.ServeHTTP(w, req)
	}
	return c.getState() == stateHijacked
}

// answerOptionsStar answers "OPTIONS *", a question about the server rather
// than a resource (RFC 9110 §9.3.7), as net/http's server does instead of
// calling the handler: 200 with no body. Up to 4 KiB of request body is read;
// a longer one closes the connection.
func answerOptionsStar(w *response, req *http.Request) {
	w.Header().Set("Content-Length", "0")
	if req.ContentLength == 0 {
		return
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(req.Body, 4<<10+1)); err != nil || !w.body.done() {
		w.closeAfter = true
	}
}

// endRequest ends the request in flight: no new watcher starts for it, and
// a running one is stopped.
func (c *conn) endRequest() {
	c.started.Store(0)
	c.mu.Lock()
	c.inRequest = false
	watching := c.watching
	c.mu.Unlock()
	if watching {
		c.stopWatch()
	}
}

// closeIfIdle closes the connection if it is between requests.
func (c *conn) closeIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateIdle {
		c.state = stateClosed
		c.nc.Close()
	}
}

// abort closes the connection and cancels the request in flight.
func (c *conn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateHijacked {
		return
	}
	c.state = stateClosed
	if c.cancel != nil && c.inRequest {
		c.cancel()
	}
	c.nc.Close()
}

// lingerClose closes a connection whose client may still be sending a body
// nobody read: it stops writing, then reads and discards for a short while
// so that the client sees the answer before a reset (net/http's
// closeWriteAndWait, nginx's lingering close).
func (c *conn) lingerClose() {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := c.nc.(closeWriter); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, c.nc, lingerBytes)
}

// Limits of lingerClose.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 1 << 20
)

// connReader reads the connection for the bufio.Reader: it enforces the
// header size limit and returns first a byte the watcher read.
type connReader struct {
	nc       net.Conn
	limit    int64 // bytes left while reading a head; -1: no limit
	stash    [1]byte
	hasStash bool
}

// Read implements io.Reader.
func (r *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.limit == 0 {
		return 0, io.EOF
	}
	if r.hasStash {
		p[0] = r.stash[0]
		r.hasStash = false
		if r.limit > 0 {
			r.limit--
		}
		return 1, nil
	}
	if r.limit > 0 && int64(len(p)) > r.limit {
		p = p[:r.limit]
	}
	n, err := r.nc.Read(p)
	if r.limit > 0 {
		r.limit -= int64(n)
	}
	return n, err
}

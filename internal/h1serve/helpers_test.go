package h1serve_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/h1serve"
)

// ioWait bounds every wait on the network in these tests, so that a broken
// server fails a test instead of hanging it. It is not a timing assertion:
// everything awaited is expected to happen far sooner.
const ioWait = 10 * time.Second

// testServer is an h1serve.Server on a loopback listener.
type testServer struct {
	*h1serve.Server
	addr  string
	serve chan error // Serve's result
}

// startServer serves h on a loopback listener with the options edit sets;
// the server is closed when the test ends.
func startServer(t *testing.T, h http.Handler, edit func(*h1serve.Options)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return serveOn(t, ln, h, edit)
}

// serveOn serves h on ln; the server is closed when the test ends.
func serveOn(t *testing.T, ln net.Listener, h http.Handler, edit func(*h1serve.Options)) *testServer {
	t.Helper()
	o := h1serve.Options{Handler: h}
	if edit != nil {
		edit(&o)
	}
	ts := &testServer{Server: h1serve.New(o), addr: ln.Addr().String(), serve: make(chan error, 1)}
	go func() { ts.serve <- ts.Serve(ln) }()
	t.Cleanup(func() {
		ts.Close()
		select {
		case <-ts.serve:
		case <-time.After(ioWait):
			t.Errorf("Serve did not return after Close")
		}
	})
	return ts
}

// serveResult waits for Serve's result.
func (ts *testServer) serveResult(t *testing.T) error {
	t.Helper()
	select {
	case err := <-ts.serve:
		ts.serve <- err // for the cleanup
		return err
	case <-time.After(ioWait):
		t.Fatalf("Serve did not return")
		return nil
	}
}

// client is a raw TCP client of a test server.
type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

// dial connects to ts; the connection is closed when the test ends.
func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, ioWait)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(ioWait))
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// send writes s as is.
func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// response is an answer read by a client, with its whole body.
type response struct {
	*http.Response
	body string
}

// read reads one answer to a request of method, and its body.
func (c *client) read(method string) *response {
	c.t.Helper()
	res, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading the answer: %v", err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("reading the answer's body: %v", err)
	}
	res.Body.Close()
	return &response{Response: res, body: string(b)}
}

// readRaw reads the rest of the connection until the server closes it.
func (c *client) readRaw() string {
	c.t.Helper()
	b, err := io.ReadAll(c.br)
	if err != nil && !isReset(err) {
		c.t.Fatalf("reading until close: %v", err)
	}
	return string(b)
}

// expectClosed fails unless the server closes the connection with nothing
// more to read.
func (c *client) expectClosed() {
	c.t.Helper()
	if rest := c.readRaw(); rest != "" {
		c.t.Errorf("got %q before the close, want nothing", rest)
	}
}

// isReset reports whether err is a connection reset, which a close by the
// server may surface as.
func isReset(err error) bool {
	return errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "connection reset")
}

// expectOpen fails unless the connection still carries a request: it sends
// a GET and expects its 200.
func (c *client) expectOpen() {
	c.t.Helper()
	c.send("GET /still-open HTTP/1.1\r\nHost: x\r\n\r\n")
	if res := c.read("GET"); res.StatusCode != http.StatusOK {
		c.t.Errorf("the next request: got status %d, want 200", res.StatusCode)
	}
}

// checkStatus fails unless res has status want.
func checkStatus(t *testing.T, res *response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("got status %d, want %d (body %q)", res.StatusCode, want, res.body)
	}
}

// checkHeader fails unless res's field k has the one value want ("" for
// absent).
func checkHeader(t *testing.T, res *response, k, want string) {
	t.Helper()
	got := strings.Join(res.Header[http.CanonicalHeaderKey(k)], ", ")
	if got != want {
		t.Errorf("%s: got %q, want %q", k, got, want)
	}
}

// text is a handler that answers 200 with body s.
func text(s string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, s) })
}

// echoPath answers with the request's path.
var echoPath = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })

// calls counts handler calls.
type calls struct {
	mu sync.Mutex
	n  int
}

// handler returns a handler that counts its calls and answers 200.
func (c *calls) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	})
}

func (c *calls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// logBuffer is a slog handler's destination that tests may read while the
// server writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logger returns a logger writing text lines at debug level into b.
func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitFor waits for ch to close or receive, failing the test after ioWait.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ioWait):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// waitCtx waits for ctx to end, failing the test after ioWait.
func waitCtx(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	waitFor(t, ctx.Done(), what)
}

// checkClose fails unless res says Connection: close exactly when want is
// true (http.ReadResponse moves that token into res.Close).
func checkClose(t *testing.T, res *response, want bool) {
	t.Helper()
	if res.Close != want {
		t.Errorf("Connection: close: got %v, want %v", res.Close, want)
	}
}

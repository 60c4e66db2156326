package h1serve_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/h1serve"
)

// fuzzConn is the server's side of a connection whose client sends a fixed
// input, at most chunk bytes per read (0: no limit), and then nothing more.
// After the input, a read fails at once: with a timeout if the server set a
// read deadline and timeout is set (as if the deadline had passed), else
// with io.EOF (the client shut its side). Writes are kept. Nothing blocks,
// so a fuzz run costs no waiting.
type fuzzConn struct {
	in      []byte
	chunk   int
	timeout bool

	mu       sync.Mutex // the handler may read while the server writes
	deadline bool
	out      bytes.Buffer
	closed   bool
}

func (c *fuzzConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	if len(c.in) == 0 {
		if c.timeout && c.deadline {
			return 0, os.ErrDeadlineExceeded
		}
		return 0, io.EOF
	}
	if c.chunk > 0 && len(p) > c.chunk {
		p = p[:c.chunk]
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *fuzzConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.out.Write(p)
}

func (c *fuzzConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *fuzzConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *fuzzConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = !t.IsZero()
	return nil
}

func (c *fuzzConn) SetWriteDeadline(time.Time) error { return nil }
func (c *fuzzConn) LocalAddr() net.Addr              { return fuzzLocal }
func (c *fuzzConn) RemoteAddr() net.Addr             { return fuzzRemote }

var (
	fuzzLocal  = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}
	fuzzRemote = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
)

// fuzzAnswer is what the fuzz handler answers.
const fuzzAnswer = `{"status":1}`

// FuzzServeConn serves arbitrary client bytes on one connection and checks
// that the server neither panics nor hangs, that what it wrote is a clean
// sequence of HTTP/1.1 responses, and that every handler call, and nothing
// else but an answer to "OPTIONS *", produced a 2xx answer.
//
// mode shapes the client: its low 6 bits are the most bytes a read returns
// (0: all that is left), bit 6 ends the input with a read timeout instead of
// the client shutting its side, and bit 7 inserts a 5 KB field after the
// first line, over the head size limit. The big field keeps the inputs
// small: the fuzzer's minimization takes time quadratic in an input's size.
func FuzzServeConn(f *testing.F) {
	for _, s := range []struct {
		mode uint8
		in   string
	}{
		// One plain request, read whole, then the client leaves.
		{0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		// The same, a byte per read, then the idle timeout.
		{1 | 64, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		// Pipelined keep-alive requests, the last one closing.
		{0, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /4 HTTP/1.1\r\nHost: a\r\n\r\n"},
		// A chunked body with extensions and trailers, in 7-byte reads.
		{7, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		// A bad chunk size after a good chunk.
		{0, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\nzz\r\n"},
		// Expect: 100-continue, so a 100 precedes the answer.
		{0, "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"},
		// An expectation the server refuses with 417.
		{0, "POST / HTTP/1.1\r\nHost: a\r\nExpect: nope\r\nContent-Length: 2\r\n\r\nhi"},
		// HEAD answers carry no body although the handler writes one.
		{0, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		// OPTIONS * is answered by the server, not the handler.
		{0, "OPTIONS * HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		// CONNECT in authority form, without Host.
		{0, "CONNECT a.example:443 HTTP/1.1\r\n\r\n"},
		// HTTP/1.0 without keep-alive, then bytes the server never reads.
		{0, "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n"},
		// Absolute form; a missing Host; two Host fields; an empty one.
		{0, "GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\nGET http://b/x HTTP/1.1\r\n\r\n"},
		{0, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
		{0, "GET / HTTP/1.1\r\nHost:\r\n\r\n"},
		// Conflicting Content-Lengths, and CL with TE.
		{0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
		{0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		// Unsupported transfer coding (501), and a negative length.
		{0, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"},
		{0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n"},
		// A body that ends early: the client leaves, or times out.
		{0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc"},
		{64, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc"},
		// obs-fold, bare LF line ends, NUL in a value, a space before a colon.
		{0, "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n"},
		{0, "GET / HTTP/1.1\nHost: a\n\nGET / HTTP/1.1\nHost: a\n\n"},
		{0, "GET / HTTP/1.1\r\nHost: a\r\nX: \x00\r\n\r\n"},
		{0, "GET / HTTP/1.1\r\nHost : a\r\n\r\n"},
		// A head over the size limit (431).
		{128, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		// The same, in the middle of a keep-alive exchange, 50-byte reads.
		{128 | 50, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		// Leading CRLF, a truncated head, HTTP/2's preface, nothing.
		{0, "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{64, "GET / HTTP/1.1\r\nHost: a\r\n"},
		{0, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{0, ""},
	} {
		f.Add(s.mode, []byte(s.in))
	}
	// pad is a header field over the head size limit set below (1 KiB,
	// and the 4 KiB net/http and h1serve allow beyond it).
	pad := []byte("X-Pad: " + strings.Repeat("p", 5<<10) + "\r\n")
	f.Fuzz(func(t *testing.T, mode uint8, in []byte) {
		var (
			mu      sync.Mutex
			methods []string // of the handler's calls, in order
		)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			methods = append(methods, r.Method)
			mu.Unlock()
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Fuzz", "handler")
			// A fixed date keeps the server's once-a-second formatting, and
			// the coverage it would add at random, out of the run.
			w.Header().Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT")
			io.WriteString(w, fuzzAnswer)
		})
		s := h1serve.New(h1serve.Options{
			Handler:           h,
			ReadHeaderTimeout: 200 * time.Millisecond,
			ReadTimeout:       200 * time.Millisecond,
			WriteTimeout:      200 * time.Millisecond,
			IdleTimeout:       200 * time.Millisecond,
			MaxHeaderBytes:    1 << 10,
		})
		if i := bytes.IndexByte(in, '\n'); mode&128 != 0 && i >= 0 {
			in = slices.Concat(in[:i+1], pad, in[i+1:])
		}
		c := &fuzzConn{in: in, chunk: int(mode & 63), timeout: mode&64 != 0}
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.ServeConn(c)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("ServeConn(%q) did not return", in)
		}

		mu.Lock()
		defer mu.Unlock()
		out := c.out.Bytes()
		br := bufio.NewReader(bytes.NewReader(out))
		final, fromHandler := 0, 0
		for {
			if _, err := br.Peek(1); err == io.EOF {
				break
			}
			req := &http.Request{Method: http.MethodGet}
			if fromHandler < len(methods) {
				// An answer to OPTIONS * has no body either way.
				req.Method = methods[fromHandler]
			}
			resp, err := http.ReadResponse(br, req)
			if err != nil {
				t.Fatalf("answer %d of %q: %v\nthe server wrote:\n%q", final, in, err, out)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("answer %d of %q: body: %v\nthe server wrote:\n%q", final, in, err, out)
			}
			if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
				t.Errorf("answer %d: got %s, want HTTP/1.1", final, resp.Proto)
			}
			if resp.StatusCode < 200 {
				continue
			}
			final++
			if resp.StatusCode >= 300 {
				continue
			}
			switch {
			case resp.Header.Get("X-Fuzz") != "":
				if want := fuzzAnswer; req.Method != http.MethodHead && string(body) != want {
					t.Errorf("answer %d: got body %q, want %q", final, body, want)
				}
				fromHandler++
			case len(body) != 0:
				t.Errorf("answer %d: a 2xx not from the handler with body %q", final, body)
			}
		}
		if fromHandler != len(methods) {
			t.Errorf("got %d handler calls, want %d (the 2xx answers from it) for %q\nthe server wrote:\n%q", len(methods), fromHandler, in, out)
		}
	})
}

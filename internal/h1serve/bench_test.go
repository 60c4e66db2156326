package h1serve_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/h1serve"
)

// benchAnswer is a capture endpoint's answer, about 100 bytes of JSON.
const benchAnswer = `{"status":1,"quota_limited":[],"request_id":"0193a8f2-6c1e-7d4b-9a52-3e1f0c8b7d21","ok":true}`

// benchHandler reads the whole request body and answers with benchAnswer,
// as a capture endpoint does.
var benchHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(benchAnswer)))
	io.WriteString(w, benchAnswer)
})

// BenchmarkServe measures one 2 KB POST and its answer over a kept-alive
// loopback connection, for h1serve and for net/http's server. The client
// writes pre-built bytes and parses the answer by hand without allocating,
// so allocs/op are the server's (and the handler's, the same for both).
func BenchmarkServe(b *testing.B) {
	body := strings.Repeat(`{"event":"$pageview","distinct_id":"d","properties":{}},`, 2048/55)
	body = body[:2048]
	req := []byte("POST /i/v0/e/ HTTP/1.1\r\nHost: e.example\r\nUser-Agent: bench\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)

	b.Run("h1serve", func(b *testing.B) {
		s := h1serve.New(h1serve.Options{Handler: benchHandler, ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute})
		benchServe(b, req, s.Serve, s.Close)
	})
	b.Run("net-http", func(b *testing.B) {
		s := &http.Server{Handler: benchHandler, ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute, ErrorLog: log.New(io.Discard, "", 0)}
		benchServe(b, req, s.Serve, s.Close)
	})
}

// benchServe serves on a loopback listener with serve and runs req through
// one connection per iteration.
func benchServe(b *testing.B, req []byte, serve func(net.Listener) error, stop func() error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listening: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(ln)
	}()
	defer func() {
		stop()
		<-done
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatalf("dialing: %v", err)
	}
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 4<<10)

	// One round trip outside the measurement: the server's connection
	// state and buffers exist before the loop in both servers.
	if err := benchRoundTrip(nc, br, req); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		if err := benchRoundTrip(nc, br, req); err != nil {
			b.Fatal(err)
		}
	}
}

// benchRoundTrip writes req and reads a 200 answer with a Content-Length,
// discarding its body, without allocating.
func benchRoundTrip(nc net.Conn, br *bufio.Reader, req []byte) error {
	if _, err := nc.Write(req); err != nil {
		return err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return errBenchStatus
	}
	n := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		const cl = "content-length:"
		if len(line) > len(cl) && bytes.EqualFold(line[:len(cl)], []byte(cl)) {
			n = 0
			for _, d := range bytes.TrimSpace(line[len(cl):]) {
				if d < '0' || d > '9' {
					return errBenchLength
				}
				n = n*10 + int(d-'0')
			}
		}
	}
	if n < 0 {
		return errBenchLength
	}
	_, err = br.Discard(n)
	return err
}

// Errors of benchRoundTrip.
var (
	errBenchStatus = errors.New("answer is not 200")
	errBenchLength = errors.New("answer has no valid Content-Length")
)

// benchCannedConn answers every write with the same bytes: a stand-in
// server for TestBenchClientAllocs.
type benchCannedConn struct {
	net.Conn // nil: only Read and Write are called
	answer   []byte
	pending  []byte
}

func (c *benchCannedConn) Write(p []byte) (int, error) {
	c.pending = c.answer
	return len(p), nil
}

func (c *benchCannedConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// TestBenchClientAllocs checks that BenchmarkServe's client allocates
// nothing per request, so that the benchmark's allocs/op are the server's.
func TestBenchClientAllocs(t *testing.T) {
	c := &benchCannedConn{answer: []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: " +
		strconv.Itoa(len(benchAnswer)) + "\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n" + benchAnswer)}
	br := bufio.NewReaderSize(c, 4<<10)
	req := []byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
	if err := benchRoundTrip(c, br, req); err != nil {
		t.Fatalf("benchRoundTrip: %v", err)
	}
	if br.Buffered() != 0 {
		t.Fatalf("benchRoundTrip left %d bytes unread, want 0", br.Buffered())
	}
	if got := testing.AllocsPerRun(100, func() {
		if err := benchRoundTrip(c, br, req); err != nil {
			t.Fatalf("benchRoundTrip: %v", err)
		}
	}); got != 0 {
		t.Errorf("benchRoundTrip allocated %v times per call, want 0", got)
	}
}

package forward

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// FuzzH1Head feeds arbitrary bytes to the parser of an upstream's answer
// head, as the answer to a GET and to a HEAD. It must never panic, and a
// head it accepts must make sense: a real status, a length of -1 or more,
// and a body framing that agrees with the method and the fields.
func FuzzH1Head(f *testing.F) {
	// A normal keep-alive answer.
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"Ok\"}"))
	// Chunked, with a trailer announced.
	f.Add([]byte("HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n"))
	// Content-Length beside chunked: chunked wins, the connection ends.
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"))
	// Duplicate Content-Length, equal and then conflicting.
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok"))
	// HTTP/1.0 without keep-alive: the body runs to the close.
	f.Add([]byte("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nbody"))
	// Obsolete line folding, refused.
	f.Add([]byte("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n"))
	// A long header line, longer than the connection's read buffer.
	f.Add([]byte("HTTP/1.1 204 No Content\r\nX-Long: " + strings.Repeat("v", 10000) + "\r\n\r\n"))
	// Bare LF line endings and Connection tokens.
	f.Add([]byte("HTTP/1.1 304 Not Modified\nConnection: close, X-Hop\nX-Hop: 1\n\n"))
	// An unsupported transfer coding.
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"))
	// No head end.
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Le"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			var h h1Head
			if err := h.read(bufio.NewReaderSize(bytes.NewReader(data), 4<<10)); err != nil {
				continue
			}
			if h.status < 100 || h.status > 999 {
				t.Fatalf("status %d, want 100..999", h.status)
			}
			for _, fl := range h.fields {
				if !validToken(fl.name) || !validFieldValue(fl.value) {
					t.Fatalf("field %q: %q accepted", fl.name, fl.value)
				}
			}
			if err := h.frame(method); err != nil {
				continue
			}
			if h.contentLength < -1 {
				t.Fatalf("contentLength %d, want -1 or more", h.contentLength)
			}
			switch h.body {
			case h1NoBody:
			case h1Length:
				if h.contentLength < 0 {
					t.Fatalf("length-delimited body with contentLength %d", h.contentLength)
				}
			case h1Chunked:
				if h.contentLength != -1 {
					t.Fatalf("chunked body with contentLength %d, want -1", h.contentLength)
				}
				if h.dropLength && !h.closeAfter {
					t.Fatal("Content-Length beside chunked, and the connection is kept")
				}
			case h1UntilClose:
				if !h.closeAfter {
					t.Fatal("close-delimited body, and the connection is kept")
				}
			default:
				t.Fatalf("body kind %d", h.body)
			}
			if method == http.MethodHead && h.body != h1NoBody {
				t.Fatalf("answer to HEAD has body kind %d, want none", h.body)
			}
			if (h.status == http.StatusNoContent || h.status == http.StatusNotModified) && h.body != h1NoBody {
				t.Fatalf("%d answer has body kind %d, want none", h.status, h.body)
			}
			if h.dropLength && h.relayed("Content-Length") {
				t.Fatal("a dropped Content-Length is relayed")
			}
		}
	})
}

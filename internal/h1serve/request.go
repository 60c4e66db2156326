package h1serve

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	_ "unsafe" // for go:linkname

	"golang.org/x/net/http/httpguts"

	"github.com/edgehog/edgehog/internal/errbody"
)

// statusError is a request refused with a status, as net/http refuses it.
type statusError struct {
	status int
	code   string // the JSON body's code
	msg    string
}

func (e *statusError) Error() string { return e.msg }

var (
	errHeaderTooLarge = &statusError{http.StatusRequestHeaderFieldsTooLarge, "header_too_large", "request line and headers exceed the size limit"}
	errUnsupportedTE  = &statusError{http.StatusNotImplemented, "not_implemented", "unsupported transfer encoding"}
	errVersion        = &statusError{http.StatusHTTPVersionNotSupported, "http_version_not_supported", "unsupported protocol version"}
	errNoHost         = &statusError{http.StatusBadRequest, "bad_request", "missing required Host header"}
	errBadHost        = &statusError{http.StatusBadRequest, "bad_request", "malformed Host header"}
	errHeaderName     = &statusError{http.StatusBadRequest, "bad_request", "invalid header name"}
	errHeaderValue    = &statusError{http.StatusBadRequest, "bad_request", "invalid header value"}
	errExpectation    = &statusError{http.StatusExpectationFailed, "expectation_failed", "unsupported Expect header"}
	errMalformed      = &statusError{http.StatusBadRequest, "bad_request", "malformed request"}
)

// readRequest is the parser behind http.ReadRequest and net/http's
// server, without ReadRequest's removal of the Host field: validate must
// see that field, since RFC 9112 §3.2 has a request without one, or with an
// invalid one, refused even when its target is in absolute form and so
// names the host itself. net/http keeps this symbol linkable on purpose
// (go.dev/issue/67401).
//
//go:linkname readRequest net/http.readRequest
func readRequest(b *bufio.Reader) (*http.Request, error)

// validate applies the checks net/http's server makes after parsing, and
// removes the Host field as it does (req.Host holds the host).
func validate(req *http.Request) error {
	if req.ProtoMajor != 1 {
		return errVersion
	}
	// readRequest refused more than one Host field.
	hosts := req.Header["Host"]
	delete(req.Header, "Host")
	switch {
	case len(hosts) == 0:
		if req.ProtoAtLeast(1, 1) && req.Method != http.MethodConnect {
			return errNoHost
		}
	case !httpguts.ValidHostHeader(hosts[0]):
		return errBadHost
	case req.Host == "" && req.ProtoAtLeast(1, 1) && req.Method != http.MethodConnect:
		// An empty field, which net/http accepts: RFC 9112 §3.2 has
		// clients send one only for a target without an authority, which
		// no request edgehog serves has, and a request with no host to
		// route by is refused as a missing host.
		return errNoHost
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return errHeaderName
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return errHeaderValue
			}
		}
	}
	if e := req.Header.Get("Expect"); e != "" && !expectsContinue(e) {
		return errExpectation
	}
	return nil
}

// expectsContinue reports whether an Expect value names 100-continue. Like
// net/http's server it looks at the first Expect field only, and finds the
// token anywhere in it between spaces, tabs and commas.
func expectsContinue(v string) bool {
	for _, tok := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		if strings.EqualFold(tok, "100-continue") {
			return true
		}
	}
	return false
}

// reject answers a request that could not be read or was refused, and the
// connection then closes. Read errors of the connection itself (the client
// left, a timeout) get no answer, as with net/http.
func (c *conn) reject(err error) {
	var se *statusError
	switch {
	case errors.As(err, &se):
	case strings.Contains(err.Error(), "unsupported transfer encoding"), strings.Contains(err.Error(), "too many transfer encodings"):
		// net/http's unsupportedTEError, which it answers with 501 in
		// both forms.
		se = errUnsupportedTE
	case err == io.EOF || isNetError(err):
		// The client left between requests, or the connection failed. A
		// request cut short by the client's end (io.ErrUnexpectedEOF) is
		// answered 400 instead, as by net/http: the client may have shut
		// only its sending side.
		return
	default:
		se = errMalformed
	}
	c.s.o.Log.Debug("refused a request", "remote", c.remote, "status", se.status, "error", err)
	b := make([]byte, 0, 256)
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(se.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(se.status)...)
	body := errbody.New(se.status, se.code, se.msg)
	b = append(b, "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	c.bw.Reset(c.nc)
	c.bw.Write(b)
	c.bw.Flush()
	if se == errHeaderTooLarge {
		c.lingerClose()
	}
}

// isNetError reports whether err came from the connection: a timeout or a
// failed read. Not every net.Error is one: the *url.Error of a malformed
// request target is a net.Error, and is answered with 400.
func isNetError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) && ne.Timeout()
}

// body is the request body the handler sees. Close does not drain it: the
// connection decides after the handler whether the rest is discarded or the
// connection closed (maxDiscard). The first Read of a request that expects
// 100-continue sends the 100 Continue.
type body struct {
	c   *conn
	src io.ReadCloser
	// parsed is the request as parsed and req the handler's copy of it
	// (http.Request.WithContext copies): src stores trailers the request
	// did not declare in parsed, and they are handed on to req at the end.
	parsed, req *http.Request

	mu             sync.Mutex
	n              int64 // bytes read
	sawEOF         bool
	closed         bool
	err            error // a read error other than EOF
	expectContinue bool
	wroteContinue  bool
}

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.readLocked(p)
}

func (b *body) readLocked(p []byte) (int, error) {
	if b.sawEOF {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.expectContinue && !b.wroteContinue {
		b.wroteContinue = true
		if err := b.c.writeContinue(); err != nil {
			b.err = err
			return 0, err
		}
	}
	n, err := b.src.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF:
		b.sawEOF = true
		b.c.bodyDone.Store(true)
		if b.req != nil && b.req.Trailer == nil {
			b.req.Trailer = b.parsed.Trailer
		}
	case err != nil:
		b.err = err
	}
	return n, err
}

// Close implements io.Closer.
func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// done reports whether the body was read to its end.
func (b *body) done() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sawEOF
}

// maxDiscard is how much unread request body is read and dropped to keep a
// connection; more, and it closes. net/http's figure.
const maxDiscard = 256 << 10

// settle makes the connection ready for its next request once the answer
// starts: a body the handler left unread is discarded if small, or the
// connection marked to close. It reports whether the connection may stay.
func (b *body) settle() bool {
	if !b.mu.TryLock() {
		return false // another goroutine is reading it: it is not done
	}
	defer b.mu.Unlock()
	if b.sawEOF {
		return true
	}
	if b.err != nil || b.closed {
		// A handler that closed the body gave up on it; draining an
		// unbounded body could block the answer (net/http closes too).
		return false
	}
	if b.expectContinue && !b.wroteContinue {
		// The client waits for a 100 Continue that will not come; what it
		// sends next is unknown.
		return false
	}
	if cl := b.c.res.req.ContentLength; cl-b.n > maxDiscard {
		return false
	}
	n, err := io.CopyN(io.Discard, readerFunc(b.readLocked), maxDiscard+1)
	return err == io.EOF && n <= maxDiscard
}

// readerFunc adapts a read function to io.Reader.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// writeContinue sends 100 Continue unless the answer has started.
func (c *conn) writeContinue() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.res.headSent {
		return nil
	}
	if _, err := c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
		return err
	}
	return c.bw.Flush()
}

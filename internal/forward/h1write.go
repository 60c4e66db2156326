package forward

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/edgehog/edgehog/internal/requestid"
)

// h1Request is a request serialised for an HTTP/1.1 upstream: the head,
// followed in the same buffer by the whole body when it is small, or by a
// body streamed after it.
type h1Request struct {
	buf    *[]byte
	body   io.Reader // nil when the body is inline or absent
	length int64     // body bytes to stream; -1 means chunked
	// vals backs the answer's header values in the client's response
	// header (forwardH1), saving an allocation for a typical answer.
	vals [12]string
}

var h1Bufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// newH1Request writes the head of the request that goes upstream for r:
// the same request ReverseProxy would send through rewrite, built straight
// from the client's request. A body of known length up to h1InlineBody is
// read here, whole, so that it leaves with the head in one write.
func (f *Forwarder) newH1Request(r *http.Request, st *State, up *h1Upstream, target *url.URL) (*h1Request, error) {
	w := &h1Request{buf: h1Bufs.Get().(*[]byte)}
	b, err := f.appendH1Head((*w.buf)[:0], r, st, up, target)
	if err != nil {
		*w.buf = b
		w.release()
		closeBody(r)
		return nil, err
	}
	hasBody := r.Body != nil && r.Body != http.NoBody
	switch {
	case hasBody && r.ContentLength > h1InlineBody:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, r.ContentLength, 10)
		b = append(b, "\r\n\r\n"...)
		w.body, w.length = r.Body, r.ContentLength
	case hasBody && r.ContentLength > 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, r.ContentLength, 10)
		b = append(b, "\r\n\r\n"...)
		n := int(r.ContentLength)
		b = grow(b, n)
		_, err := io.ReadFull(r.Body, b[len(b):len(b)+n])
		*w.buf = b
		if err != nil {
			w.release()
			closeBody(r)
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading request body: %w", err)
		}
		b = b[:len(b)+n]
	case hasBody && r.ContentLength < 0:
		b = append(b, "Transfer-Encoding: chunked\r\n\r\n"...)
		w.body, w.length = r.Body, -1
	default:
		if bodyExpected(r.Method) {
			b = append(b, "Content-Length: 0\r\n"...)
		}
		b = append(b, "\r\n"...)
	}
	*w.buf = b
	return w, nil
}

// appendH1Head appends the request line and header fields, without the
// body's framing fields and the final CRLF. The policy is rewrite's.
func (f *Forwarder) appendH1Head(b []byte, r *http.Request, st *State, up *h1Upstream, target *url.URL) ([]byte, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	if !validToken(method) {
		return b, fmt.Errorf("invalid method %q", method)
	}
	u := upstreamURL(target, st)
	path := u.EscapedPath()
	if !validTarget(path) || !validTarget(r.URL.RawQuery) {
		return b, fmt.Errorf("invalid request target %q", path)
	}
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		b = append(b, '?')
		b = append(b, r.URL.RawQuery...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, up.host...)
	b = append(b, "\r\n"...)

	conn := r.Header["Connection"]
	for k, vs := range r.Header {
		if !forwardedRequestField(k) || (len(conn) > 0 && listed(conn, k)) {
			continue
		}
		if !validToken(k) {
			return b, fmt.Errorf("invalid header name %q", k)
		}
		for _, v := range vs {
			if k == "User-Agent" && v == "" {
				continue // ReverseProxy's "send none"
			}
			if !validFieldValue(v) {
				return b, fmt.Errorf("invalid value for header %q", k)
			}
			b = appendField(b, k, v)
		}
	}
	if containsToken(r.Header["Te"], "trailers") {
		b = append(b, "Te: trailers\r\n"...)
	}
	if st.ClientIP.IsValid() {
		b = append(b, "X-Forwarded-For: "...)
		b = st.ClientIP.AppendTo(b)
		b = append(b, "\r\nX-Real-Ip: "...)
		b = st.ClientIP.AppendTo(b)
		b = append(b, "\r\n"...)
	}
	if st.ForwardedProto != "" {
		b = appendField(b, "X-Forwarded-Proto", st.ForwardedProto)
	}
	if st.ForwardedHost != "" {
		b = appendField(b, "X-Forwarded-Host", st.ForwardedHost)
	}
	if st.RequestID != "" {
		b = appendField(b, requestid.Header, st.RequestID)
	} else {
		for _, v := range r.Header[requestid.Header] {
			if validFieldValue(v) {
				b = appendField(b, requestid.Header, v)
			}
		}
	}
	if cookies, ok := r.Header["Cookie"]; ok && f.keepCookies != nil {
		if kept := f.keptCookies(cookies); kept != "" && validFieldValue(kept) {
			b = appendField(b, "Cookie", kept)
		}
	}
	return b, nil
}

// forwardedRequestField reports whether a client's header field is copied
// as it is. Those that are not are hop-by-hop, framing, replaced by
// edgehog (client address, request ID, Host) or filtered (Cookie). Expect
// is dropped because edgehog's server side has already answered the
// client's 100-continue and the body is on its way.
func forwardedRequestField(k string) bool {
	if hopByHop(k) || isClientIPHeader(k) {
		return false
	}
	switch k {
	case "Host", "Content-Length", "Expect", "Cookie", "X-Forwarded-For", requestid.Header:
		return false
	}
	return true
}

func isClientIPHeader(k string) bool {
	for _, h := range clientIPHeaders {
		if h == k {
			return true
		}
	}
	return false
}

// listed reports whether the Connection field values name k.
func listed(conn []string, k string) bool {
	for _, v := range conn {
		for opt := range strings.SplitSeq(v, ",") {
			if http.CanonicalHeaderKey(strings.TrimSpace(opt)) == k {
				return true
			}
		}
	}
	return false
}

func containsToken(vs []string, token string) bool {
	for _, v := range vs {
		for opt := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(opt), token) {
				return true
			}
		}
	}
	return false
}

func (w *h1Request) release() {
	if w.buf == nil {
		return
	}
	if cap(*w.buf) <= 64<<10 {
		*w.buf = (*w.buf)[:0]
		h1Bufs.Put(w.buf)
	}
	w.buf = nil
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

func appendField(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, v...)
	return append(b, "\r\n"...)
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

func bodyExpected(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// validToken reports whether s is an RFC 9110 token (a method or a header
// name).
func validToken(s string) bool { return validTokenBytes(s) }

func validTokenBytes[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return true
}

// validFieldValue reports whether s can be sent as a field value: no
// control characters but tab, and no DEL, so that nothing a client sent
// can split the request.
func validFieldValue(s string) bool { return validFieldValueBytes(s) }

func validFieldValueBytes[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// validTarget reports whether s can be part of a request line: no
// control characters, no space or tab, no DEL.
func validTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// writeBody streams the body of a request whose head has been written:
// exactly w.length bytes, or chunked when w.length is -1.
func (w *h1Request) writeBody(dst io.Writer) error {
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	buf := *bp
	if w.length >= 0 {
		// writerOnly keeps io.CopyBuffer off the connection's ReadFrom,
		// which would bring a buffer of its own.
		n, err := io.CopyBuffer(writerOnly{dst}, io.LimitReader(w.body, w.length), buf)
		if err != nil {
			return err
		}
		if n < w.length {
			return fmt.Errorf("reading request body: %w (%d of %d bytes)", io.ErrUnexpectedEOF, n, w.length)
		}
		return nil
	}
	// Chunked: one chunk per read of the client's body, in one write with
	// its size line (right-aligned in the first 16 bytes) and closing CRLF.
	data := buf[16 : len(buf)-2]
	for {
		n, rerr := w.body.Read(data)
		if n > 0 {
			var size [16]byte
			head := strconv.AppendInt(size[:0], int64(n), 16)
			head = append(head, "\r\n"...)
			start := 16 - len(head)
			copy(buf[start:16], head)
			end := 16 + n
			buf[end], buf[end+1] = '\r', '\n'
			if _, err := dst.Write(buf[start : end+2]); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			_, err := io.WriteString(dst, "0\r\n\r\n")
			return err
		}
		if rerr != nil {
			return fmt.Errorf("reading request body: %w", rerr)
		}
	}
}

type writerOnly struct{ io.Writer }

package h1serve

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// holdBack is how much body is held before the head is sent when the
// handler set no Content-Length: an answer that ends within it is sent with
// a Content-Length, a longer one chunked.
const holdBack = bufSize

// response is the http.ResponseWriter of one request. It also implements
// http.Flusher, http.Hijacker and the deadline and full-duplex methods
// http.ResponseController looks for.
type response struct {
	c      *conn
	req    *http.Request
	body   *body
	header http.Header

	status      int
	wroteHeader bool  // the final status is set
	headSent    bool  // the head is in c.bw; guarded by c.wmu
	cl          int64 // Content-Length of the answer, -1 if not known yet
	written     int64 // body bytes the handler wrote
	buf         []byte
	chunked     bool
	closeAfter  bool
	fullDuplex  bool
	handlerDone bool
	aborted     bool // the handler panicked
	err         error
}

// reset prepares w for req.
func (w *response) reset(req *http.Request, b *body) {
	*w = response{c: w.c, req: req, body: b, header: make(http.Header, 8), cl: -1, buf: w.buf[:0], closeAfter: req.Close}
}

// Header implements http.ResponseWriter.
func (w *response) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter. Informational statuses but
// 101 are sent at once; the final status is sent with the first body bytes,
// a Flush, or the end of the handler.
func (w *response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.wroteHeader || w.c.getState() == stateHijacked {
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.c.wmu.Lock()
		defer w.c.wmu.Unlock()
		if w.headSent {
			return
		}
		w.writeStatusLine(code)
		w.writeFields(code)
		w.c.bw.WriteString("\r\n")
		if err := w.c.bw.Flush(); err != nil {
			w.fail(err)
		}
		return
	}
	w.wroteHeader = true
	w.status = code
	if v := w.header.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			w.cl = n
		} else {
			w.header.Del("Content-Length")
		}
	}
}

// Write implements http.ResponseWriter.
func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	switch {
	case w.c.getState() == stateHijacked:
		return 0, http.ErrHijacked
	case w.err != nil:
		return 0, w.err
	case !bodyAllowed(w.status):
		return 0, http.ErrBodyNotAllowed
	case w.cl >= 0 && w.written+int64(len(p)) > w.cl:
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.headSent {
		if w.cl < 0 && len(w.buf)+len(p) <= holdBack {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		w.sendHead()
		if w.err != nil {
			return 0, w.err
		}
	}
	return w.writeBody(p)
}

// writeBody sends p as body bytes in the framing of the head.
func (w *response) writeBody(p []byte) (int, error) {
	if w.req.Method == http.MethodHead || len(p) == 0 {
		return len(p), nil
	}
	bw := w.c.bw
	if w.chunked {
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(p)), 16))
		bw.WriteString("\r\n")
	}
	n, err := bw.Write(p)
	if w.chunked && err == nil {
		_, err = bw.WriteString("\r\n")
	}
	if err != nil {
		w.fail(err)
		return n, err
	}
	return n, nil
}

// fail records a write error: the connection closes after the handler.
func (w *response) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	w.closeAfter = true
}

// sendHead decides the framing and writes the head, then any held-back
// body.
func (w *response) sendHead() {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	if w.headSent {
		return
	}
	w.headSent = true
	h, req, code := w.header, w.req, w.status
	isHEAD := req.Method == http.MethodHead

	trailers := len(h["Trailer"]) > 0
	if !trailers {
		for k := range h {
			if strings.HasPrefix(k, http.TrailerPrefix) {
				trailers = true
				break
			}
		}
	}
	te := h.Get("Transfer-Encoding")
	if w.handlerDone && w.cl < 0 && bodyAllowed(code) && !trailers && te == "" && (!isHEAD || len(w.buf) > 0) {
		w.cl = int64(len(w.buf))
	}

	if !w.fullDuplex && !w.body.settle() {
		w.closeAfter = true
	}
	keepAlive10 := req.ProtoMajor == 1 && req.ProtoMinor == 0 && !req.Close
	connection := ""
	switch {
	case keepAlive10 && (isHEAD || w.cl >= 0 || !bodyAllowed(code)):
		connection = "keep-alive"
	case !req.ProtoAtLeast(1, 1):
		w.closeAfter = true
	}
	if httpguts.HeaderValuesContainsToken(h["Connection"], "close") || w.c.s.shutdown.Load() {
		w.closeAfter = true
	}
	switch {
	case isHEAD || !bodyAllowed(code):
	case w.cl >= 0:
	case req.ProtoAtLeast(1, 1) && te != "identity":
		w.chunked = true
	default:
		// No length and no chunking: the body ends when the connection
		// closes.
		w.closeAfter = true
	}
	if w.closeAfter {
		connection = "close"
	}

	bw := w.c.bw
	w.writeStatusLine(code)
	w.writeFields(code)
	if _, ok := h["Date"]; !ok {
		bw.WriteString("Date: ")
		bw.Write(w.c.s.date.append(bw.AvailableBuffer(), time.Now()))
		bw.WriteString("\r\n")
	}
	if w.cl >= 0 && bodyAllowed(code) {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), w.cl, 10))
		bw.WriteString("\r\n")
	}
	if w.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if code == http.StatusSwitchingProtocols {
		writeField(bw, "Connection", h["Connection"])
	} else if connection != "" {
		bw.WriteString("Connection: ")
		bw.WriteString(connection)
		bw.WriteString("\r\n")
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		w.fail(err)
		return
	}
	if len(w.buf) > 0 {
		buf := w.buf
		w.buf = w.buf[:0]
		w.writeBody(buf)
	}
}

// writeStatusLine writes "HTTP/1.1 <code> <reason>".
func (w *response) writeStatusLine(code int) {
	bw := w.c.bw
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(code), 10))
	bw.WriteByte(' ')
	if text := http.StatusText(code); text != "" {
		bw.WriteString(text)
	} else {
		// net/http's reason phrase for a code it has no text for.
		bw.WriteString("status code ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(code), 10))
	}
	bw.WriteString("\r\n")
}

// writeFields writes the handler's header fields but those the framing
// owns; a field with an invalid name is dropped and line breaks in values
// become spaces, as net/http does, so no value can split the answer.
func (w *response) writeFields(code int) {
	bw := w.c.bw
	for k, vv := range w.header {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection":
			continue
		case "Content-Type":
			if code == http.StatusNotModified {
				continue
			}
		}
		if strings.HasPrefix(k, http.TrailerPrefix) || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		if decl := w.header["Trailer"]; len(decl) > 0 && k != "Trailer" && declaresTrailer(decl, k) {
			// Its value belongs in the trailer. A held-back answer's head
			// goes out after the handler set it; net/http's head is a
			// snapshot from before the body, which never has it.
			continue
		}
		writeField(bw, k, vv)
	}
}

// declaresTrailer reports whether the Trailer field values decl name k.
func declaresTrailer(decl []string, k string) bool {
	for _, d := range decl {
		for name := range strings.SplitSeq(d, ",") {
			if strings.EqualFold(strings.TrimSpace(name), k) {
				return true
			}
		}
	}
	return false
}

// writeField writes one line per value of k.
func writeField(bw *bufio.Writer, k string, vv []string) {
	for _, v := range vv {
		bw.WriteString(k)
		bw.WriteString(": ")
		if strings.ContainsAny(v, "\r\n") {
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		}
		bw.WriteString(strings.TrimSpace(v))
		bw.WriteString("\r\n")
	}
}

// finish completes the answer after the handler returned and reports
// whether the connection may carry another request.
func (w *response) finish() bool {
	w.handlerDone = true
	if w.aborted {
		return false
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headSent {
		w.sendHead()
	}
	bw := w.c.bw
	if w.chunked && w.err == nil {
		bw.WriteString("0\r\n")
		w.writeTrailers()
		bw.WriteString("\r\n")
	}
	if w.cl >= 0 && w.written < w.cl && bodyAllowed(w.status) && w.req.Method != http.MethodHead {
		w.closeAfter = true // the client would wait for the rest
	}
	if err := bw.Flush(); err != nil {
		w.fail(err)
	}
	keep := !w.closeAfter && w.err == nil
	if keep && !w.body.done() && !w.body.settle() {
		keep = false
	}
	unread := !w.body.done()
	// A goroutine the handler left reading the body (a forwarder's body
	// writer, say) must not read the next request: from here on its reads
	// fail. Close waits for a read in progress.
	w.body.Close()
	if !keep && w.err == nil && unread {
		w.c.lingerClose()
	}
	return keep
}

// writeTrailers writes the trailer fields: those declared in the Trailer
// header and those set with http.TrailerPrefix.
func (w *response) writeTrailers() {
	bw := w.c.bw
	for _, decl := range w.header["Trailer"] {
		for _, k := range strings.Split(decl, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			if vv := w.header[k]; len(vv) > 0 && httpguts.ValidHeaderFieldName(k) && validTrailer(k) {
				writeField(bw, k, vv)
			}
		}
	}
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && httpguts.ValidHeaderFieldName(name) && validTrailer(name) {
			writeField(bw, name, vv)
		}
	}
}

// validTrailer refuses the fields that may not be trailers.
func validTrailer(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Content-Length", "Transfer-Encoding", "Trailer", "Connection", "Host", "Content-Type":
		return false
	}
	return true
}

// Flush implements http.Flusher: the head, and what the handler wrote, go
// out now.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush with its error, for http.ResponseController.
func (w *response) FlushError() error {
	if w.c.getState() == stateHijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headSent {
		w.sendHead()
	}
	if w.err != nil {
		return w.err
	}
	if err := w.c.bw.Flush(); err != nil {
		w.fail(err)
		return err
	}
	return nil
}

// Hijack implements http.Hijacker. What was written is flushed first; the
// connection's deadlines are cleared.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	if w.wroteHeader && !w.headSent {
		w.sendHead()
	}
	if err := c.bw.Flush(); err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	if c.state == stateHijacked || c.state == stateClosed {
		c.mu.Unlock()
		return nil, nil, http.ErrHijacked
	}
	c.state = stateHijacked
	watching := c.watching
	c.mu.Unlock()
	if watching {
		c.stopWatch()
	}
	c.nc.SetDeadline(time.Time{})
	return c.nc, bufio.NewReadWriter(c.br, c.bw), nil
}

// SetReadDeadline sets the connection's read deadline, for
// http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error { return w.c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the connection's write deadline, for
// http.ResponseController.
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

// EnableFullDuplex lets the handler read the request body after it started
// the answer, for http.ResponseController.
func (w *response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

// bodyAllowed reports whether a status may carry a body.
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

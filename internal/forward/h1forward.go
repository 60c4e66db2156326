package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/edgehog/edgehog/internal/requestid"
	"github.com/edgehog/edgehog/internal/route"
)

// forwardH1 is Forward for an upstream spoken to in HTTP/1.1 by edgehog's
// own client instead of ReverseProxy and http.Transport. It sends what
// rewrite would and relays the answer as ReverseProxy would, with less
// work per request: no copy of the request or its header, the request's
// head and a small body in one write on the handler's goroutine (no
// hand-off to a connection's reader and writer goroutines), and the
// answer's head parsed into buffers its connection reuses.
func (f *Forwarder) forwardH1(w http.ResponseWriter, r *http.Request, st *State, up *h1Upstream, target *url.URL) {
	st.clientCtx = r.Context()
	req, err := f.newH1Request(r, st, up, target)
	if err != nil {
		f.fail(w, st, err)
		return
	}
	defer req.release()
	now := time.Now()
	var until time.Time
	if st.Match.Kind == route.KindFlags && f.flagsTimeout > 0 {
		until = now.Add(f.flagsTimeout)
	}
	st.upstreamStart = now
	c, err := f.exchange(r.Context(), req, r.Method, up, now, until)
	if err != nil {
		f.fail(w, st, err)
		return
	}
	done := time.Now()
	st.UpstreamDuration = done.Sub(now)
	h := &c.head
	if h.status >= 300 && h.status < 400 && h.status != http.StatusNotModified {
		c.release(false, time.Time{})
		f.fail(w, st, fmt.Errorf("%w (%d to %q)", errUpstreamRedirect, h.status, h.field("Location")))
		return
	}

	hdr := w.Header()
	// One backing array for the values of every field the answer has
	// once (most of them); the request's own room when it is enough.
	vals := req.vals[:]
	if len(h.fields) > len(vals) {
		vals = make([]string, len(h.fields))
	}
	for i, fl := range h.fields {
		if !h.relayed(fl.name) || (st.RequestID != "" && fl.name == requestid.Header) {
			continue
		}
		if old, ok := hdr[fl.name]; ok {
			hdr[fl.name] = append(old, fl.value)
			continue
		}
		vals[i] = fl.value
		hdr[fl.name] = vals[i : i+1 : i+1]
	}
	trailers := h.body == h1Chunked && len(h.trailers) > 0
	if trailers {
		hdr["Trailer"] = append([]string(nil), h.trailers...)
	}
	w.WriteHeader(h.status)

	// Like ReverseProxy: an answer of unknown length, or an event stream,
	// reaches the client write by write.
	var rc *http.ResponseController
	if h.body == h1Chunked || h.body == h1UntilClose || isEventStream(h.contentType) {
		rc = http.NewResponseController(w)
	}
	trailer, err := c.copyBody(w, rc)
	if err != nil {
		c.release(false, time.Time{})
		// As ReverseProxy does: the client must see the answer cut short,
		// not a complete-looking one.
		if r.Context().Value(http.ServerContextKey) != nil {
			panic(http.ErrAbortHandler)
		}
		return
	}
	c.release(true, done)
	if len(trailer) > 0 {
		if rc == nil {
			rc = http.NewResponseController(w)
		}
		rc.Flush()
		for k, vs := range trailer {
			if !trailers || !announced(h.trailers, k) {
				k = http.TrailerPrefix + k
			}
			hdr[k] = append(hdr[k], vs...)
		}
	}
}

// exchange sends req on a pooled connection and reads the answer's head.
// A request that finds its kept-alive connection closed by the upstream is
// sent once more on a new one, when that is safe: nothing of it had gone,
// or all of it is at hand and not a byte of an answer came.
func (f *Forwarder) exchange(ctx context.Context, req *h1Request, method string, up *h1Upstream, now, until time.Time) (*h1Conn, error) {
	headTimeout := f.h1.opts.ResponseHeaderTimeout
	for attempt := 0; ; attempt++ {
		c, err := f.h1.get(ctx, up, now, req.body != nil)
		if err != nil {
			return nil, err
		}
		sent := false
		if req.body == nil {
			c.begin(ctx, now, until, headTimeout)
		} else {
			c.begin(ctx, now, until, 0) // the writer starts the head timeout
		}
		_, err = c.nc.Write(*req.buf)
		if err == nil {
			sent = true
			if req.body != nil {
				c.startWriter(req, headTimeout)
			}
			err = c.readHead(method)
		}
		if err == nil {
			c.headDone()
			return c, nil
		}
		stale := c.reused && staleCause(err) && (!sent || (req.body == nil && !c.head.any))
		c.release(false, time.Time{})
		if werr, done := c.writerResult(); done && werr != nil && !errors.Is(werr, net.ErrClosed) {
			// The writer's failure (a body over its limit, a client
			// gone) is the cause of the reader's.
			err = werr
		}
		if stale && attempt == 0 && ctx.Err() == nil {
			now = time.Now()
			continue
		}
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		return nil, err
	}
}

// copyBody relays the answer's body to w, flushing after each write when rc
// is set, and returns the trailer of a chunked body.
func (c *h1Conn) copyBody(w io.Writer, rc *http.ResponseController) (http.Header, error) {
	h := &c.head
	var src io.Reader = c.br
	left := int64(-1) // bytes still due of a Content-Length body
	switch h.body {
	case h1NoBody:
		return nil, nil
	case h1Length:
		if h.contentLength == 0 {
			return nil, nil
		}
		left = h.contentLength
	case h1Chunked:
		src = httputil.NewChunkedReader(c.br)
	}
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	buf := *bp
	for left != 0 {
		p := buf
		if left > 0 && int64(len(p)) > left {
			p = p[:left]
		}
		m, rerr := src.Read(p)
		if left > 0 {
			left -= int64(m)
		}
		if m > 0 {
			if _, err := w.Write(buf[:m]); err != nil {
				return nil, err
			}
			if rc != nil {
				if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					return nil, err
				}
			}
		}
		if errors.Is(rerr, io.EOF) {
			if left > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			break
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	if h.body == h1Chunked {
		return c.readTrailer()
	}
	return nil, nil
}

// readTrailer reads the trailer section that ends a chunked body.
func (c *h1Conn) readTrailer() (http.Header, error) {
	h := &c.head
	var trailer http.Header
	for {
		line, err := h.line(c.br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		l := h.block[line[0]:line[1]]
		if len(l) == 0 {
			return trailer, nil
		}
		name, value, ok := cutField(l)
		if !ok {
			return nil, malformed("trailer line %q", l)
		}
		if trailer == nil {
			trailer = http.Header{}
		}
		k := http.CanonicalHeaderKey(name)
		trailer[k] = append(trailer[k], value)
	}
}

func announced(names []string, k string) bool {
	for _, n := range names {
		if n == k {
			return true
		}
	}
	return false
}

func isEventStream(contentType string) bool {
	return len(contentType) >= 17 && equalFoldPrefix(contentType, "text/event-stream")
}

func equalFoldPrefix(s, prefix string) bool {
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

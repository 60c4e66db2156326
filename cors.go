package edgehog

import (
	"net/http"

	"github.com/edgehog/edgehog/internal/forward"
	"github.com/edgehog/edgehog/internal/guard"
)

// corsWriter puts edgehog's CORS fields on every answer, whoever wrote it
// (upstream, the cache or edgehog's own errors, which browsers can then
// read too): upstream's Access-Control-* fields are replaced just before
// the status goes out, never duplicated.
type corsWriter struct {
	http.ResponseWriter
	cors         *guard.CORS
	origin, host string
	applied      bool
}

func (c *corsWriter) WriteHeader(code int) {
	if !c.applied && code >= 200 {
		c.applied = true
		c.cors.Apply(c.ResponseWriter.Header(), c.origin, c.host)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *corsWriter) Write(b []byte) (int, error) {
	if !c.applied {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (c *corsWriter) Flush() {
	if !c.applied {
		c.WriteHeader(http.StatusOK)
	}
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// SetStatus passes on the status of an answer that was never sent.
func (c *corsWriter) SetStatus(code int) {
	if s, ok := c.ResponseWriter.(interface{ SetStatus(int) }); ok {
		s.SetStatus(code)
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *corsWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// withCORS wraps w in cw when CORS is on.
func (p *Proxy) withCORS(w http.ResponseWriter, r *http.Request, cw *corsWriter) http.ResponseWriter {
	if p.cors == nil {
		return w
	}
	*cw = corsWriter{ResponseWriter: w, cors: p.cors, origin: r.Header.Get("Origin"), host: r.Host}
	return cw
}

// preflight answers a CORS preflight at the edge; it never goes upstream.
// It reports whether r was one, and marks a refused origin in st.
func (p *Proxy) preflight(w http.ResponseWriter, r *http.Request, st *forward.State) bool {
	if p.cors == nil || !guard.IsPreflight(r) {
		return false
	}
	if cw, ok := w.(*corsWriter); ok {
		w = cw.ResponseWriter // the preflight sets its own fields
	}
	if !p.cors.Preflight(w, r) {
		st.Code = codeCORSRejected
	}
	return true
}

package edgehog

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/edgehog/edgehog/internal/forward"
	"github.com/edgehog/edgehog/internal/guard"
	"github.com/edgehog/edgehog/internal/requestid"
	"github.com/edgehog/edgehog/internal/route"
)

// Codes of the answers the guard stage gives itself.
const (
	codeBadPath     = "bad_path"
	codeRateLimited = "rate_limited"
)

// serve handles one routed request: guard (CORS preflights are answered
// there), resolve the client, then the cache or upstream, observe.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, m route.Match) {
	start := time.Now()
	// What the request needs for its whole life, in one allocation.
	x := &exchange{rec: recorder{ResponseWriter: w}, st: forward.State{Match: m, RequestID: p.requestID(r)}}
	rec, st := &x.rec, &x.st
	// The answer carries the ID (set before anything answers, so that
	// edgehog's own refusals do too), and so does the request: the
	// Forwarder's copy of its headers then sends it upstream without a
	// second allocation. Nothing changes the one-element slice in place.
	x.id[0] = st.RequestID
	id := x.id[:]
	rec.Header()[requestid.Header] = id
	if r.Header == nil {
		r.Header = http.Header{} // a hand-made request under Middleware
	}
	r.Header[requestid.Header] = id
	var body *countingBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &x.body
		body.rc = r.Body
		r.Body = body
	}
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		// A chunked request may also have carried a Content-Length, which
		// Go's server drops (RFC 9112 §6.3). A proxy in front that framed
		// it by that Content-Length would be out of step with us for the
		// rest of the connection, so it ends with this answer.
		rec.Header().Set("Connection", "close")
	}
	if p.obs != nil {
		p.obs.RequestStarted() // RequestDone is in observe, deferred next
	}
	defer func() {
		// Runs on the ErrAbortHandler panic of a broken response copy too.
		p.observe(r, m, st, rec, body, time.Since(start))
	}()
	out := p.withCORS(rec, r, &x.cors)
	if !p.guard(out, r, m, st, start) {
		return
	}
	if p.spool != nil && m.Kind.IsCapture() {
		p.serveSpooled(out, r, st)
		return
	}
	p.dispatch(out, r, st)
}

// exchange holds the per-request values of serve.
type exchange struct {
	rec  recorder
	st   forward.State
	body countingBody
	cors corsWriter
	id   [1]string
}

// guard answers the request itself when it may not go upstream, and
// reports whether it may.
func (p *Proxy) guard(w http.ResponseWriter, r *http.Request, m route.Match, st *forward.State, now time.Time) bool {
	refuse := func(status int, code, msg string) bool {
		st.Code = code
		forward.WriteError(w, status, code, msg)
		return false
	}
	if r.Method == http.MethodConnect {
		return refuse(http.StatusMethodNotAllowed, forward.CodeMethod, "CONNECT is not supported")
	}
	if err := guard.CheckPath(r.URL.EscapedPath()); err != nil {
		if errors.Is(err, guard.ErrPathTooLong) {
			return refuse(http.StatusRequestURITooLong, codeBadPath, err.Error())
		}
		return refuse(http.StatusBadRequest, codeBadPath, err.Error())
	}
	if !guard.Exposed(p.exposure, m.Kind, m.Path) {
		return refuse(http.StatusNotFound, forward.CodeNotFound, "not a PostHog SDK endpoint")
	}
	if p.preflight(w, r, st) {
		return false
	}

	peerTrusted := false
	st.ClientIP, _ = p.ips.Resolve(r.RemoteAddr, r.Header)
	if p.forwarded {
		peerTrusted = p.peerTrusted(r.RemoteAddr)
		st.ForwardedProto, st.ForwardedHost = forwardedProtoHost(r, peerTrusted)
	}

	if lim := p.rates[m.Kind]; lim != nil && st.ClientIP.IsValid() {
		if ok, retry := lim.Allow(st.ClientIP, now); !ok {
			secs := int64((retry + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			return refuse(http.StatusTooManyRequests, codeRateLimited, "too many requests from this address; retry after "+strconv.FormatInt(secs, 10)+"s")
		}
	}

	if limit := p.limits[m.Kind]; limit >= 0 {
		if r.ContentLength > limit {
			// Refused before a byte goes upstream.
			w.Header().Set("Connection", "close")
			return refuse(http.StatusRequestEntityTooLarge, forward.CodeTooLarge,
				"request body of "+strconv.FormatInt(r.ContentLength, 10)+" bytes exceeds the limit of "+strconv.FormatInt(limit, 10)+" bytes for this endpoint")
		}
		if b, ok := r.Body.(*countingBody); ok {
			// Chunked bodies are counted as they stream.
			b.rc = http.MaxBytesReader(w, b.rc, limit)
		}
	}
	return true
}

package edgehog

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgehog/edgehog/internal/forward"
	"github.com/edgehog/edgehog/internal/requestid"
	"github.com/edgehog/edgehog/internal/route"
)

// recorder notes the status and size of the answer. It unwraps for
// http.ResponseController, so flushing and deadlines reach the server's
// own writer.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// SetStatus records a status that was never sent (the client went away).
func (r *recorder) SetStatus(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// countingBody counts the request body bytes read.
type countingBody struct {
	rc io.ReadCloser
	n  int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

// Log keys, kept in one place so that every line agrees.
const (
	logKeyMethod   = "method"
	logKeyPath     = "path"
	logKeyKind     = "kind"
	logKeyUpstream = "upstream"
	logKeyStatus   = "status"
	logKeyBytesIn  = "bytes_in"
	logKeyBytesOut = "bytes_out"
	logKeyDuration = "duration_ms"
	logKeyClient   = "client_ip"
	logKeyOutcome  = "outcome"
	logKeyError    = "error"
	logKeyRequest  = "request_id"
)

// codeCORSRejected is the outcome of a preflight refused for its origin.
const codeCORSRejected = "cors_rejected"

// requestID returns the request's ID: the X-Request-Id a trusted hop in
// front sent, or a new one. A client's own value is never believed, as it
// would let it forge log lines' correlation.
func (p *Proxy) requestID(r *http.Request) string {
	var v string
	if vs := r.Header[requestid.Header]; len(vs) > 0 {
		v = vs[0]
	}
	return p.ids.Pick(v, func() bool { return p.peerTrusted(r.RemoteAddr) })
}

// observe reports a finished request to the Observer and the access log.
func (p *Proxy) observe(r *http.Request, m route.Match, st *forward.State, rec *recorder, body *countingBody, elapsed time.Duration) {
	if !p.access && p.obs == nil {
		return
	}
	status := rec.status
	if status == 0 {
		// The handler ended without an answer: the copy of the response
		// was aborted.
		status = forward.StatusClientClosed
	}
	outcome := st.Code
	var in int64
	if body != nil {
		in = body.n
	}
	if p.obs != nil {
		if status == forward.StatusClientClosed && outcome == "" {
			outcome = forward.CodeClientGone
		}
		p.obs.RequestDone(RequestInfo{
			Kind:             m.Kind.String(),
			Upstream:         m.Upstream.String(),
			Status:           status,
			Outcome:          outcome,
			Duration:         elapsed,
			UpstreamDuration: st.UpstreamDuration,
			BytesIn:          in,
			BytesOut:         rec.bytes,
		})
	}
	if p.access {
		p.logAccess(r, m, st, status, in, rec.bytes, elapsed)
	}
}

// observeUnrouted reports a request for a host or path outside edgehog's
// routes (a wrong prefix or host in a site's SDK settings shows up here)
// to the Observer, as kind "other".
func (p *Proxy) observeUnrouted(w http.ResponseWriter) {
	if p.obs == nil {
		return
	}
	p.obs.RequestStarted()
	p.obs.RequestDone(RequestInfo{Kind: "other", Upstream: "api", Status: http.StatusNotFound, Outcome: outcomeNoRoute, BytesOut: contentLength(w)})
}

// outcomeNoRoute is the outcome of a request outside every route.
const outcomeNoRoute = "no_route"

// contentLength returns the Content-Length w's header announces, or 0.
func contentLength(w http.ResponseWriter) int64 {
	n, _ := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64)
	return n
}

func (p *Proxy) logAccess(r *http.Request, m route.Match, st *forward.State, status int, in, out int64, elapsed time.Duration) {
	level := slog.LevelInfo
	if strings.HasPrefix(st.Code, "upstream_") {
		// Upstream trouble is the operator's to look at; refusals of
		// clients (404, 413, 429, …) and clients leaving are not.
		level = slog.LevelWarn
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String(logKeyMethod, r.Method),
		slog.String(logKeyPath, maskPath(r.URL.EscapedPath())),
		slog.String(logKeyKind, m.Kind.String()),
		slog.String(logKeyUpstream, m.Upstream.String()),
		slog.Int(logKeyStatus, status),
		slog.Int64(logKeyBytesIn, in),
		slog.Int64(logKeyBytesOut, out),
		slog.Float64(logKeyDuration, float64(elapsed.Microseconds())/1000),
		slog.String(logKeyRequest, st.RequestID),
	)
	if st.ClientIP.IsValid() {
		attrs = append(attrs, slog.String(logKeyClient, st.ClientIP.String()))
	}
	if st.Code != "" {
		attrs = append(attrs, slog.String(logKeyOutcome, st.Code))
	}
	if st.Err != nil && st.Code != forward.CodeClientGone {
		attrs = append(attrs, slog.String(logKeyError, st.Err.Error()))
	}
	p.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// maskPath hides PostHog keys in a path (/array/phc_abc/config.js becomes
// /array/phc_***/config.js) so that logs never carry them.
func maskPath(p string) string {
	if !strings.Contains(p, "ph") {
		return p
	}
	segs := strings.Split(p, "/")
	changed := false
	for i, s := range segs {
		if len(s) > 4 && (strings.HasPrefix(s, "phc_") || strings.HasPrefix(s, "phx_") || strings.HasPrefix(s, "phs_")) {
			segs[i] = s[:4] + "***"
			changed = true
		}
	}
	if !changed {
		return p
	}
	return strings.Join(segs, "/")
}

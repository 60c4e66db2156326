// Package forward carries a routed request to its PostHog upstream and the
// answer back, streaming both ways, and maps upstream failures to 502/504.
package forward

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/edgehog/edgehog/internal/requestid"
	"github.com/edgehog/edgehog/internal/route"
)

// Options configure a Forwarder.
type Options struct {
	// API and Assets are the upstream origins (scheme, host, optional path).
	API, Assets *url.URL
	// Transport, when set, replaces the transport built from Conn.
	Transport http.RoundTripper
	// Conn configures edgehog's own transport.
	Conn TransportOptions
	// FlagsTimeout bounds a whole flags exchange.
	FlagsTimeout time.Duration
	// KeepCookies names the cookies forwarded; all others are removed.
	KeepCookies []string
	// Logger receives reports of upstream failures; nil discards.
	Logger *slog.Logger
}

// State is what one request carries through the Forwarder: its routing
// decision and client IP going in, its outcome coming out.
type State struct {
	Match    route.Match
	ClientIP netip.Addr
	// ForwardedProto and ForwardedHost, when set, are sent upstream as
	// X-Forwarded-Proto and X-Forwarded-Host.
	ForwardedProto, ForwardedHost string
	// RequestID, when set, is sent upstream as X-Request-Id (replacing
	// the client's), and upstream's own X-Request-Id is dropped from the
	// answer, which carries this one.
	RequestID string

	// Set by the Forwarder when edgehog answered instead of upstream.
	Code string
	Err  error
	// UpstreamDuration is set by the Forwarder when upstream answered:
	// the time from sending the request to upstream's response headers.
	UpstreamDuration time.Duration

	upstreamStart time.Time

	clientCtx context.Context
}

type stateKey struct{}

// Forwarder is the reverse proxy to the two PostHog upstreams.
type Forwarder struct {
	api, assets  *url.URL
	transport    http.RoundTripper
	rp           *httputil.ReverseProxy
	flagsTimeout time.Duration
	keepCookies  map[string]bool
	log          *slog.Logger
}

// New builds a Forwarder.
func New(o Options) (*Forwarder, error) {
	if o.API == nil || o.Assets == nil {
		return nil, fmt.Errorf("forward: both upstreams are required")
	}
	f := &Forwarder{
		api:          o.API,
		assets:       o.Assets,
		transport:    o.Transport,
		flagsTimeout: o.FlagsTimeout,
		log:          o.Logger,
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.transport == nil {
		f.transport = newRotatingTransport(o.Conn)
	}
	if len(o.KeepCookies) > 0 {
		f.keepCookies = map[string]bool{}
		for _, c := range o.KeepCookies {
			f.keepCookies[c] = true
		}
	}
	f.rp = &httputil.ReverseProxy{
		Rewrite:        f.rewrite,
		Transport:      f.transport,
		ModifyResponse: modifyResponse,
		ErrorHandler:   f.errorHandler,
		BufferPool:     bufferPool{},
		// ReverseProxy logs copy errors here; the access log reports
		// them per request instead.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	return f, nil
}

// Forward proxies r, described by st, and writes the answer to w.
func (f *Forwarder) Forward(w http.ResponseWriter, r *http.Request, st *State) {
	st.clientCtx = r.Context()
	ctx := context.WithValue(r.Context(), stateKey{}, st)
	if st.Match.Kind == route.KindFlags && f.flagsTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.flagsTimeout)
		defer cancel()
	}
	f.rp.ServeHTTP(w, r.WithContext(ctx))
}

// CloseIdleConnections closes idle upstream connections.
func (f *Forwarder) CloseIdleConnections() {
	if c, ok := f.transport.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// clientIPHeaders are request headers a client could use to claim another
// address. PostHog reads several of them after X-Forwarded-For
// (protocol.md §5.1), so none may pass from the client.
var clientIPHeaders = []string{
	"Forwarded",
	"X-Real-Ip",
	"True-Client-Ip",
	"Cf-Connecting-Ip",
	"Fly-Client-Ip",
	"Cloudfront-Viewer-Address",
	"X-Posthog-Client-Ip",
	"X-Posthog-Client-Ip-Timestamp",
	"X-Posthog-Client-Ip-Signature",
	"X-Forwarded-Host",
	"X-Forwarded-Proto",
	"X-Forwarded-Port",
}

func (f *Forwarder) rewrite(pr *httputil.ProxyRequest) {
	st := pr.In.Context().Value(stateKey{}).(*State)
	target := f.api
	if st.Match.Upstream == route.UpstreamAssets {
		target = f.assets
	}
	out := pr.Out
	out.URL.Scheme = target.Scheme
	out.URL.Host = target.Host
	escaped := st.Match.Path
	if p := target.EscapedPath(); p != "" && p != "/" {
		escaped = strings.TrimSuffix(p, "/") + escaped
	}
	if unescaped, err := url.PathUnescape(escaped); err == nil {
		out.URL.Path, out.URL.RawPath = unescaped, escaped
	} else {
		out.URL.Path, out.URL.RawPath = escaped, ""
	}
	// The query string goes up byte for byte (ReverseProxy re-encodes
	// queries it cannot parse; PostHog SDKs rely on exact values).
	out.URL.RawQuery = pr.In.URL.RawQuery
	// Host (and with it TLS SNI) is the upstream's own name: PostHog
	// answers 401 to any other Host.
	out.Host = ""

	h := out.Header
	for _, k := range clientIPHeaders {
		h.Del(k)
	}
	if st.ClientIP.IsValid() {
		ip := st.ClientIP.String()
		// Overwrite, never append: PostHog geolocates by the leftmost
		// entry, which an appending proxy leaves to the client.
		h["X-Forwarded-For"] = []string{ip}
		h["X-Real-Ip"] = []string{ip}
	}
	if st.ForwardedProto != "" {
		h["X-Forwarded-Proto"] = []string{st.ForwardedProto}
	}
	if st.ForwardedHost != "" {
		h["X-Forwarded-Host"] = []string{st.ForwardedHost}
	}
	if v := h[requestid.Header]; st.RequestID != "" && (len(v) != 1 || v[0] != st.RequestID) {
		h[requestid.Header] = []string{st.RequestID}
	}
	f.filterCookies(h)
	st.upstreamStart = time.Now()
}

func (f *Forwarder) filterCookies(h http.Header) {
	if _, ok := h["Cookie"]; !ok {
		return
	}
	if f.keepCookies == nil {
		delete(h, "Cookie")
		return
	}
	var kept []string
	for _, line := range h["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			if f.keepCookies[name] {
				kept = append(kept, part)
			}
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = []string{strings.Join(kept, "; ")}
}

// modifyResponse notes how long upstream took to answer, drops upstream's
// X-Request-Id in favour of edgehog's, and refuses upstream redirects:
// relayed, they would send the client to PostHog's own hosts (or loop);
// edgehog never redirects.
func modifyResponse(res *http.Response) error {
	// A custom Transport may leave Request nil.
	if st, ok := stateOf(res.Request); ok {
		st.UpstreamDuration = time.Since(st.upstreamStart)
		if st.RequestID != "" {
			delete(res.Header, requestid.Header)
		}
	}
	if res.StatusCode >= 300 && res.StatusCode < 400 && res.StatusCode != http.StatusNotModified {
		return fmt.Errorf("%w (%d to %q)", errUpstreamRedirect, res.StatusCode, res.Header.Get("Location"))
	}
	return nil
}

func (f *Forwarder) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	st := r.Context().Value(stateKey{}).(*State)
	status, code, msg := classify(err, st.clientCtx)
	st.Code, st.Err = code, err
	if status == StatusClientClosed {
		// Nobody is listening; record the outcome without writing.
		if sw, ok := w.(interface{ SetStatus(int) }); ok {
			sw.SetStatus(status)
		}
		return
	}
	WriteError(w, status, code, msg)
}

func stateOf(r *http.Request) (*State, bool) {
	if r == nil {
		return nil, false
	}
	st, ok := r.Context().Value(stateKey{}).(*State)
	return st, ok
}

// bufferPool recycles the 32 KiB copy buffers ReverseProxy uses per request.
type bufferPool struct{}

var pool = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

func (bufferPool) Get() []byte  { return *(pool.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { pool.Put(&b) }

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

	// h1 carries requests to the upstreams in h1API and h1Assets, when
	// set: those that edgehog's own transport speaks HTTP/1.1 to.
	h1              *h1Pool
	h1API, h1Assets *h1Upstream
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
		f.h1 = newH1Pool(o.Conn)
		f.h1API = f.h1Upstream(o.API, o.Conn)
		f.h1Assets = f.h1Upstream(o.Assets, o.Conn)
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

// h1Upstream returns where u is when edgehog's own client speaks HTTP/1.1
// to it: http:// always, https:// when HTTP/2 is off. Otherwise nil.
func (f *Forwarder) h1Upstream(u *url.URL, o TransportOptions) *h1Upstream {
	if u.Scheme == "http" || (u.Scheme == "https" && o.DisableHTTP2) {
		return newH1Upstream(u.Scheme, u.Host)
	}
	return nil
}

// Forward proxies r, described by st, and writes the answer to w.
func (f *Forwarder) Forward(w http.ResponseWriter, r *http.Request, st *State) {
	up := f.h1API
	if st.Match.Upstream == route.UpstreamAssets {
		up = f.h1Assets
	}
	// Protocol upgrades (which PostHog does not use) stay with
	// ReverseProxy, which knows how to splice them.
	if up != nil && r.Header["Upgrade"] == nil {
		f.forwardH1(w, r, st, up, f.target(st))
		return
	}
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
	if f.h1 != nil {
		f.h1.closeIdle()
	}
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
	out := pr.Out
	u := upstreamURL(f.target(st), st)
	out.URL.Scheme, out.URL.Host = u.Scheme, u.Host
	out.URL.Path, out.URL.RawPath = u.Path, u.RawPath
	// The query string goes up byte for byte (ReverseProxy re-encodes
	// queries it cannot parse; PostHog SDKs rely on exact values).
	out.URL.RawQuery = pr.In.URL.RawQuery
	// Host (and with it TLS SNI) is the upstream's own name: PostHog
	// answers 401 to any other Host.
	out.Host = ""

	h := out.Header
	for _, k := range clientIPHeaders {
		delete(h, k)
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
	if lines, ok := h["Cookie"]; ok {
		if kept := f.keptCookies(lines); kept != "" {
			h["Cookie"] = []string{kept}
		} else {
			delete(h, "Cookie")
		}
	}
	st.upstreamStart = time.Now()
}

// target is the upstream origin of a routed request.
func (f *Forwarder) target(st *State) *url.URL {
	if st.Match.Upstream == route.UpstreamAssets {
		return f.assets
	}
	return f.api
}

// upstreamURL is the upstream URL of a routed request, without its query:
// the origin's own path, if any, followed by the canonical PostHog path
// kept as the client escaped it.
func upstreamURL(target *url.URL, st *State) url.URL {
	u := url.URL{Scheme: target.Scheme, Host: target.Host}
	escaped := st.Match.Path
	if p := target.EscapedPath(); p != "" && p != "/" {
		escaped = strings.TrimSuffix(p, "/") + escaped
	}
	if unescaped, err := url.PathUnescape(escaped); err == nil {
		u.Path, u.RawPath = unescaped, escaped
	} else {
		u.Path = escaped
	}
	return u
}

// keptCookies is the Cookie field that goes upstream: only the allow-listed
// cookies of the client's Cookie lines, or "" for none.
func (f *Forwarder) keptCookies(lines []string) string {
	if f.keepCookies == nil {
		return ""
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			if f.keepCookies[name] {
				kept = append(kept, part)
			}
		}
	}
	return strings.Join(kept, "; ")
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
	f.fail(w, r.Context().Value(stateKey{}).(*State), err)
}

// fail answers for an exchange that went wrong before upstream's answer
// could be relayed, and records the outcome in st.
func (f *Forwarder) fail(w http.ResponseWriter, st *State, err error) {
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

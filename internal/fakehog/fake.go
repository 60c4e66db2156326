package fakehog

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Upstream names recorded in Request.Upstream.
const (
	// UpstreamAPI is the API origin (us.i.posthog.com): capture, flags,
	// definitions and the Django API.
	UpstreamAPI = "api"
	// UpstreamAssets is the assets origin (us-assets.i.posthog.com):
	// /static and /array.
	UpstreamAssets = "assets"
)

// Defaults applied by Start.
const (
	defaultAddr          = "127.0.0.1:0"
	defaultMaxRecordBody = 1 << 20
	// decodeFactor bounds decoded (decompressed) payloads at this many times
	// MaxRecordBody, so a small gzip bomb cannot make the fake hold gigabytes.
	decodeFactor = 16
)

// Options configures a Fake. The zero value is usable.
type Options struct {
	// APIAddr and AssetsAddr are the listen addresses of the API and the
	// assets origin. "" means "127.0.0.1:0", a free loopback port.
	APIAddr, AssetsAddr string

	// StaticDir, if set, is the directory /static/* is served from, for
	// example posthog-js's dist/. A file missing there answers 404. Files are
	// read once and cached. If empty, deterministic generated JavaScript
	// bundles of realistic sizes are served instead.
	StaticDir string

	// StaticVersion, if set, also serves every /static file under
	// /static/<StaticVersion>/, as PostHog's CDN serves each posthog-js
	// release: posthog-js asks for /static/<its version>/<bundle>.js first
	// and only falls back to /static/<bundle>.js?v=… after a load error
	// (protocol.md §2.1). Empty means only the unversioned paths exist.
	StaticVersion string

	// RemoteConfig is merged over the client config the fake serves in
	// /array/<token>/config, config.js and array.js and in /decide and
	// /flags?config=true: a key here replaces the default of the same name
	// (for example "sessionRecording" or "surveys", off by default, which
	// make posthog-js load its recorder and surveys bundles). A nil value
	// removes the key. Nil means the defaults alone.
	RemoteConfig map[string]any

	// MaxRecordBody is how many raw body bytes are kept per recorded request.
	// Longer bodies are still read to the end and their length and SHA-256
	// recorded, but they are neither kept nor decoded. Decoded payloads are
	// capped at 16 times this value (capture answers 413 beyond it). Zero
	// means 1 MiB.
	MaxRecordBody int64

	// Flags maps flag keys to values, each a bool or a non-empty variant
	// string, answered by /flags and /decide. Nil means
	// {"beta-feature": true}.
	Flags map[string]any

	// FlagPayloads maps flag keys from Flags to a payload, any JSON value.
	// As PostHog does, the fake sends each payload JSON-encoded as a string:
	// in /flags v2 metadata.payload, in the legacy featureFlagPayloads and,
	// under the flag's variant or "true", in the generated definitions'
	// filters.payloads. Nil means no flag has a payload.
	FlagPayloads map[string]json.RawMessage

	// Tokens, if set, are the only project tokens /flags and /decide
	// accept: any other token (the body's api_key or token) gets PostHog's
	// 401 for an invalid project API key, as a US token sent to the EU
	// region does. Nil accepts every token.
	Tokens []string

	// Definitions is the JSON body of /flags/definitions and
	// /api/feature_flag/local_evaluation. Nil means a small valid document
	// generated from Flags (every flag active; true and variants rolled out
	// to 100 %, false to 0 %).
	Definitions []byte

	// Quiet discards all log output. Otherwise server errors and one line
	// per request go to Logger.
	Quiet bool

	// Bench turns off recording and decoding: bodies are drained and
	// answered, nothing else. Use it when the fake stands in for PostHog as
	// the "direct upstream" of a benchmark. Requests and Events stay empty.
	Bench bool

	// Logger receives the fake's logs. Nil means text on stderr.
	Logger *slog.Logger

	// TLS, if set, serves both origins over TLS with this config, which
	// must hold a certificate (Certificates, GetCertificate or
	// GetConfigForClient); APIURL and AssetsURL are then https:// URLs and
	// every answer carries HeaderProto. Empty NextProtos means HTTP/2 and
	// HTTP/1.1 are offered by ALPN, as PostHog's load balancers do. The
	// config is cloned. Nil means plain HTTP.
	TLS *tls.Config
}

// Fake is a running fake PostHog: an API origin and an assets origin, each
// a net/http server on its own TCP listener. All methods are safe for
// concurrent use.
type Fake struct {
	opts        Options // defaults filled in
	log         *slog.Logger
	flags       []flagSpec
	definitions []byte
	defsETag    string
	static      *staticStore
	faults      faultTable
	rec         recorder
	bufs        sync.Pool // *[]byte scratch for readBody

	apiURL, assetsURL string
	servers           []*http.Server

	// lifeMu guards closed so that no handler joins inflight after Close
	// has started waiting on it.
	lifeMu    sync.RWMutex
	closed    bool
	inflight  sync.WaitGroup // running handlers
	active    atomic.Int64   // running handlers, observable (WaitGroup is not)
	serving   sync.WaitGroup // Serve goroutines
	done      chan struct{}  // closed by Close; ends fault delays
	closeOnce sync.Once
	closeErr  error
}

// Start validates opts, listens on both addresses and serves until Close.
func Start(opts Options) (*Fake, error) {
	f, err := newFake(opts)
	if err != nil {
		return nil, err
	}
	apiLn, err := net.Listen("tcp", f.opts.APIAddr)
	if err != nil {
		f.static.close()
		return nil, fmt.Errorf("listening for api: %w", err)
	}
	assetsLn, err := net.Listen("tcp", f.opts.AssetsAddr)
	if err != nil {
		apiLn.Close()
		f.static.close()
		return nil, fmt.Errorf("listening for assets: %w", err)
	}
	scheme := "http"
	if f.opts.TLS != nil {
		scheme = "https"
		apiLn = tls.NewListener(apiLn, f.opts.TLS)
		assetsLn = tls.NewListener(assetsLn, f.opts.TLS)
	}
	f.apiURL = listenURL(scheme, apiLn.Addr())
	f.assetsURL = listenURL(scheme, assetsLn.Addr())
	for _, l := range []struct {
		upstream string
		ln       net.Listener
	}{{UpstreamAPI, apiLn}, {UpstreamAssets, assetsLn}} {
		srv := f.newServer(l.upstream)
		f.servers = append(f.servers, srv)
		f.serving.Add(1)
		go func() {
			defer f.serving.Done()
			// Serve returns http.ErrServerClosed after Close; any other
			// error also means the listener is gone, which Close handles.
			_ = srv.Serve(l.ln)
		}()
	}
	return f, nil
}

// newFake fills in defaults and builds everything but the listeners.
func newFake(opts Options) (*Fake, error) {
	if opts.APIAddr == "" {
		opts.APIAddr = defaultAddr
	}
	if opts.AssetsAddr == "" {
		opts.AssetsAddr = defaultAddr
	}
	if opts.MaxRecordBody < 0 {
		return nil, fmt.Errorf("max record body: must not be negative, got %d", opts.MaxRecordBody)
	}
	if opts.MaxRecordBody == 0 {
		opts.MaxRecordBody = defaultMaxRecordBody
	}
	if opts.Flags == nil {
		opts.Flags = map[string]any{"beta-feature": true}
	}
	flags, err := parseFlags(opts.Flags)
	if err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	if err := addPayloads(flags, opts.FlagPayloads); err != nil {
		return nil, fmt.Errorf("flag payloads: %w", err)
	}
	defs := opts.Definitions
	if defs == nil {
		defs = definitionsFor(flags)
	} else if !json.Valid(defs) {
		return nil, errors.New("definitions: not valid JSON")
	}
	log := opts.Logger
	switch {
	case opts.Quiet:
		log = slog.New(slog.DiscardHandler)
	case log == nil:
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if strings.Contains(opts.StaticVersion, "/") || opts.StaticVersion == "." || opts.StaticVersion == ".." {
		return nil, fmt.Errorf("static version: must be one path segment, got %q", opts.StaticVersion)
	}
	if _, err := json.Marshal(opts.RemoteConfig); err != nil {
		return nil, fmt.Errorf("remote config: %w", err)
	}
	if opts.TLS != nil {
		if opts.TLS, err = tlsConfig(opts.TLS); err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
	}
	static, err := newStaticStore(opts.StaticDir)
	if err != nil {
		return nil, fmt.Errorf("static dir: %w", err)
	}
	return &Fake{
		opts:        opts,
		log:         log.With(logKeyComponent, "fakehog"),
		flags:       flags,
		definitions: defs,
		defsETag:    etagOf(defs),
		static:      static,
		rec:         newRecorder(),
		bufs: sync.Pool{New: func() any {
			b := make([]byte, 32<<10)
			return &b
		}},
		done: make(chan struct{}),
	}, nil
}

func (f *Fake) newServer(upstream string) *http.Server {
	h := f.handler(upstream)
	if f.opts.TLS != nil {
		// Serve speaks HTTP/2 on its own to TLS connections that
		// negotiated "h2" by ALPN.
		h = withProto(h)
	}
	return &http.Server{
		// No ServeMux: it would clean paths and redirect ("/e" -> "/e/"),
		// which PostHog never does (protocol.md §1).
		Handler: h,
		// Headers must arrive promptly even in tests of slow clients.
		ReadHeaderTimeout: 10 * time.Second,
		// Zero on purpose: slow and huge uploads are what tests exercise,
		// and the handler reads every body to the end.
		ReadTimeout: 0,
		// Zero on purpose: Fault.Delay decides how long an answer takes,
		// including delays beyond client timeouts (60 s for posthog-js).
		WriteTimeout:   0,
		IdleTimeout:    90 * time.Second,
		MaxHeaderBytes: 1 << 20,
		ErrorLog:       slog.NewLogLogger(f.log.With(logKeyUpstream, upstream).Handler(), slog.LevelWarn),
	}
}

// listenURL turns a listener address into a URL a client can dial: an
// unspecified host (":8080", "[::]:8080") becomes 127.0.0.1.
func listenURL(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// APIURL returns the base URL of the API origin, "http://127.0.0.1:port"
// ("https://…" with Options.TLS).
func (f *Fake) APIURL() string { return f.apiURL }

// AssetsURL returns the base URL of the assets origin.
func (f *Fake) AssetsURL() string { return f.assetsURL }

// Close stops both servers at once (in-flight requests are cut, fault
// delays end) and waits for every handler to return. It is safe to call
// more than once.
func (f *Fake) Close() error {
	f.closeOnce.Do(func() {
		f.lifeMu.Lock()
		f.closed = true
		f.lifeMu.Unlock()
		close(f.done)
		var errs []error
		for _, srv := range f.servers {
			errs = append(errs, srv.Close())
		}
		f.serving.Wait()
		f.inflight.Wait()
		errs = append(errs, f.static.close())
		f.closeErr = errors.Join(errs...)
	})
	return f.closeErr
}

// enter registers a running handler; false once Close has begun.
func (f *Fake) enter() bool {
	f.lifeMu.RLock()
	defer f.lifeMu.RUnlock()
	if f.closed {
		return false
	}
	f.inflight.Add(1)
	f.active.Add(1)
	return true
}

// leave ends what enter began.
func (f *Fake) leave() {
	f.active.Add(-1)
	f.inflight.Done()
}

// inflightCount is the number of handlers running now.
func (f *Fake) inflightCount() int64 { return f.active.Load() }

// sleep waits d; false if the request or the fake ended first.
func (f *Fake) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-f.done:
		return false
	}
}

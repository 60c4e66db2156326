package edgehog

import (
	"log/slog"

	"github.com/edgehog/edgehog/internal/guard"
	"net/http"
	"time"
)

// Config configures a Proxy. The zero value serves PostHog Cloud US at the
// root path with PostHog's own body limits raised to what PostHog asks
// proxies to admit.
type Config struct {
	// Region selects PostHog Cloud: "us" (the default) or "eu". It is
	// ignored when API is set.
	Region string

	// API is the upstream for every path except /static/* and /array/*,
	// such as "https://eu.i.posthog.com" or a self-hosted PostHog's URL.
	// Plain http:// is allowed (self-hosting, tests). A path in the URL is
	// prepended to every forwarded path.
	API string

	// Assets is the upstream for /static/* and /array/*. When API is set
	// and Assets is empty, Assets is API (a self-hosted PostHog is one
	// origin for both).
	Assets string

	// Prefix is the mount prefix stripped before routing, such as "/ph".
	// Empty mounts edgehog at the root. Avoid names blockers know
	// (/analytics, /tracking, /posthog).
	Prefix string

	// Hosts, when set, restricts the proxy to these host names, each with
	// its own prefix (an empty Host.Prefix means Prefix). Requests for
	// other hosts get 404 (or go to the next handler under Middleware).
	Hosts []Host

	// Aliases map custom paths to canonical PostHog paths, so a site can
	// rename the paths blockers match. Canonical paths keep working.
	Aliases []Alias

	// KeepCookies names the cookies forwarded upstream. By default no
	// cookie leaves: a first-party proxy receives the site's own session
	// cookies and PostHog needs none of them.
	KeepCookies []string

	// Limits are the request body limits per endpoint kind.
	Limits Limits

	// ClientIP says how the client's address is found.
	ClientIP ClientIPOptions

	// Exposure is "public" (the default): only the endpoints PostHog's
	// SDKs call are forwarded, everything else gets 404 without reaching
	// PostHog; or "all": every path, for a self-hosted PostHog's whole app
	// behind edgehog.
	Exposure string

	// ForwardedHeaders controls X-Forwarded-Proto and X-Forwarded-Host to
	// upstream, set from what edgehog saw (TLS or not, the Host), so that
	// a self-hosted PostHog with IS_BEHIND_PROXY builds the right URLs and
	// does not redirect-loop. "auto" (the default) sends them unless the
	// API upstream is PostHog Cloud; "always"; "never".
	ForwardedHeaders string

	// RateLimit limits requests per client address; off by default.
	RateLimit RateLimitOptions

	// Upstream holds the upstream connection settings.
	Upstream UpstreamOptions

	// Cache configures the in-memory cache of the SDK's bundles
	// (/static/*) and remote config (/array/*); on by default.
	Cache CacheOptions

	// CORS configures the answers to cross-origin browser requests; by
	// default any origin is mirrored, without credentials.
	CORS CORSOptions

	// Spool configures store-and-forward of capture requests (the spool
	// is off by default: capture requests pass through).
	Spool SpoolOptions

	// AccessLog enables one log line per request (at Info level).
	AccessLog bool

	// Logger receives the access log and error reports. Nil discards.
	Logger *slog.Logger

	// Observer, when set, is told of every routed request and its outcome
	// (the edgehog command passes its Prometheus metrics). Nil observes
	// nothing.
	Observer Observer

	// Transport, when set, is used for every upstream request instead of
	// edgehog's own (tests and benchmarks use it); the Upstream
	// connection settings then do not apply.
	Transport http.RoundTripper
}

// Host is one served host name. Name is matched case-insensitively without
// the port; "*.example.com" matches every subdomain of example.com.
type Host struct {
	Name   string
	Prefix string
}

// Alias maps the custom path From to the canonical PostHog path To. An
// exact alias ("/k/" → "/e/") matches both slash forms and keeps the
// request's form; a prefix alias ends in "*" on both sides
// ("/cdn/*" → "/static/*") and keeps the rest of the path.
type Alias struct {
	From string
	To   string
}

// ClientIPOptions say how the client's address is found. By default the
// socket peer is the client and no header is believed.
type ClientIPOptions struct {
	// TrustedProxies are the networks (CIDR, or single addresses) of the
	// load balancers or CDNs in front of edgehog. Only a peer inside them
	// is believed about the client's address.
	TrustedProxies []string
	// TrustAllProxies believes every peer: the leftmost X-Forwarded-For
	// entry wins, so any client can claim any address. edgehog check warns
	// about it.
	TrustAllProxies bool
	// Header is the single header a trusted proxy puts the client's
	// address in: CF-Connecting-IP, True-Client-IP, Fly-Client-IP,
	// X-Real-IP or CloudFront-Viewer-Address. Empty means X-Forwarded-For,
	// read from the right, skipping trusted addresses.
	Header string
	// Truncate sends the client's /24 (IPv4) or /48 (IPv6) network instead
	// of its full address.
	Truncate bool
}

// RateLimitOptions limit requests per client address and endpoint kind
// with token buckets. Requests over the limit get 429 with Retry-After.
type RateLimitOptions struct {
	// Kinds maps an endpoint kind (capture, batch, replay, ai, capture_v1,
	// otel, flags, definitions, assets, config, api, other) to its limit.
	// A kind that is not listed is not limited.
	Kinds map[string]Rate
	// MaxClients bounds the buckets held per kind; default 100 000.
	MaxClients int
}

// Rate is a token bucket: Burst requests at once, refilled at PerSecond
// requests per second. Burst defaults to PerSecond rounded up.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Limits are request body limits in bytes. Zero means the default; a
// negative value means no limit. Defaults are never below PostHog's own
// limits (2 MiB events, 20 MiB /batch, 25 MiB recordings) and follow
// PostHog's advice to proxies to admit 64 MiB bodies where large payloads
// travel.
type Limits struct {
	Events     int64 // /e, /i/v0/e, /capture, /track, /engage; default 20 MiB
	Batch      int64 // /batch and capture v1; default 64 MiB
	Recordings int64 // /s (session replay); default 64 MiB
	AI         int64 // /i/v0/ai/*; default 64 MiB
	Flags      int64 // /flags, /decide, definitions; default 8 MiB
	Other      int64 // everything else; default 64 MiB
}

// UpstreamOptions are the settings of the connections to PostHog. Zero
// values mean the defaults given on each field.
type UpstreamOptions struct {
	// DialTimeout bounds a TCP connect; default 5s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds a TLS handshake; default 5s.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request is fully sent (upload time is not counted); default 30s.
	ResponseHeaderTimeout time.Duration
	// FlagsTimeout bounds a whole /flags or /decide exchange. It is below
	// the SDKs' 3s flags timeout so that their one retry on 504 still
	// fits; default 2.5s.
	FlagsTimeout time.Duration
	// IdleConnTimeout closes idle upstream connections; default 90s.
	IdleConnTimeout time.Duration
	// ConnMaxAge retires upstream connections after this age, so that
	// changed DNS records are picked up even by busy, never-idle
	// connections; default 5m.
	ConnMaxAge time.Duration
	// MaxIdleConnsPerHost is the keep-alive pool size per upstream;
	// default 256.
	MaxIdleConnsPerHost int
	// DisableHTTP2 keeps https:// upstreams on HTTP/1.1 even when they
	// offer HTTP/2 (YAML: http2: false). HTTP/1.1 upstreams, https:// or
	// plain http://, are carried by edgehog's own client, which costs
	// less CPU per request than net/http's HTTP/2 one; HTTP/2 multiplexes
	// many requests over a few connections. Default false: HTTP/2 when
	// offered.
	DisableHTTP2 bool
	// CAFile names a PEM file of certificate authorities that upstream
	// certificates are verified against instead of the system's (a
	// self-hosted PostHog with a private CA). Empty means the system pool.
	CAFile string
}

// CacheOptions configure the cache of /static/* and /array/* answers
// (docs/caching.md). Zero values mean the defaults given on each field.
type CacheOptions struct {
	// Disabled turns the cache off: every request goes upstream.
	Disabled bool
	// MaxBytes bounds the memory of stored answers; default 64 MiB. One
	// answer may take at most an eighth of it; larger ones are streamed.
	MaxBytes int64
	// StaleIfError is how long past its freshness a stored answer is
	// still served when upstream fails or answers 500/502/503/504 (RFC
	// 5861); default 24h, negative means never.
	StaleIfError time.Duration
	// StaleWhileRevalidate is how long past its freshness a stored bundle
	// is served while a background refresh runs, when upstream's
	// Cache-Control names none; default 60s, negative means none. Remote
	// config never gets it: it is kept no longer than upstream says.
	StaleWhileRevalidate time.Duration
}

// CORSOptions configure edgehog's CORS answers. edgehog answers
// preflights itself and replaces upstream's Access-Control-* fields.
type CORSOptions struct {
	// Disabled leaves CORS to upstream: preflights are forwarded and
	// upstream's Access-Control-* fields pass through.
	Disabled bool
	// Origins are the origins allowed to read answers: exact
	// ("https://www.example.com"), wildcard subdomains
	// ("https://*.example.com"), or "*" to mirror any origin. Empty
	// means "*".
	Origins []string
	// Credentials sends Access-Control-Allow-Credentials: true. posthog-js
	// ≥ 1.384.3 sends no credentials; older versions' XHR transport does,
	// cross-origin. Off by default.
	Credentials bool
	// MaxAge is how long browsers may cache a preflight; default 10m,
	// negative sends none.
	MaxAge time.Duration
}

const mib = 1 << 20

// DefaultConfig returns the configuration the zero Config stands for, with
// every default spelled out: PostHog Cloud US, public exposure, automatic
// forwarded headers, and the default limits and upstream settings.
func DefaultConfig() Config {
	return Config{
		Region:           "us",
		Exposure:         "public",
		ForwardedHeaders: "auto",
		RateLimit:        RateLimitOptions{MaxClients: guard.DefaultMaxClients},
		Spool:            SpoolOptions{Mode: SpoolOff},
		Limits:           Limits{}.withDefaults(),
		Upstream:         UpstreamOptions{}.withDefaults(),
		Cache:            CacheOptions{}.withDefaults(),
		CORS:             CORSOptions{}.withDefaults(),
	}
}

func (c CacheOptions) withDefaults() CacheOptions {
	if c.MaxBytes == 0 {
		c.MaxBytes = 64 * mib
	}
	if c.StaleIfError == 0 {
		c.StaleIfError = 24 * time.Hour
	}
	if c.StaleWhileRevalidate == 0 {
		c.StaleWhileRevalidate = time.Minute
	}
	return c
}

func (c CORSOptions) withDefaults() CORSOptions {
	if len(c.Origins) == 0 {
		c.Origins = []string{"*"}
	}
	if c.MaxAge == 0 {
		c.MaxAge = guard.DefaultCORSMaxAge
	}
	return c
}

// Upstreams returns the effective API and assets origins: API and Assets
// when set (Assets defaults to API), else the Region's origins.
func (c Config) Upstreams() (api, assets string, err error) {
	a, s, err := upstreams(c)
	if err != nil {
		return "", "", err
	}
	return a.String(), s.String(), nil
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.Events, 20*mib)
	def(&l.Batch, 64*mib)
	def(&l.Recordings, 64*mib)
	def(&l.AI, 64*mib)
	def(&l.Flags, 8*mib)
	def(&l.Other, 64*mib)
	return l
}

func (u UpstreamOptions) withDefaults() UpstreamOptions {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&u.DialTimeout, 5*time.Second)
	def(&u.TLSHandshakeTimeout, 5*time.Second)
	def(&u.ResponseHeaderTimeout, 30*time.Second)
	def(&u.FlagsTimeout, 2500*time.Millisecond)
	def(&u.IdleConnTimeout, 90*time.Second)
	def(&u.ConnMaxAge, 5*time.Minute)
	if u.MaxIdleConnsPerHost == 0 {
		u.MaxIdleConnsPerHost = 256
	}
	return u
}

// RegionUpstreams returns the API and assets origins of a PostHog Cloud
// region, "us" or "eu".
func RegionUpstreams(region string) (api, assets string, ok bool) {
	switch region {
	case "us":
		return "https://us.i.posthog.com", "https://us-assets.i.posthog.com", true
	case "eu":
		return "https://eu.i.posthog.com", "https://eu-assets.i.posthog.com", true
	}
	return "", "", false
}

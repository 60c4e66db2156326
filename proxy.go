package edgehog

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edgehog/edgehog/internal/cache"
	"github.com/edgehog/edgehog/internal/clientip"
	"github.com/edgehog/edgehog/internal/forward"
	"github.com/edgehog/edgehog/internal/guard"
	"github.com/edgehog/edgehog/internal/requestid"
	"github.com/edgehog/edgehog/internal/route"
)

// ErrConfig is wrapped by every configuration error New returns.
var ErrConfig = errors.New("invalid configuration")

// Proxy is the edgehog engine: an http.Handler that routes, guards and
// forwards PostHog traffic. Build it with New; it is safe for concurrent use.
type Proxy struct {
	cfg       Config
	table     *route.Table
	fwd       *forward.Forwarder
	limits    [16]int64 // by route.Kind; < 0 means no limit
	rates     [16]*guard.Limiter
	ips       *clientip.Resolver
	exposure  guard.Exposure
	forwarded bool // send X-Forwarded-Proto and -Host
	log       *slog.Logger
	access    bool
	cache     *cache.Cache         // nil when disabled
	cors      *guard.CORS          // nil when disabled
	obs       Observer             // nil: none
	ids       *requestid.Generator // X-Request-Id values
	spool     *spooler             // nil when the spool is off
	// keepCache and keepSpool are set when NewFrom handed the cache or
	// the spool to a successor: Close then leaves them open.
	keepCache, keepSpool atomic.Bool

	api, assets *url.URL
}

// New validates cfg and builds a Proxy. Configuration errors wrap ErrConfig
// and name the field at fault.
func New(cfg Config) (*Proxy, error) {
	p := &Proxy{cfg: cfg, log: cfg.Logger, access: cfg.AccessLog, obs: cfg.Observer, ids: requestid.NewGenerator()}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if p.api, p.assets, err = upstreams(cfg); err != nil {
		return nil, err
	}
	hosts := make([]route.Host, len(cfg.Hosts))
	for i, h := range cfg.Hosts {
		hosts[i] = route.Host{Name: h.Name, Prefix: h.Prefix}
	}
	aliases := make([]route.Alias, len(cfg.Aliases))
	for i, a := range cfg.Aliases {
		aliases[i] = route.Alias{From: a.From, To: a.To}
	}
	if p.table, err = route.New(route.Options{Prefix: cfg.Prefix, Hosts: hosts, Aliases: aliases}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := p.setLimits(cfg.Limits); err != nil {
		return nil, err
	}
	if err := p.setClientIP(cfg.ClientIP); err != nil {
		return nil, err
	}
	if p.exposure, err = guard.ParseExposure(cfg.Exposure); err != nil {
		return nil, fmt.Errorf("%w: exposure: %w", ErrConfig, err)
	}
	switch cfg.ForwardedHeaders {
	case "", "auto":
		p.forwarded = !isPostHogCloud(p.api.Hostname())
	case "always":
		p.forwarded = true
	case "never":
	default:
		return nil, fmt.Errorf("%w: forwarded_headers: %q is not auto, always or never", ErrConfig, cfg.ForwardedHeaders)
	}
	if err := p.setRates(cfg.RateLimit); err != nil {
		return nil, err
	}
	for i, c := range cfg.KeepCookies {
		if c == "" || strings.ContainsAny(c, "=; \t,") {
			return nil, fmt.Errorf("%w: cookies.keep[%d]: %q is not a cookie name", ErrConfig, i, c)
		}
	}
	if err := p.setCORS(cfg.CORS); err != nil {
		return nil, err
	}
	up := cfg.Upstream.withDefaults()
	var roots *x509.CertPool
	if up.CAFile != "" {
		pem, err := os.ReadFile(up.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: upstream.ca_file: %w", ErrConfig, err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: upstream.ca_file: %s holds no PEM certificate", ErrConfig, up.CAFile)
		}
	}
	p.fwd, err = forward.New(forward.Options{
		API:       p.api,
		Assets:    p.assets,
		Transport: cfg.Transport,
		Conn: forward.TransportOptions{
			DialTimeout:           up.DialTimeout,
			TLSHandshakeTimeout:   up.TLSHandshakeTimeout,
			ResponseHeaderTimeout: up.ResponseHeaderTimeout,
			IdleConnTimeout:       up.IdleConnTimeout,
			ConnMaxAge:            up.ConnMaxAge,
			MaxIdleConnsPerHost:   up.MaxIdleConnsPerHost,
			DisableHTTP2:          up.DisableHTTP2,
			RootCAs:               roots,
		},
		FlagsTimeout: up.FlagsTimeout,
		KeepCookies:  cfg.KeepCookies,
		Logger:       p.log,
	})
	if err != nil {
		return nil, err
	}
	if err := p.setCache(cfg.Cache); err != nil {
		return nil, err
	}
	// Last: it starts the delivery loop, which Close stops.
	if err := p.setSpool(cfg.Spool, cfg.Limits, up, roots); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func upstreams(cfg Config) (api, assets *url.URL, err error) {
	apiS, assetsS := cfg.API, cfg.Assets
	if apiS == "" {
		region := cfg.Region
		if region == "" {
			region = "us"
		}
		var ok bool
		apiS, assetsS, ok = RegionUpstreams(region)
		if !ok {
			return nil, nil, fmt.Errorf("%w: region: %q is not a PostHog Cloud region (us or eu)", ErrConfig, cfg.Region)
		}
		if cfg.Assets != "" {
			assetsS = cfg.Assets
		}
	} else if assetsS == "" {
		assetsS = apiS
	}
	if api, err = parseUpstream("upstream.api", apiS); err != nil {
		return nil, nil, err
	}
	if assets, err = parseUpstream("upstream.assets", assetsS); err != nil {
		return nil, nil, err
	}
	return api, assets, nil
}

func parseUpstream(field, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %q is not a URL", ErrConfig, field, s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: %s: %q must be an http:// or https:// URL", ErrConfig, field, s)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %s: %q must be scheme://host[:port][/path] and nothing else", ErrConfig, field, s)
	}
	return u, nil
}

func (p *Proxy) setLimits(l Limits) error {
	l = l.withDefaults()
	for _, k := range route.Kinds() {
		var v int64
		switch k {
		case route.KindCapture:
			v = l.Events
		case route.KindBatch, route.KindCaptureV1:
			v = l.Batch
		case route.KindReplay:
			v = l.Recordings
		case route.KindAI:
			v = l.AI
		case route.KindFlags, route.KindDefinitions:
			v = l.Flags
		default:
			v = l.Other
		}
		p.limits[k] = v
	}
	return nil
}

// ServeHTTP implements http.Handler. Requests outside the configured hosts
// and prefix get a JSON 404.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m, ok := p.table.Match(r.Host, r.URL.EscapedPath())
	if !ok {
		forward.WriteError(w, http.StatusNotFound, forward.CodeNotFound, "no edgehog route for this host and path")
		p.observeUnrouted(w)
		return
	}
	p.serve(w, r, m)
}

// Middleware returns a handler that serves edgehog's hosts and prefix and
// hands every other request to next, the way a proxy middleware mounts
// inside an existing site's server.
func (p *Proxy) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, ok := p.table.Match(r.Host, r.URL.EscapedPath())
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		p.serve(w, r, m)
	})
}

// Close stops the cache's background refreshes and releases idle upstream
// connections.
func (p *Proxy) Close() error {
	if !p.keepSpool.Load() {
		p.closeSpool()
	}
	if p.cache != nil && !p.keepCache.Load() {
		p.cache.Close()
	}
	p.fwd.CloseIdleConnections()
	return nil
}

func (p *Proxy) setClientIP(o ClientIPOptions) error {
	ro := clientip.Options{TrustAll: o.TrustAllProxies, Header: o.Header, Truncate: o.Truncate}
	for i, s := range o.TrustedProxies {
		pfx, err := clientip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("%w: client_ip.trusted_proxies[%d]: %w", ErrConfig, i, err)
		}
		ro.TrustedProxies = append(ro.TrustedProxies, pfx)
	}
	r, err := clientip.New(ro)
	if err != nil {
		return fmt.Errorf("%w: client_ip.%w", ErrConfig, err)
	}
	p.ips = r
	return nil
}

func (p *Proxy) setRates(o RateLimitOptions) error {
	now := time.Now()
	for name, r := range o.Kinds {
		k, ok := route.ParseKind(name)
		if !ok {
			return fmt.Errorf("%w: rate_limit.kinds.%s: not an endpoint kind (one of %s)", ErrConfig, name, kindList())
		}
		if r.PerSecond <= 0 || r.Burst < 0 {
			return fmt.Errorf("%w: rate_limit.kinds.%s: rate must be above 0 and burst not negative", ErrConfig, name)
		}
		p.rates[k] = guard.NewLimiter(guard.LimiterOptions{
			Rate:       guard.Rate{PerSecond: r.PerSecond, Burst: r.Burst},
			MaxClients: o.MaxClients,
		}, now)
	}
	return nil
}

func kindList() string {
	names := make([]string, 0, 16)
	for _, k := range route.Kinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

// isPostHogCloud reports whether host is one of PostHog Cloud's own, which
// get no X-Forwarded-Proto or -Host unless asked for.
func isPostHogCloud(host string) bool {
	return host == "posthog.com" || strings.HasSuffix(host, ".posthog.com")
}

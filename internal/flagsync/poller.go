package flagsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgehog/edgehog/internal/flags"
)

// Paths of the definitions endpoint.
const (
	// DefaultPath is the endpoint posthog-node uses since 5.29.4.
	DefaultPath = "/flags/definitions"
	// LegacyPath is the older endpoint, still served by PostHog (and by
	// self-hosted versions that predate /flags/definitions).
	LegacyPath = "/api/feature_flag/local_evaluation"
)

// Defaults and limits.
const (
	// DefaultInterval is posthog-node's featureFlagsPollingInterval default.
	DefaultInterval = 30 * time.Second
	// MinInterval is posthog-node's minimum polling interval.
	MinInterval = 100 * time.Millisecond
	// MaxBackoff caps the backoff after 401, 403 and 429.
	MaxBackoff = 60 * time.Second
	// DefaultTimeout is posthog-node's requestTimeout default.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxBody bounds a definitions body: large projects send a few
	// MiB; anything far beyond is not a definitions document.
	DefaultMaxBody = 64 << 20
)

// Errors returned by fetches (wrapped with the status or cause).
var (
	// ErrUnauthorized: 401 or 403, the key is invalid or lacks permission.
	ErrUnauthorized = errors.New("flag definitions: personal API key rejected")
	// ErrRateLimited: 429.
	ErrRateLimited = errors.New("flag definitions: rate limited")
	// ErrQuotaLimited: 402; the flags were cleared, as posthog-node does.
	ErrQuotaLimited = errors.New("flag definitions: feature flags quota exceeded")
	// ErrBackoff: Load was called while a backoff is in force.
	ErrBackoff = errors.New("flag definitions: in backoff after an error")
)

// Options configures a Poller.
type Options struct {
	// Host is the base URL of PostHog (or of any proxy in front of it),
	// e.g. "https://us.i.posthog.com". A path prefix is kept. Required.
	Host string
	// ProjectToken is the project API key (phc_…), sent as ?token=. Required.
	ProjectToken string
	// PersonalAPIKey is the personal API key or project secret key, sent as
	// a Bearer token. Required; a project token (phc_) is rejected, as
	// posthog-node's constructor does.
	PersonalAPIKey string
	// Interval is the polling period. Zero means DefaultInterval; values
	// below MinInterval are raised to it.
	Interval time.Duration
	// Path is the endpoint path. "" means DefaultPath; LegacyPath selects
	// the older endpoint.
	Path string
	// Timeout bounds each request. Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxBody bounds a response body. Zero means DefaultMaxBody.
	MaxBody int64
	// HTTPClient sends the requests. Nil means a client with no timeout of
	// its own (Timeout applies per request).
	HTTPClient *http.Client
	// Header is added to every request (custom headers).
	Header http.Header
	// Logger receives one line per failed poll from Run. Nil discards.
	Logger *slog.Logger
	// Observe, if set, is called after every fetch attempt with its
	// outcome, for metrics. It must not block.
	Observe func(Fetch)
}

// Outcome classifies a fetch.
type Outcome string

// Fetch outcomes.
const (
	OutcomeUpdated      Outcome = "updated"       // 200 with valid definitions
	OutcomeNotModified  Outcome = "not_modified"  // 304
	OutcomeQuotaLimited Outcome = "quota_limited" // 402: flags cleared
	OutcomeBackoff      Outcome = "backoff"       // 401, 403, 429: backing off
	OutcomeFailed       Outcome = "failed"        // anything else: last copy kept
)

// Fetch describes one fetch attempt.
type Fetch struct {
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Outcome classifies the attempt.
	Outcome Outcome
	// Err is the failure, nil for updated and not_modified.
	Err error
	// Duration is how long the request took.
	Duration time.Duration
	// Flags is the number of flag definitions held after the attempt.
	Flags int
}

// Stats are cumulative counters.
type Stats struct {
	// Fetches counts attempts; Updated, NotModified and Failed split them
	// (QuotaLimited and Backoffs count as failed too).
	Fetches, Updated, NotModified, Failed, QuotaLimited, Backoffs uint64
	// LastSuccess is the time of the last 200 or 304 (zero if none).
	LastSuccess time.Time
}

// Poller keeps the last good copy of a project's flag definitions.
type Poller struct {
	opts     Options
	endpoint string
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time

	defs     atomic.Pointer[flags.Definitions]
	loaded   atomic.Bool
	loadedAt atomic.Int64 // unix ms of the last 200 that replaced defs

	mu          sync.Mutex // serialises fetches; guards the fields below
	etag        string
	backoffN    int
	nextAllowed time.Time
	stats       Stats
}

// New validates opts and returns a Poller that has fetched nothing yet;
// call Run (polls until its context ends), or Reload/Load yourself.
func New(opts Options) (*Poller, error) {
	switch {
	case opts.Host == "":
		return nil, errors.New("flagsync: host is required")
	case opts.ProjectToken == "":
		return nil, errors.New("flagsync: project token is required")
	case opts.PersonalAPIKey == "":
		return nil, errors.New("flagsync: personal API key is required")
	case strings.Contains(opts.PersonalAPIKey, "phc_"):
		return nil, errors.New("flagsync: personal API key is a project token (phc_); use a personal API key or secret key")
	}
	base, err := url.Parse(opts.Host)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("flagsync: host %q: want an http or https URL", opts.Host)
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	opts.Interval = max(opts.Interval, MinInterval)
	if opts.Path == "" {
		opts.Path = DefaultPath
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	p := &Poller{opts: opts, client: opts.HTTPClient, log: opts.Logger, now: time.Now}
	if p.client == nil {
		p.client = &http.Client{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	// send_cohorts has no value, exactly as posthog-node sends it.
	p.endpoint = strings.TrimSuffix(base.String(), "/") + opts.Path +
		"?token=" + url.QueryEscape(opts.ProjectToken) + "&send_cohorts"
	return p, nil
}

// Definitions returns the current definitions: nil before the first
// successful load, empty after a 402. Never blocks.
func (p *Poller) Definitions() *flags.Definitions { return p.defs.Load() }

// Loaded reports whether a fetch ever succeeded (200 or 304).
func (p *Poller) Loaded() bool { return p.loaded.Load() }

// LoadedAt is when the current definitions arrived (the last 200 answer),
// posthog-node's $feature_flag_definitions_loaded_at; zero if never.
func (p *Poller) LoadedAt() time.Time {
	ms := p.loadedAt.Load()
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// Stats returns the cumulative counters.
func (p *Poller) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Interval is the effective polling interval.
func (p *Poller) Interval() time.Duration { return p.opts.Interval }

// Run fetches now and then every interval (longer while backing off) until
// ctx ends; it returns nil then. Failures are logged and retried on the
// next tick; the last good copy stays in place.
func (p *Poller) Run(ctx context.Context) error {
	for {
		if err := p.fetch(ctx); err != nil && ctx.Err() == nil {
			p.log.WarnContext(ctx, "polling flag definitions", "err", err)
		}
		t := time.NewTimer(p.delay())
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Reload fetches now, even during a backoff (posthog-node's
// reloadFeatureFlags).
func (p *Poller) Reload(ctx context.Context) error { return p.fetch(ctx) }

// Load fetches only if no fetch has succeeded yet, unless a backoff is in
// force (posthog-node's on-demand loadFeatureFlags before an evaluation).
func (p *Poller) Load(ctx context.Context) error {
	if p.Loaded() {
		return nil
	}
	p.mu.Lock()
	wait := !p.nextAllowed.IsZero() && p.now().Before(p.nextAllowed)
	p.mu.Unlock()
	if wait {
		return ErrBackoff
	}
	return p.fetch(ctx)
}

// delay is the wait before the next poll: the interval, or
// min(60 s, interval·2^n) after n consecutive 401/403/429 answers (never
// shorter than the interval itself).
func (p *Poller) delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.backoffDelay()
}

func (p *Poller) backoffDelay() time.Duration {
	d := p.opts.Interval
	for i := 0; i < p.backoffN && d < MaxBackoff; i++ {
		d *= 2
	}
	if p.backoffN > 0 && d > MaxBackoff {
		d = max(MaxBackoff, p.opts.Interval)
	}
	return d
}

// fetch performs one request and applies its outcome.
func (p *Poller) fetch(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := p.now()
	status, outcome, err := p.request(ctx)
	p.stats.Fetches++
	switch outcome {
	case OutcomeUpdated:
		p.stats.Updated++
	case OutcomeNotModified:
		p.stats.NotModified++
	case OutcomeQuotaLimited:
		p.stats.QuotaLimited++
		p.stats.Failed++
	case OutcomeBackoff:
		p.stats.Backoffs++
		p.stats.Failed++
	default:
		p.stats.Failed++
	}
	if outcome == OutcomeUpdated || outcome == OutcomeNotModified {
		p.stats.LastSuccess = p.now()
	}
	if p.opts.Observe != nil {
		n := 0
		if d := p.defs.Load(); d != nil {
			n = d.Len()
		}
		p.opts.Observe(Fetch{Status: status, Outcome: outcome, Err: err, Duration: p.now().Sub(start), Flags: n})
	}
	return err
}

// request sends the GET and applies the answer (under p.mu).
func (p *Poller) request(ctx context.Context) (int, Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.endpoint, nil)
	if err != nil {
		return 0, OutcomeFailed, fmt.Errorf("building flag definitions request: %w", err)
	}
	for k, vs := range p.opts.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Authorization", "Bearer "+p.opts.PersonalAPIKey)
	req.Header.Set("Content-Type", "application/json")
	if p.etag != "" {
		req.Header.Set("If-None-Match", p.etag)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, OutcomeFailed, fmt.Errorf("fetching flag definitions: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		body, err := io.ReadAll(io.LimitReader(resp.Body, p.opts.MaxBody+1))
		if err != nil {
			return resp.StatusCode, OutcomeFailed, fmt.Errorf("reading flag definitions: %w", err)
		}
		if int64(len(body)) > p.opts.MaxBody {
			return resp.StatusCode, OutcomeFailed, fmt.Errorf("reading flag definitions: body larger than %d bytes", p.opts.MaxBody)
		}
		d, err := flags.Parse(body)
		if err != nil {
			return resp.StatusCode, OutcomeFailed, fmt.Errorf("parsing flag definitions: %w", err)
		}
		p.defs.Store(d)
		p.loadedAt.Store(p.now().UnixMilli())
		p.etag = resp.Header.Get("ETag")
		p.loaded.Store(true)
		p.clearBackoff()
		return resp.StatusCode, OutcomeUpdated, nil
	case http.StatusNotModified:
		drain(resp.Body)
		if e := resp.Header.Get("ETag"); e != "" {
			p.etag = e
		}
		p.loaded.Store(true)
		p.clearBackoff()
		return resp.StatusCode, OutcomeNotModified, nil
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		drain(resp.Body)
		p.backoffN++
		p.nextAllowed = p.now().Add(p.backoffDelay())
		base := ErrUnauthorized
		if resp.StatusCode == http.StatusTooManyRequests {
			base = ErrRateLimited
		}
		return resp.StatusCode, OutcomeBackoff, fmt.Errorf("%w (%d; next attempt in %s)", base, resp.StatusCode, p.backoffDelay())
	case http.StatusPaymentRequired:
		drain(resp.Body)
		// posthog-node unsets every flag, cohort and group mapping. The
		// ETag is dropped too, so the next poll refetches the whole set
		// instead of getting a 304 for a copy we no longer hold.
		p.defs.Store(emptyDefinitions())
		p.etag = ""
		return resp.StatusCode, OutcomeQuotaLimited, fmt.Errorf("%w (402)", ErrQuotaLimited)
	}
	drain(resp.Body)
	return resp.StatusCode, OutcomeFailed, fmt.Errorf("fetching flag definitions: status %d", resp.StatusCode)
}

func (p *Poller) clearBackoff() {
	p.backoffN = 0
	p.nextAllowed = time.Time{}
}

// drain reads a little of an unwanted body so the connection can be reused.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10)) }

func emptyDefinitions() *flags.Definitions {
	d, err := flags.Parse([]byte(`{"flags":[]}`))
	if err != nil {
		panic("flagsync: empty definitions do not parse: " + err.Error())
	}
	return d
}

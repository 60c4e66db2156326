package posthog

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults, the values posthog-node 5.70.0 uses (docs/protocol.md §2.3,
// posthog-node client.ts and @posthog/core posthog-core-stateless.ts).
const (
	// DefaultHost is PostHog Cloud US, posthog-node's default host.
	DefaultHost = "https://us.i.posthog.com"
	// DefaultFlushAt is how many queued events start a flush.
	DefaultFlushAt = 20
	// DefaultFlushInterval is how long an event waits at most before a
	// flush starts (posthog-node overrides core's 10 s with 5 s).
	DefaultFlushInterval = 5 * time.Second
	// DefaultMaxBatchSize is the largest number of events in one request.
	DefaultMaxBatchSize = 100
	// DefaultMaxQueueSize bounds the in-memory queue (posthog-node's
	// default; core's own is 1 000).
	DefaultMaxQueueSize = 10000
	// DefaultRequestTimeout bounds one capture or definitions request.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultFetchRetryCount is how many times a failed capture request is
	// retried.
	DefaultFetchRetryCount = 3
	// DefaultFetchRetryDelay is the fixed wait between retries.
	DefaultFetchRetryDelay = 3 * time.Second
	// DefaultFeatureFlagsPollingInterval is how often flag definitions are
	// fetched for local evaluation.
	DefaultFeatureFlagsPollingInterval = 30 * time.Second
	// MinFeatureFlagsPollingInterval is the shortest polling interval
	// accepted; shorter values are raised to it, as posthog-node does.
	MinFeatureFlagsPollingInterval = 100 * time.Millisecond
	// DefaultFeatureFlagsRequestTimeout bounds one remote /flags request.
	DefaultFeatureFlagsRequestTimeout = 3 * time.Second
	// DefaultMaxCacheSize is how many distinct ids the
	// $feature_flag_called de-duplication remembers.
	DefaultMaxCacheSize = 50000
	// DefaultShutdownTimeout is the budget Close gives Shutdown.
	DefaultShutdownTimeout = 30 * time.Second
)

// Options configures a Client. The zero value is usable: every field
// documents what its zero value means. Field names follow posthog-node's
// options (flushAt → FlushAt, and so on) so that its documentation applies.
//
// For serverless functions (AWS Lambda, Cloud Run jobs, …) set
// Serverless, or FlushAt 1 and a negative FlushInterval, and call Flush or
// Shutdown before the function returns: nothing in the background survives
// a frozen process.
type Options struct {
	// Host is the base URL events and flag requests go to: PostHog Cloud
	// ("https://eu.i.posthog.com"), a self-hosted PostHog, or an edgehog
	// in front of either. Empty means DefaultHost. A trailing slash is
	// ignored.
	Host string

	// FlushAt is how many queued events start a flush in the background.
	// Zero means 20; values below 1 mean 1.
	FlushAt int

	// FlushInterval is how long after the first queued event a flush
	// starts on its own. Zero means 5 s; a negative value turns the timer
	// off (posthog-node's flushInterval: 0), leaving FlushAt, Flush and
	// Shutdown.
	FlushInterval time.Duration

	// MaxBatchSize is the most events sent in one request. Zero means 100;
	// it is never below FlushAt. A 413 answer halves it for the rest of
	// the client's life.
	MaxBatchSize int

	// MaxQueueSize bounds the events held in memory. When it is reached
	// the oldest event is dropped and OnError receives an error wrapping
	// ErrQueueFull. Zero means 10 000; it is never below FlushAt.
	MaxQueueSize int

	// RequestTimeout bounds each capture and flag-definitions request
	// attempt. Zero means 10 s.
	RequestTimeout time.Duration

	// FetchRetryCount is how many times a capture request is retried after
	// a network error, 408, 429 or 5xx. Zero means 3; a negative value
	// means no retries.
	FetchRetryCount int

	// FetchRetryDelay is the fixed wait between retries. Zero means 3 s; a
	// negative value means no wait.
	FetchRetryDelay time.Duration

	// DisableCompression sends capture bodies as plain JSON instead of
	// gzip with Content-Encoding: gzip.
	DisableCompression bool

	// DisableGeoip adds "$geoip_disable": true to every event and
	// "geoip_disable": true to remote flag requests, so PostHog does not
	// geolocate the server's own IP. Nil means true, posthog-node's
	// default; write DisableGeoip: new(false) to turn GeoIP on.
	DisableGeoip *bool

	// HistoricalMigration marks every batch "historical_migration": true,
	// for imports of old events.
	HistoricalMigration bool

	// PersonalAPIKey, a feature-flag secret key ("phs_…") or personal API
	// key ("phx_…"), turns on local flag evaluation: definitions are polled
	// from /flags/definitions and flags are evaluated in-process. A project
	// key ("phc_…") is rejected. Empty means every flag call asks /flags.
	PersonalAPIKey string

	// FeatureFlagsPollingInterval is how often definitions are polled.
	// Zero means 30 s; values below 100 ms mean 100 ms.
	FeatureFlagsPollingInterval time.Duration

	// FeatureFlagsRequestTimeout bounds each remote /flags request. Zero
	// means 3 s.
	FeatureFlagsRequestTimeout time.Duration

	// EvaluationContexts, if non-empty, restricts flags to those whose
	// evaluation contexts share an entry with it (posthog-node's
	// evaluationContexts); it is also sent to /flags.
	EvaluationContexts []string

	// StrictLocalEvaluation makes every flag call behave as if
	// OnlyEvaluateLocally were given: no remote /flags fallback.
	StrictLocalEvaluation bool

	// SendFeatureFlagEvent is the default for sending $feature_flag_called
	// events from IsFeatureEnabled and GetFeatureFlag. Nil means true.
	SendFeatureFlagEvent *bool

	// MaxCacheSize is how many distinct ids the $feature_flag_called
	// de-duplication remembers (least recently used evicted first). Zero
	// means 50 000.
	MaxCacheSize int

	// Serverless sets FlushAt to 1 and turns the interval timer off, the
	// setting posthog-node documents for serverless environments. Flush or
	// Shutdown must still be called before the function returns.
	Serverless bool

	// HTTPClient sends every request. Nil means a client on
	// http.DefaultTransport; timeouts come from the options above, so a
	// client Timeout is not needed.
	HTTPClient *http.Client

	// Logger receives warnings (dropped events, 413 halvings) and debug
	// lines. Nil means no logging.
	Logger *slog.Logger

	// OnError, if set, receives every error that has no caller to return
	// to: background flush failures, dropped events, definition polling
	// errors. It is called synchronously and must not block.
	OnError func(error)

	// now is the clock; nil means time.Now. Tests set it.
	now func() time.Time
}

// settings are Options with defaults applied and values validated.
type settings struct {
	host                string
	flushAt             int
	flushInterval       time.Duration // 0: no timer
	maxBatchSize        int
	maxQueueSize        int
	requestTimeout      time.Duration
	retryCount          int
	retryDelay          time.Duration
	compress            bool
	disableGeoip        bool
	historicalMigration bool
	personalAPIKey      string
	pollingInterval     time.Duration
	flagsTimeout        time.Duration
	strictLocal         bool
	evalContexts        []string
	sendFlagEvents      bool
	maxCacheSize        int
	httpClient          *http.Client
	log                 *slog.Logger
	onError             func(error)
	now                 func() time.Time
}

// resolve validates opts and applies the documented defaults.
func (opts Options) resolve(projectKey string) (settings, error) {
	var s settings
	if strings.TrimSpace(projectKey) == "" {
		return s, errors.New("project key: must not be empty")
	}
	host := strings.TrimSpace(opts.Host)
	if host == "" {
		host = DefaultHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return s, fmt.Errorf("host: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s, fmt.Errorf("host: %q is not an http or https URL", host)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return s, fmt.Errorf("host: %q must not have a query or fragment", host)
	}
	s.host = strings.TrimRight(host, "/")

	s.flushAt = opts.FlushAt
	if s.flushAt == 0 {
		s.flushAt = DefaultFlushAt
	}
	s.flushAt = max(s.flushAt, 1)
	switch {
	case opts.FlushInterval == 0:
		s.flushInterval = DefaultFlushInterval
	case opts.FlushInterval > 0:
		s.flushInterval = opts.FlushInterval
	}
	if opts.Serverless {
		s.flushAt, s.flushInterval = 1, 0
	}
	s.maxBatchSize = opts.MaxBatchSize
	if s.maxBatchSize <= 0 {
		s.maxBatchSize = DefaultMaxBatchSize
	}
	s.maxBatchSize = max(s.maxBatchSize, s.flushAt)
	s.maxQueueSize = opts.MaxQueueSize
	if s.maxQueueSize <= 0 {
		s.maxQueueSize = DefaultMaxQueueSize
	}
	s.maxQueueSize = max(s.maxQueueSize, s.flushAt)

	s.requestTimeout = positiveOr(opts.RequestTimeout, DefaultRequestTimeout)
	switch {
	case opts.FetchRetryCount == 0:
		s.retryCount = DefaultFetchRetryCount
	case opts.FetchRetryCount > 0:
		s.retryCount = opts.FetchRetryCount
	}
	switch {
	case opts.FetchRetryDelay == 0:
		s.retryDelay = DefaultFetchRetryDelay
	case opts.FetchRetryDelay > 0:
		s.retryDelay = opts.FetchRetryDelay
	}
	s.compress = !opts.DisableCompression
	s.disableGeoip = opts.DisableGeoip == nil || *opts.DisableGeoip
	s.historicalMigration = opts.HistoricalMigration

	s.personalAPIKey = strings.TrimSpace(opts.PersonalAPIKey)
	if strings.Contains(s.personalAPIKey, "phc_") {
		return s, errors.New(`personal api key: a project key ("phc_…") cannot read flag definitions; pass a feature-flag secret key ("phs_…") or a personal API key ("phx_…")`)
	}
	s.pollingInterval = positiveOr(opts.FeatureFlagsPollingInterval, DefaultFeatureFlagsPollingInterval)
	s.pollingInterval = max(s.pollingInterval, MinFeatureFlagsPollingInterval)
	s.flagsTimeout = positiveOr(opts.FeatureFlagsRequestTimeout, DefaultFeatureFlagsRequestTimeout)
	s.strictLocal = opts.StrictLocalEvaluation
	s.evalContexts = slices.Clone(opts.EvaluationContexts)
	s.sendFlagEvents = opts.SendFeatureFlagEvent == nil || *opts.SendFeatureFlagEvent
	s.maxCacheSize = opts.MaxCacheSize
	if s.maxCacheSize <= 0 {
		s.maxCacheSize = DefaultMaxCacheSize
	}

	s.httpClient = opts.HTTPClient
	if s.httpClient == nil {
		s.httpClient = &http.Client{Transport: http.DefaultTransport}
	}
	s.log = opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.onError = opts.OnError
	s.now = opts.now
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

func positiveOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

package flagsync

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
	"github.com/edgehog/edgehog/internal/flags"
)

// definitions is a small document with one flag rolled out to everyone.
const definitions = `{"flags":[{"id":1,"key":"beta","active":true,"filters":{"groups":[{"properties":[],"rollout_percentage":100}]}}],"group_type_mapping":{},"cohorts":{}}`

func startFake(t *testing.T, defs string) *fakehog.Fake {
	t.Helper()
	fake, err := fakehog.Start(fakehog.Options{Definitions: []byte(defs), Quiet: true})
	if err != nil {
		t.Fatalf("fakehog.Start: %v", err)
	}
	t.Cleanup(func() { fake.Close() })
	return fake
}

func newPoller(t *testing.T, fake *fakehog.Fake, mod func(*Options)) *Poller {
	t.Helper()
	opts := Options{Host: fake.APIURL(), ProjectToken: "phc_test", PersonalAPIKey: "phx_secret", Interval: time.Second}
	if mod != nil {
		mod(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// definitionRequests are the recorded requests to either definitions path.
func definitionRequests(fake *fakehog.Fake) []fakehog.Request {
	var out []fakehog.Request
	for _, r := range fake.Requests() {
		if r.Path == DefaultPath || r.Path == LegacyPath {
			out = append(out, r)
		}
	}
	return out
}

func evaluate(t *testing.T, d *flags.Definitions, key string) bool {
	t.Helper()
	if d == nil {
		t.Fatalf("Definitions() = nil, want a copy")
	}
	r, err := d.Evaluate(key, flags.Input{DistinctID: "user-1"}, time.Now())
	if err != nil {
		t.Fatalf("Evaluate(%q): %v", key, err)
	}
	return r.Enabled
}

func TestReloadLoadsAndSendsPostHogRequest(t *testing.T) {
	for _, path := range []string{"", DefaultPath, LegacyPath} {
		t.Run("path="+path, func(t *testing.T) {
			fake := startFake(t, definitions)
			p := newPoller(t, fake, func(o *Options) {
				o.Path = path
				o.Header = http.Header{"X-Custom": {"1"}}
			})
			if p.Loaded() || p.Definitions() != nil || !p.LoadedAt().IsZero() {
				t.Fatalf("before loading: Loaded() = %v, Definitions() = %v; want false, nil", p.Loaded(), p.Definitions())
			}
			if err := p.Reload(t.Context()); err != nil {
				t.Fatalf("Reload: %v", err)
			}
			if !p.Loaded() || !evaluate(t, p.Definitions(), "beta") {
				t.Fatalf("after Reload: Loaded() = %v, beta not enabled", p.Loaded())
			}
			reqs := definitionRequests(fake)
			if len(reqs) != 1 {
				t.Fatalf("got %d definitions requests, want 1", len(reqs))
			}
			r := reqs[0]
			wantPath := path
			if wantPath == "" {
				wantPath = DefaultPath
			}
			if r.Path != wantPath || r.RawQuery != "token=phc_test&send_cohorts" {
				t.Errorf("request %s?%s, want %s?token=phc_test&send_cohorts", r.Path, r.RawQuery, wantPath)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer phx_secret" {
				t.Errorf("Authorization = %q, want %q", got, "Bearer phx_secret")
			}
			if got := r.Header.Get("X-Custom"); got != "1" {
				t.Errorf("X-Custom = %q, want 1", got)
			}
			if got := r.Header.Get("If-None-Match"); got != "" {
				t.Errorf("first request If-None-Match = %q, want none", got)
			}
		})
	}
}

func TestETagAnd304KeepCopy(t *testing.T) {
	fake := startFake(t, definitions)
	p := newPoller(t, fake, nil)
	if err := p.Reload(t.Context()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	first := p.Definitions()
	if err := p.Reload(t.Context()); err != nil {
		t.Fatalf("second Reload: %v", err)
	}
	reqs := definitionRequests(fake)
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	if reqs[1].Header.Get("If-None-Match") == "" {
		t.Errorf("second request has no If-None-Match")
	}
	if p.Definitions() != first {
		t.Errorf("304 replaced the definitions, want the same copy kept")
	}
	if p.LoadedAt().IsZero() {
		t.Errorf("LoadedAt() is zero after a 200")
	}
	if s := p.Stats(); s.Updated != 1 || s.NotModified != 1 || s.Fetches != 2 {
		t.Errorf("Stats = %+v, want 1 updated, 1 not modified, 2 fetches", s)
	}
}

func TestQuotaLimitedClearsFlags(t *testing.T) {
	fake := startFake(t, definitions)
	var seen []Outcome
	var mu sync.Mutex
	p := newPoller(t, fake, func(o *Options) {
		o.Observe = func(f Fetch) { mu.Lock(); seen = append(seen, f.Outcome); mu.Unlock() }
	})
	if err := p.Reload(t.Context()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	fake.SetFault(DefaultPath, fakehog.Fault{Status: http.StatusPaymentRequired, Times: 1})
	if err := p.Reload(t.Context()); !errors.Is(err, ErrQuotaLimited) {
		t.Fatalf("Reload after 402 = %v, want ErrQuotaLimited", err)
	}
	if d := p.Definitions(); d == nil || d.Len() != 0 {
		t.Fatalf("after 402: Definitions() = %v, want an empty set", d)
	}
	if _, err := p.Definitions().Evaluate("beta", flags.Input{DistinctID: "u"}, time.Now()); !errors.Is(err, flags.ErrUnknownFlag) {
		t.Errorf("Evaluate after 402 = %v, want ErrUnknownFlag", err)
	}
	// No backoff after 402, and the next poll refetches in full (no ETag).
	if err := p.Reload(t.Context()); err != nil {
		t.Fatalf("Reload after the quota cleared: %v", err)
	}
	reqs := definitionRequests(fake)
	if got := reqs[len(reqs)-1].Header.Get("If-None-Match"); got != "" {
		t.Errorf("request after 402 sent If-None-Match %q, want none", got)
	}
	if !evaluate(t, p.Definitions(), "beta") {
		t.Errorf("beta not enabled after recovery")
	}
	mu.Lock()
	defer mu.Unlock()
	want := []Outcome{OutcomeUpdated, OutcomeQuotaLimited, OutcomeUpdated}
	if len(seen) != len(want) {
		t.Fatalf("observed %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("observed %v, want %v", seen, want)
			break
		}
	}
}

func TestBackoffOnAuthAndRateLimit(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			fake := startFake(t, definitions)
			p := newPoller(t, fake, func(o *Options) { o.Interval = 10 * time.Second })
			now := time.Unix(1_700_000_000, 0)
			p.now = func() time.Time { return now }
			fake.SetFault(DefaultPath, fakehog.Fault{Status: status, Times: 3})
			wantDelays := []time.Duration{20 * time.Second, 40 * time.Second, 60 * time.Second}
			for i, want := range wantDelays {
				err := p.Reload(t.Context())
				if err == nil || (!errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrRateLimited)) {
					t.Fatalf("Reload %d = %v, want an auth or rate-limit error", i, err)
				}
				if got := p.delay(); got != want {
					t.Errorf("after %d errors: delay() = %v, want %v", i+1, got, want)
				}
			}
			// Load (on demand) respects the backoff; Reload bypasses it.
			if err := p.Load(t.Context()); !errors.Is(err, ErrBackoff) {
				t.Errorf("Load during backoff = %v, want ErrBackoff", err)
			}
			now = now.Add(61 * time.Second)
			if err := p.Load(t.Context()); err != nil {
				t.Fatalf("Load after the backoff: %v", err)
			}
			if got := p.delay(); got != 10*time.Second {
				t.Errorf("after success: delay() = %v, want the interval", got)
			}
			if n := len(definitionRequests(fake)); n != 4 {
				t.Errorf("got %d requests, want 4 (3 errors and 1 success)", n)
			}
		})
	}
}

func TestErrorsKeepLastGoodCopy(t *testing.T) {
	tests := []struct {
		name  string
		fault fakehog.Fault
	}{
		{"500", fakehog.Fault{Status: 500, Body: `{"detail":"boom"}`, Times: 1}},
		{"bad JSON", fakehog.Fault{Status: 200, Body: `{"flags": [`, Times: 1}},
		{"no flags key", fakehog.Fault{Status: 200, Body: `{"cohorts":{}}`, Times: 1}},
		// Times 2: net/http retries a GET once when a reused connection breaks.
		{"connection reset", fakehog.Fault{Reset: true, Times: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t, definitions)
			p := newPoller(t, fake, nil)
			if err := p.Reload(t.Context()); err != nil {
				t.Fatalf("Reload: %v", err)
			}
			good := p.Definitions()
			fake.SetFault(DefaultPath, tt.fault)
			if err := p.Reload(t.Context()); err == nil {
				t.Fatalf("Reload with fault %s = nil, want an error", tt.name)
			}
			if p.Definitions() != good || !p.Loaded() {
				t.Errorf("after %s: the last good copy was not kept", tt.name)
			}
			if got := p.delay(); got != p.Interval() {
				t.Errorf("after %s: delay() = %v, want no backoff (%v)", tt.name, got, p.Interval())
			}
		})
	}
}

func TestRunPollsUntilCancelled(t *testing.T) {
	fake := startFake(t, definitions)
	p := newPoller(t, fake, func(o *Options) { o.Interval = MinInterval })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitCtx, waitCancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer waitCancel()
	if err := fake.WaitRequests(waitCtx, 3); err != nil {
		t.Fatalf("waiting for 3 polls: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if !p.Loaded() || !evaluate(t, p.Definitions(), "beta") {
		t.Errorf("Run did not load the definitions")
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no host", Options{ProjectToken: "phc_a", PersonalAPIKey: "phx_b"}, "host is required"},
		{"bad host", Options{Host: "ftp://x", ProjectToken: "phc_a", PersonalAPIKey: "phx_b"}, "want an http or https URL"},
		{"no token", Options{Host: "http://127.0.0.1:1", PersonalAPIKey: "phx_b"}, "project token is required"},
		{"no key", Options{Host: "http://127.0.0.1:1", ProjectToken: "phc_a"}, "personal API key is required"},
		{"project token as key", Options{Host: "http://127.0.0.1:1", ProjectToken: "phc_a", PersonalAPIKey: "phc_a"}, "is a project token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	p, err := New(Options{Host: "http://127.0.0.1:1/prefix/", ProjectToken: "phc a", PersonalAPIKey: "phx_b", Interval: time.Millisecond})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if p.Interval() != MinInterval {
		t.Errorf("Interval() = %v, want %v", p.Interval(), MinInterval)
	}
	if want := "http://127.0.0.1:1/prefix/flags/definitions?token=phc+a&send_cohorts"; p.endpoint != want {
		t.Errorf("endpoint = %q, want %q", p.endpoint, want)
	}
}

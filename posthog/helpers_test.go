package posthog

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

const testKey = "phc_test_project_key"

// startFake starts a quiet fake PostHog closed at the end of the test.
func startFake(t *testing.T, opts fakehog.Options) *fakehog.Fake {
	t.Helper()
	opts.Quiet = true
	f, err := fakehog.Start(opts)
	if err != nil {
		t.Fatalf("fakehog.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("fake.Close: %v", err)
		}
	})
	return f
}

// errorLog collects the errors a client reports through OnError.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

// newTestClient builds a client for fake with fast retries and no
// interval timer unless opts say otherwise; it is shut down at the end of
// the test.
func newTestClient(t *testing.T, fake *fakehog.Fake, opts Options) (*Client, *errorLog) {
	t.Helper()
	opts.Host = fake.APIURL()
	if opts.FetchRetryDelay == 0 {
		opts.FetchRetryDelay = time.Millisecond
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = -1
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: tr}
	}
	log := &errorLog{}
	if opts.OnError == nil {
		opts.OnError = log.add
	}
	c, err := New(testKey, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Shutdown(ctx)
	})
	return c, log
}

// batchRequests returns the recorded requests to /batch/.
func batchRequests(fake *fakehog.Fake) []fakehog.Request {
	var out []fakehog.Request
	for _, r := range fake.Requests() {
		if r.Path == "/batch/" {
			out = append(out, r)
		}
	}
	return out
}

// payload is a decoded /batch/ body.
type payload struct {
	APIKey              string            `json:"api_key"`
	Batch               []json.RawMessage `json:"batch"`
	SentAt              string            `json:"sent_at"`
	HistoricalMigration bool              `json:"historical_migration"`
}

func decodePayload(t *testing.T, r fakehog.Request) payload {
	t.Helper()
	var p payload
	if err := json.Unmarshal(r.Decoded, &p); err != nil {
		t.Fatalf("decoding /batch/ payload %q (%s): %v", r.Decoded, r.DecodeErr, err)
	}
	return p
}

// waitEvents waits until the fake has n events or fails the test.
func waitEvents(t *testing.T, fake *fakehog.Fake, n int) []fakehog.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		evs := delivered(fake)
		if len(evs) >= n {
			return evs
		}
		if err := fake.WaitRequests(ctx, len(fake.Requests())+1); err != nil {
			t.Fatalf("waiting for %d events, have %d: %v", n, len(evs), err)
		}
	}
}

// delivered returns the events of the requests the fake answered with
// 2xx: those a client counts as delivered. (The fake records the events of
// faulted requests too.)
func delivered(fake *fakehog.Fake) []fakehog.Event {
	var out []fakehog.Event
	for _, r := range fake.Requests() {
		if r.Status >= 200 && r.Status <= 299 {
			out = append(out, r.Events...)
		}
	}
	return out
}

// uuidCounts counts events per uuid.
func uuidCounts(evs []fakehog.Event) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		m[e.UUID]++
	}
	return m
}

// captureN captures n events named "e<i>" with an "index" property and
// returns their uuids in order.
func captureN(t *testing.T, c *Client, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = newUUIDv7(time.Now())
		if err := c.Capture(Event{DistinctID: "user", Event: "test event", UUID: ids[i], Properties: Properties{"index": i}}); err != nil {
			t.Fatalf("Capture %d: %v", i, err)
		}
	}
	return ids
}

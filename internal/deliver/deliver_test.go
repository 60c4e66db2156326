package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
	"github.com/edgehog/edgehog/internal/spool"
)

type harness struct {
	q    *spool.Queue
	fake *fakehog.Fake
	d    *Deliverer
	stop func()
}

func newHarness(t *testing.T, o Options) *harness {
	t.Helper()
	q, err := spool.Open(t.Context(), spool.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	fake, err := fakehog.Start(fakehog.Options{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	api, _ := url.Parse(fake.APIURL())
	o.Queue, o.API = q, api
	if o.MinBackoff == 0 {
		o.MinBackoff, o.MaxBackoff = time.Millisecond, 20*time.Millisecond
	}
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{q: q, fake: fake, d: d}
	h.start(t)
	t.Cleanup(func() {
		h.stop()
		q.Close()
		fake.Close()
	})
	return h
}

func (h *harness) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := h.d.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	h.stop = func() { cancel(); wg.Wait() }
}

func batchRecord(path string, uuids ...string) *spool.Record {
	var evs []string
	for _, u := range uuids {
		evs = append(evs, fmt.Sprintf(`{"uuid":%q,"event":"e","properties":{"distinct_id":"d"},"timestamp":"2026-03-01T12:00:00.000Z"}`, u))
	}
	return &spool.Record{
		Received: time.Now(),
		Method:   "POST",
		Path:     path,
		Header:   http.Header{"Content-Type": {"application/json"}, "User-Agent": {"posthog-node/5"}},
		ClientIP: netip.MustParseAddr("203.0.113.9"),
		Body:     []byte(`{"api_key":"phc_test","batch":[` + strings.Join(evs, ",") + `],"sent_at":"2026-03-01T12:00:01.000Z"}`),
	}
}

// accepted returns the events of requests the fake answered 200, by uuid.
func accepted(fake *fakehog.Fake) (map[string]int, []fakehog.Request) {
	n := map[string]int{}
	var reqs []fakehog.Request
	for _, r := range fake.Requests() {
		if r.Status != http.StatusOK {
			continue
		}
		reqs = append(reqs, r)
		for _, e := range r.Events {
			n[e.UUID]++
		}
	}
	return n, reqs
}

// waitAccepted waits until n distinct events were accepted.
func waitAccepted(t *testing.T, fake *fakehog.Fake, n int) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for seen := 1; ; seen++ {
		if got, _ := accepted(fake); len(got) >= n {
			return got
		}
		if err := fake.WaitRequests(ctx, seen); err != nil {
			got, _ := accepted(fake)
			t.Fatalf("%d of %d events accepted: %v", len(got), n, err)
		}
	}
}

func TestDeliverRetriesUntilAccepted(t *testing.T) {
	h := newHarness(t, Options{Concurrency: 2})
	h.fake.SetFault("/batch", fakehog.Fault{Status: 503, Times: 3})
	h.fake.SetFault("/e", fakehog.Fault{Reset: true, Times: 2})
	const n = 10
	for i := range n {
		path := "/batch/"
		if i%2 == 1 {
			path = "/e/"
		}
		if err := h.q.Put(t.Context(), batchRecord(path, fmt.Sprintf("u%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	got := waitAccepted(t, h.fake, n)
	for id, c := range got {
		if c != 1 {
			t.Errorf("event %s accepted %d times, want 1", id, c)
		}
	}
	_, reqs := accepted(h.fake)
	for _, r := range reqs {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "203.0.113.9" {
			t.Errorf("X-Forwarded-For = %q, want the stored client IP", xff)
		}
		if ua := r.Header.Get("User-Agent"); ua != "posthog-node/5" {
			t.Errorf("User-Agent = %q, want the stored one", ua)
		}
	}
	// The fake records a request just before answering it: wait for the
	// deliverer to count the last answer.
	for i := 0; i < 1000 && h.d.Stats().Delivered < n; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if s := h.d.Stats(); s.Retried < 5 || s.Delivered != n {
		t.Errorf("Stats = %+v, want at least 5 retried and %d delivered", s, n)
	}
}

func TestDeliverDeadLetters(t *testing.T) {
	h := newHarness(t, Options{Concurrency: 1})
	h.fake.SetFault("/e", fakehog.Fault{Status: 400, Body: `{"code":"invalid_payload"}`, Times: 1})
	h.q.Put(t.Context(), batchRecord("/e/", "bad"))
	h.q.Put(t.Context(), batchRecord("/batch/", "good"))
	waitAccepted(t, h.fake, 1)
	h.stop() // Delivered and dead-lettered are counted before the next frame starts.
	if s := h.d.Stats(); s.DeadLettered != 1 || s.Retried != 0 {
		t.Errorf("Stats = %+v, want 1 dead letter and no retry", s)
	}
	ds, err := h.q.DeadLetters(t.Context(), 0, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("DeadLetters = %d, %v; want 1", len(ds), err)
	}
	if ds[0].Status != 400 || !strings.Contains(ds[0].Reason, "invalid_payload") || ds[0].Record.Path != "/e/" {
		t.Errorf("dead letter = status %d, reason %q, path %q", ds[0].Status, ds[0].Reason, ds[0].Record.Path)
	}
	// Replayed once the cause is gone, it is delivered.
	if n, err := h.q.Replay(t.Context()); n != 1 || err != nil {
		t.Fatalf("Replay = %d, %v", n, err)
	}
	h.start(t)
	if got := waitAccepted(t, h.fake, 2); got["bad"] != 1 {
		t.Errorf("replayed event accepted %d times, want 1", got["bad"])
	}
}

func TestDeliverInOrder(t *testing.T) {
	h := newHarness(t, Options{Concurrency: 1})
	h.stop() // fill first, then deliver
	const n = 30
	for i := range n {
		if err := h.q.Put(t.Context(), batchRecord("/batch/", fmt.Sprintf("o%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	h.fake.SetFault("/batch", fakehog.Fault{Status: 500, Times: 2})
	h.start(t)
	waitAccepted(t, h.fake, n)
	_, reqs := accepted(h.fake)
	for i, r := range reqs {
		if want := fmt.Sprintf("o%02d", i); r.Events[0].UUID != want {
			t.Fatalf("request %d carried %s, want %s", i, r.Events[0].UUID, want)
		}
	}
}

func TestDeliverShiftsSentAt(t *testing.T) {
	const late = time.Hour
	h := newHarness(t, Options{Now: func() time.Time { return time.Now().Add(late) }})
	rec := batchRecord("/batch/", "ts")
	if err := h.q.Put(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	waitAccepted(t, h.fake, 1)
	_, reqs := accepted(h.fake)
	var got struct {
		SentAt time.Time `json:"sent_at"`
	}
	if err := json.Unmarshal(reqs[0].Decoded, &got); err != nil {
		t.Fatal(err)
	}
	stored := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
	// Delivered (as the clock says) an hour after it was received, the
	// request's sent_at moves by that hour and the moments in between.
	if shift := got.SentAt.Sub(stored); shift < late {
		t.Errorf("sent_at moved by %v, want at least %v", shift, late)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 0 ", 0},
		{"-3", 0},
		{"999999", time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, 10*time.Second
	for attempt := range 20 {
		cap := min(lo<<attempt, hi)
		for range 50 {
			if got := backoff(attempt, lo, hi); got < cap/2 || got > cap {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, got, cap/2, cap)
			}
		}
	}
}

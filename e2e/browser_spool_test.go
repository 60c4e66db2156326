package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// spoolOutage is how long PostHog stays down after edgehog stored the
// page's last request: every spooled event is then delivered at least this
// late, longer than timestampSlack, so that a timestamp moved to the
// delivery moment cannot pass the check.
const spoolOutage = 4 * time.Second

// timestampSlack is the tolerance of the timestamp check: millisecond
// precision of three clock readings (posthog-js, Node and Go, all the
// same system clock) and posthog-js's 250 ms batching between capture and
// send. A bound for correctness, not a timing threshold.
const timestampSlack = 2 * time.Second

// Upstream down for a while during a load from a browser: posthog-js in
// Chromium captures through edgehog (spool in fallback mode) while
// PostHog's capture endpoints answer 503. edgehog stores each request and
// answers as PostHog would, so posthog-js sees no error and re-sends
// nothing. After PostHog returns, every event arrives exactly once by
// uuid, from the browser's address, with the time PostHog computes for it
// between the moment the page sent it and the moment edgehog acknowledged
// it, although it was delivered seconds later.
func TestSpoolBrowserOutage(t *testing.T) {
	tools := requireBrowser(t)
	s := newStack(t, edgehogBin, browserFake(tools), "--config", browserSpoolConfig(t))
	// Capture is down; assets, remote config, flags and replay (/s/) stay
	// up, so that the SDK loads and the page runs as in TestBrowser.
	s.fake.SetFault("/e", fakehog.Fault{Status: http.StatusServiceUnavailable})
	s.fake.SetFault("/i/v0/e", fakehog.Fault{Status: http.StatusServiceUnavailable})

	page := startPage(t, pageConfig{
		Token:   testKey,
		APIHost: s.URL(),
		UIHost:  "https://us.posthog.com",
		SDKSrc:  s.URL() + "/static/array.js",
		Unicode: unicodeProbe,
	})
	distinctID := "e2e-browser-spool-" + newUUID()
	run := runBrowser(t, tools, page, browserEnv(distinctID))
	sum := run.sum
	sent := make([]string, len(sum.Sent))
	for i, e := range sum.Sent {
		sent[i] = e.UUID
	}
	if len(sent) == 0 {
		t.Fatal("posthog-js reported sending no event")
	}
	// The exit beacon may still be on its way: wait until edgehog has
	// stored every request of the page's that PostHog refused. It answers
	// each one right after storing it, so this moment bounds the beacon's
	// acknowledgement, which the driver cannot see.
	stored := waitStored(t, s, sent, 30*time.Second)
	run.finish()
	time.Sleep(time.Until(stored.Add(spoolOutage)))
	s.fake.ClearFaults()
	reqs := waitDelivered(t, s.fake, sent, 30*time.Second)
	t.Logf("posthog-js %s sent %d events; fake saw: %s", sum.SDKVersion, len(sent), describe(reqs))

	t.Run("page", func(t *testing.T) {
		checkPageClean(t, sum)
		for _, r := range sum.Requests {
			if r.Method == "POST" && r.Status != http.StatusOK {
				t.Errorf("POST %s: status %d, want 200 (edgehog answers for PostHog)", r.URL, r.Status)
			}
		}
	})

	t.Run("exactly once", func(t *testing.T) {
		checkExactlyOnce(t, browserDelivered(reqs), sent)
	})

	// What the page itself sent: requests edgehog forwarded carry its
	// X-Request-Id; deliveries from the spool carry none.
	browser := make(map[string]browserRequest)
	var exitStart int64 // when the page began to leave
	for _, r := range sum.Requests {
		if r.RequestID != "" {
			browser[r.RequestID] = r
		}
		exitStart = max(exitStart, r.StartMs)
	}
	// uuid → when the page sent the request carrying it and when edgehog
	// acknowledged it. Chromium sends the exit beacon during the
	// navigation away, and neither Playwright nor the page's DevTools
	// session reports it: its window starts when the last page request
	// (the exit page) started and ends when edgehog had stored it.
	windows := make(map[string][2]time.Time)
	spooled := make(map[string]bool) // uuid → PostHog refused the page's request
	times := make(map[string]int)    // uuid → the page's requests carrying it
	for _, r := range reqs {
		if r.Header.Get("X-Request-Id") == "" {
			continue
		}
		br, ok := browser[r.Header.Get("X-Request-Id")]
		for _, ev := range r.Events {
			times[ev.UUID]++
			if r.Status != http.StatusOK {
				spooled[ev.UUID] = true
			}
			switch {
			case ok && br.AnswerMs != 0:
				windows[ev.UUID] = [2]time.Time{time.UnixMilli(br.StartMs), time.UnixMilli(br.AnswerMs)}
			case isBeacon(r):
				windows[ev.UUID] = [2]time.Time{time.UnixMilli(exitStart), stored}
			}
		}
	}
	t.Run("sent once by the page", func(t *testing.T) {
		for _, u := range sent {
			if times[u] != 1 {
				t.Errorf("event %s: the page's requests carried it %d times, want 1 (posthog-js re-sent it)", u, times[u])
			}
		}
		// Without spooled events the test proves nothing.
		names := make(map[string]int)
		for _, e := range sum.Sent {
			if spooled[e.UUID] {
				names[e.Event]++
			}
		}
		for _, name := range []string{"$pageview", "$identify", browserEvent, "$pageleave", "e2e before exit"} {
			if names[name] == 0 {
				t.Errorf("no %q event went through the spool", name)
			}
		}
		t.Logf("%d of %d events went through the spool: %v", len(spooled), len(sent), names)
	})

	t.Run("delivered requests", func(t *testing.T) {
		for _, r := range reqs {
			if r.Status != http.StatusOK || len(r.Events) == 0 {
				continue
			}
			where := r.Method + " " + r.Path
			if got := r.Header.Values("X-Forwarded-For"); !slices.Equal(got, []string{"127.0.0.1"}) {
				t.Errorf("%s: X-Forwarded-For = %q, want exactly the browser's [\"127.0.0.1\"]", where, got)
			}
			if got := r.Header.Get("User-Agent"); got != sum.UserAgent {
				t.Errorf("%s: User-Agent = %q, want the browser's %q", where, got, sum.UserAgent)
			}
			// Delivered late enough that a timestamp left at the
			// delivery moment fails the check below.
			for _, ev := range r.Events {
				if w, ok := windows[ev.UUID]; ok && spooled[ev.UUID] && r.Time.Before(w[1].Add(timestampSlack)) {
					t.Errorf("event %s (%s) delivered at %v, want after %v (acknowledged + %v)", ev.UUID, ev.Event,
						r.Time.Format(time.StampMilli), w[1].Add(timestampSlack).Format(time.StampMilli), timestampSlack)
				}
			}
		}
	})

	t.Run("timestamps", func(t *testing.T) {
		// PostHog computes arrival + (timestamp − sent_at); edgehog moves
		// sent_at by the delay, so the result is when the page sent the
		// event, not when PostHog got it.
		wrong := 0
		for _, r := range reqs {
			if r.Status != http.StatusOK {
				continue
			}
			for _, ev := range r.Events {
				w, ok := windows[ev.UUID]
				if !ok {
					t.Errorf("event %s (%s): no page request or acknowledgement found for it", ev.UUID, ev.Event)
					continue
				}
				got, err := postHogTime(r, ev)
				if err != nil {
					t.Errorf("event %s (%s): %v", ev.UUID, ev.Event, err)
					continue
				}
				from, until := w[0], w[1]
				if got.Before(from.Add(-timestampSlack)) || got.After(until.Add(timestampSlack)) {
					if wrong++; wrong <= 10 {
						t.Errorf("event %s (%s): PostHog computes %v, want within [%v, %v] (sent and acknowledged; delivered %v)",
							ev.UUID, ev.Event, got.Format(time.StampMilli), from.Format(time.StampMilli), until.Format(time.StampMilli), r.Time.Format(time.StampMilli))
					}
				}
			}
		}
		if wrong > 10 {
			t.Errorf("%d events in all with a wrong time", wrong)
		}
	})
}

// browserSpoolConfig writes an edgehog configuration with the spool in
// fallback mode (retries at most 200 ms apart, so that delivery resumes
// promptly) and the metrics on the public listener.
func browserSpoolConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "edgehog.yaml")
	conf := fmt.Sprintf("spool:\n  mode: fallback\n  dir: %s\n  max_backoff: 200ms\nadmin:\n  public_metrics_path: %s\n", t.TempDir(), spoolMetricsPath)
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatalf("writing the edgehog config: %v", err)
	}
	return p
}

// spoolMetricsPath is where browserSpoolConfig serves the metrics.
const spoolMetricsPath = "/internal/metrics"

// waitStored waits, bounded by limit, until every uuid in want has reached
// the fake on a request of the page's (one edgehog forwarded, with its
// X-Request-Id) and edgehog's edgehog_spool_stored_total counts every such
// request PostHog refused. It returns the moment it saw that.
func waitStored(t *testing.T, s *stack, want []string, limit time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		seen := make(map[string]bool)
		refused := 0
		for _, r := range s.fake.Requests() {
			if r.Header.Get("X-Request-Id") == "" || len(r.Events) == 0 {
				continue
			}
			if r.Status != http.StatusOK {
				refused++
			}
			for _, ev := range r.Events {
				seen[ev.UUID] = true
			}
		}
		missing := 0
		for _, u := range want {
			if !seen[u] {
				missing++
			}
		}
		stored := -1
		if missing == 0 {
			stored = spoolStored(t, s)
			if stored >= refused {
				return time.Now()
			}
		}
		if time.Now().After(deadline) {
			// Carry on: what PostHog gets in the end says more.
			t.Errorf("after %v: %d of %d events not forwarded; edgehog stored %d of the %d requests PostHog refused", limit, missing, len(want), stored, refused)
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spoolStored reads edgehog_spool_stored_total from edgehog's metrics;
// without a spool there is none, and nothing is stored.
func spoolStored(t *testing.T, s *stack) int {
	t.Helper()
	res, err := http.Get(s.URL() + spoolMetricsPath)
	if err != nil {
		t.Fatalf("reading edgehog's metrics: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("reading edgehog's metrics: status %d, %v", res.StatusCode, err)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "edgehog_spool_stored_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("edgehog_spool_stored_total %q: %v", v, err)
			}
			return int(n)
		}
	}
	return 0
}

// waitDelivered waits, bounded by limit, until every uuid in want has
// reached the fake on a request it answered 200, and returns what the fake
// recorded.
func waitDelivered(t *testing.T, fake *fakehog.Fake, want []string, limit time.Duration) []fakehog.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	for {
		reqs := fake.Requests()
		got := browserDelivered(reqs)
		missing := 0
		for _, u := range want {
			if got[u] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return reqs
		}
		if err := fake.WaitRequests(ctx, len(reqs)+1); err != nil {
			t.Fatalf("%d of %d events never arrived on a request answered 200: %v\nfake saw: %s", missing, len(want), err, describe(reqs))
		}
	}
}

// postHogTime is the time PostHog gives ev, delivered on r: the moment it
// received r + (ev.timestamp − sent_at). sent_at is the event's own (an
// array body, as posthog-js sends replay), else the body's top-level one,
// else the query's sent_at or _ parameter (milliseconds).
func postHogTime(r fakehog.Request, ev fakehog.Event) (time.Time, error) {
	ts, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %v", ev.Timestamp, err)
	}
	var holder struct {
		SentAt json.RawMessage `json:"sent_at"`
	}
	if err := json.Unmarshal(ev.Raw, &holder); err != nil {
		return time.Time{}, fmt.Errorf("event: %v", err)
	}
	raw := holder.SentAt
	if raw == nil && bytes.HasPrefix(bytes.TrimSpace(r.Decoded), []byte("{")) {
		if err := json.Unmarshal(r.Decoded, &holder); err != nil {
			return time.Time{}, fmt.Errorf("body: %v", err)
		}
		raw = holder.SentAt
	}
	var sentAt time.Time
	switch {
	case raw != nil:
		if sentAt, err = parseSentAt(raw); err != nil {
			return time.Time{}, err
		}
	default:
		q, _ := url.ParseQuery(r.RawQuery)
		v := q.Get("sent_at")
		if v == "" {
			v = q.Get("_")
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, errors.New("no sent_at in the event, the body or the query")
		}
		sentAt = time.UnixMilli(ms)
	}
	return r.Time.Add(ts.Sub(sentAt)), nil
}

// parseSentAt reads a sent_at value: an RFC 3339 string or milliseconds.
func parseSentAt(raw json.RawMessage) (time.Time, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("sent_at %q: %v", s, err)
		}
		return t, nil
	}
	var ms int64
	if err := json.Unmarshal(raw, &ms); err != nil {
		return time.Time{}, fmt.Errorf("sent_at %s: neither a string nor milliseconds", raw)
	}
	return time.UnixMilli(ms), nil
}

package e2e

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
	edgesdk "github.com/edgehog/edgehog/posthog"
)

// sdkErrors collects what the SDK reports through Options.OnError.
type sdkErrors struct {
	mu   sync.Mutex
	errs []error
}

func (e *sdkErrors) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err)
}

func (e *sdkErrors) all() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.errs...)
}

// TestEdgehogSDK points edgehog's own Go SDK at the real edgehog binary in
// front of the fake PostHog: every event must arrive exactly once and
// intact, flag definitions must be polled through the proxy (with the
// personal API key forwarded) and evaluated locally, and the remote /flags
// fallback must pass through too.
func TestEdgehogSDK(t *testing.T) {
	s := newStack(t, edgehogBin, fakehog.Options{MaxRecordBody: 64 << 20, Flags: testFlags})
	reported := &sdkErrors{}
	client, err := edgesdk.New(testKey, edgesdk.Options{
		Host:            s.URL(),
		FlushAt:         7,
		FlushInterval:   100 * time.Millisecond,
		FetchRetryDelay: 50 * time.Millisecond,
		PersonalAPIKey:  "phx_edgehog_e2e_personal",
		OnError:         reported.add,
	})
	if err != nil {
		t.Fatalf("posthog.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	distinctID := "e2e-edgehog-sdk-" + newUUID()
	const event = "e2e edgehog sdk event ünïcödé 🦔"
	large := largeString(largeBytes, 0xed9e)
	var captures []goCapture
	for i := range 30 {
		props := map[string]any{
			"index":   i,
			"unicode": unicodeProbe,
			"nested": map[string]any{
				"level1": map[string]any{"level2": []any{i, "deep", map[string]any{"ok": true, "none": nil}}},
				"list":   []any{1, 2.5, -3, "four", false},
			},
		}
		if i%5 == 0 {
			props["large"] = large
		}
		c := goCapture{uuid: newUUID(), event: event, props: normalize(t, props)}
		captures = append(captures, c)
		if err := client.Capture(edgesdk.Event{UUID: c.uuid, DistinctID: distinctID, Event: event, Properties: props}); err != nil {
			t.Fatalf("Capture %d: %v", i, err)
		}
	}
	grouped := goCapture{uuid: newUUID(), event: "e2e grouped event", props: map[string]any{"plan": "enterprise"}}
	captures = append(captures, grouped)
	if err := client.Capture(edgesdk.Event{
		UUID: grouped.uuid, DistinctID: distinctID, Event: grouped.event,
		Properties: maps.Clone(grouped.props), Groups: map[string]string{"company": "edgehog-inc"},
	}); err != nil {
		t.Fatal(err)
	}
	identifyUUID, aliasUUID, groupUUID := newUUID(), newUUID(), newUUID()
	if err := client.Identify(edgesdk.IdentifyMessage{UUID: identifyUUID, DistinctID: distinctID, Set: edgesdk.Properties{"name": unicodeProbe}}); err != nil {
		t.Fatal(err)
	}
	if err := client.Alias(edgesdk.AliasMessage{UUID: aliasUUID, DistinctID: distinctID, Alias: distinctID + "-alias"}); err != nil {
		t.Fatal(err)
	}
	if err := client.GroupIdentify(edgesdk.GroupIdentifyMessage{UUID: groupUUID, GroupType: "company", GroupKey: "edgehog-inc",
		Properties: edgesdk.Properties{"employees": 42}}); err != nil {
		t.Fatal(err)
	}

	// Flags: the fake's definitions agree with its /flags answers, so the
	// local values must equal testFlags; an unknown key goes to /flags
	// and is reported missing, never guessed.
	for key, want := range testFlags {
		v, err := client.GetFeatureFlag(ctx, key, distinctID, edgesdk.OnlyEvaluateLocally())
		if err != nil || v.Value() != want {
			t.Errorf("GetFeatureFlag(%q) = %v, %v; want %v", key, v, err, want)
		}
		on, err := client.IsFeatureEnabled(ctx, key, distinctID)
		if err != nil || on != (want != false) {
			t.Errorf("IsFeatureEnabled(%q) = %v, %v; want %v", key, on, err, want != false)
		}
	}
	if _, err := client.GetFeatureFlag(ctx, "no-such-flag", distinctID); !errors.Is(err, edgesdk.ErrFlagNotFound) {
		t.Errorf("GetFeatureFlag(no-such-flag) error = %v, want ErrFlagNotFound", err)
	}
	all, err := client.GetAllFlags(ctx, distinctID)
	if err != nil || len(all) != len(testFlags) {
		t.Errorf("GetAllFlags = %v, %v; want %d flags", all, err, len(testFlags))
	}

	if err := client.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, err := range reported.all() {
		t.Errorf("the SDK reported: %v", err)
	}
	reqs := s.fake.Requests()
	t.Logf("fake saw: %s", describe(reqs))

	t.Run("requests", func(t *testing.T) {
		var batches, definitions, remote int
		for _, r := range reqs {
			checkUpstreamRequest(t, s, r, edgesdk.Lib+"/"+edgesdk.Version)
			switch r.Path {
			case "/batch/":
				batches++
				if r.Status != 200 || r.Header.Get("Content-Encoding") != "gzip" || r.DecodeErr != "" {
					t.Errorf("/batch/: status %d, Content-Encoding %q, decode error %q; want 200, gzip, none",
						r.Status, r.Header.Get("Content-Encoding"), r.DecodeErr)
				}
			case "/flags/definitions":
				definitions++
				if got := r.Header.Get("Authorization"); got != "Bearer phx_edgehog_e2e_personal" {
					t.Errorf("/flags/definitions: Authorization = %q, want the personal key", got)
				}
			case "/flags/":
				remote++
			default:
				t.Errorf("unexpected request %s %s?%s", r.Method, r.Path, r.RawQuery)
			}
		}
		if batches < 2 || definitions == 0 || remote == 0 {
			t.Errorf("%d batches, %d definitions and %d /flags requests; want ≥2, ≥1, ≥1", batches, definitions, remote)
		}
	})

	got := delivered(reqs)
	events := deliveredEvents(reqs)
	t.Run("exactly once", func(t *testing.T) {
		want := []string{identifyUUID, aliasUUID, groupUUID}
		for _, c := range captures {
			want = append(want, c.uuid)
		}
		// $feature_flag_called: one per flag value, plus one for the
		// missing flag; their uuids are the SDK's own.
		called := 0
		for u, ev := range events {
			if ev.Event == "$feature_flag_called" {
				called++
				want = append(want, u)
			}
		}
		if called != len(testFlags)+1 {
			t.Errorf("%d $feature_flag_called events, want %d", called, len(testFlags)+1)
		}
		checkExactlyOnce(t, got, want)
	})

	t.Run("intact", func(t *testing.T) {
		for _, c := range captures {
			ev, ok := events[c.uuid]
			if !ok {
				continue // reported by "exactly once"
			}
			if ev.Event != c.event || ev.DistinctID != distinctID {
				t.Errorf("event %s: %q by %q, want %q by %q", c.uuid, ev.Event, ev.DistinctID, c.event, distinctID)
			}
			checkProps(t, "event "+c.uuid, ev.Properties, c.props)
			checkProps(t, "event "+c.uuid, ev.Properties, map[string]any{
				"$lib": edgesdk.Lib, "$lib_version": edgesdk.Version, "$geoip_disable": true,
			})
		}
		if ev := events[grouped.uuid]; ev.Properties != nil {
			checkProps(t, "grouped event", ev.Properties, map[string]any{"$groups": map[string]any{"company": "edgehog-inc"}})
		}
		if ev := events[identifyUUID]; ev.Properties != nil {
			checkProps(t, "$identify", ev.Properties, map[string]any{"$set": map[string]any{"name": unicodeProbe}})
		}
	})
}

// TestEdgehogSDKRetriesThroughProxy makes PostHog fail behind edgehog: the
// SDK must retry through the proxy and still deliver every event once.
func TestEdgehogSDKRetriesThroughProxy(t *testing.T) {
	s := newStack(t, edgehogBin, fakehog.Options{})
	s.fake.SetFault("/batch/", fakehog.Fault{Status: 503, Times: 2})
	client, err := edgesdk.New(testKey, edgesdk.Options{Host: s.URL(), FetchRetryDelay: 10 * time.Millisecond, FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 10 {
		id := newUUID()
		ids = append(ids, id)
		if err := client.Capture(edgesdk.Event{UUID: id, DistinctID: "retry-user", Event: "retried"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := client.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := statuses(s.fake.Requests(), "/batch/"); len(got) != 3 {
		t.Errorf("/batch/ statuses %v, want two 503s then 200", got)
	}
	checkExactlyOnce(t, delivered(s.fake.Requests()), ids)
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// browserEvent is the name of the page's plain capture events.
const browserEvent = "e2e browser event ünïcödé 🦔"

// browserCaptures is how many plain events the page captures; every
// fourth carries a large string property.
const browserCaptures = 12

// browserClicks is how many times the page's button is clicked for the
// session recording.
const browserClicks = 5

func TestBrowser(t *testing.T) {
	tests := []struct {
		name               string
		disableCompression bool
		aliases            bool
	}{
		// posthog-js's default: gzip text/plain bodies, gzip beacon.
		{"gzip", false, false},
		// disable_compression: JSON bodies, so every POST is preflighted,
		// and a base64 form beacon.
		{"no compression", true, false},
		// edgehog mounted under a prefix with path aliases, and the page
		// set up as docs/configuration.md "Path aliases" says.
		{"path aliases", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tools := requireBrowser(t)
			var extra []string
			if tt.aliases {
				extra = []string{"--config", writeAliasConfig(t)}
			}
			s := newStack(t, edgehogBin, browserFake(tools), extra...)
			cfg := pageConfig{
				Token:              testKey,
				APIHost:            s.URL(),
				UIHost:             "https://us.posthog.com",
				SDKSrc:             s.URL() + "/static/array.js",
				DisableCompression: tt.disableCompression,
				Unicode:            unicodeProbe,
			}
			if tt.aliases {
				cfg.APIHost = s.URL() + docAliases.Prefix
				cfg.SDKSrc = s.URL() + docAliases.Prefix + "/v/array.js"
				cfg.Aliases = &docAliases
			}
			page := startPage(t, cfg)
			distinctID := "e2e-browser-" + newUUID()
			run := runBrowser(t, tools, page, browserEnv(distinctID))
			// The exit beacon is on its way; wait for it before the
			// browser closes.
			waitEvent(t, s.fake, "$pageleave")
			run.finish()
			checkBrowser(t, s, tools, page, run.sum, distinctID, tt.disableCompression)
			if tt.aliases {
				checkAliasedURLs(t, s, run.sum)
			}
		})
	}
}

// aliasConfig is the edgehog configuration of docs/configuration.md
// "Path aliases".
const aliasConfig = `prefix: /k7
aliases:
  - { from: /q/,  to: /i/v0/e/ }
  - { from: /r/,  to: /s/ }
  - { from: /ff/, to: /flags/ }
  - { from: /v/*, to: /static/* }
  - { from: /c/*, to: /array/* }
`

// docAliases is the rewriteRequestPath setup of docs/configuration.md
// "Path aliases" for aliasConfig.
var docAliases = pageAliases{
	Prefix:   "/k7",
	Exact:    map[string]string{"/e/": "/q/", "/i/v0/e/": "/q/", "/s/": "/r/", "/flags/": "/ff/"},
	Prefixes: [][2]string{{"/static/", "/v/"}, {"/array/", "/c/"}},
}

// writeAliasConfig writes aliasConfig to a file and returns its path.
func writeAliasConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "edgehog.yaml")
	if err := os.WriteFile(p, []byte(aliasConfig), 0o600); err != nil {
		t.Fatalf("writing the edgehog config: %v", err)
	}
	return p
}

// checkAliasedURLs checks that the browser asked edgehog only for aliased
// paths under the prefix, never for a canonical PostHog path that a
// blocker would match, and that the fake got the canonical ones.
func checkAliasedURLs(t *testing.T, s *stack, sum *browserSummary) {
	t.Helper()
	canonical := []string{"/e/", "/i/v0/e/", "/s/", "/flags/", "/static/", "/array/"}
	aliased := 0
	for _, r := range sum.Requests {
		rest, ok := strings.CutPrefix(r.URL, s.URL())
		if !ok {
			continue
		}
		p, _, _ := strings.Cut(rest, "?")
		if !strings.HasPrefix(p, docAliases.Prefix+"/") {
			t.Errorf("page requested %s %s, want every edgehog path under %s", r.Method, r.URL, docAliases.Prefix)
			continue
		}
		p = strings.TrimPrefix(p, docAliases.Prefix)
		for _, c := range canonical {
			if strings.HasPrefix(p, c) {
				t.Errorf("page requested the canonical path %s (%s), want its alias", p, r.URL)
			}
		}
		for _, a := range []string{"/q/", "/r/", "/ff/", "/v/", "/c/"} {
			if strings.HasPrefix(p, a) {
				aliased++
				break
			}
		}
	}
	if aliased == 0 {
		t.Errorf("page requested no aliased path")
	}
	for _, r := range s.fake.Requests() {
		if strings.HasPrefix(r.Path, docAliases.Prefix) {
			t.Errorf("fake got %s %s, want the prefix stripped", r.Method, r.Path)
		}
	}
}

// browserEnv is run.mjs's environment for a full run.
func browserEnv(distinctID string) map[string]string {
	return map[string]string{
		"E2E_MODE":        "full",
		"E2E_DISTINCT_ID": distinctID,
		"E2E_EVENT":       browserEvent,
		"E2E_UNICODE":     unicodeProbe,
		"E2E_N":           fmt.Sprint(browserCaptures),
		"E2E_LARGE_CHARS": "40000",
		"E2E_LARGE_EVERY": "4",
		"E2E_FLAG_KEY":    browserFlag,
		"E2E_CLICKS":      fmt.Sprint(browserClicks),
	}
}

// checkBrowser checks a full run: the page saw no error, and the fake got
// every event exactly once and intact, through edgehog.
func checkBrowser(t *testing.T, s *stack, tools browserTools, page string, sum *browserSummary, distinctID string, uncompressed bool) {
	t.Helper()
	reqs := s.fake.Requests()
	t.Logf("posthog-js %s in %s; fake saw: %s", sum.SDKVersion, sum.UserAgent, describe(reqs))

	t.Run("page", func(t *testing.T) {
		checkPageClean(t, sum)
		if sum.SDKVersion != tools.sdkVersion {
			t.Errorf("posthog.version = %q, want %q (the npm package the fake serves)", sum.SDKVersion, tools.sdkVersion)
		}
		if !sum.RecordingStarted {
			t.Errorf("session recording did not start")
		}
		// Everything posthog-js fetched went to edgehog.
		for _, r := range sum.Requests {
			if strings.HasPrefix(r.URL, page) || strings.HasPrefix(r.URL, "data:") {
				continue
			}
			if !strings.HasPrefix(r.URL, s.URL()+"/") {
				t.Errorf("page requested %s %s, want every request to go to the page or edgehog", r.Method, r.URL)
			}
		}
	})

	t.Run("assets", func(t *testing.T) {
		checkAssets(t, tools, reqs)
	})

	t.Run("upstream requests", func(t *testing.T) {
		pageOrigin := page
		for _, r := range reqs {
			where := r.Upstream + " " + r.Method + " " + r.Path
			if r.Status == 0 || r.Status >= 400 {
				t.Errorf("%s: fake answered %d", where, r.Status)
			}
			if got := r.Header.Values("X-Forwarded-For"); !slices.Equal(got, []string{"127.0.0.1"}) {
				t.Errorf("%s: X-Forwarded-For = %q, want exactly the browser's [\"127.0.0.1\"]", where, got)
			}
			if got := r.Header.Get("User-Agent"); got != sum.UserAgent {
				t.Errorf("%s: User-Agent = %q, want the browser's %q", where, got, sum.UserAgent)
			}
			if r.Upstream == fakehog.UpstreamAPI && r.Method == "POST" {
				if got := r.Header.Get("Origin"); got != pageOrigin {
					t.Errorf("%s: Origin = %q, want the page's %q", where, got, pageOrigin)
				}
			}
		}
	})

	sent := make([]string, len(sum.Sent))
	names := make(map[string]string, len(sum.Sent))
	for i, e := range sum.Sent {
		sent[i] = e.UUID
		names[e.UUID] = e.Event
	}
	got := browserDelivered(reqs)
	t.Run("exactly once", func(t *testing.T) {
		if len(sent) == 0 {
			t.Fatal("posthog-js reported sending no event")
		}
		checkExactlyOnce(t, got, sent)
		for _, c := range sum.Captures {
			if !slices.Contains(sent, c.UUID) {
				t.Errorf("capture %s (%s) never passed before_send", c.UUID, c.Event)
			}
		}
		sentNames := slices.Collect(maps.Values(names))
		for _, name := range []string{"$pageview", "$identify", "$groupidentify", "$feature_flag_called", "$autocapture", "$snapshot", "$pageleave", "e2e queued before load"} {
			if !slices.Contains(sentNames, name) {
				t.Errorf("posthog-js sent no %q event", name)
			}
		}
	})

	events := browserEvents(reqs)
	t.Run("captures intact", func(t *testing.T) {
		if len(sum.Captures) != browserCaptures+1 {
			t.Errorf("page made %d captures, want %d", len(sum.Captures), browserCaptures+1)
		}
		for _, c := range sum.Captures {
			ev, ok := events[c.UUID]
			if !ok {
				continue // reported by "exactly once"
			}
			where := "event " + c.UUID
			if ev.Event != c.Event {
				t.Errorf("%s: name = %q, want %q", where, ev.Event, c.Event)
			}
			if ev.DistinctID != distinctID {
				t.Errorf("%s: distinct_id = %q, want %q", where, ev.DistinctID, distinctID)
			}
			checkProps(t, where, ev.Properties, c.Properties)
			checkProps(t, where, ev.Properties, map[string]any{
				"token":        testKey,
				"$lib":         "web",
				"$lib_version": tools.sdkVersion,
				"$session_id":  sum.SessionID,
			})
		}
		if n := len(eventsNamed(events, browserEvent, distinctID)); n != browserCaptures {
			t.Errorf("delivered %d %q events, want %d", n, browserEvent, browserCaptures)
		}
		large := 0
		for _, ev := range eventsNamed(events, browserEvent, distinctID) {
			if s, ok := ev.Properties["large"].(string); ok && len([]rune(s)) > 30000 {
				large++
			}
		}
		if want := (browserCaptures + 3) / 4; large != want {
			t.Errorf("delivered %d events with the large property, want %d", large, want)
		}
	})

	t.Run("identify and group", func(t *testing.T) {
		ids := eventsNamed(events, "$identify", distinctID)
		if len(ids) != 1 {
			t.Fatalf("delivered %d $identify events for %s, want 1", len(ids), distinctID)
		}
		// posthog-js puts $set and $set_once beside properties, and adds
		// its own initial-referrer keys to $set_once.
		for _, key := range []string{"$set", "$set_once"} {
			got, _ := rawField(t, ids[0], key).(map[string]any)
			want, _ := sum.Identify[key].(map[string]any)
			if len(want) == 0 {
				t.Errorf("the page reported no %s for identify", key)
			}
			checkProps(t, "$identify "+key, got, want)
		}
		if anon, _ := ids[0].Properties["$anon_distinct_id"].(string); anon == "" || anon == distinctID {
			t.Errorf("$identify: $anon_distinct_id = %q, want the anonymous id", anon)
		}
		groups := eventsNamed(events, "$groupidentify", distinctID)
		if len(groups) != 1 {
			t.Fatalf("delivered %d $groupidentify events, want 1", len(groups))
		}
		checkProps(t, "$groupidentify", groups[0].Properties, map[string]any{
			"$group_type": sum.Group.Type, "$group_key": sum.Group.Key, "$group_set": sum.Group.Properties,
		})
		for _, c := range eventsNamed(events, browserEvent, distinctID) {
			checkProps(t, "grouped event "+c.UUID, c.Properties, map[string]any{
				"$groups": map[string]any{sum.Group.Type: sum.Group.Key},
			})
		}
	})

	t.Run("flag and payload", func(t *testing.T) {
		if sum.Flag.Value != testFlags[browserFlag] || sum.Flag.Enabled != true {
			t.Errorf("getFeatureFlag, isFeatureEnabled(%q) = %#v, %#v; want %#v, true", browserFlag, sum.Flag.Value, sum.Flag.Enabled, testFlags[browserFlag])
		}
		var want any
		_ = json.Unmarshal([]byte(browserFlagPayload), &want)
		if !reflect.DeepEqual(sum.Flag.Payload, want) {
			t.Errorf("getFeatureFlagPayload(%q) = %s, want %s", browserFlag, jsonText(sum.Flag.Payload), browserFlagPayload)
		}
		called := eventsNamed(events, "$feature_flag_called", distinctID)
		if len(called) == 0 {
			t.Fatalf("delivered no $feature_flag_called event")
		}
		checkProps(t, "$feature_flag_called", called[0].Properties, map[string]any{
			"$feature_flag": browserFlag, "$feature_flag_response": testFlags[browserFlag],
		})
		flags := 0
		for _, r := range reqs {
			if r.Path == "/flags/" && r.Status == 200 {
				flags++
			}
		}
		if flags == 0 {
			t.Errorf("no /flags/ request reached the fake")
		}
	})

	t.Run("recording", func(t *testing.T) {
		checkRecording(t, reqs, sum.SessionID)
	})

	t.Run("encoding", func(t *testing.T) {
		checkEncoding(t, reqs, uncompressed)
	})

	t.Run("preflights", func(t *testing.T) {
		// JSON bodies are not CORS-simple: each such POST needs a
		// preflight, which edgehog (or PostHog behind it) must answer
		// with a 2xx. gzip bodies are sent as text/plain, which is
		// simple: the default setup costs no preflight at all.
		for _, p := range sum.Preflights {
			if p.Failure != "" || p.Status < 200 || p.Status > 299 {
				t.Errorf("preflight of %s: status %d, failure %q; want a 2xx", p.URL, p.Status, p.Failure)
			}
		}
		switch {
		case uncompressed && len(sum.Preflights) == 0:
			t.Errorf("Chromium sent no preflight; want one before the JSON posts")
		case !uncompressed && len(sum.Preflights) > 0:
			t.Errorf("Chromium sent %d preflights (first: %s); want none for text/plain bodies", len(sum.Preflights), sum.Preflights[0].URL)
		}
		t.Logf("%d preflights", len(sum.Preflights))
	})

	t.Run("exit beacon", func(t *testing.T) {
		checkExitBeacon(t, reqs, uncompressed)
	})
}

// checkPageClean fails on any console error (CORS errors among them),
// page error, failed request or error response the page saw.
func checkPageClean(t *testing.T, sum *browserSummary) {
	t.Helper()
	for _, e := range sum.ConsoleErrors {
		if strings.Contains(e, "CORS") {
			t.Errorf("CORS error: %s", e)
			continue
		}
		t.Errorf("console error: %s", e)
	}
	for _, e := range sum.PageErrors {
		t.Errorf("page error: %s", e)
	}
	for _, e := range sum.FailedRequests {
		t.Errorf("failed request: %s", e)
	}
	for _, e := range sum.BadResponses {
		t.Errorf("error response: %s", e)
	}
}

// checkAssets checks that the SDK, its remote config and the recorder and
// surveys bundles came from the fake's assets origin through edgehog,
// at the paths PostHog serves them (aliases resolved).
func checkAssets(t *testing.T, tools browserTools, reqs []fakehog.Request) {
	t.Helper()
	want := map[string]bool{
		"/static/array.js":                                  false,
		"/array/" + testKey + "/config.js":                  false,
		"/static/" + tools.sdkVersion + "/lazy-recorder.js": false,
		"/static/" + tools.sdkVersion + "/surveys.js":       false,
	}
	for _, r := range reqs {
		if _, ok := want[r.Path]; ok && r.Upstream == fakehog.UpstreamAssets && r.Method == "GET" && r.Status == 200 {
			want[r.Path] = true
		}
	}
	for p, seen := range want {
		if !seen {
			t.Errorf("the fake's assets origin answered no GET %s with 200", p)
		}
	}
	surveys := false
	for _, r := range reqs {
		if r.Path == "/api/surveys/" && r.Upstream == fakehog.UpstreamAPI && r.Status == 200 {
			surveys = true
			if q, _ := url.ParseQuery(r.RawQuery); q.Get("token") != testKey {
				t.Errorf("/api/surveys/: query %q, want token=%s", r.RawQuery, testKey)
			}
		}
	}
	if !surveys {
		t.Errorf("the surveys bundle fetched no /api/surveys/ through edgehog")
	}
}

// browserDelivered counts, per uuid, the events on requests the fake
// answered 200: capture, replay and beacons alike.
func browserDelivered(reqs []fakehog.Request) map[string]int {
	n := make(map[string]int)
	for _, r := range reqs {
		if r.Status != 200 {
			continue
		}
		for _, ev := range r.Events {
			n[ev.UUID]++
		}
	}
	return n
}

// browserEvents returns the delivered events by uuid.
func browserEvents(reqs []fakehog.Request) map[string]fakehog.Event {
	m := make(map[string]fakehog.Event)
	for _, r := range reqs {
		if r.Status != 200 {
			continue
		}
		for _, ev := range r.Events {
			m[ev.UUID] = ev
		}
	}
	return m
}

// checkRecording looks into the $snapshot events of the session for
// rrweb's full snapshot, DOM mutations and clicks.
func checkRecording(t *testing.T, reqs []fakehog.Request, sessionID string) {
	t.Helper()
	var full, mutations, clicks, snapshots int
	for _, r := range reqs {
		if r.Status != 200 {
			continue
		}
		for _, ev := range r.Events {
			if ev.Event != "$snapshot" {
				continue
			}
			snapshots++
			if got := ev.Properties["$session_id"]; got != sessionID {
				t.Errorf("$snapshot %s: $session_id = %v, want %s", ev.UUID, got, sessionID)
			}
			if r.Path != "/s/" {
				t.Errorf("$snapshot %s arrived on %s, want /s/", ev.UUID, r.Path)
			}
			data, _ := ev.Properties["$snapshot_data"].([]any)
			for _, d := range data {
				re, _ := d.(map[string]any)
				typ, _ := re["type"].(float64)
				inner, _ := re["data"].(map[string]any)
				source, hasSource := inner["source"].(float64)
				switch {
				case typ == 2: // rrweb EventType.FullSnapshot
					full++
				case typ == 3 && hasSource && source == 0: // IncrementalSource.Mutation
					mutations++
				case typ == 3 && hasSource && source == 2 && inner["type"] == float64(2): // MouseInteraction, Click
					clicks++
				}
			}
		}
	}
	t.Logf("%d $snapshot events: %d full snapshots, %d mutations, %d clicks", snapshots, full, mutations, clicks)
	if full == 0 || mutations == 0 || clicks < browserClicks {
		t.Errorf("recording has %d full snapshots, %d mutations and %d clicks; want at least 1, 1 and %d", full, mutations, clicks, browserClicks)
	}
}

// checkEncoding checks the capture bodies posthog-js chose: gzip text/plain
// by default, JSON with compression disabled.
func checkEncoding(t *testing.T, reqs []fakehog.Request, uncompressed bool) {
	t.Helper()
	n := 0
	for _, r := range reqs {
		if r.Method != "POST" || r.Status != 200 || (r.Path != "/e/" && r.Path != "/i/v0/e/" && r.Path != "/flags/") {
			continue
		}
		if isBeacon(r) {
			continue
		}
		n++
		where := r.Method + " " + r.Path + "?" + r.RawQuery
		gz := bytes.HasPrefix(r.Body, []byte{0x1f, 0x8b})
		ct := r.Header.Get("Content-Type")
		switch {
		case uncompressed && (gz || ct != "application/json"):
			t.Errorf("%s: Content-Type %q, gzip %v; want application/json, not gzip", where, ct, gz)
		case !uncompressed && (!gz || ct != "text/plain"):
			t.Errorf("%s: Content-Type %q, gzip %v; want text/plain gzip", where, ct, gz)
		}
		if r.DecodeErr != "" {
			t.Errorf("%s: the fake could not decode it: %s", where, r.DecodeErr)
		}
	}
	if n == 0 {
		t.Errorf("no capture or flags request reached the fake")
	}
}

// isBeacon reports whether r came from navigator.sendBeacon: Chromium
// sends a beacon whose type is CORS-safelisted in no-cors mode, while
// posthog-js's fetch and XHR requests are in cors mode.
func isBeacon(r fakehog.Request) bool {
	return r.Header.Get("Sec-Fetch-Mode") == "no-cors"
}

// checkExitBeacon checks that $pageleave and the last capture left the
// page by sendBeacon in the form posthog-js uses for it.
func checkExitBeacon(t *testing.T, reqs []fakehog.Request, uncompressed bool) {
	t.Helper()
	for _, name := range []string{"$pageleave", "e2e before exit"} {
		var carriers []fakehog.Request
		for _, r := range reqs {
			if r.Status != 200 {
				continue
			}
			for _, ev := range r.Events {
				if ev.Event == name {
					carriers = append(carriers, r)
				}
			}
		}
		if len(carriers) != 1 {
			t.Errorf("%d requests carried %q, want 1", len(carriers), name)
			continue
		}
		r := carriers[0]
		where := fmt.Sprintf("%q: %s %s?%s", name, r.Method, r.Path, r.RawQuery)
		if !isBeacon(r) {
			t.Errorf("%s: Sec-Fetch-Mode %q, Sec-Fetch-Dest %q; want a sendBeacon request (no-cors)", where, r.Header.Get("Sec-Fetch-Mode"), r.Header.Get("Sec-Fetch-Dest"))
		}
		q, _ := url.ParseQuery(r.RawQuery)
		ct := r.Header.Get("Content-Type")
		if uncompressed {
			if q.Get("compression") != "base64" || ct != "application/x-www-form-urlencoded" {
				t.Errorf("%s: Content-Type %q; want ?compression=base64 and a form body", where, ct)
			}
		} else if !bytes.HasPrefix(r.Body, []byte{0x1f, 0x8b}) || ct != "text/plain" {
			t.Errorf("%s: Content-Type %q; want a text/plain gzip body", where, ct)
		}
	}
}

package posthog

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// testDefinitions is a /flags/definitions document covering the cases the
// client treats differently.
const testDefinitions = `{
  "flags": [
    {"id": 1, "key": "beta", "active": true, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
      "payloads": {"true": "{\"color\":\"blue\"}"}}},
    {"id": 2, "key": "exp", "active": true, "has_experiment": true, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
      "multivariate": {"variants": [{"key": "test", "rollout_percentage": 100}]},
      "payloads": {"test": "[1,2]"}}},
    {"id": 3, "key": "pro-only", "active": true, "filters": {"groups": [{"properties": [
      {"key": "plan", "value": "pro", "operator": "exact", "type": "person"}], "rollout_percentage": 100}]}},
    {"id": 4, "key": "continuity", "active": true, "ensure_experience_continuity": true,
      "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}},
    {"id": 5, "key": "off", "active": false, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
      "payloads": {"true": "1"}}},
    {"id": 6, "key": "company-flag", "active": true, "filters": {"aggregation_group_type_index": 0,
      "groups": [{"properties": [], "rollout_percentage": 100}]}}
  ],
  "group_type_mapping": {"0": "company"},
  "cohorts": {}
}`

// remoteFlags are the fake's /flags answers.
var remoteFlagValues = map[string]any{"continuity": "remote-variant", "pro-only": true, "remote-only": false}

func newFlagFake(t *testing.T) *fakehog.Fake {
	t.Helper()
	return startFake(t, fakehog.Options{Definitions: []byte(testDefinitions), Flags: remoteFlagValues})
}

// requestsTo returns the recorded requests whose path is p.
func requestsTo(fake *fakehog.Fake, p string) []fakehog.Request {
	var out []fakehog.Request
	for _, r := range fake.Requests() {
		if r.Path == p {
			out = append(out, r)
		}
	}
	return out
}

func TestGetFeatureFlag(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		opts     []FlagOption
		personal bool
		want     FlagValue
		wantErr  error
		remote   int // /flags/ requests expected
	}{
		{"local boolean", "beta", nil, true, On, nil, 0},
		{"local variant", "exp", nil, true, Variant("test"), nil, 0},
		{"inactive is a conclusive false", "off", nil, true, Off, nil, 0},
		{"property given locally", "pro-only", []FlagOption{WithPersonProperties(Properties{"plan": "pro"})}, true, On, nil, 0},
		{"property mismatch locally", "pro-only", []FlagOption{WithPersonProperties(Properties{"plan": "free"})}, true, Off, nil, 0},
		{"missing property falls back", "pro-only", nil, true, On, nil, 1},
		{"continuity falls back", "continuity", nil, true, Variant("remote-variant"), nil, 1},
		{"unknown locally falls back", "remote-only", nil, true, Off, nil, 1},
		{"group flag with its group", "company-flag", []FlagOption{WithGroups(map[string]string{"company": "acme"})}, true, On, nil, 0},
		{"group flag without group", "company-flag", nil, true, Off, nil, 0},
		{"only local inconclusive", "continuity", []FlagOption{OnlyEvaluateLocally()}, true, Off, ErrInconclusive, 0},
		{"only local unknown", "nope", []FlagOption{OnlyEvaluateLocally()}, true, Off, ErrFlagNotFound, 0},
		{"only local without key", "beta", []FlagOption{OnlyEvaluateLocally()}, false, Off, ErrInconclusive, 0},
		{"remote without personal key", "continuity", nil, false, Variant("remote-variant"), nil, 1},
		{"remote unknown", "nope", nil, false, Off, ErrFlagNotFound, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFlagFake(t)
			opts := Options{SendFeatureFlagEvent: new(false)}
			if tt.personal {
				opts.PersonalAPIKey = "phx_personal"
			}
			c, _ := newTestClient(t, fake, opts)
			got, err := c.GetFeatureFlag(t.Context(), tt.key, "user-1", tt.opts...)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("GetFeatureFlag(%q) error = %v, want %v", tt.key, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("GetFeatureFlag(%q) = %v, want %v", tt.key, got, tt.want)
			}
			if n := len(requestsTo(fake, "/flags/")); n != tt.remote {
				t.Errorf("%d /flags/ requests, want %d", n, tt.remote)
			}
			enabled, err := c.IsFeatureEnabled(t.Context(), tt.key, "user-1", tt.opts...)
			if enabled != tt.want.Enabled() || !errors.Is(err, tt.wantErr) {
				t.Errorf("IsFeatureEnabled(%q) = %v, %v; want %v, %v", tt.key, enabled, err, tt.want.Enabled(), tt.wantErr)
			}
		})
	}
}

func TestRemoteFlagsRequest(t *testing.T) {
	fake := newFlagFake(t)
	c, _ := newTestClient(t, fake, Options{SendFeatureFlagEvent: new(false)})
	_, err := c.GetFeatureFlag(t.Context(), "continuity", "user-1",
		WithGroups(map[string]string{"company": "acme"}),
		WithPersonProperties(Properties{"plan": "pro", "$device_id": "dev-1"}),
		WithGroupProperties(map[string]Properties{"company": {"size": 10}}))
	if err != nil {
		t.Fatal(err)
	}
	reqs := requestsTo(fake, "/flags/")
	if len(reqs) != 1 {
		t.Fatalf("%d /flags/ requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.RawQuery != "v=2" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Content-Encoding") != "" {
		t.Errorf("request %s ?%s, Content-Type %q, Content-Encoding %q; want POST ?v=2, application/json, none",
			r.Method, r.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"))
	}
	var got map[string]any
	if err := json.Unmarshal(r.Decoded, &got); err != nil {
		t.Fatalf("decoding %s: %v", r.Decoded, err)
	}
	want := map[string]any{
		"token":                 testKey,
		"distinct_id":           "user-1",
		"groups":                map[string]any{"company": "acme"},
		"person_properties":     map[string]any{"distinct_id": "user-1", "plan": "pro", "$device_id": "dev-1"},
		"group_properties":      map[string]any{"company": map[string]any{"$group_key": "acme", "size": 10.0}},
		"geoip_disable":         true,
		"flag_keys_to_evaluate": []any{"continuity"},
		"evaluation_runtime":    "server",
		"$device_id":            "dev-1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("/flags body = %v\nwant %v", got, want)
	}
}

func TestRemoteFlagsRetries(t *testing.T) {
	tests := []struct {
		name     string
		fault    fakehog.Fault
		requests int
		status   int // APIError status; 0: network error, -1: success
	}{
		{"500 not retried", fakehog.Fault{Status: 500}, 1, 500},
		{"503 not retried", fakehog.Fault{Status: 503}, 1, 503},
		{"429 not retried", fakehog.Fault{Status: 429}, 1, 429},
		{"502 retried once", fakehog.Fault{Status: 502}, 2, 502},
		{"504 retried once then ok", fakehog.Fault{Status: 504, Times: 1}, 2, -1},
		{"reset retried once", fakehog.Fault{Reset: true}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFlagFake(t)
			c, _ := newTestClient(t, fake, Options{SendFeatureFlagEvent: new(false)})
			fake.SetFault("/flags/", tt.fault)
			v, err := c.GetFeatureFlag(t.Context(), "continuity", "u")
			if n := len(requestsTo(fake, "/flags/")); n != tt.requests {
				t.Errorf("%d /flags/ requests, want %d", n, tt.requests)
			}
			var ae *APIError
			var ne *NetworkError
			switch {
			case tt.status == -1:
				if err != nil || v != Variant("remote-variant") {
					t.Errorf("GetFeatureFlag = %v, %v; want remote-variant", v, err)
				}
			case tt.status == 0:
				if !errors.As(err, &ne) {
					t.Errorf("GetFeatureFlag error = %v, want a NetworkError", err)
				}
			case !errors.As(err, &ae) || ae.Status != tt.status:
				t.Errorf("GetFeatureFlag error = %v, want APIError %d", err, tt.status)
			}
			if tt.status != -1 && v != Off {
				t.Errorf("value %v returned with an error, want Off", v)
			}
		})
	}
}

func TestPayloads(t *testing.T) {
	fake := newFlagFake(t)
	c, _ := newTestClient(t, fake, Options{PersonalAPIKey: "phx_personal"})
	tests := []struct {
		key  string
		opts []FlagOption
		want string // "" for nil
	}{
		{"beta", nil, `{"color":"blue"}`},
		{"exp", nil, `[1,2]`},
		{"off", nil, ""},
		{"exp", []FlagOption{WithMatchValue(Variant("test"))}, `[1,2]`},
		{"off", []FlagOption{WithMatchValue(On)}, `1`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.key, len(tt.opts)), func(t *testing.T) {
			got, err := c.GetFeatureFlagPayload(t.Context(), tt.key, "user-1", tt.opts...)
			if err != nil {
				t.Fatalf("GetFeatureFlagPayload(%q): %v", tt.key, err)
			}
			if string(got) != tt.want {
				t.Errorf("GetFeatureFlagPayload(%q) = %s, want %s", tt.key, got, tt.want)
			}
		})
	}
	if _, err := c.GetFeatureFlagPayload(t.Context(), "continuity", "u", OnlyEvaluateLocally()); !errors.Is(err, ErrInconclusive) {
		t.Errorf("payload of an inconclusive flag: error %v, want ErrInconclusive", err)
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(delivered(fake)); n != 0 {
		t.Errorf("payload calls sent %d events, want none", n)
	}
}

func TestGetAllFlagsAndPayloads(t *testing.T) {
	t.Run("local with remote fallback", func(t *testing.T) {
		fake := newFlagFake(t)
		c, _ := newTestClient(t, fake, Options{PersonalAPIKey: "phx_personal"})
		all, err := c.GetAllFlagsAndPayloads(t.Context(), "user-1")
		if err != nil {
			t.Fatal(err)
		}
		// Local: beta, exp, off, company-flag (no group: false); pro-only and
		// continuity are inconclusive, so /flags is asked and wins.
		want := map[string]FlagValue{"beta": On, "exp": Variant("test"), "off": Off, "company-flag": Off,
			"pro-only": On, "continuity": Variant("remote-variant"), "remote-only": Off}
		if !reflect.DeepEqual(all.Flags, want) {
			t.Errorf("flags = %v, want %v", all.Flags, want)
		}
		if len(all.Payloads) != 2 || string(all.Payloads["beta"]) != `{"color":"blue"}` || string(all.Payloads["exp"]) != `[1,2]` {
			t.Errorf("payloads = %s, want beta and exp", all.Payloads)
		}
		if n := len(requestsTo(fake, "/flags/")); n != 1 {
			t.Errorf("%d /flags/ requests, want 1", n)
		}
	})
	t.Run("only local", func(t *testing.T) {
		fake := newFlagFake(t)
		c, _ := newTestClient(t, fake, Options{PersonalAPIKey: "phx_personal", StrictLocalEvaluation: true})
		got, err := c.GetAllFlags(t.Context(), "user-1", WithFlagKeys("beta", "continuity", "nope"))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]FlagValue{"beta": On}; !reflect.DeepEqual(got, want) {
			t.Errorf("flags = %v, want %v", got, want)
		}
		if n := len(requestsTo(fake, "/flags/")); n != 0 {
			t.Errorf("%d /flags/ requests, want none", n)
		}
	})
	t.Run("remote only", func(t *testing.T) {
		fake := newFlagFake(t)
		c, _ := newTestClient(t, fake, Options{})
		got, err := c.GetAllFlags(t.Context(), "user-1")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]FlagValue{"pro-only": On, "continuity": Variant("remote-variant"), "remote-only": Off}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("flags = %v, want %v", got, want)
		}
	})
	t.Run("empty distinct id", func(t *testing.T) {
		fake := newFlagFake(t)
		c, _ := newTestClient(t, fake, Options{})
		got, err := c.GetAllFlags(t.Context(), "")
		if err != nil || len(got) != 0 || len(fake.Requests()) != 0 {
			t.Errorf("GetAllFlags(\"\") = %v, %v with %d requests; want {}, nil, none", got, err, len(fake.Requests()))
		}
	})
}

func TestFeatureFlagCalledEvents(t *testing.T) {
	fake := newFlagFake(t)
	c, _ := newTestClient(t, fake, Options{PersonalAPIKey: "phx_personal"})
	ctx := t.Context()
	calls := []struct {
		key, id string
		opts    []FlagOption
	}{
		{"beta", "u1", nil},
		{"beta", "u1", nil}, // duplicate
		{"beta", "u2", nil},
		{"beta", "u1", []FlagOption{WithGroups(map[string]string{"company": "acme"})}},
		{"beta", "u1", []FlagOption{WithGroups(map[string]string{"company": "acme"})}}, // duplicate
		{"exp", "u1", []FlagOption{SendFeatureFlagEvents(false)}},
		{"continuity", "u1", nil}, // remote
		{"continuity", "u1", nil}, // duplicate
	}
	for _, call := range calls {
		if _, err := c.GetFeatureFlag(ctx, call.key, call.id, call.opts...); err != nil {
			t.Fatalf("GetFeatureFlag(%q, %q): %v", call.key, call.id, err)
		}
	}
	if _, err := c.IsFeatureEnabled(ctx, "beta", "u2"); err != nil { // duplicate of u2
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs := delivered(fake)
	var got []string
	for _, e := range evs {
		if e.Event != "$feature_flag_called" {
			t.Errorf("unexpected event %q", e.Event)
		}
		_, groups := e.Properties["$groups"]
		got = append(got, fmt.Sprintf("%s/%s/%v/groups=%v", e.DistinctID, e.Properties["$feature_flag"], e.Properties["$feature_flag_response"], groups))
	}
	want := []string{"u1/beta/true/groups=false", "u2/beta/true/groups=false", "u1/beta/true/groups=true", "u1/continuity/remote-variant/groups=false"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events = %v\nwant %v", got, want)
	}
	if len(evs) < 4 {
		return
	}
	local := evs[0].Properties
	for k, want := range map[string]any{"$feature_flag": "beta", "$feature/beta": true, "locally_evaluated": true,
		"$feature_flag_id": 1.0, "$feature_flag_reason": "Evaluated locally"} {
		if local[k] != want {
			t.Errorf("local event %s = %v, want %v", k, local[k], want)
		}
	}
	for _, k := range []string{"$feature_flag_evaluated_at", "$feature_flag_definitions_loaded_at"} {
		if _, ok := local[k].(float64); !ok {
			t.Errorf("local event %s = %v, want a number", k, local[k])
		}
	}
	remote := evs[3].Properties
	for k, want := range map[string]any{"locally_evaluated": false, "$feature_flag_id": 1.0, "$feature_flag_version": 1.0,
		"$feature_flag_reason": "Matched condition set 1"} {
		if remote[k] != want {
			t.Errorf("remote event %s = %v, want %v", k, remote[k], want)
		}
	}
	if id, _ := remote["$feature_flag_request_id"].(string); id == "" {
		t.Errorf("remote event has no $feature_flag_request_id")
	}
}

func TestFeatureFlagCalledOnError(t *testing.T) {
	fake := newFlagFake(t)
	c, _ := newTestClient(t, fake, Options{})
	fake.SetFault("/flags/", fakehog.Fault{Status: 500})
	if _, err := c.GetFeatureFlag(t.Context(), "beta", "u1"); err == nil {
		t.Fatal("GetFeatureFlag succeeded against a failing /flags")
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs := delivered(fake)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	p := evs[0].Properties
	if _, ok := p["$feature_flag_response"]; ok || p["$feature_flag_error"] != "api_error_500" {
		t.Errorf("event properties %v: want no response and $feature_flag_error api_error_500", p)
	}
}

func TestCalledCacheLRU(t *testing.T) {
	c := newCalledCache(2)
	steps := []struct {
		id, key string
		want    bool
	}{
		{"a", "k_true", true},
		{"b", "k_true", true},
		{"a", "k_true", false}, // a is now the most recent
		{"c", "k_true", true},  // evicts b, the least recent
		{"a", "k_true", false},
		{"b", "k_true", true}, // b was forgotten
		{"c", "k_false", true},
	}
	for i, s := range steps {
		if got := c.firstTime(s.id, s.key); got != s.want {
			t.Errorf("step %d: firstTime(%q, %q) = %v, want %v", i, s.id, s.key, got, s.want)
		}
	}
	if n := c.len(); n != 2 {
		t.Errorf("len = %d, want 2", n)
	}
}

func TestReportKey(t *testing.T) {
	tests := []struct {
		key, response string
		groups        map[string]string
		want          string
	}{
		{"beta", "true", nil, "beta_true"},
		{"beta", "undefined", map[string]string{}, "beta_undefined"},
		{"exp", "test", map[string]string{"project": "p<1>", "company": "acme"}, `exp_test_[["company","acme"],["project","p<1>"]]`},
	}
	for _, tt := range tests {
		if got := reportKey(tt.key, tt.response, tt.groups); got != tt.want {
			t.Errorf("reportKey(%q, %q, %v) = %q, want %q", tt.key, tt.response, tt.groups, got, tt.want)
		}
	}
}

func TestDefinitionsPolling(t *testing.T) {
	fake := newFlagFake(t)
	c, errs := newTestClient(t, fake, Options{PersonalAPIKey: "phx_personal", FeatureFlagsPollingInterval: time.Millisecond})
	// The poller starts at once and then polls every 100 ms (the minimum).
	if err := waitPath(t, fake, "/flags/definitions", 3); err != nil {
		t.Fatal(err)
	}
	defs := requestsTo(fake, "/flags/definitions")
	first, later := defs[0], defs[len(defs)-1]
	if got := first.Header.Get("Authorization"); got != "Bearer phx_personal" {
		t.Errorf("Authorization = %q, want Bearer phx_personal", got)
	}
	if first.RawQuery != "token="+testKey+"&send_cohorts" {
		t.Errorf("query = %q, want token=…&send_cohorts", first.RawQuery)
	}
	if first.Status != 200 || later.Status != 304 || later.Header.Get("If-None-Match") == "" {
		t.Errorf("statuses %d then %d (If-None-Match %q); want 200 then 304 with an ETag",
			first.Status, later.Status, later.Header.Get("If-None-Match"))
	}
	if v, err := c.GetFeatureFlag(t.Context(), "beta", "u", OnlyEvaluateLocally()); err != nil || v != On {
		t.Errorf("GetFeatureFlag after polling = %v, %v; want true", v, err)
	}
	if e := errs.all(); len(e) != 0 {
		t.Errorf("OnError got %v, want nothing", e)
	}
}

func TestReloadAndPollErrors(t *testing.T) {
	fake := newFlagFake(t)
	fake.SetFault("/flags/definitions", fakehog.Fault{Status: 401, Times: 1})
	c, errs := newTestClient(t, fake, Options{PersonalAPIKey: "phx_personal", FeatureFlagsPollingInterval: time.Hour})
	if err := waitPath(t, fake, "/flags/definitions", 1); err != nil {
		t.Fatal(err)
	}
	// The refused first poll leaves nothing to evaluate with.
	if _, err := c.GetFeatureFlag(t.Context(), "beta", "u", OnlyEvaluateLocally(), SendFeatureFlagEvents(false)); !errors.Is(err, ErrInconclusive) {
		t.Errorf("before reload: error %v, want ErrInconclusive", err)
	}
	if err := c.ReloadFeatureFlags(t.Context()); err != nil {
		t.Fatalf("ReloadFeatureFlags: %v", err)
	}
	if v, err := c.GetFeatureFlag(t.Context(), "beta", "u", OnlyEvaluateLocally(), SendFeatureFlagEvents(false)); err != nil || v != On {
		t.Errorf("after reload = %v, %v; want true", v, err)
	}
	if e := errs.all(); len(e) == 0 {
		t.Errorf("the 401 was not reported to OnError")
	}
}

// waitPath waits until n requests to p are recorded.
func waitPath(t *testing.T, fake *fakehog.Fake, p string, n int) error {
	t.Helper()
	for range 1000 {
		if len(requestsTo(fake, p)) >= n {
			return nil
		}
		if err := fake.WaitRequests(t.Context(), len(fake.Requests())+1); err != nil {
			return err
		}
	}
	return fmt.Errorf("fewer than %d requests to %s", n, p)
}

func TestEvaluationContexts(t *testing.T) {
	defs := `{"flags": [
	  {"id": 1, "key": "web-only", "active": true, "evaluation_contexts": ["web"],
	   "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}},
	  {"id": 2, "key": "api-flag", "active": true, "evaluation_contexts": ["api"],
	   "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}]}`
	fake := startFake(t, fakehog.Options{Definitions: []byte(defs), Flags: map[string]any{"other": true}})
	c, _ := newTestClient(t, fake, Options{PersonalAPIKey: "phx_personal", EvaluationContexts: []string{"api"}, SendFeatureFlagEvent: new(false)})
	if v, err := c.GetFeatureFlag(t.Context(), "api-flag", "u", OnlyEvaluateLocally()); err != nil || v != On {
		t.Errorf("api-flag = %v, %v; want true", v, err)
	}
	if _, err := c.GetFeatureFlag(t.Context(), "web-only", "u", OnlyEvaluateLocally()); !errors.Is(err, ErrFlagNotFound) {
		t.Errorf("web-only error = %v, want ErrFlagNotFound (filtered out by contexts)", err)
	}
	if _, err := c.GetFeatureFlag(t.Context(), "web-only", "u"); !errors.Is(err, ErrFlagNotFound) {
		t.Errorf("web-only remotely: error = %v, want ErrFlagNotFound", err)
	}
	reqs := requestsTo(fake, "/flags/")
	if len(reqs) != 1 {
		t.Fatalf("%d /flags/ requests, want 1", len(reqs))
	}
	var body struct {
		Contexts []string `json:"evaluation_contexts"`
	}
	if err := json.Unmarshal(reqs[0].Decoded, &body); err != nil || !reflect.DeepEqual(body.Contexts, []string{"api"}) {
		t.Errorf("/flags evaluation_contexts = %v (%v), want [api]", body.Contexts, err)
	}
}

func TestMinimalFlagCalledEvents(t *testing.T) {
	defs := `{"minimal_flag_called_events": true, "flags": [
	  {"id": 1, "key": "plain", "active": true, "has_experiment": false,
	   "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}},
	  {"id": 2, "key": "experiment", "active": true, "has_experiment": true,
	   "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}]}`
	fake := startFake(t, fakehog.Options{Definitions: []byte(defs)})
	c, _ := newTestClient(t, fake, Options{PersonalAPIKey: "phx_personal"})
	for _, key := range []string{"plain", "experiment"} {
		if _, err := c.GetFeatureFlag(t.Context(), key, "u"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	byFlag := map[string]map[string]any{}
	for _, e := range delivered(fake) {
		byFlag[e.Properties["$feature_flag"].(string)] = e.Properties
	}
	if _, ok := byFlag["plain"]["$feature/plain"]; ok {
		t.Errorf("minimal event for a flag without experiment kept $feature/plain: %v", byFlag["plain"])
	}
	if byFlag["plain"]["$feature_flag_response"] != true {
		t.Errorf("minimal event lost $feature_flag_response: %v", byFlag["plain"])
	}
	if _, ok := byFlag["experiment"]["$feature/experiment"]; !ok {
		t.Errorf("event of an experiment flag was minimized: %v", byFlag["experiment"])
	}
}

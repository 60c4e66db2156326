package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
	"github.com/posthog/posthog-go"
)

// personalKey is the personal API key the server SDKs poll flag
// definitions with; edgehog must carry it upstream untouched.
const personalKey = "phx_edgehog_e2e_personal_key"

// localFlagKeys are the flags evaluated locally, one of each kind.
var localFlagKeys = []string{"beta-feature", "checkout-flow", "legacy-mode"}

// localPayload is checkout-flow's payload in the local-evaluation tests.
const localPayload = `{"steps":[1,2,3],"headline":"Grüße 🦔"}`

// localFake is the fake for local evaluation: the test flags, with a
// payload on the variant flag, in generated definitions.
func localFake() fakehog.Options {
	return fakehog.Options{
		Flags:        testFlags,
		FlagPayloads: map[string]json.RawMessage{"checkout-flow": json.RawMessage(localPayload)},
	}
}

// definitionsRequests returns the flag-definition polls the fake got.
func definitionsRequests(reqs []fakehog.Request) []fakehog.Request {
	var out []fakehog.Request
	for _, r := range reqs {
		p := strings.TrimSuffix(r.Path, "/")
		if p == "/flags/definitions" || p == "/api/feature_flag/local_evaluation" {
			out = append(out, r)
		}
	}
	return out
}

// checkDefinitionPolls checks the polls at the fake: the personal API key
// arrived as sent, the first poll got 200 with an ETag, and a later one
// sent that ETag back and got 304. It also checks that no flag went to
// /flags: everything was evaluated locally.
func checkDefinitionPolls(t *testing.T, s *stack, reqs []fakehog.Request) {
	t.Helper()
	polls := definitionsRequests(reqs)
	if len(polls) < 2 {
		t.Fatalf("fake got %d definition polls, want at least 2; fake saw: %s", len(polls), describe(reqs))
	}
	for i, r := range polls {
		where := r.Method + " " + r.Path + "?" + r.RawQuery
		if got, want := r.Header.Get("Authorization"), "Bearer "+personalKey; got != want {
			t.Errorf("poll %d %s: Authorization = %q, want %q", i, where, got, want)
		}
		if r.Host != s.fakeHost() {
			t.Errorf("poll %d %s: Host = %q, want %q", i, where, r.Host, s.fakeHost())
		}
		if !strings.Contains(r.RawQuery, "token="+testKey) {
			t.Errorf("poll %d %s: want token=%s in the query", i, where, testKey)
		}
	}
	if polls[0].Status != http.StatusOK {
		t.Errorf("first poll: fake answered %d, want 200", polls[0].Status)
	}
	last := polls[len(polls)-1]
	if last.Status != http.StatusNotModified || last.Header.Get("If-None-Match") == "" {
		t.Errorf("last poll: If-None-Match %q, fake answered %d; want the ETag sent back and 304",
			last.Header.Get("If-None-Match"), last.Status)
	}
	for _, r := range reqs {
		if strings.TrimSuffix(r.Path, "/") == "/flags" || strings.TrimSuffix(r.Path, "/") == "/decide" {
			t.Errorf("fake got %s %s?%s, want every flag evaluated locally", r.Method, r.Path, r.RawQuery)
		}
	}
}

// checkFlagCalled checks the $feature_flag_called events say the flags
// were evaluated locally.
func checkFlagCalled(t *testing.T, reqs []fakehog.Request, distinctID string) {
	t.Helper()
	called := eventsNamed(deliveredEvents(reqs), "$feature_flag_called", distinctID)
	if len(called) == 0 {
		t.Fatalf("delivered no $feature_flag_called event")
	}
	for _, ev := range called {
		if ev.Properties["locally_evaluated"] != true {
			t.Errorf("$feature_flag_called %v: locally_evaluated = %v, want true", ev.Properties["$feature_flag"], ev.Properties["locally_evaluated"])
		}
	}
}

// localSummary is what node/localeval.mjs prints.
type localSummary struct {
	Ready bool `json:"ready"`
	Flags map[string]struct {
		Value   any `json:"value"`
		Enabled any `json:"enabled"`
		Payload any `json:"payload"`
	} `json:"flags"`
	All struct {
		Flags    map[string]any `json:"flags"`
		Payloads map[string]any `json:"payloads"`
	} `json:"all"`
	Requests []struct {
		Method        string `json:"method"`
		URL           string `json:"url"`
		Authorization string `json:"authorization"`
		IfNoneMatch   string `json:"ifNoneMatch"`
		Status        int    `json:"status"`
		ETag          string `json:"etag"`
		Error         string `json:"error"`
	} `json:"requests"`
	Errors []string `json:"errors"`
}

func TestPosthogNodeLocalEval(t *testing.T) {
	node := requireNode(t)
	s := newStack(t, edgehogBin, localFake())
	distinctID := "e2e-node-local-" + newUUID()

	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "localeval.mjs")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(),
		"E2E_HOST="+s.URL(), "E2E_KEY="+testKey, "E2E_PERSONAL_KEY="+personalKey,
		"E2E_DISTINCT_ID="+distinctID, "E2E_FLAG_KEYS="+strings.Join(localFlagKeys, ","))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node localeval.mjs: %v\nstderr:\n%s\nfake saw: %s", err, stderr.String(), describe(s.fake.Requests()))
	}
	var sum localSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("node localeval.mjs printed no summary: %v\nstdout: %s", err, abbrev(stdout.String()))
	}
	reqs := s.fake.Requests()
	t.Logf("fake saw: %s", describe(reqs))

	for _, e := range sum.Errors {
		t.Errorf("posthog-node emitted error: %s", e)
	}
	if !sum.Ready {
		t.Fatalf("waitForLocalEvaluationReady = false, want true: the definitions did not load through edgehog")
	}
	for _, r := range sum.Requests {
		if r.Error != "" || r.Status >= 400 {
			t.Errorf("posthog-node %s %s: status %d, error %q", r.Method, r.URL, r.Status, r.Error)
		}
	}

	var payload any
	_ = json.Unmarshal([]byte(localPayload), &payload)
	want := map[string][3]any{
		"beta-feature":  {true, true, nil},
		"checkout-flow": {"variant-b", true, payload},
		"legacy-mode":   {false, false, nil},
	}
	for _, k := range localFlagKeys {
		got := sum.Flags[k]
		if w := want[k]; !reflect.DeepEqual([3]any{got.Value, got.Enabled, got.Payload}, w) {
			t.Errorf("flag %q locally: value, enabled, payload = %s, %v, %s; want %s, %v, %s",
				k, jsonText(got.Value), got.Enabled, jsonText(got.Payload), jsonText(w[0]), w[1], jsonText(w[2]))
		}
	}
	if got, want := jsonText(sum.All.Flags), `{"beta-feature":true,"checkout-flow":"variant-b","legacy-mode":false}`; got != want {
		t.Errorf("getAllFlagsAndPayloads flags = %s, want %s", got, want)
	}
	if !reflect.DeepEqual(sum.All.Payloads["checkout-flow"], payload) {
		t.Errorf("getAllFlagsAndPayloads payloads = %s, want checkout-flow's %s", jsonText(sum.All.Payloads), localPayload)
	}

	checkDefinitionPolls(t, s, reqs)
	checkFlagCalled(t, reqs, distinctID)
}

func TestPosthogGoLocalEval(t *testing.T) {
	s := newStack(t, edgehogBin, localFake())
	rt := &recordingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(rt.base.(*http.Transport).CloseIdleConnections)
	logs := &sdkLogger{}
	client, err := posthog.NewWithConfig(testKey, posthog.Config{
		Endpoint: s.URL(),
		// SecretKey is posthog-go's new name for the personal API key
		// (PersonalApiKey is its deprecated alias).
		SecretKey: personalKey,
		// Polls only when the test asks: it counts them.
		DefaultFeatureFlagsPollingInterval: time.Hour,
		Interval:                           100 * time.Millisecond,
		Transport:                          rt,
		Logger:                             logs,
		ShutdownTimeout:                    30 * time.Second,
	})
	if err != nil {
		t.Fatalf("posthog.NewWithConfig: %v", err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("posthog-go log:\n%s", logs)
		}
	}()
	distinctID := "e2e-go-local-" + newUUID()

	want := map[string][2]any{
		"beta-feature":  {true, ""},
		"checkout-flow": {"variant-b", localPayload},
		"legacy-mode":   {false, ""},
	}
	for _, k := range localFlagKeys {
		q := posthog.FeatureFlagPayload{Key: k, DistinctId: distinctID, OnlyEvaluateLocally: true}
		v, err := client.GetFeatureFlag(q)
		if err != nil {
			t.Errorf("GetFeatureFlag(%q) locally: %v", k, err)
		}
		p, err := client.GetFeatureFlagPayload(q)
		if err != nil {
			t.Errorf("GetFeatureFlagPayload(%q) locally: %v", k, err)
		}
		if w := want[k]; v != w[0] || p != w[1] {
			t.Errorf("flag %q locally: value, payload = %#v, %q; want %#v, %q", k, v, p, w[0], w[1])
		}
	}
	all, err := client.GetAllFlags(posthog.FeatureFlagPayloadNoKey{DistinctId: distinctID, OnlyEvaluateLocally: true})
	if err != nil {
		t.Errorf("GetAllFlags locally: %v", err)
	}
	if got, want := jsonText(all), `{"beta-feature":true,"checkout-flow":"variant-b","legacy-mode":false}`; got != want {
		t.Errorf("GetAllFlags locally = %s, want %s", got, want)
	}

	// The second poll carries the first one's ETag.
	polled := len(definitionsRequests(s.fake.Requests()))
	if err := client.ReloadFeatureFlags(); err != nil {
		t.Fatalf("ReloadFeatureFlags: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for len(definitionsRequests(s.fake.Requests())) <= polled {
		if err := s.fake.WaitRequests(ctx, len(s.fake.Requests())+1); err != nil {
			t.Fatalf("waiting for the reload poll: %v", err)
		}
	}
	if err := client.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, e := range logs.errors() {
		t.Errorf("posthog-go logged error: %s", e)
	}
	for _, r := range rt.requests() {
		if r.err != "" || r.status >= 400 {
			t.Errorf("posthog-go %s %s: status %d, error %q", r.method, r.path, r.status, r.err)
		}
	}
	reqs := s.fake.Requests()
	t.Logf("fake saw: %s", describe(reqs))
	checkDefinitionPolls(t, s, reqs)
	checkFlagCalled(t, reqs, distinctID)
}

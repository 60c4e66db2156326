package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// nodeDir holds capture.mjs and its package.json/package-lock.json.
const nodeDir = "node"

// nodeTimeout bounds one run of capture.mjs, retries included.
const nodeTimeout = 90 * time.Second

// nodeSummary is what capture.mjs prints when it is done.
type nodeSummary struct {
	Lib struct {
		ID        string `json:"id"`
		Version   string `json:"version"`
		UserAgent string `json:"userAgent"`
	} `json:"lib"`
	Large struct {
		Bytes  int    `json:"bytes"`
		SHA256 string `json:"sha256"`
	} `json:"large"`
	Captures []struct {
		UUID       string         `json:"uuid"`
		Event      string         `json:"event"`
		DistinctID string         `json:"distinctId"`
		Properties map[string]any `json:"properties"`
	} `json:"captures"`
	Others struct {
		Identify      map[string]any `json:"identify"`
		Alias         string         `json:"alias"`
		GroupIdentify struct {
			GroupType  string         `json:"groupType"`
			GroupKey   string         `json:"groupKey"`
			Properties map[string]any `json:"properties"`
		} `json:"groupIdentify"`
	} `json:"others"`
	Flushed []struct {
		UUID  string `json:"uuid"`
		Event string `json:"event"`
	} `json:"flushed"`
	Flags     map[string]nodeFlag `json:"flags"`
	Evaluated map[string]nodeFlag `json:"evaluated"`
	Requests  []nodeRequest       `json:"requests"`
	Errors    []string            `json:"errors"`
}

type nodeFlag struct {
	Value   any `json:"value"`
	Enabled any `json:"enabled"`
}

// nodeRequest is one fetch posthog-node made, with the SHA-256 of the
// exact body bytes it handed to fetch.
type nodeRequest struct {
	Method     string `json:"method"`
	URL        string `json:"url"`
	BodyLen    int64  `json:"bodyLen"`
	BodySHA256 string `json:"bodySHA256"`
	Status     int    `json:"status"`
	Error      string `json:"error"`
}

// flushedUUIDs lists the uuids posthog-node reported as delivered.
func (s *nodeSummary) flushedUUIDs() []string {
	out := make([]string, len(s.Flushed))
	for i, f := range s.Flushed {
		out[i] = f.UUID
	}
	return out
}

// captureUUIDs lists the uuids the script passed to capture().
func (s *nodeSummary) captureUUIDs() []string {
	out := make([]string, len(s.Captures))
	for i, c := range s.Captures {
		out[i] = c.UUID
	}
	return out
}

// requireNode returns the path of node. It skips the test when node is
// not installed and fails it when posthog-node is not.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skipf("node is not installed (%v): skipping the posthog-node end-to-end test", err)
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "posthog-node", "package.json")); err != nil {
		t.Fatalf("posthog-node is not installed (%v): run npm ci in e2e/node", err)
	}
	return node
}

// runNode runs capture.mjs with node against edgehog with env (E2E_HOST
// and E2E_KEY are added) and returns its summary.
func runNode(t *testing.T, node string, s *stack, env map[string]string) *nodeSummary {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "capture.mjs")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "E2E_HOST="+s.URL(), "E2E_KEY="+testKey)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node capture.mjs: %v\nstderr:\n%s\nfake saw: %s", err, stderr.String(), describe(s.fake.Requests()))
	}
	if stderr.Len() > 0 {
		t.Logf("node capture.mjs stderr:\n%s", stderr.String())
	}
	var sum nodeSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("node capture.mjs printed no summary: %v\nstdout: %s", err, abbrev(stdout.String()))
	}
	return &sum
}

// nodeEnv is the environment for capture.mjs with the test's own values.
func nodeEnv(distinctID, event string, n int, extra map[string]string) map[string]string {
	env := map[string]string{
		"E2E_DISTINCT_ID":    distinctID,
		"E2E_EVENT":          event,
		"E2E_UNICODE":        unicodeProbe,
		"E2E_N":              strconv.Itoa(n),
		"E2E_LARGE_BYTES":    strconv.Itoa(largeBytes),
		"E2E_LARGE_EVERY":    "5",
		"E2E_RETRY_DELAY":    "100",
		"E2E_FLUSH_AT":       "1000",
		"E2E_FLUSH_INTERVAL": "60000",
		"E2E_EXTRAS":         "0",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func TestPosthogNode(t *testing.T) {
	node := requireNode(t)
	s := newStack(t, edgehogBin, fakehog.Options{MaxRecordBody: 64 << 20, Flags: testFlags})
	distinctID := "e2e-node-" + newUUID()
	const event = "e2e node event ünïcödé 🦔"
	flagKeys := []string{"beta-feature", "checkout-flow", "legacy-mode", "no-such-flag"}
	sum := runNode(t, node, s, nodeEnv(distinctID, event, 30, map[string]string{
		// Several batches of at most 7 events.
		"E2E_FLUSH_AT":       "7",
		"E2E_MAX_BATCH":      "7",
		"E2E_FLUSH_INTERVAL": "200",
		"E2E_EXTRAS":         "1",
		"E2E_FLAG_KEYS":      strings.Join(flagKeys, ","),
	}))
	reqs := s.fake.Requests()
	t.Logf("posthog-node %s; fake saw: %s", sum.Lib.Version, describe(reqs))

	for _, e := range sum.Errors {
		t.Errorf("posthog-node emitted error: %s", e)
	}
	if !strings.HasPrefix(sum.Lib.UserAgent, "posthog-node/") {
		t.Errorf("posthog-node user agent = %q, want prefix %q", sum.Lib.UserAgent, "posthog-node/")
	}

	t.Run("bytes", func(t *testing.T) {
		checkNodeBytes(t, sum.Requests, reqs)
	})

	t.Run("requests", func(t *testing.T) {
		var batches, flags int
		for _, r := range reqs {
			checkUpstreamRequest(t, s, r, sum.Lib.UserAgent)
			switch r.Path {
			case "/batch/":
				batches++
				if r.Method != "POST" {
					t.Errorf("/batch/: method = %s, want POST", r.Method)
				}
				if got := r.Header.Get("Content-Encoding"); got != "gzip" {
					t.Errorf("/batch/: Content-Encoding = %q, want %q", got, "gzip")
				}
				if r.DecodeErr != "" || r.Status != 200 {
					t.Errorf("/batch/: fake answered %d, decode error %q; want 200 and no error", r.Status, r.DecodeErr)
				}
			case "/flags/":
				flags++
				if q, _ := url.ParseQuery(r.RawQuery); q.Get("v") != "2" {
					t.Errorf("/flags/: query %q, want v=2", r.RawQuery)
				}
				if r.Status != 200 {
					t.Errorf("/flags/: fake answered %d, want 200", r.Status)
				}
			default:
				t.Errorf("unexpected request %s %s?%s", r.Method, r.Path, r.RawQuery)
			}
		}
		if batches < 5 {
			t.Errorf("got %d /batch/ requests, want at least 5 (maxBatchSize 7, 30+ events)", batches)
		}
		if flags == 0 {
			t.Errorf("got no /flags/ request, want the remote evaluations to reach the fake")
		}
	})

	got := delivered(reqs)
	t.Run("exactly once", func(t *testing.T) {
		checkExactlyOnce(t, got, sum.flushedUUIDs())
		for _, u := range sum.captureUUIDs() {
			if got[u] != 1 {
				t.Errorf("captured event %s delivered %d times, want 1", u, got[u])
			}
		}
	})

	events := deliveredEvents(reqs)
	t.Run("captures intact", func(t *testing.T) {
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
			checkString(t, where+": unicode property", ev.Properties["unicode"], unicodeProbe)
			if _, ok := c.Properties["large"]; ok {
				gs, _ := ev.Properties["large"].(string)
				if len(gs) != largeBytes || sha256Hex([]byte(gs)) != sum.Large.SHA256 {
					t.Errorf("%s: large property is %d bytes with sha256 %s, want %d bytes with sha256 %s",
						where, len(gs), sha256Hex([]byte(gs)), largeBytes, sum.Large.SHA256)
				}
			}
			checkProps(t, where, ev.Properties, map[string]any{
				"$lib":           "posthog-node",
				"$lib_version":   sum.Lib.Version,
				"$geoip_disable": true,
			})
		}
		if n := len(eventsNamed(events, event, distinctID)); n != 30 {
			t.Errorf("delivered %d %q events, want 30", n, event)
		}
		grouped := eventsNamed(events, "e2e grouped event", distinctID)
		if len(grouped) != 1 {
			t.Fatalf("delivered %d grouped events, want 1", len(grouped))
		}
		checkProps(t, "grouped event", grouped[0].Properties, map[string]any{
			"$groups": map[string]any{"company": "edgehog-inc"},
		})
	})

	t.Run("identify alias groupIdentify", func(t *testing.T) {
		ids := eventsNamed(events, "$identify", distinctID)
		if len(ids) != 1 {
			t.Fatalf("delivered %d $identify events, want 1", len(ids))
		}
		checkProps(t, "$identify", ids[0].Properties, sum.Others.Identify)
		set, _ := ids[0].Properties["$set"].(map[string]any)
		checkString(t, "$identify: $set.name", set["name"], unicodeProbe)

		aliases := eventsNamed(events, "$create_alias", distinctID)
		if len(aliases) != 1 {
			t.Fatalf("delivered %d $create_alias events, want 1", len(aliases))
		}
		checkProps(t, "$create_alias", aliases[0].Properties, map[string]any{
			"alias": distinctID + "-alias", "distinct_id": distinctID,
		})

		gi := sum.Others.GroupIdentify
		groups := eventsNamed(events, "$groupidentify", "")
		if len(groups) != 1 {
			t.Fatalf("delivered %d $groupidentify events, want 1", len(groups))
		}
		checkProps(t, "$groupidentify", groups[0].Properties, map[string]any{
			"$group_type": gi.GroupType, "$group_key": gi.GroupKey, "$group_set": gi.Properties,
		})
	})

	t.Run("flags", func(t *testing.T) {
		want := map[string]nodeFlag{
			"beta-feature":  {Value: true, Enabled: true},
			"checkout-flow": {Value: "variant-b", Enabled: true},
			"legacy-mode":   {Value: false, Enabled: false},
			"no-such-flag":  {Value: nil, Enabled: nil},
		}
		for _, k := range flagKeys {
			if got := sum.Flags[k]; !reflect.DeepEqual(got, want[k]) {
				t.Errorf("flag %q: getFeatureFlag, isFeatureEnabled = %#v, %#v; want %#v, %#v",
					k, got.Value, got.Enabled, want[k].Value, want[k].Enabled)
			}
			// evaluateFlags' isEnabled says false, not undefined, for a
			// flag the server did not return.
			wantEval := want[k]
			if wantEval.Enabled == nil {
				wantEval.Enabled = false
			}
			if got := sum.Evaluated[k]; !reflect.DeepEqual(got, wantEval) {
				t.Errorf("flag %q: evaluateFlags getFlag, isEnabled = %#v, %#v; want %#v, %#v",
					k, got.Value, got.Enabled, wantEval.Value, wantEval.Enabled)
			}
		}
		called := eventsNamed(events, "$feature_flag_called", distinctID)
		if len(called) == 0 {
			t.Errorf("delivered no $feature_flag_called events, want one per evaluated flag")
		}
	})
}

// checkNodeBytes checks that every request posthog-node made reached the
// fake with the same path, query and body bytes, in the same number.
func checkNodeBytes(t *testing.T, sent []nodeRequest, reqs []fakehog.Request) {
	t.Helper()
	var want, got []string
	for _, r := range sent {
		if r.Error != "" {
			t.Errorf("posthog-node %s %s failed: %s", r.Method, r.URL, r.Error)
			continue
		}
		u, err := url.Parse(r.URL)
		if err != nil {
			t.Errorf("posthog-node request URL %q: %v", r.URL, err)
			continue
		}
		want = append(want, r.Method+" "+u.EscapedPath()+"?"+u.RawQuery+" "+strconv.FormatInt(r.BodyLen, 10)+" "+r.BodySHA256)
	}
	for _, r := range reqs {
		got = append(got, r.Method+" "+r.Path+"?"+r.RawQuery+" "+strconv.FormatInt(r.BodyLen, 10)+" "+r.BodySHA256)
	}
	sort.Strings(want)
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests at the fake (method path?query length sha256):\n  got  %q\n  want %q (as posthog-node sent them)", got, want)
	}
}

func TestPosthogNodeRetriesThroughProxy(t *testing.T) {
	tests := []struct {
		name  string
		fault fakehog.Fault
		// wantStatuses are the fake's answers to /batch/, in order.
		wantStatuses []int
		// maxBatch bounds the events per delivered batch.
		maxBatch int
	}{
		{
			// posthog-node retries 408, 429 and >= 500 with the same batch.
			name:         "503 twice then ok",
			fault:        fakehog.Fault{Status: 503, Body: `{"status":503,"code":"service_unavailable","error":"kafka"}`, Times: 2},
			wantStatuses: []int{503, 503, 200},
			maxBatch:     12,
		},
		{
			// posthog-node halves its batch size on 413 and sends again.
			name:         "413 halves the batch",
			fault:        fakehog.Fault{Status: 413, Body: `{"status":413,"code":"payload_too_large","error":"payload too large"}`, Times: 1},
			wantStatuses: []int{413, 200, 200},
			maxBatch:     6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := requireNode(t)
			s := newStack(t, edgehogBin, fakehog.Options{MaxRecordBody: 64 << 20, Flags: testFlags})
			s.fake.SetFault("/batch", tt.fault)
			distinctID := "e2e-node-retry-" + newUUID()
			// One flush at shutdown carries all 12 events in one batch.
			sum := runNode(t, node, s, nodeEnv(distinctID, "e2e node retry", 12, nil))
			reqs := s.fake.Requests()
			t.Logf("fake saw: %s", describe(reqs))

			for _, e := range sum.Errors {
				t.Errorf("posthog-node emitted error: %s", e)
			}
			if got := statuses(reqs, "/batch/"); !reflect.DeepEqual(got, tt.wantStatuses) {
				t.Errorf("fake's /batch/ answers = %v, want %v (edgehog must pass each status through and never retry itself)", got, tt.wantStatuses)
			}
			checkNodeBytes(t, sum.Requests, reqs)
			for _, r := range reqs {
				checkUpstreamRequest(t, s, r, sum.Lib.UserAgent)
				if r.Status == 200 && len(r.Events) > tt.maxBatch {
					t.Errorf("delivered batch of %d events, want at most %d", len(r.Events), tt.maxBatch)
				}
			}

			got := delivered(reqs)
			dups := 0
			for _, u := range sum.captureUUIDs() {
				switch n := got[u]; {
				case n == 0:
					t.Errorf("event %s never delivered", u)
				case n > 1:
					dups += n - 1
				}
			}
			t.Logf("%d events sent, %d distinct delivered, %d duplicate deliveries", len(sum.Captures), len(got), dups)
			if len(got) != len(sum.Captures) {
				t.Errorf("delivered %d distinct events, want exactly the %d sent", len(got), len(sum.Captures))
			}
			events := deliveredEvents(reqs)
			for _, c := range sum.Captures {
				if ev, ok := events[c.UUID]; ok {
					checkProps(t, "event "+c.UUID, ev.Properties, c.Properties)
				}
			}
		})
	}
}

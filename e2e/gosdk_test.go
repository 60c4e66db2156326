package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/edgehog/edgehog/internal/fakehog"
	"github.com/posthog/posthog-go"
)

func TestPosthogGo(t *testing.T) {
	testPosthogGo(t, posthog.CompressionNone)
}

// TestPosthogGoGzip covers posthog-go's gzip mode (protocol.md §2.4):
// POST /batch/?compression=gzip with Content-Encoding: gzip.
func TestPosthogGoGzip(t *testing.T) {
	testPosthogGo(t, posthog.CompressionGzip)
}

// goCapture is one Capture the test enqueued, its properties as JSON
// decodes them.
type goCapture struct {
	uuid, event string
	props       map[string]any
}

func testPosthogGo(t *testing.T, compression posthog.CompressionMode) {
	s := newStack(t, edgehogBin, fakehog.Options{MaxRecordBody: 64 << 20, Flags: testFlags})
	rt := &recordingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(rt.base.(*http.Transport).CloseIdleConnections)
	cb := &sdkCallback{}
	logs := &sdkLogger{}
	client, err := posthog.NewWithConfig(testKey, posthog.Config{
		Endpoint:  s.URL(),
		Interval:  100 * time.Millisecond,
		BatchSize: 7,
		Transport: rt,
		Logger:    logs,
		Callback:  cb,
		// Fast retries keep a failing run short; none are expected.
		RetryAfter:      func(int) time.Duration { return 50 * time.Millisecond },
		ShutdownTimeout: 30 * time.Second,
		Compression:     compression,
	})
	if err != nil {
		t.Fatalf("posthog.NewWithConfig: %v", err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("posthog-go log:\n%s", logs)
		}
	}()

	distinctID := "e2e-go-" + newUUID()
	const event = "e2e go event ünïcödé 🦔"
	const n = 30
	large := largeString(largeBytes, 0x5eed)
	var captures []goCapture
	enqueue := func(msg posthog.Message) {
		t.Helper()
		if err := client.Enqueue(msg); err != nil {
			t.Fatalf("Enqueue(%T): %v", msg, err)
		}
	}
	for i := range n {
		props := posthog.Properties{
			"index":   i,
			"unicode": unicodeProbe,
			"nested": map[string]any{
				"level1": map[string]any{"level2": map[string]any{"level3": []any{i, "deep", map[string]any{"ok": true, "none": nil}}}},
				"list":   []any{1, 2.5, -3, "four", false},
				"empty":  map[string]any{},
			},
		}
		if i%5 == 0 {
			props["large"] = large
		}
		c := goCapture{uuid: newUUID(), event: event, props: normalize(t, props)}
		captures = append(captures, c)
		enqueue(posthog.Capture{Uuid: c.uuid, DistinctId: distinctID, Event: event, Properties: props})
	}
	grouped := goCapture{uuid: newUUID(), event: "e2e grouped event", props: map[string]any{"unicode": unicodeProbe, "plan": "enterprise"}}
	captures = append(captures, grouped)
	enqueue(posthog.Capture{
		Uuid: grouped.uuid, DistinctId: distinctID, Event: grouped.event,
		Properties: posthog.Properties(maps.Clone(grouped.props)),
		Groups:     posthog.NewGroups().Set("company", "edgehog-inc"),
	})

	identifyUUID, aliasUUID, groupUUID := newUUID(), newUUID(), newUUID()
	personProps := map[string]any{"email": "hedgehog@example.com", "name": unicodeProbe}
	groupProps := map[string]any{"name": unicodeProbe, "employees": float64(42)}
	// The SDK gets copies: Enqueue may add to the maps it is given.
	enqueue(posthog.Identify{Uuid: identifyUUID, DistinctId: distinctID, Properties: posthog.Properties(maps.Clone(personProps))})
	enqueue(posthog.Alias{Uuid: aliasUUID, DistinctId: distinctID, Alias: distinctID + "-alias"})
	enqueue(posthog.GroupIdentify{Uuid: groupUUID, Type: "company", Key: "edgehog-inc", Properties: posthog.Properties(maps.Clone(groupProps))})

	type flagAnswer struct{ value, enabled any }
	flagKeys := []string{"beta-feature", "checkout-flow", "legacy-mode", "no-such-flag"}
	flags := make(map[string]flagAnswer)
	for _, k := range flagKeys {
		payload := posthog.FeatureFlagPayload{Key: k, DistinctId: distinctID}
		v, err := client.GetFeatureFlag(payload)
		if err != nil {
			t.Errorf("GetFeatureFlag(%q): %v", k, err)
		}
		e, err := client.IsFeatureEnabled(payload)
		if err != nil {
			t.Errorf("IsFeatureEnabled(%q): %v", k, err)
		}
		flags[k] = flagAnswer{v, e}
	}

	if err := client.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	reqs := s.fake.Requests()
	sent := rt.requests()
	t.Logf("posthog-go %s; fake saw: %s", posthog.Version, describe(reqs))

	for _, f := range cb.failures() {
		t.Errorf("posthog-go reported a failed message: %s", f)
	}
	for _, e := range logs.errors() {
		t.Errorf("posthog-go logged an error: %s", e)
	}

	t.Run("bytes", func(t *testing.T) {
		checkSDKBytes(t, sent, reqs)
	})

	t.Run("requests", func(t *testing.T) {
		uaByKey := make(map[string]string)
		for _, r := range sent {
			uaByKey[r.key()] = r.userAgent
		}
		var batches, flagsReqs int
		for _, r := range reqs {
			// posthog-go names itself posthog-go/<version>; under go test
			// it reports version 1.0.0 on /batch/, so the expected value is
			// whatever it sent for this very request.
			ua := uaByKey[fakeKey(r)]
			if !strings.HasPrefix(ua, "posthog-go/") {
				t.Errorf("%s %s: posthog-go sent User-Agent %q, want prefix %q", r.Method, r.Path, ua, "posthog-go/")
			}
			checkUpstreamRequest(t, s, r, ua)
			switch r.Path {
			case "/batch/":
				batches++
				checkGoBatch(t, r, compression)
			case "/flags/":
				flagsReqs++
				if r.Status != 200 {
					t.Errorf("/flags/: fake answered %d, want 200", r.Status)
				}
			default:
				t.Errorf("unexpected request %s %s?%s", r.Method, r.Path, r.RawQuery)
			}
		}
		if batches < 2 {
			t.Errorf("got %d /batch/ requests, want at least 2 (BatchSize 7, 34+ messages)", batches)
		}
		if flagsReqs == 0 {
			t.Errorf("got no /flags/ request, want the remote evaluations to reach the fake")
		}
	})

	got := delivered(reqs)
	t.Run("exactly once", func(t *testing.T) {
		checkExactlyOnce(t, got, cb.successes())
		for _, c := range captures {
			if got[c.uuid] != 1 {
				t.Errorf("captured event %s delivered %d times, want 1", c.uuid, got[c.uuid])
			}
		}
		for _, u := range []string{identifyUUID, aliasUUID, groupUUID} {
			if got[u] != 1 {
				t.Errorf("event %s delivered %d times, want 1", u, got[u])
			}
		}
	})

	events := deliveredEvents(reqs)
	t.Run("captures intact", func(t *testing.T) {
		for _, c := range captures {
			ev, ok := events[c.uuid]
			if !ok {
				continue // reported by "exactly once"
			}
			where := "event " + c.uuid
			if ev.Event != c.event {
				t.Errorf("%s: name = %q, want %q", where, ev.Event, c.event)
			}
			if ev.DistinctID != distinctID {
				t.Errorf("%s: distinct_id = %q, want %q", where, ev.DistinctID, distinctID)
			}
			checkProps(t, where, ev.Properties, c.props)
			checkString(t, where+": unicode property", ev.Properties["unicode"], unicodeProbe)
			if _, ok := c.props["large"]; ok {
				checkString(t, where+": large property", ev.Properties["large"], large)
			}
			checkProps(t, where, ev.Properties, map[string]any{"$lib": "posthog-go", "$geoip_disable": true})
		}
		if ev, ok := events[grouped.uuid]; ok {
			checkProps(t, "grouped event", ev.Properties, map[string]any{
				"$groups": map[string]any{"company": "edgehog-inc"},
			})
		}
	})

	t.Run("identify alias groupIdentify", func(t *testing.T) {
		if ev, ok := events[identifyUUID]; ok {
			if ev.Event != "$identify" || ev.DistinctID != distinctID {
				t.Errorf("identify: event, distinct_id = %q, %q; want %q, %q", ev.Event, ev.DistinctID, "$identify", distinctID)
			}
			// posthog-go sends the person properties as a top-level $set.
			set, _ := rawField(t, ev, "$set").(map[string]any)
			checkProps(t, "identify $set", set, personProps)
		}
		if ev, ok := events[aliasUUID]; ok {
			if ev.Event != "$create_alias" {
				t.Errorf("alias: event = %q, want %q", ev.Event, "$create_alias")
			}
			checkProps(t, "alias", ev.Properties, map[string]any{"alias": distinctID + "-alias", "distinct_id": distinctID})
		}
		if ev, ok := events[groupUUID]; ok {
			if ev.Event != "$groupidentify" || ev.DistinctID != "$company_edgehog-inc" {
				t.Errorf("groupidentify: event, distinct_id = %q, %q; want %q, %q", ev.Event, ev.DistinctID, "$groupidentify", "$company_edgehog-inc")
			}
			checkProps(t, "groupidentify", ev.Properties, map[string]any{
				"$group_type": "company", "$group_key": "edgehog-inc", "$group_set": groupProps,
			})
		}
	})

	t.Run("flags", func(t *testing.T) {
		// posthog-go's IsFeatureEnabled answers a multivariate flag with
		// its variant, not true.
		want := map[string]flagAnswer{
			"beta-feature":  {true, true},
			"checkout-flow": {"variant-b", "variant-b"},
			"legacy-mode":   {false, false},
			"no-such-flag":  {false, false},
		}
		for _, k := range flagKeys {
			if got := flags[k]; !reflect.DeepEqual(got, want[k]) {
				t.Errorf("flag %q: GetFeatureFlag, IsFeatureEnabled = %#v, %#v; want %#v, %#v",
					k, got.value, got.enabled, want[k].value, want[k].enabled)
			}
		}
		if len(eventsNamed(events, "$feature_flag_called", distinctID)) == 0 {
			t.Errorf("delivered no $feature_flag_called events, want one per evaluated flag")
		}
	})
}

// checkGoBatch checks one /batch/ request from posthog-go at the fake.
func checkGoBatch(t *testing.T, r fakehog.Request, compression posthog.CompressionMode) {
	t.Helper()
	if r.Method != "POST" {
		t.Errorf("/batch/: method = %s, want POST", r.Method)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("/batch/: Content-Type = %q, want %q", got, "application/json")
	}
	wantQuery, wantEncoding := "", ""
	if compression == posthog.CompressionGzip {
		wantQuery, wantEncoding = "compression=gzip", "gzip"
		if !bytes.HasPrefix(r.Body, []byte{0x1f, 0x8b, 0x08}) {
			t.Errorf("/batch/: body starts % x, want gzip magic 1f 8b 08", r.Body[:min(len(r.Body), 3)])
		}
	}
	if r.RawQuery != wantQuery {
		t.Errorf("/batch/: query = %q, want %q", r.RawQuery, wantQuery)
	}
	if got := r.Header.Get("Content-Encoding"); got != wantEncoding {
		t.Errorf("/batch/: Content-Encoding = %q, want %q", got, wantEncoding)
	}
	if r.DecodeErr != "" || r.Status != 200 || len(r.Events) == 0 {
		t.Errorf("/batch/: fake answered %d with %d events, decode error %q; want 200, events, no error", r.Status, len(r.Events), r.DecodeErr)
	}
}

// checkSDKBytes checks that every request posthog-go made reached the
// fake with the same method, path, query and body bytes, as often.
func checkSDKBytes(t *testing.T, sent []sdkRequest, reqs []fakehog.Request) {
	t.Helper()
	want := make(map[string]int)
	for _, r := range sent {
		if r.err != "" {
			t.Errorf("posthog-go %s %s failed: %s", r.method, r.path, r.err)
			continue
		}
		want[r.key()]++
	}
	got := make(map[string]int)
	for _, r := range reqs {
		got[fakeKey(r)]++
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests at the fake (method path?query length sha256):\n  got  %v\n  want %v (as posthog-go sent them)", got, want)
	}
}

func fakeKey(r fakehog.Request) string {
	return r.Method + " " + r.Path + "?" + r.RawQuery + " " + strconv.FormatInt(r.BodyLen, 10) + " " + r.BodySHA256
}

// sdkRequest is one request posthog-go handed to its transport.
type sdkRequest struct {
	method, path, rawQuery string
	bodyLen                int64
	bodySHA256             string
	userAgent              string
	status                 int
	err                    string
}

func (r sdkRequest) key() string {
	return r.method + " " + r.path + "?" + r.rawQuery + " " + strconv.FormatInt(r.bodyLen, 10) + " " + r.bodySHA256
}

// recordingTransport records the exact bytes posthog-go sends.
type recordingTransport struct {
	base http.RoundTripper

	mu   sync.Mutex
	reqs []sdkRequest
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading request body: %w", err)
		}
	}
	// A RoundTripper must not modify the request it was given.
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	rec := sdkRequest{
		method:     req.Method,
		path:       req.URL.EscapedPath(),
		rawQuery:   req.URL.RawQuery,
		bodyLen:    int64(len(body)),
		bodySHA256: sha256Hex(body),
		userAgent:  req.Header.Get("User-Agent"),
	}
	res, err := rt.base.RoundTrip(out)
	if err != nil {
		rec.err = err.Error()
	} else {
		rec.status = res.StatusCode
	}
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, rec)
	rt.mu.Unlock()
	return res, err
}

func (rt *recordingTransport) requests() []sdkRequest {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]sdkRequest(nil), rt.reqs...)
}

// sdkCallback collects posthog-go's per-message delivery reports.
type sdkCallback struct {
	mu     sync.Mutex
	ok     []string // uuids
	failed []string // "uuid: error"
}

func (c *sdkCallback) Success(m posthog.APIMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ok = append(c.ok, messageUUID(m))
}

func (c *sdkCallback) Failure(m posthog.APIMessage, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = append(c.failed, messageUUID(m)+": "+err.Error())
}

func (c *sdkCallback) successes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ok...)
}

func (c *sdkCallback) failures() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.failed...)
}

// messageUUID is the "uuid" an API message is sent with.
func messageUUID(m posthog.APIMessage) string {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Sprintf("(unmarshalable %T: %v)", m, err)
	}
	var v struct {
		UUID string `json:"uuid"`
	}
	_ = json.Unmarshal(b, &v)
	return v.UUID
}

// sdkLogger keeps posthog-go's log; it may log from its own goroutines,
// where t.Log is not allowed once the test has ended.
type sdkLogger struct {
	mu    sync.Mutex
	lines []string
	errs  []string
}

func (l *sdkLogger) add(level, format string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := level + ": " + fmt.Sprintf(format, args...)
	if len(line) > maxLogLine {
		line = line[:maxLogLine] + "…"
	}
	l.lines = append(l.lines, line)
	if level == "ERROR" {
		l.errs = append(l.errs, line)
	}
}

// Debugf drops posthog-go's debug lines: they print whole events, large
// properties included.
func (l *sdkLogger) Debugf(format string, args ...any) {}
func (l *sdkLogger) Logf(format string, args ...any)   { l.add("INFO", format, args) }
func (l *sdkLogger) Warnf(format string, args ...any)  { l.add("WARN", format, args) }
func (l *sdkLogger) Errorf(format string, args ...any) { l.add("ERROR", format, args) }

func (l *sdkLogger) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

func (l *sdkLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// largeString returns a deterministic string of exactly n UTF-8 bytes
// mixing 1- to 4-byte characters, so that any re-encoding, truncation or
// byte shift on the way shows and compression cannot squeeze it to nothing.
func largeString(n int, seed uint64) string {
	alphabet := []rune{'a', 'Z', '7', ' ', '"', '\\', '/', 'é', 'ß', 'Ж', '€', '日', '本', '🦔', '𝄞'}
	rng := rand.New(rand.NewPCG(seed, seed))
	var b strings.Builder
	b.Grow(n)
	for b.Len() < n {
		r := alphabet[rng.IntN(len(alphabet))]
		if b.Len()+utf8.RuneLen(r) > n {
			r = 'a'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Interface guards.
var (
	_ http.RoundTripper = (*recordingTransport)(nil)
	_ posthog.Callback  = (*sdkCallback)(nil)
	_ posthog.Logger    = (*sdkLogger)(nil)
)

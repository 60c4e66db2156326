package posthog

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

func TestCaptureWireFormat(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{})
	ts := time.Date(2026, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
	const id = "01890f6e-1234-7abc-8def-0123456789ab"
	err := c.Capture(Event{
		DistinctID: "user-1",
		Event:      "order placed",
		Properties: Properties{"amount": 42.5, "$set": "overridden"},
		Set:        Properties{"plan": "pro"},
		SetOnce:    Properties{"first_seen": "2026-01-01"},
		Groups:     map[string]string{"company": "acme"},
		Timestamp:  ts,
		UUID:       id,
	})
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	reqs := batchRequests(fake)
	if len(reqs) != 1 {
		t.Fatalf("got %d /batch/ requests, want 1", len(reqs))
	}
	r := reqs[0]
	for h, want := range map[string]string{
		"Content-Type":     "application/json",
		"Content-Encoding": "gzip",
		"User-Agent":       "edgehog-go/" + Version,
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if r.Method != "POST" {
		t.Errorf("method = %s, want POST", r.Method)
	}
	if !bytes.HasPrefix(r.Body, []byte{0x1f, 0x8b}) {
		t.Errorf("body starts %x, want gzip magic 1f8b", r.Body[:min(2, len(r.Body))])
	}
	p := decodePayload(t, r)
	if p.APIKey != testKey {
		t.Errorf("api_key = %q, want %q", p.APIKey, testKey)
	}
	if _, err := time.Parse(timeLayout, p.SentAt); err != nil {
		t.Errorf("sent_at %q: %v", p.SentAt, err)
	}
	if len(p.Batch) != 1 {
		t.Fatalf("batch has %d events, want 1", len(p.Batch))
	}
	var got map[string]any
	if err := json.Unmarshal(p.Batch[0], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"distinct_id": "user-1",
		"event":       "order placed",
		"uuid":        id,
		"timestamp":   "2026-03-04T05:06:07.891Z",
		"properties": map[string]any{
			"amount":         42.5,
			"$set":           map[string]any{"plan": "pro"},
			"$set_once":      map[string]any{"first_seen": "2026-01-01"},
			"$groups":        map[string]any{"company": "acme"},
			"$lib":           Lib,
			"$lib_version":   Version,
			"$is_server":     true,
			"$geoip_disable": true,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event = %v\nwant %v", got, want)
	}
}

func TestMessageShapes(t *testing.T) {
	common := map[string]any{"$lib": Lib, "$lib_version": Version, "$is_server": true, "$geoip_disable": true}
	with := func(m map[string]any) map[string]any {
		out := maps.Clone(common)
		maps.Copy(out, m)
		return out
	}
	tests := []struct {
		name      string
		send      func(*Client) error
		event, id string
		props     map[string]any
	}{
		{
			name: "identify",
			send: func(c *Client) error {
				return c.Identify(IdentifyMessage{DistinctID: "u1", Set: Properties{"email": "a@b.c"}, AnonDistinctID: "anon-1"})
			},
			event: "$identify", id: "u1",
			props: with(map[string]any{"$set": map[string]any{"email": "a@b.c"}, "$set_once": map[string]any{}, "$anon_distinct_id": "anon-1"}),
		},
		{
			name:  "alias",
			send:  func(c *Client) error { return c.Alias(AliasMessage{DistinctID: "u1", Alias: "old-id"}) },
			event: "$create_alias", id: "u1",
			props: with(map[string]any{"distinct_id": "u1", "alias": "old-id"}),
		},
		{
			name: "group identify",
			send: func(c *Client) error {
				return c.GroupIdentify(GroupIdentifyMessage{GroupType: "company", GroupKey: "acme", Properties: Properties{"size": 10.0}})
			},
			event: "$groupidentify", id: "$company_acme",
			props: with(map[string]any{"$group_type": "company", "$group_key": "acme", "$group_set": map[string]any{"size": 10.0}}),
		},
		{
			name: "pageview with geoip",
			send: func(c *Client) error {
				return c.Capture(Event{DistinctID: "u2", Event: "$pageview", Properties: Properties{"$current_url": "https://x/"}, DisableGeoip: new(false)})
			},
			event: "$pageview", id: "u2",
			props: map[string]any{"$lib": Lib, "$lib_version": Version, "$is_server": true, "$current_url": "https://x/"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t, fakehog.Options{})
			c, _ := newTestClient(t, fake, Options{})
			if err := tt.send(c); err != nil {
				t.Fatalf("send: %v", err)
			}
			if err := c.Flush(t.Context()); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			evs := fake.Events()
			if len(evs) != 1 {
				t.Fatalf("got %d events, want 1", len(evs))
			}
			e := evs[0]
			if e.Event != tt.event || e.DistinctID != tt.id {
				t.Errorf("event %q by %q, want %q by %q", e.Event, e.DistinctID, tt.event, tt.id)
			}
			if !reflect.DeepEqual(e.Properties, tt.props) {
				t.Errorf("properties = %v\nwant %v", e.Properties, tt.props)
			}
			if !validUUID(e.UUID) || e.Timestamp == "" {
				t.Errorf("uuid %q, timestamp %q: want both set", e.UUID, e.Timestamp)
			}
		})
	}
}

func TestCaptureOptionsOnTheWire(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{DisableCompression: true, HistoricalMigration: true, DisableGeoip: new(false)})
	if err := c.Capture(Event{Event: "anonymous"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := batchRequests(fake)[0]
	if ce := r.Header.Get("Content-Encoding"); ce != "" {
		t.Errorf("Content-Encoding = %q, want none", ce)
	}
	if !json.Valid(r.Body) {
		t.Errorf("body is not plain JSON: %q", r.Body)
	}
	if p := decodePayload(t, r); !p.HistoricalMigration {
		t.Errorf("historical_migration missing from %s", r.Decoded)
	}
	e := fake.Events()[0]
	if _, ok := e.Properties["$geoip_disable"]; ok {
		t.Errorf("$geoip_disable sent although GeoIP is on")
	}
	if e.Properties["$process_person_profile"] != false || !validUUID(e.DistinctID) {
		t.Errorf("anonymous event: distinct_id %q, $process_person_profile %v; want a UUID and false", e.DistinctID, e.Properties["$process_person_profile"])
	}
}

func TestInvalidInput(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{})
	tests := []struct {
		name string
		call func() error
	}{
		{"empty event", func() error { return c.Capture(Event{DistinctID: "u"}) }},
		{"bad uuid", func() error { return c.Capture(Event{DistinctID: "u", Event: "e", UUID: "not-a-uuid"}) }},
		{"unencodable property", func() error {
			return c.Capture(Event{DistinctID: "u", Event: "e", Properties: Properties{"ch": make(chan int)}})
		}},
		{"identify without id", func() error { return c.Identify(IdentifyMessage{}) }},
		{"alias without alias", func() error { return c.Alias(AliasMessage{DistinctID: "u"}) }},
		{"group without key", func() error { return c.GroupIdentify(GroupIdentifyMessage{GroupType: "company"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Errorf("got nil error, want one")
			}
		})
	}
	if n := c.Queued(); n != 0 {
		t.Errorf("Queued() = %d after invalid input, want 0", n)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name, key string
		opts      Options
		want      string
	}{
		{"empty key", " ", Options{}, "project key"},
		{"project key as personal key", testKey, Options{PersonalAPIKey: "phc_abc"}, "personal api key"},
		{"host without scheme", testKey, Options{Host: "example.com"}, "host"},
		{"host with query", testKey, Options{Host: "https://example.com/?a=1"}, "host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.key, tt.opts)
			if err == nil {
				c.Close()
				t.Fatalf("New(%q) = nil error, want one about %s", tt.key, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%q) = %v, want it to mention %q", tt.key, err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	s, err := Options{}.resolve(testKey)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{s.host, s.flushAt, s.flushInterval, s.maxBatchSize, s.maxQueueSize, s.requestTimeout, s.retryCount, s.retryDelay, s.disableGeoip, s.compress, s.pollingInterval, s.flagsTimeout, s.maxCacheSize, s.sendFlagEvents}
	want := []any{"https://us.i.posthog.com", 20, 5 * time.Second, 100, 10000, 10 * time.Second, 3, 3 * time.Second, true, true, 30 * time.Second, 3 * time.Second, 50000, true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults = %v, want %v", got, want)
	}
	s, _ = Options{Serverless: true, FlushInterval: time.Second}.resolve(testKey)
	if s.flushAt != 1 || s.flushInterval != 0 {
		t.Errorf("serverless: flushAt %d, interval %v; want 1, 0", s.flushAt, s.flushInterval)
	}
	s, _ = Options{FlushAt: 50, MaxBatchSize: 10, MaxQueueSize: 5, FeatureFlagsPollingInterval: time.Millisecond, Host: "http://h/"}.resolve(testKey)
	if s.maxBatchSize != 50 || s.maxQueueSize != 50 || s.pollingInterval != MinFeatureFlagsPollingInterval || s.host != "http://h" {
		t.Errorf("clamps: batch %d, queue %d, poll %v, host %q; want 50, 50, 100ms, http://h", s.maxBatchSize, s.maxQueueSize, s.pollingInterval, s.host)
	}
}

func TestUUIDv7(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id := newUUIDv7(now)
	if !validUUID(id) || id[14] != '7' || !strings.ContainsRune("89ab", rune(id[19])) {
		t.Errorf("newUUIDv7 = %q, want a version 7, variant 10 UUID", id)
	}
	if ms := strings.ReplaceAll(id[:13], "-", ""); ms != "019b7ca98c88" {
		t.Errorf("timestamp bits = %s, want 019b7ca98c88 (%d ms)", ms, now.UnixMilli())
	}
	if newUUIDv7(now) == id {
		t.Errorf("two UUIDs for the same instant are equal")
	}
}

func TestClosed(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{})
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := c.Capture(Event{DistinctID: "u", Event: "late"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Capture after Shutdown = %v, want ErrClosed", err)
	}
	if err := c.Shutdown(t.Context()); err != nil {
		t.Errorf("second Shutdown = %v, want nil", err)
	}
}

// TestEncodeNoDuplicateKeys: a caller's property that the SDK also writes
// appears once, with the SDK's value (JSON decoders differ on duplicates,
// so the raw text is checked).
func TestEncodeNoDuplicateKeys(t *testing.T) {
	c := &Client{cfg: settings{disableGeoip: true, now: time.Now}}
	user := Properties{"$lib": "mine", "$set": "mine", "$geoip_disable": false, "kept": 1}
	raw, err := c.encode("u", "e", user, []prop{{"$set", Properties{"a": 1}}}, time.Time{}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if user["$lib"] != "mine" || len(user) != 4 {
		t.Errorf("encode modified the caller's map: %v", user)
	}
	var ev struct{ Properties json.RawMessage }
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Properties))
	seen := map[string]int{}
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		seen[k.(string)]++
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("property %q appears %d times in %s", k, n, ev.Properties)
		}
	}
	var props map[string]any
	_ = json.Unmarshal(ev.Properties, &props)
	if props["$lib"] != Lib || props["$geoip_disable"] != true || props["kept"] != 1.0 {
		t.Errorf("properties = %v: want the SDK's $lib and $geoip_disable, and kept", props)
	}
}

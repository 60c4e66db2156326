package deliver

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	received = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	hourLate = received.Add(time.Hour + 1234*time.Millisecond)
)

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// capturedTimestamps computes what PostHog capture stores for each event
// of a plain JSON body received at now: timestamp = now + (timestamp -
// sent_at) when both are known, the timestamp as sent when sent_at is
// missing, and now for an event without a timestamp. sent_at comes from
// the body, else from the "_"/"sent_at" query parameter.
func capturedTimestamps(t *testing.T, body []byte, rawQuery string, now time.Time) map[string]time.Time {
	t.Helper()
	var sentAt time.Time
	q, _ := url.ParseQuery(rawQuery)
	for _, k := range []string{"_", "sent_at"} {
		if v := q.Get(k); v != "" {
			ms, _ := strconv.ParseInt(v, 10, 64)
			sentAt = time.UnixMilli(ms)
		}
	}
	var events []map[string]any
	var top map[string]any
	if err := json.Unmarshal(body, &top); err == nil {
		if s, ok := top["sent_at"].(string); ok {
			sentAt, _ = time.Parse(time.RFC3339Nano, s)
		}
		if b, ok := top["batch"].([]any); ok {
			for _, e := range b {
				events = append(events, e.(map[string]any))
			}
		} else {
			events = append(events, top)
		}
	} else if err := json.Unmarshal(body, &events); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	out := map[string]time.Time{}
	for _, e := range events {
		id, _ := e["uuid"].(string)
		ts, ok := e["timestamp"].(string)
		if !ok {
			out[id] = now
			continue
		}
		et, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatalf("event %s timestamp %q: %v", id, ts, err)
		}
		if sentAt.IsZero() {
			out[id] = et
		} else {
			out[id] = now.Add(et.Sub(sentAt))
		}
	}
	return out
}

// A client whose clock is 90 s fast sends events; delivered an hour late,
// PostHog must compute the same timestamps as on time.
const skewedBatch = `{"api_key":"phc_k","batch":[` +
	`{"uuid":"a","event":"$pageview","properties":{"x":1},"timestamp":"2026-03-01T12:01:25.500Z"},` +
	`{"uuid":"b","event":"no_ts","properties":{}},` +
	`{"uuid":"c","event":"zone","timestamp":"2026-03-01T14:01:29+02:00"}` +
	`],"sent_at":"2026-03-01T12:01:30.000Z"}`

func TestShiftKeepsCapturedTimestamps(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		query string
	}{
		{"body sent_at", skewedBatch, ""},
		{"sent_at before batch", `{"sent_at":"2026-03-01T12:01:30.000Z","batch":[{"uuid":"a","timestamp":"2026-03-01T12:01:25.500Z"},{"uuid":"b"}]}`, ""},
		{"query _ in ms", `{"batch":[{"uuid":"a","timestamp":"2026-03-01T12:01:25.500Z"},{"uuid":"b","event":"e"}]}`, "ver=1.2&_=" + strconv.FormatInt(received.Add(90*time.Second).UnixMilli(), 10)},
		{"query sent_at", `[{"uuid":"a","timestamp":"2026-03-01T12:01:25.500Z"},{"uuid":"b"}]`, "sent_at=" + strconv.FormatInt(received.Add(90*time.Second).UnixMilli(), 10)},
		{"no sent_at (posthog-go)", `{"api_key":"k","batch":[{"uuid":"a","timestamp":"2026-03-01T11:59:59Z"},{"uuid":"b"}]}`, ""},
		{"single event", `{"uuid":"a","event":"e","properties":{"token":"k"}}`, ""},
		{"empty event", `{"batch":[{}],"sent_at":"2026-03-01T12:01:30Z"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := capturedTimestamps(t, []byte(tt.body), tt.query, received)
			rw := Shift([]byte(tt.body), tt.query, "application/json", "", received, hourLate)
			if rw.Kept != nil {
				t.Fatalf("Shift kept the body: %v", rw.Kept)
			}
			got := capturedTimestamps(t, rw.Body, rw.RawQuery, hourLate)
			for id, w := range want {
				if g := got[id]; !g.Equal(w) {
					t.Errorf("event %q: PostHog computes %v after late delivery, want %v (body %s, query %s)", id, g, w, rw.Body, rw.RawQuery)
				}
			}
		})
	}
}

func TestShiftChangesOnlyClockBytes(t *testing.T) {
	rw := Shift([]byte(skewedBatch), "", "text/plain", "", received, hourLate)
	want := strings.NewReplacer(
		`"sent_at":"2026-03-01T12:01:30.000Z"`, `"sent_at":"2026-03-01T13:01:31.234Z"`,
		`"properties":{}}`, `"properties":{},"timestamp":"2026-03-01T12:01:30.000Z"}`,
	).Replace(skewedBatch)
	if string(rw.Body) != want {
		t.Errorf("Shift body =\n%s\nwant\n%s", rw.Body, want)
	}
	// Nothing to change: the very same bytes come back.
	body := []byte(`{"batch":[{"uuid":"a","timestamp":"2026-03-01T11:59:59Z"}]}`)
	z := gz(t, body)
	if rw := Shift(z, "", "application/json", "gzip", received, hourLate); rw.Changed || !bytes.Equal(rw.Body, z) {
		t.Errorf("Shift re-encoded a body without clock fields")
	}
	if rw := Shift(body, "a=1&b", "", "", received, received); rw.Changed || rw.RawQuery != "a=1&b" {
		t.Errorf("Shift with no delay changed the body or query %q", rw.RawQuery)
	}
}

func TestShiftEncodings(t *testing.T) {
	plain := []byte(skewedBatch)
	b64 := base64.StdEncoding.EncodeToString(plain)
	tests := []struct {
		name, ctype, cenc, query string
		body                     []byte
		decode                   func(t *testing.T, b []byte) []byte
	}{
		{"gzip by magic (posthog-js)", "text/plain", "", "", gz(t, plain), gunzip},
		{"gzip by header (posthog-node)", "application/json", "gzip", "", gz(t, plain), gunzip},
		{"gzip by query (posthog-go)", "application/json", "gzip", "compression=gzip", gz(t, plain), gunzip},
		{"base64 form (beacon)", "application/x-www-form-urlencoded", "", "compression=base64",
			[]byte("data=" + url.QueryEscape(b64) + "&ver=1.2"),
			func(t *testing.T, b []byte) []byte {
				if !bytes.HasSuffix(b, []byte("&ver=1.2")) {
					t.Errorf("form fields other than data changed: %s", b)
				}
				f, err := url.ParseQuery(string(b))
				if err != nil {
					t.Fatal(err)
				}
				d, err := base64.StdEncoding.DecodeString(f.Get("data"))
				if err != nil {
					t.Fatal(err)
				}
				return d
			}},
		{"raw base64", "text/plain", "", "compression=base64", []byte(b64),
			func(t *testing.T, b []byte) []byte {
				d, err := base64.StdEncoding.DecodeString(string(b))
				if err != nil {
					t.Fatal(err)
				}
				return d
			}},
	}
	want := Shift(plain, "", "application/json", "", received, hourLate).Body
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw := Shift(tt.body, tt.query, tt.ctype, tt.cenc, received, hourLate)
			if rw.Kept != nil || !rw.Changed {
				t.Fatalf("Shift = changed %v, kept %v; want a rewrite", rw.Changed, rw.Kept)
			}
			if got := tt.decode(t, rw.Body); !bytes.Equal(got, want) {
				t.Errorf("decoded body =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestShiftKeepsWhatItCannotRead(t *testing.T) {
	for _, tt := range []struct{ name, query, body string }{
		{"lz64", "compression=lz64", "N4Ig..."},
		{"not json", "", "hello world!"},
		{"truncated json", "", `{"batch":[{"uuid":"a"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rw := Shift([]byte(tt.body), tt.query, "text/plain", "", received, hourLate)
			if !errors.Is(rw.Kept, errUnsupported) || string(rw.Body) != tt.body {
				t.Errorf("Shift = %q, kept %v; want the body unchanged and errUnsupported", rw.Body, rw.Kept)
			}
		})
	}
}

func TestShiftQuery(t *testing.T) {
	late := received.Add(1500 * time.Millisecond)
	ms := strconv.FormatInt(received.UnixMilli(), 10)
	shifted := strconv.FormatInt(received.UnixMilli()+1500, 10)
	tests := []struct{ in, want string }{
		{"", ""},
		{"ver=1&_=" + ms + "&beacon=1", "ver=1&_=" + shifted + "&beacon=1"},
		{"sent_at=" + ms, "sent_at=" + shifted},
		{"_=1700000000", "_=1700000000"}, // seconds: PostHog ignores them
		{"a&&b=%20", "a&&b=%20"},
	}
	for _, tt := range tests {
		if got, _, _ := shiftQuery(tt.in, late.Sub(received)); got != tt.want {
			t.Errorf("shiftQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzShift(f *testing.F) {
	f.Add([]byte(skewedBatch), "")                                        // a posthog-js batch
	f.Add([]byte(`[{"uuid":"a"},{}]`), "_=1772366400000")                 // an array with a query timestamp
	f.Add([]byte(`{"sent_at":12,"batch":[[],1,{"timestamp":null}]}`), "") // odd shapes
	f.Add(gz(f, []byte(skewedBatch)), "compression=gzip")                 // gzip
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		rw := Shift(body, query, "text/plain", "", received, hourLate)
		if !rw.Changed {
			if !bytes.Equal(rw.Body, body) {
				t.Fatalf("unchanged rewrite returned other bytes")
			}
			return
		}
		if json.Valid(body) && !json.Valid(rw.Body) {
			t.Fatalf("valid JSON became invalid:\n%s\n%s", body, rw.Body)
		}
	})
}

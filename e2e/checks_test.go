package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// unicodeProbe goes into every event. It holds what tends to break on the
// way: combining marks, emoji with ZWJ sequences and skin tones, astral
// code points, right-to-left text, JSON's own escapes, U+2028/U+2029
// (valid JSON, invalid JavaScript source), a BOM, a no-break space and
// control characters.
const unicodeProbe = "héllo wörld — 日本語テキスト — Ελληνικά — עִבְרִית — e\u0301 — " +
	"🦔🏳️‍🌈👩🏽‍💻 — 𝄞\U0010FFFD — \u2028\u2029 — \uFEFF\u00A0 — " +
	"</script> \"quotes\" \\backslash\\ \t tab \r\n newline \x01\x1f ctl"

// testFlags is the fake's flag set; the SDKs must report exactly these.
var testFlags = map[string]any{
	"beta-feature":  true,
	"checkout-flow": "variant-b",
	"legacy-mode":   false,
}

// largeBytes is the UTF-8 size of the large string property.
const largeBytes = 100 * 1024

// testKey is the project token the SDKs send.
const testKey = "phc_edgehog_e2e_test_token"

// newUUID returns a random RFC 9562 version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand doc)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// delivered counts, per event uuid, the events that reached the fake on a
// /batch/ request the fake answered 200, which the SDK takes as delivered.
// Events on refused requests (503, 413) are not deliveries.
func delivered(reqs []fakehog.Request) map[string]int {
	n := make(map[string]int)
	for _, r := range reqs {
		if r.Path != "/batch/" || r.Status != 200 {
			continue
		}
		for _, ev := range r.Events {
			n[ev.UUID]++
		}
	}
	return n
}

// deliveredEvents returns the events of delivered batches by uuid (the
// last one when an event arrived more than once).
func deliveredEvents(reqs []fakehog.Request) map[string]fakehog.Event {
	m := make(map[string]fakehog.Event)
	for _, r := range reqs {
		if r.Path != "/batch/" || r.Status != 200 {
			continue
		}
		for _, ev := range r.Events {
			m[ev.UUID] = ev
		}
	}
	return m
}

// checkExactlyOnce fails the test unless every uuid in want was delivered
// exactly once and nothing else was delivered.
func checkExactlyOnce(t *testing.T, got map[string]int, want []string) {
	t.Helper()
	wantSet := make(map[string]bool, len(want))
	for _, u := range want {
		if wantSet[u] {
			t.Errorf("uuid %s was sent twice by the client itself", u)
		}
		wantSet[u] = true
		if got[u] != 1 {
			t.Errorf("event %s delivered %d times, want 1", u, got[u])
		}
	}
	for u, n := range got {
		if !wantSet[u] {
			t.Errorf("event %s delivered %d times, want 0: the client never reported sending it", u, n)
		}
	}
}

// checkUpstreamRequest checks what edgehog must have done to every request
// it forwarded to the API origin on behalf of a loopback client.
func checkUpstreamRequest(t *testing.T, s *stack, r fakehog.Request, userAgent string) {
	t.Helper()
	where := r.Method + " " + r.Path
	if r.Upstream != fakehog.UpstreamAPI {
		t.Errorf("%s: upstream = %q, want %q", where, r.Upstream, fakehog.UpstreamAPI)
	}
	if r.Host != s.fakeHost() {
		t.Errorf("%s: upstream Host = %q, want %q", where, r.Host, s.fakeHost())
	}
	if got := r.Header.Values("X-Forwarded-For"); !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Errorf("%s: X-Forwarded-For = %q, want exactly [\"127.0.0.1\"]", where, got)
	}
	if got := r.Header.Get("User-Agent"); got != userAgent {
		t.Errorf("%s: User-Agent = %q, want %q", where, got, userAgent)
	}
}

// checkProps compares each property in want with the one in got: strings
// byte for byte, everything else by JSON meaning.
func checkProps(t *testing.T, where string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: property %q missing", where, k)
			continue
		}
		if ws, ok := w.(string); ok {
			checkString(t, fmt.Sprintf("%s: property %q", where, k), g, ws)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: property %q = %s, want %s", where, k, jsonText(g), jsonText(w))
		}
	}
}

// checkString compares a decoded JSON value with want byte for byte and,
// on a mismatch, says where the bytes part rather than printing 100 KiB.
func checkString(t *testing.T, where string, got any, want string) {
	t.Helper()
	gs, ok := got.(string)
	if !ok {
		t.Errorf("%s = %s (%T), want a string", where, abbrev(jsonText(got)), got)
		return
	}
	if gs == want {
		return
	}
	i := 0
	for i < len(gs) && i < len(want) && gs[i] == want[i] {
		i++
	}
	t.Errorf("%s differs at byte %d: got %d bytes (valid UTF-8 %v, sha256 %s) %q…, want %d bytes (sha256 %s) %q…",
		where, i, len(gs), utf8.ValidString(gs), sha256Hex([]byte(gs)), abbrev(gs[i:]),
		len(want), sha256Hex([]byte(want)), abbrev(want[i:]))
}

// normalize returns v as encoding/json decodes it into any, so values
// built in Go compare with what the fake decoded.
func normalize(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return m
}

// rawField returns a top-level field of an event's raw JSON.
func rawField(t *testing.T, ev fakehog.Event, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Raw, &m); err != nil {
		t.Fatalf("event %s: raw JSON: %v", ev.UUID, err)
	}
	return m[name]
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

func abbrev(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max]
}

// eventsNamed returns the delivered events named name for distinctID.
func eventsNamed(events map[string]fakehog.Event, name, distinctID string) []fakehog.Event {
	var out []fakehog.Event
	for _, ev := range events {
		if ev.Event == name && (distinctID == "" || ev.DistinctID == distinctID) {
			out = append(out, ev)
		}
	}
	return out
}

// statuses lists the statuses of the requests on path, in arrival order.
func statuses(reqs []fakehog.Request, path string) []int {
	var out []int
	for _, r := range reqs {
		if r.Path == path {
			out = append(out, r.Status)
		}
	}
	return out
}

// describe is a one-line summary of the fake's requests for failures.
func describe(reqs []fakehog.Request) string {
	var b strings.Builder
	for i, r := range reqs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s?%s → %d (%d events, %d bytes)", r.Method, r.Path, r.RawQuery, r.Status, len(r.Events), r.BodyLen)
	}
	return b.String()
}

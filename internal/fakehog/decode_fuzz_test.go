package fakehog

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds arbitrary requests to the capture and flags payload
// decoders. They must never panic, must refuse only with a decodeError of
// a status capture uses, and what they accept must be bounded UTF-8 (and
// JSON with well-formed events where they say so).
func FuzzDecode(f *testing.F) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

	// posthog-js ≥1.398.2 capture: gzip, text/plain, no hint at all.
	f.Add("text/plain", "", "", gz(batchEvents))
	// Older posthog-js: the hint in the query.
	f.Add("text/plain", "compression=gzip-js&ver=1.200.0", "", gz(arrayEvents))
	// posthog-node: Content-Encoding gzip on /batch/.
	f.Add("application/json", "", "gzip", gz(batchEvents))
	// sendBeacon fallback: base64 form with '+' left raw.
	f.Add(formMIME, "compression=base64", "", []byte("data="+b64(arrayEvents)))
	// A whole body in strict base64.
	f.Add("text/plain", "", "", []byte(b64(singleEvent)))
	// Legacy GET: payload in the query, no body.
	f.Add("", "data="+url.QueryEscape(b64(arrayEvents)), "", []byte(nil))
	// Truncated gzip: header only.
	f.Add("text/plain", "", "", gz(arrayEvents)[:12])
	// lz64, which fakehog does not decode.
	f.Add(formMIME, "compression=lz64", "", []byte("data=N4IgdghgtgpiBcIDCB"))
	// Form content type, but not a form.
	f.Add(formMIME, "", "", []byte(`{"event":"x"}`))
	// Invalid UTF-8.
	f.Add("application/json", "", "", []byte{'[', 0xff, ']'})

	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, contentType, query, contentEncoding string, body []byte) {
		q, _ := url.ParseQuery(query)
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		if contentEncoding != "" {
			h.Set("Content-Encoding", contentEncoding)
		}

		out, err := decodeCapture(q, h, body, limit)
		checkDecodeError(t, "decodeCapture", err)
		if err == nil {
			if len(out) > limit || !utf8.Valid(out) {
				t.Fatalf("decodeCapture accepted %d bytes, valid UTF-8 %v; want ≤ %d and valid", len(out), utf8.Valid(out), limit)
			}
			events, err := parseEvents(out, "/e/")
			checkDecodeError(t, "parseEvents", err)
			if err == nil {
				if len(events) == 0 {
					t.Fatal("parseEvents returned no events and no error")
				}
				for _, ev := range events {
					if !json.Valid(ev.Raw) {
						t.Fatalf("event Raw %q is not JSON", ev.Raw)
					}
				}
			}
		}

		flags, err := decodeFlags(q, h, body, limit)
		checkDecodeError(t, "decodeFlags", err)
		if err == nil && flags != nil && (len(flags) > limit || !json.Valid(flags)) {
			t.Fatalf("decodeFlags accepted %q, want bounded JSON", flags)
		}
	})
}

func checkDecodeError(t *testing.T, fn string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var de *decodeError
	if !errors.As(err, &de) {
		t.Fatalf("%s error %v (%T) is not a decodeError", fn, err, err)
	}
	switch de.status {
	case 0, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
	default:
		t.Fatalf("%s error status %d, want 0, 400 or 413", fn, de.status)
	}
}

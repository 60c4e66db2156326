package fakehog

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestLikelyBase64(t *testing.T) {
	tests := []struct {
		in    string
		loose bool
		want  bool
	}{
		{"eyJhIjoxfQ==", false, true},
		{"eyJh IjoxfQ=", false, false}, // space: only when loose
		{"eyJh IjoxfQ=", true, true},
		{"eyJhIjoxfQ", false, false}, // length not a multiple of 4
		{"", false, false},
		{`{"a":1}`, false, false},
		{"data", false, true}, // capture's check is only a heuristic
	}
	for _, tt := range tests {
		if got := likelyBase64(tt.in, tt.loose); got != tt.want {
			t.Errorf("likelyBase64(%q, %v) = %v, want %v", tt.in, tt.loose, got, tt.want)
		}
	}
}

func TestLikelyForm(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"data=abc", true},
		{"ver=1&compression=base64&data=x", true},
		{"_=123&data=x", true},
		{"ip=1", true},
		{`{"data=":1}`, false},
		{"metadata=1", false},
		{strings.Repeat("x", 130) + "&data=1", false}, // beyond the 128 bytes looked at
	}
	for _, tt := range tests {
		if got := likelyForm([]byte(tt.in)); got != tt.want {
			t.Errorf("likelyForm(%.40q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestCompressionHint(t *testing.T) {
	tests := []struct {
		query, form, contentEncoding string
		want                         compression
	}{
		{"", "", "", compNone},
		{"gzip-js", "", "", compGzip},
		{"GZIP", "", "", compGzip},
		{"b64", "gzip", "", compBase64}, // query first
		{"bogus", "lz-string", "", compLZ64},
		{"", "", "gzip", compGzip},
		{"", "", "GZIP", compNone}, // header compared exactly
		{"", "", "br", compNone},
		{"", "base64", "gzip", compBase64}, // form before header
	}
	for _, tt := range tests {
		if got := compressionHint(tt.query, tt.form, tt.contentEncoding); got != tt.want {
			t.Errorf("compressionHint(%q, %q, %q) = %v, want %v", tt.query, tt.form, tt.contentEncoding, got, tt.want)
		}
	}
}

func TestParseEventsShapes(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		path    string
		want    string // eventSummary, or the error code
	}{
		{"numeric ids", `{"event":"e","uuid":7,"distinct_id":12345678901234567890}`, "/e/", "e/12345678901234567890"},
		{"top-level distinct_id wins", `{"event":"e","distinct_id":"top","properties":{"distinct_id":"prop"}}`, "/e/", "e/top"},
		{"properties distinct_id number", `[{"event":"e","properties":{"distinct_id":1.5e3}}]`, "/e/", "e/1.5e3"},
		{"null distinct_id", `{"event":"e","distinct_id":null,"properties":{"distinct_id":"p"}}`, "/e/", "e/p"},
		{"batch not an array", `{"batch":{}}`, "/batch/", "request_parsing_error"},
		{"array of non-objects", `[1,2]`, "/e/", "request_parsing_error"},
		{"empty array", `[]`, "/e/", "empty_batch"},
		{"scalar", `"x"`, "/e/", "request_parsing_error"},
		{"whitespace first", " \n [{\"event\":\"e\"}]", "/e/", "e/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := parseEvents([]byte(tt.payload), tt.path)
			got := eventSummary(evs)
			var de *decodeError
			if errors.As(err, &de) {
				got = de.code
			} else if err != nil {
				t.Fatalf("error %v is not a decodeError", err)
			}
			if got != tt.want {
				t.Errorf("parseEvents(%s) = %q, want %q", tt.payload, got, tt.want)
			}
		})
	}
}

func TestDecodeLimit(t *testing.T) {
	bomb := gzipped(t, bytes.Repeat([]byte(" "), 1<<20))
	tests := []struct {
		name string
		run  func() error
	}{
		{"capture gzip", func() error {
			_, err := decodeCapture(url.Values{}, http.Header{}, bomb, 1024)
			return err
		}},
		{"capture plain", func() error {
			_, err := decodeCapture(url.Values{}, http.Header{}, bytes.Repeat([]byte("x"), 2048), 1024)
			return err
		}},
		{"flags gzip", func() error {
			_, err := decodeFlags(url.Values{}, http.Header{}, bomb, 1024)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var de *decodeError
			if err := tt.run(); !errors.As(err, &de) || de.status != http.StatusRequestEntityTooLarge {
				t.Errorf("error = %v, want a 413 decodeError", err)
			}
		})
	}
}

func TestCaptureDecodeLimitOverHTTP(t *testing.T) {
	f := startFake(t, Options{MaxRecordBody: 4096})      // decoded limit 64 KiB
	bomb := gzipped(t, bytes.Repeat([]byte(" "), 1<<20)) // about 1 KiB on the wire
	resp, body := send(t, rawClient(t), "POST", f.APIURL()+"/batch/", bomb, "Content-Encoding", "gzip")
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"code":"payload_too_large"`) {
		t.Errorf("got %d %s, want 413 payload_too_large", resp.StatusCode, body)
	}
}

func TestEtagMatch(t *testing.T) {
	tests := []struct {
		header, etag string
		want         bool
	}{
		{`"a"`, `"a"`, true},
		{`W/"a"`, `"a"`, true},
		{`"b", "a"`, `"a"`, true},
		{`*`, `"a"`, true},
		{`"b"`, `"a"`, false},
		{``, `"a"`, false},
	}
	for _, tt := range tests {
		if got := etagMatch(tt.header, tt.etag); got != tt.want {
			t.Errorf("etagMatch(%q, %q) = %v, want %v", tt.header, tt.etag, got, tt.want)
		}
	}
}

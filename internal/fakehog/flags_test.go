package fakehog

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
)

var testFlags = map[string]any{"beta-feature": true, "off": false, "exp": "test"}

const flagsBody = `{"token":"phc_test","distinct_id":"u1","groups":{},"person_properties":{}}`

func TestFlagsV2(t *testing.T) {
	f := startFake(t, Options{Flags: testFlags})
	c := rawClient(t)
	// posthog-js ≥1.398.2: gzip, text/plain, no compression param.
	resp, body := send(t, c, "POST", f.APIURL()+"/flags/?v=2", gzipped(t, []byte(flagsBody)), "Content-Type", "text/plain")
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200 (body %s)", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	var got struct {
		Flags map[string]struct {
			Key     string  `json:"key"`
			Enabled bool    `json:"enabled"`
			Variant *string `json:"variant"`
			Reason  struct {
				Code           string `json:"code"`
				ConditionIndex *int   `json:"condition_index"`
			} `json:"reason"`
			Metadata struct {
				ID      int             `json:"id"`
				Version int             `json:"version"`
				Payload json.RawMessage `json:"payload"`
			} `json:"metadata"`
		} `json:"flags"`
		Errors    *bool  `json:"errorsWhileComputingFlags"`
		RequestID string `json:"requestId"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("response %s: %v", body, err)
	}
	if got.Errors == nil || *got.Errors {
		t.Errorf("errorsWhileComputingFlags = %v, want false", got.Errors)
	}
	if len(got.RequestID) != 36 {
		t.Errorf("requestId = %q, want a UUID", got.RequestID)
	}
	tests := []struct {
		key         string
		wantEnabled bool
		wantVariant string
		wantReason  string
		wantID      int
	}{
		{"beta-feature", true, "", "condition_match", 1},
		{"exp", true, "test", "condition_match", 2},
		{"off", false, "", "no_condition_match", 3},
	}
	if len(got.Flags) != len(tests) {
		t.Errorf("got %d flags, want %d", len(got.Flags), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			fl, ok := got.Flags[tt.key]
			if !ok {
				t.Fatalf("flag %q missing from %s", tt.key, body)
			}
			variant := ""
			if fl.Variant != nil {
				variant = *fl.Variant
			}
			if fl.Key != tt.key || fl.Enabled != tt.wantEnabled || variant != tt.wantVariant ||
				fl.Reason.Code != tt.wantReason || fl.Metadata.ID != tt.wantID || string(fl.Metadata.Payload) != "null" {
				t.Errorf("flag = %+v, want key %q enabled %v variant %q reason %q id %d payload null",
					fl, tt.key, tt.wantEnabled, tt.wantVariant, tt.wantReason, tt.wantID)
			}
		})
	}
	if got, want := string(lastRequest(t, f).Decoded), flagsBody; got != want {
		t.Errorf("Decoded = %s, want %s", got, want)
	}
}

func TestFlagsVersions(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		wantKeys  []string // top-level keys expected
		wantFlags string   // JSON of featureFlags, "" if absent
	}{
		{"flags without v is legacy", "/flags/", []string{"featureFlags", "featureFlagPayloads"}, `{"beta-feature":true,"exp":"test","off":false}`},
		{"flags v=1 is legacy", "/flags?v=1", []string{"featureFlags"}, `{"beta-feature":true,"exp":"test","off":false}`},
		{"flags v=2", "/flags?v=2", []string{"flags"}, ""},
		{"flags v=2 config", "/flags/?v=2&config=true", []string{"flags", "supportedCompression", "sessionRecording", "config"}, ""},
		{"decide without v lists active keys", "/decide/", []string{"featureFlags", "supportedCompression"}, `["beta-feature","exp"]`},
		{"decide v=2 maps active flags", "/decide/?v=2", []string{"featureFlags"}, `{"beta-feature":true,"exp":"test"}`},
		{"decide v=3 is legacy", "/decide/?v=3", []string{"featureFlags", "featureFlagPayloads"}, `{"beta-feature":true,"exp":"test","off":false}`},
		{"decide v=4 is v2", "/decide?v=4", []string{"flags", "config"}, ""},
	}
	f := startFake(t, Options{Flags: testFlags})
	c := rawClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := send(t, c, "POST", f.APIURL()+tt.path, []byte(flagsBody), "Content-Type", "application/json")
			if resp.StatusCode != 200 {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("response %s: %v", body, err)
			}
			for _, k := range append(tt.wantKeys, "errorsWhileComputingFlags", "requestId") {
				if _, ok := got[k]; !ok {
					t.Errorf("key %q missing from %s", k, body)
				}
			}
			if tt.wantFlags != "" {
				if got := string(got["featureFlags"]); got != tt.wantFlags {
					t.Errorf("featureFlags = %s, want %s", got, tt.wantFlags)
				}
			} else if _, ok := got["featureFlags"]; ok {
				t.Errorf("featureFlags present in v2 answer %s", body)
			}
		})
	}
}

func TestFlagsDecoding(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(flagsBody))
	tests := []struct {
		name        string
		method      string
		path        string
		headers     []string
		body        []byte
		wantStatus  int
		wantDecoded string
		wantCode    string
	}{
		{"json", "POST", "/flags/?v=2", []string{"Content-Type", "application/json"}, []byte(flagsBody), 200, flagsBody, ""},
		{"no content type", "POST", "/flags/?v=2", nil, []byte(flagsBody), 200, flagsBody, ""},
		{"gzip sniffed", "POST", "/flags/?v=2", []string{"Content-Type", "text/plain"}, gzipped(t, []byte(flagsBody)), 200, flagsBody, ""},
		{"compression=gzip", "POST", "/flags/?v=2&compression=gzip", []string{"Content-Type", "application/json"}, gzipped(t, []byte(flagsBody)), 200, flagsBody, ""},
		{"base64 form", "POST", "/decide/?v=3&compression=base64", []string{"Content-Type", formMIME}, []byte(url.Values{"data": {b64}}.Encode()), 200, flagsBody, ""},
		{"compression=base64 body", "POST", "/flags/?v=2&compression=base64", []string{"Content-Type", "text/plain"}, []byte(b64), 200, flagsBody, ""},
		{"GET has nothing to decode", "GET", "/flags/?v=2", nil, nil, 200, "", ""},
		{"unknown compression", "POST", "/flags/?v=2&compression=br", nil, []byte(flagsBody), 400, "", "request_decoding_error"},
		{"unsupported content type", "POST", "/flags/?v=2", []string{"Content-Type", "application/xml"}, []byte(flagsBody), 400, "", "request_decoding_error"},
		{"not JSON", "POST", "/flags/?v=2", []string{"Content-Type", "application/json"}, []byte("{"), 400, "", "request_parsing_error"},
	}
	f := startFake(t, Options{})
	c := rawClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := send(t, c, tt.method, f.APIURL()+tt.path, tt.body, tt.headers...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantCode != "" {
				var eb struct{ Type, Code, Detail string }
				if err := json.Unmarshal(body, &eb); err != nil {
					t.Fatalf("error body %s: %v", body, err)
				}
				if eb.Type != "validation_error" || eb.Code != tt.wantCode || eb.Detail == "" {
					t.Errorf("error body = %+v, want validation_error/%s", eb, tt.wantCode)
				}
			}
			if got := string(lastRequest(t, f).Decoded); got != tt.wantDecoded {
				t.Errorf("Decoded = %q, want %q", got, tt.wantDecoded)
			}
		})
	}
}

func TestDefinitionsETag(t *testing.T) {
	custom := []byte(`{"flags":[{"id":7,"key":"k","active":true,"filters":{"groups":[]}}]}`)
	tests := []struct {
		name string
		opts Options
		want []byte // nil: the generated default
	}{
		{"generated default", Options{Flags: testFlags}, nil},
		{"custom definitions", Options{Definitions: custom}, custom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, tt.opts)
			c := rawClient(t)
			for _, path := range []string{"/flags/definitions?token=phc&send_cohorts", "/api/feature_flag/local_evaluation?token=phc&send_cohorts"} {
				resp, body := send(t, c, "GET", f.APIURL()+path, nil, "Authorization", "Bearer phx_key")
				if resp.StatusCode != 200 {
					t.Fatalf("%s: status = %d, want 200", path, resp.StatusCode)
				}
				etag := resp.Header.Get("ETag")
				if !strings.HasPrefix(etag, `"`) {
					t.Errorf("%s: ETag = %q, want a quoted tag", path, etag)
				}
				if tt.want != nil && string(body) != string(tt.want) {
					t.Errorf("%s: body = %s, want %s", path, body, tt.want)
				}
				var doc struct {
					Flags []struct {
						Key    string `json:"key"`
						Active bool   `json:"active"`
					} `json:"flags"`
				}
				if err := json.Unmarshal(body, &doc); err != nil || len(doc.Flags) == 0 {
					t.Errorf("%s: body %s is not a definitions document: %v", path, body, err)
				}

				resp, body = send(t, c, "GET", f.APIURL()+path, nil, "If-None-Match", etag)
				if resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("ETag") != etag {
					t.Errorf("%s with If-None-Match: status %d, body %q, ETag %q; want 304, empty, %q",
						path, resp.StatusCode, body, resp.Header.Get("ETag"), etag)
				}
				resp, _ = send(t, c, "GET", f.APIURL()+path, nil, "If-None-Match", `"stale"`)
				if resp.StatusCode != 200 {
					t.Errorf("%s with stale If-None-Match: status = %d, want 200", path, resp.StatusCode)
				}
			}
		})
	}
}

func TestDefinitionsMatchFlags(t *testing.T) {
	var doc struct {
		Flags []struct {
			Key     string `json:"key"`
			Filters struct {
				Groups []struct {
					Rollout int `json:"rollout_percentage"`
				} `json:"groups"`
				Multivariate *struct {
					Variants []struct {
						Key string `json:"key"`
					} `json:"variants"`
				} `json:"multivariate"`
			} `json:"filters"`
		} `json:"flags"`
	}
	specs, err := parseFlags(testFlags)
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	if err := json.Unmarshal(definitionsFor(specs), &doc); err != nil {
		t.Fatalf("definitions: %v", err)
	}
	var got []string
	for _, fl := range doc.Flags {
		s := fl.Key
		for _, g := range fl.Filters.Groups {
			s += "/" + strings.Repeat("x", g.Rollout/100)
		}
		if fl.Filters.Multivariate != nil {
			for _, v := range fl.Filters.Multivariate.Variants {
				s += "/" + v.Key
			}
		}
		got = append(got, s)
	}
	want := []string{"beta-feature/x", "exp/x/test", "off/"}
	if !slices.Equal(got, want) {
		t.Errorf("definitions = %v, want %v", got, want)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"flag value not bool or string", Options{Flags: map[string]any{"n": 1}}, "flags: n"},
		{"empty variant", Options{Flags: map[string]any{"v": ""}}, "flags: v"},
		{"definitions not JSON", Options{Definitions: []byte("{")}, "definitions"},
		{"negative max record body", Options{MaxRecordBody: -1}, "max record body"},
		{"missing static dir", Options{StaticDir: "/nonexistent/fakehog"}, "static dir"},
		{"bad listen address", Options{APIAddr: "256.0.0.1:0"}, "listening for api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Quiet = true
			f, err := Start(tt.opts)
			if err == nil {
				f.Close()
				t.Fatalf("Start succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

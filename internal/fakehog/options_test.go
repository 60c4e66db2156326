package fakehog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStaticVersion(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"lazy-recorder.js":  "recorder",
		"9.9.9/surveys.js":  "own surveys",
		"surveys.js":        "surveys",
		"other/surveys.js":  "other",
		"9.9.9/nested/x.js": "nested",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := startFake(t, Options{StaticDir: dir, StaticVersion: "1.449.2"})
	c := rawClient(t)
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		// posthog-js's first try for a lazy bundle.
		{"/static/1.449.2/lazy-recorder.js", 200, "recorder"},
		// Its fallback, and the plain path, still work.
		{"/static/lazy-recorder.js?v=1.449.2", 200, "recorder"},
		{"/static/surveys.js", 200, "surveys"},
		// A file that really is in a subdirectory wins.
		{"/static/9.9.9/surveys.js", 200, "own surveys"},
		{"/static/9.9.9/nested/x.js", 200, "nested"},
		// Another version is not this one.
		{"/static/1.0.0/lazy-recorder.js", 404, ""},
		{"/static/1.449.2/", 404, ""},
		{"/static/1.449.2/missing.js", 404, ""},
		{"/static/1.449.2/../../etc/passwd", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := send(t, c, "GET", f.AssetsURL()+tt.path, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == 200 {
				if string(body) != tt.wantBody {
					t.Errorf("body = %q, want %q", body, tt.wantBody)
				}
				if got := string(f.StaticBody(tt.path)); got != tt.wantBody {
					t.Errorf("StaticBody(%q) = %q, want %q", tt.path, got, tt.wantBody)
				}
			}
		})
	}
}

func TestStaticVersionInvalid(t *testing.T) {
	for _, v := range []string{"1/2", ".", ".."} {
		t.Run(v, func(t *testing.T) {
			f, err := Start(Options{Quiet: true, StaticVersion: v})
			if err == nil {
				f.Close()
				t.Fatalf("Start(StaticVersion %q) = nil error, want one", v)
			}
			if !strings.Contains(err.Error(), "static version") {
				t.Errorf("error = %q, want it to name the static version", err)
			}
		})
	}
}

func TestRemoteConfigOption(t *testing.T) {
	recording := map[string]any{"endpoint": "/s/", "sampleRate": nil}
	f := startFake(t, Options{RemoteConfig: map[string]any{
		"sessionRecording": recording,
		"surveys":          true,
		"heatmaps":         nil, // removed
		"custom":           []any{"x", 1.0},
	}})
	c := rawClient(t)
	check := func(t *testing.T, cfg map[string]any) {
		t.Helper()
		if got, want := jsonOf(t, cfg["sessionRecording"]), jsonOf(t, recording); got != want {
			t.Errorf("sessionRecording = %s, want %s", got, want)
		}
		if cfg["surveys"] != true {
			t.Errorf("surveys = %v, want true", cfg["surveys"])
		}
		if v, ok := cfg["heatmaps"]; ok {
			t.Errorf("heatmaps = %v, want the key removed", v)
		}
		if got, want := jsonOf(t, cfg["custom"]), `["x",1]`; got != want {
			t.Errorf("custom = %s, want %s", got, want)
		}
		// Defaults not named stay.
		if got, want := jsonOf(t, cfg["analytics"]), `{"endpoint":"/i/v0/e/"}`; got != want {
			t.Errorf("analytics = %s, want %s", got, want)
		}
	}
	t.Run("config", func(t *testing.T) {
		_, body := send(t, c, "GET", f.AssetsURL()+"/array/phc_t/config", nil)
		var cfg map[string]any
		if err := json.Unmarshal(body, &cfg); err != nil {
			t.Fatalf("config %s: %v", body, err)
		}
		check(t, cfg)
	})
	t.Run("config.js", func(t *testing.T) {
		_, body := send(t, c, "GET", f.AssetsURL()+"/array/phc_t/config.js", nil)
		_, rest, ok := strings.Cut(string(body), "{config: ")
		obj, _, ok2 := strings.Cut(rest, ", siteApps: []};")
		if !ok || !ok2 {
			t.Fatalf("config.js = %.300s, want a {config: …, siteApps: []} assignment", body)
		}
		var cfg map[string]any
		if err := json.Unmarshal([]byte(obj), &cfg); err != nil {
			t.Fatalf("config.js config %s: %v", obj, err)
		}
		check(t, cfg)
	})
	t.Run("decide", func(t *testing.T) {
		_, body := send(t, c, "POST", f.APIURL()+"/decide/?v=3", []byte(`{"token":"phc_t","distinct_id":"d"}`))
		var cfg map[string]any
		if err := json.Unmarshal(body, &cfg); err != nil {
			t.Fatalf("decide %s: %v", body, err)
		}
		check(t, cfg)
	})
}

func TestRemoteConfigOptionInvalid(t *testing.T) {
	f, err := Start(Options{Quiet: true, RemoteConfig: map[string]any{"bad": func() {}}})
	if err == nil {
		f.Close()
		t.Fatal("Start with an unencodable RemoteConfig = nil error, want one")
	}
	if !strings.Contains(err.Error(), "remote config") {
		t.Errorf("error = %q, want it to name the remote config", err)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding %v: %v", v, err)
	}
	return string(b)
}

func TestFlagPayloads(t *testing.T) {
	f := startFake(t, Options{
		Flags: map[string]any{"on": true, "multi": "b", "off": false},
		FlagPayloads: map[string]json.RawMessage{
			"on":    json.RawMessage(`{"n":1,"s":"ü"}`),
			"multi": json.RawMessage(`[1,2]`),
			"off":   json.RawMessage(`"hidden"`),
		},
	})
	c := rawClient(t)
	body := []byte(`{"token":"phc_t","distinct_id":"d"}`)

	t.Run("flags v2", func(t *testing.T) {
		_, raw := send(t, c, "POST", f.APIURL()+"/flags/?v=2", body)
		var resp struct {
			Flags map[string]struct {
				Metadata struct {
					Payload any `json:"payload"`
				} `json:"metadata"`
			} `json:"flags"`
		}
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatalf("flags %s: %v", raw, err)
		}
		for key, want := range map[string]any{"on": `{"n":1,"s":"ü"}`, "multi": `[1,2]`, "off": nil} {
			if got := resp.Flags[key].Metadata.Payload; got != want {
				t.Errorf("flags[%q].metadata.payload = %#v, want %#v", key, got, want)
			}
		}
	})
	t.Run("legacy", func(t *testing.T) {
		_, raw := send(t, c, "POST", f.APIURL()+"/flags/?v=1", body)
		var resp struct {
			Payloads map[string]any `json:"featureFlagPayloads"`
		}
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatalf("flags %s: %v", raw, err)
		}
		if got, want := jsonOf(t, resp.Payloads), `{"multi":"[1,2]","on":"{\"n\":1,\"s\":\"ü\"}"}`; got != want {
			t.Errorf("featureFlagPayloads = %s, want %s", got, want)
		}
	})
	t.Run("definitions", func(t *testing.T) {
		_, raw := send(t, c, "GET", f.APIURL()+"/flags/definitions", nil)
		var resp struct {
			Flags []struct {
				Key     string `json:"key"`
				Filters struct {
					Payloads map[string]any `json:"payloads"`
				} `json:"filters"`
			} `json:"flags"`
		}
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatalf("definitions %s: %v", raw, err)
		}
		want := map[string]string{"on": `{"true":"{\"n\":1,\"s\":\"ü\"}"}`, "multi": `{"b":"[1,2]"}`, "off": `{"true":"\"hidden\""}`}
		for _, fl := range resp.Flags {
			if got := jsonOf(t, fl.Filters.Payloads); got != want[fl.Key] {
				t.Errorf("%s: filters.payloads = %s, want %s", fl.Key, got, want[fl.Key])
			}
		}
		if len(resp.Flags) != 3 {
			t.Errorf("got %d definitions, want 3", len(resp.Flags))
		}
	})
}

func TestFlagPayloadsInvalid(t *testing.T) {
	tests := []struct {
		name     string
		payloads map[string]json.RawMessage
	}{
		{"unknown flag", map[string]json.RawMessage{"nope": json.RawMessage(`1`)}},
		{"invalid json", map[string]json.RawMessage{"beta-feature": json.RawMessage(`{`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Start(Options{Quiet: true, FlagPayloads: tt.payloads})
			if err == nil {
				f.Close()
				t.Fatal("Start = nil error, want one")
			}
			if !strings.Contains(err.Error(), "flag payloads") {
				t.Errorf("error = %q, want it to name the flag payloads", err)
			}
		})
	}
}

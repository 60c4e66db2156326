package fakehog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestStaticGenerated(t *testing.T) {
	tests := []struct {
		path             string
		wantStatus       int
		minSize, maxSize int
	}{
		{"/static/array.js", 200, 170_000, 190_000},
		{"/static/1.449.2/array.js", 200, 170_000, 190_000},
		{"/static/surveys.js", 200, 45_000, 55_000},
		{"/static/1.449.2/lazy-recorder.js?v=1.449.2", 200, 45_000, 55_000},
		{"/static/array.css", 404, 0, 0},
		{"/static/", 404, 0, 0},
	}
	f := startFake(t, Options{})
	c := rawClient(t)
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := send(t, c, "GET", f.AssetsURL()+tt.path, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				if got := f.StaticBody(tt.path); got != nil {
					t.Errorf("StaticBody = %d bytes, want nil for a 404", len(got))
				}
				return
			}
			if len(body) < tt.minSize || len(body) > tt.maxSize {
				t.Errorf("size = %d, want %d..%d", len(body), tt.minSize, tt.maxSize)
			}
			if !bytes.Equal(body, f.StaticBody(tt.path)) {
				t.Errorf("body differs from StaticBody(%q)", tt.path)
			}
			for k, want := range map[string]string{
				"Content-Type":  "application/javascript",
				"Cache-Control": "public, max-age=3600",
				"Vary":          "Accept-Encoding",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if resp.Header.Get("ETag") == "" || resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("ETag %q, Content-Encoding %q; want a tag and identity", resp.Header.Get("ETag"), resp.Header.Get("Content-Encoding"))
			}
		})
	}
}

func TestStaticDeterministic(t *testing.T) {
	a := generateBundle("/static/array.js", arrayJSSize)
	b := generateBundle("/static/array.js", arrayJSSize)
	if !bytes.Equal(a, b) {
		t.Errorf("two generations of array.js differ")
	}
	if other := generateBundle("/static/surveys.js", arrayJSSize); bytes.Equal(a, other) {
		t.Errorf("array.js and surveys.js generated the same bytes")
	}
}

func TestStaticGzipVariant(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)
	const path = "/static/array.js"
	identity, plain := send(t, c, "GET", f.AssetsURL()+path, nil)
	tests := []struct {
		acceptEncoding string
		wantGzip       bool
	}{
		{"gzip", true},
		{"gzip, deflate, br", true},
		{"br;q=1.0, GZIP;q=0.5", true},
		{"gzip;q=0", false},
		{"deflate", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.acceptEncoding, func(t *testing.T) {
			resp, body := send(t, c, "GET", f.AssetsURL()+path, nil, "Accept-Encoding", tt.acceptEncoding)
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tt.wantGzip {
				t.Fatalf("gzip = %v, want %v", got, tt.wantGzip)
			}
			if !tt.wantGzip {
				return
			}
			if got, want := resp.Header.Get("Vary"), "Accept-Encoding"; got != want {
				t.Errorf("Vary = %q, want %q", got, want)
			}
			if got, want := resp.Header.Get("Content-Length"), strconv.Itoa(len(body)); got != want {
				t.Errorf("Content-Length = %s, want %s", got, want)
			}
			if len(body) >= len(plain)/2 {
				t.Errorf("gzip size %d, want well under identity %d", len(body), len(plain))
			}
			if !bytes.Equal(gunzipped(t, body), plain) {
				t.Errorf("gunzip(gzip variant) differs from the identity body")
			}
			if resp.Header.Get("ETag") == identity.Header.Get("ETag") {
				t.Errorf("gzip and identity share ETag %q", resp.Header.Get("ETag"))
			}
			// Computed once: a second answer is the same bytes.
			_, again := send(t, c, "GET", f.AssetsURL()+path, nil, "Accept-Encoding", tt.acceptEncoding)
			if !bytes.Equal(again, body) {
				t.Errorf("second gzip answer differs from the first")
			}
		})
	}
}

func TestStaticConditionalAndHead(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)
	url := f.AssetsURL() + "/static/array.js"
	get, body := send(t, c, "GET", url, nil)

	head, headBody := send(t, c, "HEAD", url, nil)
	if head.StatusCode != 200 || len(headBody) != 0 {
		t.Errorf("HEAD: status %d, %d body bytes; want 200 and none", head.StatusCode, len(headBody))
	}
	if got, want := head.Header.Get("Content-Length"), strconv.Itoa(len(body)); got != want {
		t.Errorf("HEAD Content-Length = %s, want %s", got, want)
	}

	resp, b := send(t, c, "GET", url, nil, "If-None-Match", get.Header.Get("ETag"))
	if resp.StatusCode != 304 || len(b) != 0 {
		t.Errorf("If-None-Match: status %d, %d bytes; want 304 and none", resp.StatusCode, len(b))
	}
	resp, _ = send(t, c, "POST", url, []byte("x"))
	if resp.StatusCode != 405 {
		t.Errorf("POST: status = %d, want 405", resp.StatusCode)
	}
}

func TestStaticDir(t *testing.T) {
	dir := t.TempDir()
	arrayJS := []byte("/* real array.js */ !function(){}();\n")
	if err := os.WriteFile(filepath.Join(dir, "array.js"), arrayJS, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "1.2.3"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "1.2.3", "surveys.js"), []byte("surveys"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := startFake(t, Options{StaticDir: dir})
	c := rawClient(t)
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/static/array.js", 200, string(arrayJS)},
		{"/static/1.2.3/surveys.js", 200, "surveys"},
		{"/static/missing.js", 404, ""},
		{"/static/1.2.3", 404, ""},
		{"/static/../../etc/passwd", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := send(t, c, "GET", f.AssetsURL()+tt.path, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == 200 && string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
	// /array/<token>/array.js carries the directory's array.js.
	_, body := send(t, c, "GET", f.AssetsURL()+"/array/phc_t/array.js", nil)
	if !bytes.HasSuffix(body, arrayJS) {
		t.Errorf("array.js = %q, want it to end with the StaticDir array.js", body)
	}
}

func TestStaticOnlyOnAssets(t *testing.T) {
	f := startFake(t, Options{})
	resp, _ := send(t, rawClient(t), "GET", f.APIURL()+"/static/array.js", nil)
	if resp.StatusCode != 404 {
		t.Errorf("api /static/array.js: status = %d, want 404", resp.StatusCode)
	}
}

func TestRemoteConfig(t *testing.T) {
	tests := []struct {
		name             string
		assets           bool
		path             string
		wantStatus       int
		wantContentType  string
		wantCacheControl string
		wantContains     string
	}{
		{"config json", true, "/array/phc_t/config", 200, "application/json", "public, max-age=300", `"token":"phc_t"`},
		{"config.js", true, "/array/phc_t/config.js", 200, "application/javascript", "public, max-age=300",
			`window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {};` + "\n" + `window._POSTHOG_REMOTE_CONFIG["phc_t"] = {config: {`},
		{"array.js", true, "/array/phc_t/array.js", 200, "application/javascript", "public, max-age=300", "fakehog generated bundle /static/array.js"},
		{"api origin strips cache-control", false, "/array/phc_t/config", 200, "application/json", "", `"token":"phc_t"`},
		{"unknown file", true, "/array/phc_t/other", 404, "", "", ""},
		{"no token", true, "/array//config", 404, "", "", ""},
	}
	f := startFake(t, Options{})
	c := rawClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := f.APIURL()
			if tt.assets {
				base = f.AssetsURL()
			}
			resp, body := send(t, c, "GET", base+tt.path, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantContentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantContentType)
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.wantCacheControl {
				t.Errorf("Cache-Control = %q, want %q", got, tt.wantCacheControl)
			}
			if got, want := resp.Header.Get("Vary"), "Origin, Referer"; got != want {
				t.Errorf("Vary = %q, want %q", got, want)
			}
			if !strings.Contains(string(body), tt.wantContains) {
				t.Errorf("body %.300s does not contain %q", body, tt.wantContains)
			}
		})
	}
}

func TestRemoteConfigDocument(t *testing.T) {
	f := startFake(t, Options{})
	_, body := send(t, rawClient(t), "GET", f.AssetsURL()+"/array/phc_t/config", nil)
	var cfg struct {
		Token                string   `json:"token"`
		SupportedCompression []string `json:"supportedCompression"`
		Analytics            struct {
			Endpoint string `json:"endpoint"`
		} `json:"analytics"`
		SessionRecording *bool `json:"sessionRecording"`
		HasFeatureFlags  bool  `json:"hasFeatureFlags"`
	}
	if err := json.Unmarshal(body, &cfg); err != nil {
		t.Fatalf("config %s: %v", body, err)
	}
	if cfg.Token != "phc_t" || strings.Join(cfg.SupportedCompression, ",") != "gzip,gzip-js" ||
		cfg.Analytics.Endpoint != "/i/v0/e/" || cfg.SessionRecording == nil || *cfg.SessionRecording || !cfg.HasFeatureFlags {
		t.Errorf("config = %+v, want token phc_t, gzip+gzip-js, /i/v0/e/, sessionRecording false, hasFeatureFlags", cfg)
	}
}

func TestAPIEndpoints(t *testing.T) {
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/api/surveys/?token=phc&_=1", 200, `{"surveys":[]}`},
		{"/api/early_access_features/?token=phc", 200, `{"earlyAccessFeatures":[]}`},
		{"/api/web_experiments/?token=phc", 200, `{"experiments":[]}`},
		{"/api/product_tours/?token=phc", 200, `{"product_tours":[]}`},
		{"/api/surveys", 200, `{"surveys":[]}`},
		{"/i/v1/logs?token=phc", 200, `{}`},
		{"/nope", 404, `{"type":"invalid_request","code":"not_found","detail":"Not found."}`},
		{"/api/projects/@current/feature_flags/x/remote_config", 404, `{"type":"invalid_request","code":"not_found","detail":"Not found."}`},
	}
	f := startFake(t, Options{})
	c := rawClient(t)
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := send(t, c, "GET", f.APIURL()+tt.path, nil)
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
		})
	}
	resp, _ := send(t, c, "GET", f.AssetsURL()+"/nope", nil)
	if resp.StatusCode != 404 {
		t.Errorf("assets /nope: status = %d, want 404", resp.StatusCode)
	}
}

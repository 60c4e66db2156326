package fakehog

import (
	"net/http"
	"net/url"
	"testing"
)

func TestPreflight(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)
	tests := []struct {
		name     string
		base     string
		path     string
		reqHdrs  []string
		wantACAH string
	}{
		{"api capture", f.APIURL(), "/i/v0/e/", []string{"content-type, authorization"}, "content-type, authorization"},
		{"api flags two header lines", f.APIURL(), "/flags/", []string{"content-type", "x-conversations-token"}, "content-type, x-conversations-token"},
		{"assets static", f.AssetsURL(), "/static/array.js", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdrs := []string{"Origin", "https://shop.example", "Access-Control-Request-Method", "POST"}
			for _, h := range tt.reqHdrs {
				hdrs = append(hdrs, "Access-Control-Request-Headers", h)
			}
			resp, body := send(t, c, "OPTIONS", tt.base+tt.path, nil, hdrs...)
			if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
				t.Fatalf("status %d, %d body bytes; want 204 and none", resp.StatusCode, len(body))
			}
			for k, want := range map[string]string{
				"Access-Control-Allow-Origin":      "https://shop.example",
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Headers":     tt.wantACAH,
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 {
				t.Errorf("Access-Control-Allow-Origin values = %q, want exactly one", got)
			}
			if got := lastRequest(t, f); got.Method != "OPTIONS" || got.Path != tt.path || got.Status != 204 {
				t.Errorf("recorded %s %s %d, want OPTIONS %s 204", got.Method, got.Path, got.Status, tt.path)
			}
		})
	}
}

func TestCORSOnAnswers(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)
	tests := []struct {
		name     string
		base     string
		path     string
		origin   string
		wantACAO string
		wantVary string
	}{
		{"capture with origin", f.APIURL(), "/e/", "https://shop.example", "https://shop.example", "Origin"},
		{"capture without origin", f.APIURL(), "/e/", "", "", ""},
		{"remote config keeps its vary", f.AssetsURL(), "/array/phc/config", "https://shop.example", "https://shop.example", "Origin, Referer"},
		{"static adds origin to vary", f.AssetsURL(), "/static/array.js", "https://shop.example", "https://shop.example", "Accept-Encoding, Origin"},
		{"404 too", f.APIURL(), "/nope", "https://a.example", "https://a.example", "Origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdrs []string
			if tt.origin != "" {
				hdrs = []string{"Origin", tt.origin}
			}
			resp, _ := send(t, c, "GET", tt.base+tt.path+"?data="+url.QueryEscape(arrayEvents), nil, hdrs...)
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantACAO)
			}
			wantACAC := ""
			if tt.origin != "" {
				wantACAC = "true"
			}
			if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != wantACAC {
				t.Errorf("Access-Control-Allow-Credentials = %q, want %q", got, wantACAC)
			}
			if got := resp.Header.Get("Vary"); got != tt.wantVary {
				t.Errorf("Vary = %q, want %q", got, tt.wantVary)
			}
		})
	}
}

func TestAddVary(t *testing.T) {
	tests := []struct {
		have []string
		want string
	}{
		{nil, "Origin"},
		{[]string{"Accept-Encoding"}, "Accept-Encoding, Origin"},
		{[]string{"origin, Referer"}, "origin, Referer"},
		{[]string{"Accept-Encoding", "Referer"}, "Accept-Encoding, Referer, Origin"},
	}
	for _, tt := range tests {
		h := http.Header{"Vary": tt.have}
		addVary(h, "Origin")
		if got := h.Get("Vary"); got != tt.want || len(h.Values("Vary")) != 1 {
			t.Errorf("addVary(%q) = %q, want %q", tt.have, h.Values("Vary"), tt.want)
		}
	}
}

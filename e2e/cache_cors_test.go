package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// TestCacheAndCORSBinary checks the cache and cors keys through the real
// binary: a preflight answered at the edge, exactly one
// Access-Control-Allow-Origin for an allowed origin, none for another,
// and a bundle served from memory on the second request.
func TestCacheAndCORSBinary(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "edgehog.yaml")
	yaml := "cache:\n  enabled: true\n  max_bytes: 8MiB\ncors:\n  origins: [\"https://*.example.com\"]\n  max_age: 1h\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	fake, err := fakehog.Start(fakehog.Options{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	proc := startEdgehog(t, edgehogBin, fake, "--config", cfg)

	do := func(method, path string, hdr ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, proc.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", "gzip")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}

	res := do("OPTIONS", "/e/", "Origin", "https://www.example.com", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "https://www.example.com" ||
		res.Header.Get("Access-Control-Max-Age") != "3600" || res.Header.Get("Access-Control-Allow-Headers") != "content-type" {
		t.Errorf("preflight = %d %v, want 204 with the origin mirrored and Max-Age 3600", res.StatusCode, res.Header)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("upstream saw %d requests after a preflight, want 0", n)
	}

	for i, want := range []string{"MISS", "HIT"} {
		res := do("GET", "/static/array.js", "Origin", "https://shop.example.com")
		if res.StatusCode != 200 || res.Header.Get("X-Edgehog-Cache") != want || res.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("GET %d = %d %s %q, want 200 %s gzip", i, res.StatusCode, res.Header.Get("X-Edgehog-Cache"), res.Header.Get("Content-Encoding"), want)
		}
		if got := res.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "https://shop.example.com" {
			t.Errorf("GET %d: Access-Control-Allow-Origin = %q, want exactly the origin", i, got)
		}
	}
	res = do("GET", "/static/array.js", "Origin", "https://evil.test")
	if got := res.Header.Values("Access-Control-Allow-Origin"); len(got) != 0 {
		t.Errorf("disallowed origin: Access-Control-Allow-Origin = %q, want none", got)
	}
	n := 0
	for _, r := range fake.Requests() {
		if r.Path == "/static/array.js" {
			n++
		}
	}
	// One fill per Origin the fake varies on (its CORS answer adds Vary: Origin).
	if n != 2 {
		t.Errorf("upstream saw %d requests for /static/array.js, want 2 (one per origin)", n)
	}
}

package edgehog_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/fakehog"
)

// reloadEnv is a fake PostHog and a base configuration pointing at it.
func reloadEnv(t *testing.T) (*fakehog.Fake, edgehog.Config) {
	t.Helper()
	fake, err := fakehog.Start(fakehog.Options{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	return fake, edgehog.Config{API: fake.APIURL(), Assets: fake.AssetsURL()}
}

func cacheState(t *testing.T, h http.Handler, target string) string {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	if w.Code != 200 {
		t.Fatalf("GET %s = %d, want 200", target, w.Code)
	}
	return w.Header().Get(cacheHeader)
}

func TestNewFromKeepsCache(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*edgehog.Config)
		state string // of the first request through the new proxy
	}{
		{"prefix changed: cache kept", func(c *edgehog.Config) { c.Prefix = "/ph" }, "HIT"},
		{"limits changed: cache kept", func(c *edgehog.Config) { c.Limits.Events = 1 << 20 }, "HIT"},
		{"cache size changed: new cache", func(c *edgehog.Config) { c.Cache.MaxBytes = 8 << 20 }, "MISS"},
		{"assets upstream changed: new cache", func(c *edgehog.Config) { c.Assets = c.API }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cfg := reloadEnv(t)
			old, err := edgehog.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := cacheState(t, old, "/static/array.js"); got != "MISS" {
				t.Fatalf("first request = %s, want MISS", got)
			}
			next := cfg
			tt.mod(&next)
			p, err := edgehog.NewFrom(next, old)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			old.Close() // after the swap: must leave a handed-over cache open
			target := next.Prefix + "/static/array.js"
			if tt.state == "" {
				// The API host does not serve /static: only check the
				// answer did not come from the old cache.
				w := httptest.NewRecorder()
				p.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
				if w.Header().Get(cacheHeader) == "HIT" {
					t.Errorf("GET %s = HIT from the old upstream's cache", target)
				}
				return
			}
			if got := cacheState(t, p, target); got != tt.state {
				t.Errorf("first request after reload = %s, want %s", got, tt.state)
			}
			if got := cacheState(t, p, target); got != "HIT" {
				t.Errorf("second request after reload = %s, want HIT", got)
			}
		})
	}
}

func TestNewFromKeepsSpool(t *testing.T) {
	_, cfg := reloadEnv(t)
	dir := t.TempDir()
	cfg.Spool = edgehog.SpoolOptions{Mode: edgehog.SpoolFallback, Dir: dir}
	old, err := edgehog.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A second proxy cannot open the spool the first one holds: this is
	// what a reload without the handover would run into.
	if p, err := edgehog.New(cfg); err == nil {
		p.Close()
		t.Fatal("New with a held spool directory = nil error; the test cannot tell a handover")
	}
	next := cfg
	next.Prefix = "/ph"
	p, err := edgehog.NewFrom(next, old)
	if err != nil {
		t.Fatalf("NewFrom with the same spool = %v, want the spool handed over", err)
	}
	old.Close()
	w := httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest("POST", "/ph/e/", strings.NewReader(`{"event":"reloaded","properties":{"token":"phc_x","distinct_id":"d"}}`)))
	if w.Code != 200 {
		t.Errorf("capture after reload = %d, want 200", w.Code)
	}
	if _, ok := p.SpoolStatus(); !ok {
		t.Error("SpoolStatus after reload reports no spool")
	}
	p.Close()
	// The last owner closed it: the directory can be opened again.
	again, err := edgehog.New(cfg)
	if err != nil {
		t.Fatalf("New after the last owner closed the spool = %v", err)
	}
	again.Close()
}

func TestNewFromNil(t *testing.T) {
	_, cfg := reloadEnv(t)
	p, err := edgehog.NewFrom(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
}

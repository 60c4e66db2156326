package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/cache"
)

// cacheConfig turns on edgehog's asset and remote-config cache.
const cacheConfig = `cache:
  enabled: true
`

// requireCacheConfig writes cacheConfig to a file and returns its path,
// or skips the test when this edgehog does not know the cache key yet.
func requireCacheConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "edgehog.yaml")
	if err := os.WriteFile(p, []byte(cacheConfig), 0o600); err != nil {
		t.Fatalf("writing the edgehog config: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, edgehogBin, "check", "--config", p).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "unknown key") {
			t.Skipf("this edgehog has no cache.enabled yet: %s", strings.TrimSpace(string(out)))
		}
		t.Fatalf("edgehog check --config with cache.enabled: %v\n%s", err, out)
	}
	return p
}

// TestBrowserCacheUpstreamDown loads the page once through edgehog with
// its cache on, stops the fake PostHog, and loads the page again in a new
// browser profile: array.js and the remote config must come from edgehog's
// cache, so the SDK still starts.
func TestBrowserCacheUpstreamDown(t *testing.T) {
	tools := requireBrowser(t)
	cfgFile := requireCacheConfig(t)
	s := newStack(t, edgehogBin, browserFake(tools), "--config", cfgFile)
	// One page server for both loads: remote config varies by Origin and
	// Referer (protocol.md §4.3), so the second load must send the same.
	page := startPage(t, pageConfig{
		Token:    testKey,
		APIHost:  s.URL(),
		UIHost:   "https://us.posthog.com",
		SDKSrc:   s.URL() + "/static/array.js",
		LoadOnly: true,
		Unicode:  unicodeProbe,
	})
	env := map[string]string{"E2E_MODE": "load"}

	warm := runBrowser(t, tools, page, env)
	warm.finish()
	checkPageClean(t, warm.sum)
	before := len(s.fake.Requests())
	if before == 0 {
		t.Fatal("the first load reached the fake with no request")
	}
	if t.Failed() {
		t.FailNow()
	}
	if err := s.fake.Close(); err != nil {
		t.Fatalf("stopping the fake PostHog: %v", err)
	}

	cold := runBrowser(t, tools, page, env)
	cold.finish()
	t.Run("page", func(t *testing.T) {
		checkPageClean(t, cold.sum)
		if cold.sum.SDKVersion != tools.sdkVersion {
			t.Errorf("posthog.version = %q, want %q", cold.sum.SDKVersion, tools.sdkVersion)
		}
	})
	t.Run("served from cache", func(t *testing.T) {
		want := []string{"/static/array.js", "/array/" + testKey + "/config.js"}
		for _, p := range want {
			found := false
			for _, r := range cold.sum.Requests {
				if r.URL != s.URL()+p {
					continue
				}
				found = true
				// Both are fresh (max-age 3600 and 300): a hit, or a stale
				// copy should the clock have passed max-age.
				if r.Status != 200 || (r.Cache != cache.StateHit && r.Cache != cache.StateStale) {
					t.Errorf("with PostHog down, %s: status %d, %s %q; want 200 from the cache (%s or %s)",
						p, r.Status, cache.HeaderName, r.Cache, cache.StateHit, cache.StateStale)
				}
			}
			if !found {
				t.Errorf("with PostHog down, the page did not request %s; requests: %+v", p, cold.sum.Requests)
			}
		}
		if after := len(s.fake.Requests()); after != before {
			t.Errorf("the stopped fake recorded %d more requests, want none", after-before)
		}
	})
}

package admin

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/metrics"
)

// chromium returns Debian's chromium, skipping the test when it is
// missing outside CI and failing it in CI.
func chromium(t *testing.T) string {
	t.Helper()
	const path = "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing in CI: %v (apt-get install chromium)", path, err)
		}
		t.Skipf("%s is missing (apt-get install chromium); skipping the browser test", path)
	}
	return path
}

// runChromium runs headless chromium on url with extra flags, giving the
// page's script 5 s of virtual time (several polls) before the DOM or
// screenshot is taken.
func runChromium(t *testing.T, extra ...string) []byte {
	t.Helper()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=5000",
	}
	// A hang bound, not a timing assertion.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium(t), append(args, extra...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.Bytes())
	}
	return out
}

// TestStatusPageInBrowser renders the status page in headless Chromium
// after real traffic and checks it shows the live numbers: 7 capture
// requests, 2 batch rejections for size, 1 unreachable upstream.
func TestStatusPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	m := metrics.New(metrics.Options{
		Build: metrics.BuildInfo{Version: "v9.9.9", Commit: "c0ffee"},
		Cache: func() metrics.CacheStats { return metrics.CacheStats{Hits: 12, Misses: 3, Entries: 2, Bytes: 2048} },
	})
	traffic(t, m, 7, 2, 1)
	h := newHandler(t, Options{Metrics: m, Config: func() string {
		return "listen: :8080\nupstream:\n  api: https://user:xxxxx@posthog.internal\n"
	}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + "/status"

	dom := string(runChromium(t, "--dump-dom", url))
	want := []struct{ name, re string }{
		{"capture requests", `data-kind="capture" data-field="requests"[^>]*>7<`},
		{"capture 2xx", `data-kind="capture" data-field="status_2xx"[^>]*>7<`},
		{"batch rejections", `data-kind="batch" data-field="rejections"[^>]*>2<`},
		{"flags upstream errors", `data-kind="flags" data-field="upstream_errors"[^>]*>1<`},
		{"total requests", `data-kind="total" data-field="requests"[^>]*>10<`},
		{"total card", `id="requests-total"[^>]*>10<`},
		{"rejection reason", `data-group="reason" data-field="body_too_large"[^>]*>2<`},
		{"connect cause", `data-group="cause" data-field="connect"[^>]*>1<`},
		{"cache hits", `data-group="cache" data-field="hits"[^>]*>12<`},
		{"rate after two polls", `data-kind="capture" data-field="rate"[^>]*>0\.00<`},
		{"build", `edgehog v9\.9\.9 · c0ffee`},
		{"masked config", `api: https://user:xxxxx@posthog\.internal`},
		{"fresh", `id="state"[^>]*>updated `},
	}
	for _, w := range want {
		if !regexp.MustCompile(w.re).MatchString(dom) {
			t.Errorf("rendered page lacks %s (%s)", w.name, w.re)
		}
	}
	if t.Failed() {
		t.Logf("rendered DOM:\n%s", dom)
	}

	shot := filepath.Join(t.TempDir(), "status.png")
	runChromium(t, "--screenshot="+shot, "--window-size=1200,900", "--hide-scrollbars", url)
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if len(png) < 1000 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot is %d bytes, not a PNG", len(png))
	}
	if dir := os.Getenv("EDGEHOG_SCREENSHOT_DIR"); dir != "" {
		// Keep it for a human to look at.
		if err := os.WriteFile(filepath.Join(dir, "status.png"), png, 0o644); err != nil {
			t.Error(err)
		}
	}
}

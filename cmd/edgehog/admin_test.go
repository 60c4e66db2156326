package main

import (
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
)

// TestServeAdmin runs edgehog with an admin listener and a public
// metrics path, and checks both count the traffic served, behind the
// token, with the configuration's token masked.
func TestServeAdmin(t *testing.T) {
	up := newUpstream(t)
	path := writeFile(t, "listen: 127.0.0.1:0\nprefix: /ph\nupstream:\n  api: "+up.URL+
		"\nadmin:\n  listen: 127.0.0.1:0\n  public_metrics_path: /internal/metrics\n")
	p := startServe(t, []string{"EDGEHOG_ADMIN_TOKEN=t0ken-from-env"}, "serve", "--config", path)
	base := "http://" + p.waitLog(t, "edgehog serving")["addr"].(string)
	adminBase := "http://" + p.waitLog(t, "admin listening")["addr"].(string)

	for range 3 {
		resp, err := http.Post(base+"/ph/e/", "application/json", strings.NewReader(`{"event":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if id := resp.Header.Get("X-Request-Id"); len(id) != 32 {
			t.Errorf("X-Request-Id = %q, want a generated 32-digit ID", id)
		}
		if line := p.waitLog(t, "request"); line["request_id"] != resp.Header.Get("X-Request-Id") {
			t.Errorf("access log request_id = %v, want the answer's %q", line["request_id"], resp.Header.Get("X-Request-Id"))
		}
	}

	get := func(url, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const series = `edgehog_requests_total{code_class="2xx",kind="capture",upstream="api"} 3`
	for _, url := range []string{adminBase + "/metrics", base + "/internal/metrics"} {
		if code, _ := get(url, ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without the token = %d, want 401", url, code)
		}
		code, body := get(url, "t0ken-from-env")
		if code != 200 || !strings.Contains(body, series) {
			t.Errorf("GET %s = %d, want 200 with %s; got:\n%.2000s", url, code, series, body)
		}
		if !strings.Contains(body, "go_goroutines") {
			t.Errorf("GET %s lacks the Go runtime metrics", url)
		}
	}
	if code, body := get(adminBase+"/metrics", "t0ken-from-env"); code != 200 || !strings.Contains(body, "edgehog_cache_entries ") {
		t.Errorf("admin /metrics = %d, want the cache's metrics", code)
	}
	if code, body := get(adminBase+"/cache/stats", "t0ken-from-env"); code != 200 || !strings.Contains(body, `"Enabled":true`) {
		t.Errorf("admin /cache/stats = %d %q, want the cache's counters", code, body)
	}
	if code, _ := get(adminBase+"/healthz", ""); code != 200 {
		t.Errorf("admin /healthz = %d, want 200 without a token", code)
	}
	code, body := get(adminBase+"/status.json", "t0ken-from-env")
	if code != 200 || !strings.Contains(body, `"requests": 3`) {
		t.Errorf("status.json = %d, want 200 with 3 requests:\n%s", code, body)
	}
	if strings.Contains(body, "t0ken-from-env") || !strings.Contains(body, "token: xxxxx") {
		t.Errorf("status.json does not mask the admin token:\n%s", body)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.waitExit(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

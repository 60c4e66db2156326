package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func status(t *testing.T, method, u string) int {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(`{"event":"x"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestReload changes the prefix of a running edgehog through `edgehog
// reload`: new requests follow the new file, a request in flight finishes
// on the old proxy, an invalid file is refused and the listener stays.
func TestReload(t *testing.T) {
	up := newUpstream(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "edgehog.pid")
	path := filepath.Join(dir, "edgehog.yaml")
	conf := func(body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body+"upstream:\n  api: "+up.URL+"\nserver:\n  pid_file: "+pidFile+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf("listen: 127.0.0.1:0\nprefix: /ph\n")
	p := startServe(t, nil, "serve", "--config", path)
	base := "http://" + p.waitLog(t, "edgehog serving")["addr"].(string)
	b, err := os.ReadFile(pidFile)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(p.cmd.Process.Pid) {
		t.Fatalf("pid file = %q, %v; want %d", b, err, p.cmd.Process.Pid)
	}
	if got := status(t, "POST", base+"/ph/e/"); got != 200 {
		t.Fatalf("POST /ph/e/ before reload = %d, want 200", got)
	}

	slow := slowPost(base) // on the /ph proxy
	<-up.entered
	conf("listen: 127.0.0.1:0\nprefix: /analytics\n")
	if r := runBinary(t, nil, "reload", "--config", path); r.code != 0 {
		t.Fatalf("edgehog reload = %d, stderr %q", r.code, r.stderr)
	}
	line := p.waitLog(t, "config reloaded")
	if line["changed"] != "prefix" {
		t.Errorf("reload line changed = %v, want prefix", line["changed"])
	}
	if got := status(t, "POST", base+"/analytics/e/"); got != 200 {
		t.Errorf("POST /analytics/e/ after reload = %d, want 200", got)
	}
	if got := status(t, "POST", base+"/ph/e/"); got != 404 {
		t.Errorf("POST /ph/e/ after reload = %d, want 404 (the old prefix)", got)
	}
	close(up.release)
	if got := <-slow; got != `200 OK {"status":"Ok"}` {
		t.Errorf("request in flight across the reload = %q, want 200", got)
	}

	// An invalid file is refused, with the field at fault; the running
	// configuration stays.
	conf("listen: 127.0.0.1:0\nprefix: /analytics\nlimits:\n  events: lots\n")
	if r := runBinary(t, nil, "reload", "--pid-file", pidFile); r.code != 0 {
		t.Fatalf("edgehog reload = %d, stderr %q", r.code, r.stderr)
	}
	line = p.waitLog(t, "reload refused")
	if e, _ := line["error"].(string); !strings.Contains(e, "limits.events") {
		t.Errorf("refusal = %q, want it to name limits.events", e)
	}
	if got := status(t, "POST", base+"/analytics/e/"); got != 200 {
		t.Errorf("POST /analytics/e/ after a refused reload = %d, want 200", got)
	}

	// Listener settings are kept and reported as needing a restart.
	conf("listen: 127.0.0.1:1\nprefix: /analytics\n")
	if r := runBinary(t, nil, "reload", "--pid-file", pidFile); r.code != 0 {
		t.Fatalf("edgehog reload = %d, stderr %q", r.code, r.stderr)
	}
	line = p.waitLog(t, "config reloaded; some changes need a restart")
	if line["needs_restart"] != "listen" {
		t.Errorf("needs_restart = %v, want listen", line["needs_restart"])
	}
	if got := status(t, "POST", base+"/analytics/e/"); got != 200 {
		t.Errorf("POST after a listen change = %d, want 200 on the same listener", got)
	}

	p.cmd.Process.Signal(os.Interrupt)
	if code := p.waitExit(t); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file after exit: %v, want it removed", err)
	}
}

func TestReloadErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pid")
	os.WriteFile(garbage, []byte("not a pid\n"), 0o600)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no pid file configured", []string{"reload"}, exitUsage, "no pid file"},
		{"missing pid file", []string{"reload", "--pid-file", filepath.Join(dir, "none.pid")}, exitRuntime, "reading pid file"},
		{"garbage", []string{"reload", "--pid-file", garbage}, exitRuntime, "does not hold a process ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBinary(t, nil, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("edgehog %s = %d %q, want %d and %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestDiffConfig(t *testing.T) {
	base := "listen: :8080\nprefix: /ph\n"
	tests := []struct {
		name, b                  string
		wantChanged, wantRestart string
	}{
		{"nothing", base, "", ""},
		{"prefix", "listen: :8080\nprefix: /x\n", "prefix", ""},
		{"limits and access log", base + "limits:\n  events: 1MiB\nlog:\n  access: false\n", "limits,log", ""},
		{"listen", "listen: :9090\nprefix: /ph\n", "listen", "listen"},
		{"tls", base + "tls:\n  cert_file: /c\n  key_file: /k\n", "tls", "tls"},
		{"timeouts", base + "server:\n  idle_timeout: 1m\n", "server", "server"},
		{"log level", base + "log:\n  level: debug\n", "log", "log.level"},
		{"admin listener", base + "admin:\n  listen: 127.0.0.1:9090\n", "admin", "admin"},
	}
	a := parseFile(t, base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed, restart := diffConfig(a, parseFile(t, tt.b))
			if got := strings.Join(changed, ","); got != tt.wantChanged {
				t.Errorf("changed = %q, want %q", got, tt.wantChanged)
			}
			if got := strings.Join(restart, ","); got != tt.wantRestart {
				t.Errorf("needs restart = %q, want %q", got, tt.wantRestart)
			}
		})
	}
}

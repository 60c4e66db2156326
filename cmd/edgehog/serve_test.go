package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// upstream is a fake PostHog that records what reaches it. A request with
// ?slow=1 blocks until release is closed.
type upstream struct {
	*httptest.Server
	entered chan struct{} // receives when a slow request arrives
	release chan struct{}

	mu    sync.Mutex
	paths []string
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{entered: make(chan struct{}, 1), release: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.paths = append(u.paths, r.Method+" "+r.URL.Path)
		u.mu.Unlock()
		if r.URL.Query().Get("slow") == "1" {
			u.entered <- struct{}{}
			<-u.release
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"Ok"}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) seen() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.paths...)
}

// process is a running edgehog serve whose JSON log lines are collected.
type process struct {
	cmd   *exec.Cmd
	lines chan map[string]any
	exit  chan int // receives the exit code
}

// startServe starts edgehog with args and env.
func startServe(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, lines: make(chan map[string]any, 100), exit: make(chan int, 1)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				line = map[string]any{"msg": "(not JSON) " + sc.Text()}
			}
			select {
			case p.lines <- line:
			default: // a test that stopped reading does not block edgehog
			}
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			p.exit <- 0
		case errors.As(err, &ee):
			p.exit <- ee.ExitCode()
		default:
			p.exit <- -1
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
	})
	return p
}

// waitLog returns the first log line with message msg.
func (p *process) waitLog(t *testing.T, msg string) map[string]any {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("edgehog exited before logging %q", msg)
			}
			t.Logf("edgehog: %v", line)
			if line["msg"] == msg {
				return line
			}
		case <-timeout:
			t.Fatalf("no %q log line within 10s", msg)
		}
	}
}

// waitExit returns the exit code.
func (p *process) waitExit(t *testing.T) int {
	t.Helper()
	for {
		select {
		case line, ok := <-p.lines:
			if ok {
				t.Logf("edgehog: %v", line)
			}
		case code := <-p.exit:
			return code
		case <-time.After(10 * time.Second):
			t.Fatal("edgehog did not exit within 10s")
		}
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "edgehog.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// slowPost sends a slow capture request and delivers its outcome.
func slowPost(base string) <-chan string {
	out := make(chan string, 1)
	go func() {
		resp, err := http.Post(base+"/ph/e/?slow=1", "application/json", strings.NewReader(`{"event":"slow"}`))
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out <- resp.Status + " " + string(b)
	}()
	return out
}

func TestServe(t *testing.T) {
	up := newUpstream(t)
	// The file, the environment and the flag each set listen; the flag
	// wins. The file's port 1 would fail, proving it is overridden.
	path := writeFile(t, "listen: \"127.0.0.1:1\"\nprefix: /ph\nupstream:\n  api: "+up.URL+"\nserver:\n  shutdown_timeout: 10s\n")
	p := startServe(t, []string{"EDGEHOG_LISTEN=127.0.0.1:2"}, "serve", "--config", path, "--listen", "127.0.0.1:0")
	start := p.waitLog(t, "edgehog serving")
	addr, _ := start["addr"].(string)
	if !strings.HasPrefix(addr, "127.0.0.1:") || addr == "127.0.0.1:0" {
		t.Fatalf("startup line addr = %q, want the real loopback address", addr)
	}
	for key, want := range map[string]string{"api": up.URL, "assets": up.URL, "prefix": "/ph", "version": testVersion} {
		if start[key] != want {
			t.Errorf("startup line %s = %v, want %q", key, start[key], want)
		}
	}
	base := "http://" + addr

	resp, err := http.Post(base+"/ph/e/", "application/json", strings.NewReader(`{"event":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"status":"Ok"}` {
		t.Errorf("POST /ph/e/ = %d %q, want 200 {\"status\":\"Ok\"}", resp.StatusCode, body)
	}
	if got := up.seen(); len(got) != 1 || got[0] != "POST /e/" {
		t.Errorf("upstream saw %q, want [POST /e/]", got)
	}
	if line := p.waitLog(t, "request"); line["path"] != "/ph/e/" || line["status"] != float64(200) {
		t.Errorf("access log line = %v", line)
	}
	resp, err = http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz = %d, want 200", resp.StatusCode)
	}

	// A slow request in flight survives SIGTERM: edgehog drains it.
	slow := slowPost(base)
	<-up.entered
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "draining")
	waitRefused(t, addr)
	close(up.release)
	if got := <-slow; got != `200 OK {"status":"Ok"}` {
		t.Errorf("in-flight request during drain = %q, want 200", got)
	}
	p.waitLog(t, "drained")
	if code := p.waitExit(t); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
}

// waitRefused waits until addr refuses new connections.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("edgehog still accepts connections while draining")
		}
	}
}

// TestServeSecondSignal checks that a second signal ends the drain at once.
func TestServeSecondSignal(t *testing.T) {
	up := newUpstream(t)
	defer close(up.release)
	path := writeFile(t, "listen: \"127.0.0.1:0\"\nprefix: /ph\nupstream:\n  api: "+up.URL+"\nserver:\n  shutdown_timeout: 1m\n")
	p := startServe(t, nil, "--config", path)
	addr, _ := p.waitLog(t, "edgehog serving")["addr"].(string)
	slow := slowPost("http://" + addr)
	<-up.entered
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLog(t, "draining")
	p.cmd.Process.Signal(syscall.SIGINT)
	p.waitLog(t, "second signal: exiting without draining")
	if code := p.waitExit(t); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if got := <-slow; !strings.HasPrefix(got, "error") {
		t.Errorf("in-flight request = %q, want it cut off", got)
	}
}

// TestServeInvalidConfig checks that a bad file stops serve before it
// listens, with exit code 2 and the field path in the message.
func TestServeInvalidConfig(t *testing.T) {
	path := writeFile(t, "listen: \"127.0.0.1:0\"\nupstream:\n  dial_timout: 5s\n")
	p := startServe(t, nil, "serve", "--config", path)
	timeout := time.After(10 * time.Second)
	var stderr []string
	for done := false; !done; {
		select {
		case line, ok := <-p.lines:
			if !ok {
				done = true
				break
			}
			stderr = append(stderr, line["msg"].(string))
		case <-timeout:
			p.cmd.Process.Signal(syscall.SIGTERM)
			t.Fatal("edgehog serve with a bad config did not exit")
		}
	}
	if code := <-p.exit; code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	want := path + ":3: upstream.dial_timout: unknown key"
	if all := strings.Join(stderr, "\n"); !strings.Contains(all, want) {
		t.Errorf("stderr = %q, want it to contain %q", all, want)
	}
}

// TestServeListenError checks that a listen failure is a runtime error.
func TestServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runBinary(t, nil, "serve", "--listen", ln.Addr().String())
	if r.code != 1 || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("serve on a busy port = exit %d, stderr %q; want 1 and address already in use", r.code, r.stderr)
	}
}

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// A browser at 127.0.0.3 sends a spoofed X-Forwarded-For to a proxy in
// front of edgehog; the proxy appends the address it saw (nginx's
// $proxy_add_x_forwarded_for) or overwrites it (edgehog). edgehog trusts
// only that proxy (127.0.0.1), and the fake PostHog must see the
// browser's address as the one and only X-Forwarded-For entry.
func TestTwoHops(t *testing.T) {
	const browser = "127.0.0.3"
	fronts := []struct {
		name  string
		start func(t *testing.T, backend string) string // returns the front's address
	}{
		{"nginx", startNginx},
		{"edgehog", func(t *testing.T, backend string) string {
			// An untrusting edgehog in front: it overwrites the header.
			p := startEdgehogRaw(t, edgehogBin, "serve", "--listen", "127.0.0.1:0", "--api", backend, "--assets", backend)
			return strings.TrimPrefix(p.url, "http://")
		}},
	}
	for _, front := range fronts {
		t.Run(front.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "edgehog.yaml")
			os.WriteFile(cfg, []byte("client_ip:\n  trusted_proxies: [127.0.0.1/32]\n"), 0o600)
			fake, err := fakehog.Start(fakehog.Options{Quiet: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fake.Close() })
			back := startEdgehog(t, edgehogBin, fake, "--config", cfg)
			addr := front.start(t, back.url)

			res, body, err := rawExchange(t, browser, addr, post("/e/", "X-Forwarded-For: 8.8.8.8, 9.9.9.9\r\nX-Real-IP: 8.8.8.8\r\n"))
			if err != nil || res == nil {
				t.Fatalf("exchange: %v", err)
			}
			if res.StatusCode != 200 {
				t.Fatalf("status %d %s", res.StatusCode, body)
			}
			reqs := fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream saw %d requests, want 1", len(reqs))
			}
			if got := reqs[0].Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != browser {
				t.Errorf("upstream X-Forwarded-For = %q, want exactly [%s]", got, browser)
			}
			if got := reqs[0].Header.Get("X-Real-Ip"); got != browser {
				t.Errorf("upstream X-Real-IP = %q, want %s", got, browser)
			}
		})
	}
}

// startNginx runs Debian's nginx on a free loopback port as a reverse
// proxy to backend, configured the way most deployments are: the client's
// address appended to X-Forwarded-For.
func startNginx(t *testing.T, backend string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/nginx"); err2 != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("nginx is not installed (apt-get install nginx-light)")
			}
			t.Skip("nginx is not installed (apt-get install nginx-light)")
		}
		bin = "/usr/sbin/nginx"
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s;
    location / {
      proxy_pass %[3]s;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Real-IP $remote_addr;
    }
  }
}
`, dir, addr, backend)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not listen on %s: %v\n%s", addr, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package main

import (
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestExpandTargets(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{"direct", "nginx"}, []string{"direct", "nginx"}},
		{[]string{"tls"}, tlsTargets},
		{[]string{"default", "tls"}, allTargets},
		{[]string{"nginx-tls", "tls", "direct"}, []string{"nginx-tls", "direct-tls", "edgehog-tls-h2", "edgehog-tls-h1", "direct"}},
		{[]string{"edgehog", "default"}, append([]string{"edgehog"}, slices.DeleteFunc(slices.Clone(defaultTargets), func(s string) bool { return s == "edgehog" })...)},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, ","), func(t *testing.T) {
			if got := expandTargets(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("expandTargets(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	for _, name := range tlsTargets {
		if slices.Contains(defaultTargets, name) {
			t.Errorf("TLS target %q is in the default run, want it selectable by name only", name)
		}
	}
}

func TestHostPortAndLoopback(t *testing.T) {
	tests := []struct {
		url      string
		hostPort string
		loopback bool
	}{
		{"http://127.0.0.1:8080", "127.0.0.1:8080", true},
		{"https://127.0.0.1:8443", "127.0.0.1:8443", true},
		{"https://10.0.0.1:443", "10.0.0.1:443", false},
		{"https://localhost:443", "localhost:443", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := hostPort(tt.url); got != tt.hostPort {
				t.Errorf("hostPort(%q) = %q, want %q", tt.url, got, tt.hostPort)
			}
			if err := loopbackOnly(tt.url); (err == nil) != tt.loopback {
				t.Errorf("loopbackOnly(%q) = %v, want loopback %t", tt.url, err, tt.loopback)
			}
		})
	}
}

func TestNginxConfig(t *testing.T) {
	tests := []struct {
		name    string
		up      *target
		want    []string
		notWant []string
	}{
		{
			name:    "plain",
			up:      &target{API: "http://127.0.0.1:1001", Assets: "http://127.0.0.1:1002"},
			want:    []string{"proxy_pass http://posthog_api;", "proxy_pass http://posthog_assets;", "server 127.0.0.1:1001;", "server 127.0.0.1:1002;", "keepalive 64;"},
			notWant: []string{"https", "proxy_ssl"},
		},
		{
			name: "tls",
			up:   &target{API: "https://127.0.0.1:1001", Assets: "https://127.0.0.1:1002"},
			want: []string{
				"proxy_pass https://posthog_api;", "proxy_pass https://posthog_assets;",
				"server 127.0.0.1:1001;", "server 127.0.0.1:1002;", "keepalive 64;",
				"proxy_ssl_server_name on;", "proxy_ssl_session_reuse on;",
				"proxy_ssl_name us.i.posthog.com;", "proxy_ssl_name us-assets.i.posthog.com;",
				"proxy_http_version 1.1;", `proxy_set_header Connection "";`,
			},
			notWant: []string{"proxy_pass http://", "server https://"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			conf, err := nginxConfig(nginxVariant{name: "nginx", workers: 1}, dir, "127.0.0.1:1000", tt.up)
			if err != nil {
				t.Fatalf("nginxConfig: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(conf, w) {
					t.Errorf("config lacks %q:\n%s", w, conf)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(conf, w) {
					t.Errorf("config has %q:\n%s", w, conf)
				}
			}
			nginxSyntaxCheck(t, dir, conf)
		})
	}
}

// nginxSyntaxCheck runs nginx -t on conf when nginx is installed.
func nginxSyntaxCheck(t *testing.T, dir, conf string) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			t.Log("nginx not installed: syntax not checked")
			return
		}
		bin = "/usr/sbin/nginx"
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-q", "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", path).CombinedOutput()
	if err != nil {
		t.Errorf("nginx -t: %v\n%s", err, out)
	}
}

func TestNewBenchCert(t *testing.T) {
	dir := t.TempDir()
	c, err := newBenchCert(dir)
	if err != nil {
		t.Fatalf("newBenchCert: %v", err)
	}
	for _, p := range []string{c.certFile, c.keyFile} {
		if filepath.Dir(p) != dir {
			t.Errorf("file %s, want it in %s", p, dir)
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("stat: %v", err)
		}
	}
	if _, err := tls.LoadX509KeyPair(c.certFile, c.keyFile); err != nil {
		t.Errorf("LoadX509KeyPair: %v", err)
	}
	if fi, err := os.Stat(c.keyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("key mode %v, want no group or other access", fi.Mode().Perm())
	}
}

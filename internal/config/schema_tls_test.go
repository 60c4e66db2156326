package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/tlsconf"
)

func TestParseTLS(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       tlsconf.Options
		redirect   string
		pidFile    string
	}{
		{"none", "listen: :8080\n", tlsconf.Options{}, "", ""},
		{"files", "tls:\n  cert_file: /c.pem\n  key_file: /k.pem\nhttp_redirect_listen: :80\nserver:\n  pid_file: /run/e.pid\n",
			tlsconf.Options{CertFile: "/c.pem", KeyFile: "/k.pem"}, ":80", "/run/e.pid"},
		{"acme empty mapping turns it on", "tls:\n  acme:\n", tlsconf.Options{ACME: tlsconf.ACMEOptions{Enabled: true}}, "", ""},
		{"acme full", `tls:
  acme:
    email: ops@example.com
    hosts: [ph.example.com]
    dir: /var/lib/x
    ca: https://acme.example/dir
    ca_root_file: /ca.pem
    challenges: [http-01]
    renew_before: 240h
`, tlsconf.Options{ACME: tlsconf.ACMEOptions{Enabled: true, Email: "ops@example.com", Hosts: []string{"ph.example.com"},
			Dir: "/var/lib/x", CA: "https://acme.example/dir", CARootFile: "/ca.pem", Challenges: []string{"http-01"}, RenewBefore: 240 * time.Hour}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(tt.yaml), "t.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.Server.TLS, tt.want) || f.Server.RedirectListen != tt.redirect || f.Server.PidFile != tt.pidFile {
				t.Errorf("Parse = %+v, %q, %q; want %+v, %q, %q", f.Server.TLS, f.Server.RedirectListen, f.Server.PidFile, tt.want, tt.redirect, tt.pidFile)
			}
		})
	}
}

func TestTLSErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "tls:\n  cert: x\n", "t.yaml:2: tls.cert: unknown key"},
		{"bad challenge", "tls:\n  acme:\n    challenges: [dns-01]\n", "tls.acme.challenges[0]"},
		{"http ca", "tls:\n  acme:\n    ca: http://acme.example/dir\n", "tls.acme.ca"},
		{"bad redirect", "http_redirect_listen: eighty\n", "http_redirect_listen"},
		{"redirect without tls", "http_redirect_listen: :80\n", "http_redirect_listen: set only with tls"},
		{"redirect on listen", "listen: :80\nhttp_redirect_listen: :80\ntls:\n  acme:\n    hosts: [a.example.com]\n", "must differ from listen"},
		{"missing cert file", "tls:\n  cert_file: /nonexistent/c.pem\n  key_file: /nonexistent/k.pem\n", "tls.cert_file: open /nonexistent/c.pem"},
		{"key missing", "tls:\n  cert_file: /c\n", "tls.key_file: missing"},
		{"acme no hosts", "tls:\n  acme:\n", "tls.acme.hosts: no host names"},
		{"acme single-label host", "hosts:\n  - host: localhost\ntls:\n  acme:\n", "tls.acme.hosts[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(tt.yaml), "t.yaml")
			if err == nil {
				err = f.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestServerOptionsACMEHosts(t *testing.T) {
	f, err := Parse(strings.NewReader("hosts:\n  - host: ph.example.com\n  - host: t.example.org\ntls:\n  acme:\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("Validate = %v, want nil (hosts default to the proxy hosts)", err)
	}
	if got, want := f.ServerOptions().TLS.ACME.Hosts, []string{"ph.example.com", "t.example.org"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ACME hosts = %q, want %q", got, want)
	}
	if f.Server.TLS.ACME.Hosts != nil {
		t.Error("ServerOptions changed f")
	}
}

// TestRenderTLSRoundTrip: what Redacted prints for TLS parses back to the
// same effective configuration.
func TestRenderTLSRoundTrip(t *testing.T) {
	for _, y := range []string{
		"listen: :443\n",
		"listen: :443\ntls:\n  cert_file: /c.pem\n  key_file: /k.pem\nhttp_redirect_listen: :80\nserver:\n  pid_file: /run/e.pid\n",
		"listen: :443\nhosts:\n  - host: ph.example.com\ntls:\n  acme:\n    email: a@example.com\n    ca_root_file: /ca.pem\n",
		"listen: :443\ntls:\n  acme:\n    hosts: [a.example.com, b.example.com]\n    challenges: [http-01]\n    renew_before: 48h\nhttp_redirect_listen: :80\n",
	} {
		f, err := Parse(strings.NewReader(y), "t.yaml")
		if err != nil {
			t.Fatal(err)
		}
		out := f.Redacted()
		back, err := Parse(strings.NewReader(out), "redacted.yaml")
		if err != nil {
			t.Fatalf("parsing Redacted of %q: %v\n%s", y, err, out)
		}
		if got, want := back.render(false), f.render(false); got != want {
			t.Errorf("round trip of %q:\ngot:\n%s\nwant:\n%s", y, got, want)
		}
		// Defaults come back spelled out; what was set comes back as set.
		g, w := back.ServerOptions().TLS, f.ServerOptions().TLS
		if g.Enabled() != w.Enabled() || g.CertFile != w.CertFile || g.ACME.Enabled != w.ACME.Enabled ||
			!reflect.DeepEqual(g.ACME.Hosts, w.ACME.Hosts) || (w.ACME.RenewBefore != 0 && g.ACME.RenewBefore != w.ACME.RenewBefore) {
			t.Errorf("round trip of %q: TLS %+v, want %+v", y, g, w)
		}
	}
}

package tlsconf

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	acme := func(mod func(*ACMEOptions)) Options {
		o := Options{ACME: ACMEOptions{Enabled: true, Hosts: []string{"ph.example.com"}}}
		if mod != nil {
			mod(&o.ACME)
		}
		return o
	}
	tests := []struct {
		name     string
		in       Options
		redirect bool
		wantErr  string // "" means valid
	}{
		{"plain http", Options{}, false, ""},
		{"files", Options{CertFile: "c.pem", KeyFile: "k.pem"}, false, ""},
		{"cert without key", Options{CertFile: "c.pem"}, false, "tls.key_file: missing"},
		{"key without cert", Options{KeyFile: "k.pem"}, false, "tls.cert_file: missing"},
		{"files and acme", Options{CertFile: "c.pem", KeyFile: "k.pem", ACME: ACMEOptions{Enabled: true, Hosts: []string{"a.example"}}}, false, "not both"},
		{"acme", acme(nil), false, ""},
		{"acme without hosts", acme(func(a *ACMEOptions) { a.Hosts = nil }), false, "tls.acme.hosts: no host names"},
		{"acme single label", acme(func(a *ACMEOptions) { a.Hosts = []string{"localhost"} }), false, "tls.acme.hosts[0]"},
		{"acme wildcard", acme(func(a *ACMEOptions) { a.Hosts = []string{"ok.example", "*.example.com"} }), false, "tls.acme.hosts[1]: \"*.example.com\": wildcards"},
		{"acme ip", acme(func(a *ACMEOptions) { a.Hosts = []string{"192.0.2.1"} }), false, "tls.acme.hosts[0]"},
		{"acme port", acme(func(a *ACMEOptions) { a.Hosts = []string{"ph.example.com:443"} }), false, "tls.acme.hosts[0]"},
		{"acme bad challenge", acme(func(a *ACMEOptions) { a.Challenges = []string{"dns-01"} }), false, "tls.acme.challenges[0]: \"dns-01\""},
		{"http-01 alone without redirect", acme(func(a *ACMEOptions) { a.Challenges = []string{"http-01"} }), false, "needs http_redirect_listen"},
		{"http-01 alone with redirect", acme(func(a *ACMEOptions) { a.Challenges = []string{"http-01"} }), true, ""},
		{"tls-alpn-01 alone", acme(func(a *ACMEOptions) { a.Challenges = []string{"tls-alpn-01"} }), false, ""},
		{"negative renew", acme(func(a *ACMEOptions) { a.RenewBefore = -1 }), false, "renew_before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate(tt.redirect)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.wantErr)
			case err != nil && !errors.Is(err, ErrOptions):
				t.Errorf("Validate = %v, want it to wrap ErrOptions", err)
			}
		})
	}
}

func TestIsDNSName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"ph.example.com", true},
		{"a-b.example", true},
		{"xn--bcher-kva.example", true},
		{"localhost", false},
		{"example.com.", false},
		{".example.com", false},
		{"a..example", false},
		{"-a.example", false},
		{"a-.example", false},
		{"10.0.0.1", false},
		{"ph_1.example", false},
		{"", false},
		{strings.Repeat("a", 250) + ".com", false},
	}
	for _, tt := range tests {
		if got := isDNSName(tt.in); got != tt.want {
			t.Errorf("isDNSName(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

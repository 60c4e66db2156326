package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/edgehog/edgehog"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(f *File)
		wantErr string // "" for valid
	}{
		{"defaults", func(f *File) {}, ""},
		{"probe beside prefix", func(f *File) { f.Proxy.Prefix = "/ph"; f.Server.HealthPath = "/phx" }, ""},
		{"probe under a host prefix", func(f *File) {
			f.Proxy.Hosts = []edgehog.Host{{Name: "a.example"}, {Name: "b.example", Prefix: "/t/"}}
			f.Proxy.Prefix = "/ph"
			f.Server.ReadyPath = "/t/ready"
		}, `server.ready_path: "/t/ready" lies under the mount prefix /t, where every path is PostHog's`},
		{"probe is the prefix", func(f *File) { f.Proxy.Prefix = "/ph/"; f.Server.HealthPath = "/ph" },
			`server.health_path: "/ph" lies under the mount prefix /ph, where every path is PostHog's`},
		{"probe is a PostHog api path", func(f *File) { f.Server.HealthPath = "/api/health" },
			`server.health_path: "/api/health" is a PostHog path (api); pick another`},
		{"probe hides a prefix alias", func(f *File) {
			f.Proxy.Aliases = []edgehog.Alias{{From: "/h/*", To: "/static/*"}}
			f.Server.HealthPath = "/h/z"
		}, `server.health_path: "/h/z" would hide aliases[0] (/h/*)`},
		{"probe without slash", func(f *File) { f.Server.ReadyPath = "ready" }, `server.ready_path: "ready" must start with /`},
		{"bad listen", func(f *File) { f.Server.Listen = "nope" }, `listen: "nope" is not a listen address (like :8080 or 127.0.0.1:8080)`},
		{"bad level", func(f *File) { f.Log.Level = "loud" }, `log.level: "loud" is not one of debug, info, warn, error`},
		{"bad format", func(f *File) { f.Log.Format = "xml" }, `log.format: "xml" is not one of json, text`},
		{"bad region", func(f *File) { f.Proxy.Region = "mars" }, `invalid configuration: region: "mars" is not a PostHog Cloud region (us or eu)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Default()
			tt.edit(&f)
			err := f.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Validate() = %v, want %s", err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate() error does not wrap ErrInvalid")
			}
		})
	}
}

func TestValidateWrapsProxyError(t *testing.T) {
	f := Default()
	f.Proxy.Region = "mars"
	err := f.Validate()
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, edgehog.ErrConfig) {
		t.Errorf("Validate() = %v, want ErrInvalid and edgehog.ErrConfig", err)
	}
}

func TestWarnings(t *testing.T) {
	f := Default()
	if w := f.Warnings(); len(w) != 0 {
		t.Errorf("Default().Warnings() = %q, want none", w)
	}
	f.Proxy.ClientIP.TrustAllProxies = true
	if w := f.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], "client_ip.trust_all_proxies: ") {
		t.Errorf("Warnings() = %q, want one about client_ip.trust_all_proxies", w)
	}
}

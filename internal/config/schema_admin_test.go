package config

import (
	"errors"
	"strings"
	"testing"
)

func TestAdminParse(t *testing.T) {
	f, err := Parse(strings.NewReader("admin:\n  listen: 127.0.0.1:9090\n  token: s3cret\n  public_metrics_path: /internal/metrics\n"), "admin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := AdminOptions{Listen: "127.0.0.1:9090", Token: "s3cret", PublicMetricsPath: "/internal/metrics"}
	if f.Admin != want {
		t.Errorf("Admin = %+v, want %+v", f.Admin, want)
	}
	if err := f.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
	red := f.Redacted()
	if strings.Contains(red, "s3cret") {
		t.Errorf("Redacted() shows the admin token:\n%s", red)
	}
	if !strings.Contains(red, "token: "+maskedToken) {
		t.Errorf("Redacted() lacks the masked token:\n%s", red)
	}
}

func TestAdminErrors(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		field string
	}{
		{"bad listen", "admin:\n  listen: nope\n", "admin.listen"},
		{"same listen", "listen: :8080\nadmin:\n  listen: :8080\n", "admin.listen"},
		{"relative path", "admin:\n  public_metrics_path: metrics\n", "admin.public_metrics_path"},
		{"posthog path", "admin:\n  public_metrics_path: /e/\n", "admin.public_metrics_path"},
		{"under prefix", "prefix: /ph\nadmin:\n  public_metrics_path: /ph/metrics\n", "admin.public_metrics_path"},
		{"probe path", "admin:\n  public_metrics_path: /healthz\n", "admin.public_metrics_path"},
		{"unknown key", "admin:\n  port: 9090\n", "admin.port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(tt.yaml), "admin.yaml")
			if err == nil {
				err = f.Validate()
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a *config.Error for %s", err, tt.field)
			}
			if ce.Field != tt.field {
				t.Errorf("error field = %q (%v), want %q", ce.Field, err, tt.field)
			}
		})
	}
}

func TestAdminEnv(t *testing.T) {
	env := map[string]string{"EDGEHOG_ADMIN_LISTEN": "127.0.0.1:9191", "EDGEHOG_ADMIN_TOKEN": "from-env"}
	f, err := Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if f.Admin.Listen != "127.0.0.1:9191" || f.Admin.Token != "from-env" {
		t.Errorf("Admin = %+v, want the environment's listen and token", f.Admin)
	}
	if _, err := Load("", func(k string) string {
		if k == "EDGEHOG_ADMIN_LISTEN" {
			return "nope"
		}
		return ""
	}); err == nil {
		t.Error("Load with EDGEHOG_ADMIN_LISTEN=nope succeeded, want an error")
	}
}

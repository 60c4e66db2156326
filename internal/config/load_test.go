package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// env returns a lookup function over a fixed set of variables.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "edgehog.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadPrecedence(t *testing.T) {
	path := writeConfig(t, "listen: \"127.0.0.1:1\"\nregion: eu\nprefix: /file\nlog:\n  level: warn\n  access: false\n")
	tests := []struct {
		name string
		path string
		env  map[string]string
		want func(f *File) // edits Default() into the expected File
	}{
		{"defaults", "", nil, func(f *File) {}},
		{"file over defaults", path, nil, func(f *File) {
			f.Server.Listen, f.Proxy.Region, f.Proxy.Prefix = "127.0.0.1:1", "eu", "/file"
			f.Log.Level, f.Log.Access = "warn", false
		}},
		{"env over file", path, map[string]string{
			"EDGEHOG_LISTEN":     "127.0.0.1:2",
			"EDGEHOG_REGION":     "us",
			"EDGEHOG_API":        "http://127.0.0.1:3",
			"EDGEHOG_ASSETS":     "http://127.0.0.1:4",
			"EDGEHOG_PREFIX":     "/env",
			"EDGEHOG_LOG_LEVEL":  "error",
			"EDGEHOG_LOG_FORMAT": "text",
			"EDGEHOG_ACCESS_LOG": "1",
		}, func(f *File) {
			f.Server.Listen, f.Proxy.Region, f.Proxy.Prefix = "127.0.0.1:2", "us", "/env"
			f.Proxy.API, f.Proxy.Assets = "http://127.0.0.1:3", "http://127.0.0.1:4"
			f.Log.Level, f.Log.Format, f.Log.Access = "error", "text", true
		}},
		{"empty env is unset", path, map[string]string{"EDGEHOG_REGION": "", "EDGEHOG_ACCESS_LOG": ""}, func(f *File) {
			f.Server.Listen, f.Proxy.Region, f.Proxy.Prefix = "127.0.0.1:1", "eu", "/file"
			f.Log.Level, f.Log.Access = "warn", false
		}},
		{"env without file", "", map[string]string{"EDGEHOG_PREFIX": "/ph", "EDGEHOG_ACCESS_LOG": "false"}, func(f *File) {
			f.Proxy.Prefix, f.Log.Access = "/ph", false
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.path, env(tt.env))
			if err != nil {
				t.Fatalf("Load() = %v", err)
			}
			want := Default()
			tt.want(&want)
			if got.Redacted() != want.Redacted() {
				t.Errorf("Load() =\n%s\nwant\n%s", got.Redacted(), want.Redacted())
			}
		})
	}
}

func TestLoadEnvErrors(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"EDGEHOG_LISTEN", "8080", `EDGEHOG_LISTEN: "8080" is not a listen address (like :8080 or 127.0.0.1:8080)`},
		{"EDGEHOG_REGION", "mars", `EDGEHOG_REGION: "mars" is not one of us, eu`},
		{"EDGEHOG_API", "eu.i.posthog.com", `EDGEHOG_API: "eu.i.posthog.com" is not an http:// or https:// URL`},
		{"EDGEHOG_ASSETS", "ftp://x", `EDGEHOG_ASSETS: "ftp://x" is not an http:// or https:// URL`},
		{"EDGEHOG_PREFIX", "ph", `EDGEHOG_PREFIX: "ph" must start with /`},
		{"EDGEHOG_LOG_LEVEL", "loud", `EDGEHOG_LOG_LEVEL: "loud" is not one of debug, info, warn, error`},
		{"EDGEHOG_LOG_FORMAT", "xml", `EDGEHOG_LOG_FORMAT: "xml" is not one of json, text`},
		{"EDGEHOG_ACCESS_LOG", "maybe", `EDGEHOG_ACCESS_LOG: "maybe" is not a boolean (true or false)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", env(map[string]string{tt.name: tt.value}))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Load() = %v, want %s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid")
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want os.ErrNotExist", err)
	}
	path := writeConfig(t, "region: mars\n")
	_, err := Load(path, nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.File != path || ce.Line != 1 || ce.Field != "region" {
		t.Errorf("Load(bad) = %#v, want an *Error at %s:1 region", err, path)
	}
}

func TestSet(t *testing.T) {
	f := Default()
	for _, o := range Overrides() {
		if o.Key == "" || o.Env == "" || o.Usage == "" {
			t.Errorf("incomplete override %+v", o)
		}
	}
	if err := f.Set("--api", "upstream.api", "https://eu.i.posthog.com"); err != nil {
		t.Fatal(err)
	}
	if f.Proxy.API != "https://eu.i.posthog.com" {
		t.Errorf("API = %q after Set", f.Proxy.API)
	}
	err := f.Set("--bogus", "bogus", "x")
	if err == nil || err.Error() != `--bogus: "bogus" is not a setting that can be overridden` {
		t.Errorf("Set(bogus) = %v", err)
	}
}

package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/server"
)

// TestErrors checks one file per error shape against its golden message.
// Files named valid-* parse and fail Validate instead.
func TestErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			stage := "parse"
			f, err := Parse(strings.NewReader(string(b)), name)
			if err == nil {
				stage = "validate"
				err = f.Validate()
			}
			if err == nil {
				t.Fatalf("Parse and Validate of %s succeeded, want an error", name)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			if wantValidate := strings.HasPrefix(name, "valid-"); wantValidate != (stage == "validate") {
				t.Errorf("failed at %s, but the file name says otherwise", stage)
			}
			golden(t, strings.TrimSuffix(path, ".yaml")+".golden", stage+": "+err.Error()+"\n")
		})
	}
}

func TestParseFull(t *testing.T) {
	f := parseFile(t, "testdata/full.yaml")
	want := File{
		Proxy: edgehog.Config{
			Region:           "eu",
			API:              "https://posthog.internal.example/",
			Assets:           "https://assets.internal.example",
			Prefix:           "/ph",
			Exposure:         "all",
			ForwardedHeaders: "never",
			ClientIP: edgehog.ClientIPOptions{
				TrustedProxies:  []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.1"},
				TrustAllProxies: true,
				Header:          "CF-Connecting-IP",
				Truncate:        true,
			},
			RateLimit: edgehog.RateLimitOptions{
				Kinds:      map[string]edgehog.Rate{"capture": {PerSecond: 50, Burst: 100}, "flags": {PerSecond: 0.5}},
				MaxClients: 5000,
			},
			Cache: edgehog.CacheOptions{Disabled: true, MaxBytes: 16 * mib, StaleIfError: -1, StaleWhileRevalidate: 30 * time.Second},
			Spool: edgehog.SpoolOptions{Mode: edgehog.SpoolOff},
			CORS: edgehog.CORSOptions{
				Origins:     []string{"https://www.example.com", "https://*.example.org"},
				Credentials: true, MaxAge: -1,
			},
			Hosts: []edgehog.Host{
				{Name: "ph.example.com", Prefix: "/"},
				{Name: "*.example.org", Prefix: "/t"},
			},
			Aliases: []edgehog.Alias{
				{From: "/k/", To: "/e/"},
				{From: "/cdn/*", To: "/static/*"},
			},
			KeepCookies: []string{"ph_session", "consent"},
			Limits: edgehog.Limits{
				Events: 10 * mib, Batch: 20_000_000, Recordings: 512 * kib,
				AI: 1048576, Flags: -1, Other: -1,
			},
			Upstream: edgehog.UpstreamOptions{
				DialTimeout: 3 * time.Second, TLSHandshakeTimeout: 4 * time.Second,
				ResponseHeaderTimeout: 20 * time.Second, FlagsTimeout: 2 * time.Second,
				IdleConnTimeout: time.Minute, ConnMaxAge: 10 * time.Minute, MaxIdleConnsPerHost: 64, DisableHTTP2: true,
				CAFile: "/etc/edgehog/ca.pem",
			},
		},
		Server: server.Options{
			Listen:            "127.0.0.1:9090",
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 2 * time.Minute,
			WriteTimeout: 3 * time.Minute, IdleTimeout: time.Minute,
			MaxHeaderBytes: 32 * kib, ShutdownTimeout: 20 * time.Second, Engine: server.EngineGo,
			HealthPath: "/-/health", ReadyPath: "/-/ready",
		},
		Log: LogOptions{Level: "debug", Format: "text", Access: false},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Parse(full.yaml) =\n%+v\nwant\n%+v", f, want)
	}
	noCA := f
	noCA.Proxy.Upstream.CAFile = "" // the file does not exist here; see valid-ca-file.yaml
	if err := noCA.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	golden(t, "testdata/redacted/full.golden", f.Redacted())

	// The rendering parses back to the same configuration.
	back, err := Parse(strings.NewReader(f.Redacted()), "redacted")
	if err != nil {
		t.Fatalf("Parse(Redacted()) = %v", err)
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("Parse(Redacted()) =\n%+v\nwant\n%+v", back, want)
	}
}

func TestParseDefaults(t *testing.T) {
	for _, in := range []string{"", "\n", "# only a comment\n", "---\n", "~\n", "{}\n", "upstream:\nhosts:\n"} {
		f, err := Parse(strings.NewReader(in), "empty.yaml")
		if err != nil {
			t.Errorf("Parse(%q) = %v", in, err)
			continue
		}
		if !reflect.DeepEqual(f, Default()) {
			t.Errorf("Parse(%q) = %+v, want Default()", in, f)
		}
	}
	d := Default()
	if err := d.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	golden(t, "testdata/redacted/default.golden", d.Redacted())
}

// TestParseAnchors checks that aliases (*name) are followed.
func TestParseAnchors(t *testing.T) {
	in := "x-timeouts: &t 7s\n"
	if _, err := Parse(strings.NewReader(in), "a.yaml"); err == nil {
		t.Fatal("unknown top-level key accepted")
	}
	in = "upstream:\n  dial_timeout: &t 7s\n  tls_handshake_timeout: *t\n"
	f, err := Parse(strings.NewReader(in), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Proxy.Upstream.TLSHandshakeTimeout; got != 7*time.Second {
		t.Errorf("tls_handshake_timeout = %v, want 7s", got)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "e.yaml", Line: 7, Field: "a.b", Msg: "bad"}, "e.yaml:7: a.b: bad"},
		{Error{File: "e.yaml", Msg: "bad"}, "e.yaml: bad"},
		{Error{Line: 3, Msg: "bad"}, "line 3: bad"},
		{Error{Field: "EDGEHOG_REGION", Msg: "bad"}, "EDGEHOG_REGION: bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestParseTooLarge(t *testing.T) {
	in := strings.Repeat("#", maxFileSize+1)
	if _, err := Parse(strings.NewReader(in), "big.yaml"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Parse(2 MiB) = %v, want ErrInvalid", err)
	}
}

func parseFile(t *testing.T, path string) File {
	t.Helper()
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := Parse(r, filepath.Base(path))
	if err != nil {
		t.Fatalf("Parse(%s) = %v", path, err)
	}
	return f
}

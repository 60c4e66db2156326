package route

import (
	"errors"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		host     string
		path     string
		wantOK   bool
		wantPath string
		wantKind Kind
	}{
		{"root capture", Options{}, "example.com", "/e/", true, "/e/", KindCapture},
		{"root keeps slash form", Options{}, "example.com", "/e", true, "/e", KindCapture},
		{"prefix stripped", Options{Prefix: "/ph"}, "x", "/ph/e/", true, "/e/", KindCapture},
		{"prefix trailing slash in config", Options{Prefix: "/ph/"}, "x", "/ph/flags/", true, "/flags/", KindFlags},
		{"prefix alone", Options{Prefix: "/ph"}, "x", "/ph", true, "/", KindOther},
		{"prefix is not a string prefix", Options{Prefix: "/ph"}, "x", "/phx/e/", false, "", 0},
		{"outside prefix", Options{Prefix: "/ph"}, "x", "/e/", false, "", 0},
		{"assets under prefix", Options{Prefix: "/ph"}, "x", "/ph/static/array.js", true, "/static/array.js", KindAssets},
		{"host match", Options{Hosts: []Host{{Name: "ph.example.com"}}}, "PH.example.com:443", "/e/", true, "/e/", KindCapture},
		{"host mismatch", Options{Hosts: []Host{{Name: "ph.example.com"}}}, "evil.com", "/e/", false, "", 0},
		{"host trailing dot", Options{Hosts: []Host{{Name: "ph.example.com"}}}, "ph.example.com.", "/e/", true, "/e/", KindCapture},
		{"host own prefix", Options{Prefix: "/ph", Hosts: []Host{{Name: "a.com", Prefix: "/x"}, {Name: "b.com"}}}, "a.com", "/x/s/", true, "/s/", KindReplay},
		{"host default prefix", Options{Prefix: "/ph", Hosts: []Host{{Name: "a.com", Prefix: "/x"}, {Name: "b.com"}}}, "b.com", "/ph/s/", true, "/s/", KindReplay},
		{"wildcard host", Options{Hosts: []Host{{Name: "*.example.com"}}}, "www.example.com", "/e/", true, "/e/", KindCapture},
		{"wildcard excludes apex", Options{Hosts: []Host{{Name: "*.example.com"}}}, "example.com", "/e/", false, "", 0},
		{"wildcard excludes lookalike", Options{Hosts: []Host{{Name: "*.example.com"}}}, "badexample.com", "/e/", false, "", 0},
		{"exact alias slash", Options{Aliases: []Alias{{From: "/k/", To: "/e/"}}}, "x", "/k/", true, "/e/", KindCapture},
		{"exact alias no slash", Options{Aliases: []Alias{{From: "/k/", To: "/e/"}}}, "x", "/k", true, "/e", KindCapture},
		{"canonical still served", Options{Aliases: []Alias{{From: "/k/", To: "/e/"}}}, "x", "/e/", true, "/e/", KindCapture},
		{"alias under prefix", Options{Prefix: "/ph", Aliases: []Alias{{From: "/fl", To: "/flags"}}}, "x", "/ph/fl/", true, "/flags/", KindFlags},
		{"prefix alias", Options{Aliases: []Alias{{From: "/cdn/*", To: "/static/*"}}}, "x", "/cdn/1.2.3/lazy-recorder.js", true, "/static/1.2.3/lazy-recorder.js", KindAssets},
		{"prefix alias config", Options{Aliases: []Alias{{From: "/cfg/*", To: "/array/*"}}}, "x", "/cfg/phc_x/config.js", true, "/array/phc_x/config.js", KindConfig},
		{"alias not a prefix match", Options{Aliases: []Alias{{From: "/k", To: "/e"}}}, "x", "/kk/", true, "/kk/", KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := New(tt.opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			m, ok := tab.Match(tt.host, tt.path)
			if ok != tt.wantOK {
				t.Fatalf("Match(%q, %q) ok = %v, want %v", tt.host, tt.path, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if m.Path != tt.wantPath || m.Kind != tt.wantKind {
				t.Errorf("Match(%q, %q) = %q %v, want %q %v", tt.host, tt.path, m.Path, m.Kind, tt.wantPath, tt.wantKind)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"prefix without slash", Options{Prefix: "ph"}},
		{"prefix with query", Options{Prefix: "/ph?x"}},
		{"prefix with dotdot", Options{Prefix: "/a/../b"}},
		{"prefix double slash", Options{Prefix: "//ph"}},
		{"empty host", Options{Hosts: []Host{{Name: ""}}}},
		{"host with path", Options{Hosts: []Host{{Name: "a.com/x"}}}},
		{"host with port", Options{Hosts: []Host{{Name: "a.com:80"}}}},
		{"inner wildcard", Options{Hosts: []Host{{Name: "a.*.com"}}}},
		{"alias from not a path", Options{Aliases: []Alias{{From: "k", To: "/e/"}}}},
		{"alias to root", Options{Aliases: []Alias{{From: "/k", To: "/"}}}},
		{"alias star one side", Options{Aliases: []Alias{{From: "/cdn/*", To: "/static/"}}}},
		{"alias star middle", Options{Aliases: []Alias{{From: "/c*n", To: "/e"}}}},
		{"alias duplicate", Options{Aliases: []Alias{{From: "/k", To: "/e"}, {From: "/k/", To: "/s"}}}},
		{"alias hides posthog path", Options{Aliases: []Alias{{From: "/e/", To: "/s/"}}}},
		{"alias host bad prefix", Options{Hosts: []Host{{Name: "a.com", Prefix: "x"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("New(%+v) error = %v, want ErrInvalid", tt.opts, err)
			}
		})
	}
}

func FuzzMatch(f *testing.F) {
	// Seeds: a plain capture path, a prefixed path, an alias, path tricks.
	f.Add("example.com", "/ph/e/")
	f.Add("ph.example.com:8080", "/ph/k")
	f.Add("", "/ph")
	f.Add("x", "/ph/../admin")
	f.Add("[::1]:80", "/ph/%2e%2e/admin")
	f.Add("a.example.com", "/ph/cdn/1.0/x.js")
	tab, err := New(Options{
		Prefix:  "/ph",
		Hosts:   []Host{{Name: "*.example.com"}, {Name: "example.com"}, {Name: "x"}},
		Aliases: []Alias{{From: "/k", To: "/e"}, {From: "/cdn/*", To: "/static/*"}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host, path string) {
		m, ok := tab.Match(host, path)
		if !ok {
			return
		}
		if len(m.Path) == 0 || m.Path[0] != '/' {
			t.Fatalf("Match(%q, %q).Path = %q, want a path starting with /", host, path, m.Path)
		}
		if k, u := Classify(m.Path); k != m.Kind || u != m.Upstream {
			t.Fatalf("Match(%q, %q) = %v/%v, but Classify(%q) = %v/%v", host, path, m.Kind, m.Upstream, m.Path, k, u)
		}
	})
}

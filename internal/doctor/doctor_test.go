package doctor

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/fakehog"
)

const goodToken = "phc_good"

// setup is a deployment under test: a fake PostHog and an edgehog in
// front of it, reachable at public.
type setup struct {
	fake   *fakehog.Fake
	opts   Options
	public *httptest.Server
}

// deploy starts fakehog (knowing only goodToken) and an edgehog built from
// cfg with the fake's upstreams filled in where cfg leaves them empty.
// front, if set, wraps edgehog the way a CDN or web server would.
func deploy(t *testing.T, cfg edgehog.Config, front func(http.Handler) http.Handler) *setup {
	t.Helper()
	fake, err := fakehog.Start(fakehog.Options{Quiet: true, Tokens: []string{goodToken}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	if cfg.API == "" {
		cfg.API = fake.APIURL()
	}
	if cfg.Assets == "" {
		cfg.Assets = fake.AssetsURL()
	}
	p, err := edgehog.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	var h http.Handler = p
	if front != nil {
		h = front(h)
	}
	pub := httptest.NewServer(h)
	t.Cleanup(pub.Close)
	api, _ := url.Parse(cfg.API)
	assets, _ := url.Parse(cfg.Assets)
	limit := cfg.Limits.Recordings
	if limit == 0 {
		limit = edgehog.DefaultConfig().Limits.Recordings
	}
	pu, _ := url.Parse(pub.URL + cfg.Prefix)
	return &setup{fake: fake, public: pub, opts: Options{
		API: api, Assets: assets, RecordingsLimit: limit, Token: goodToken,
		PublicURL: pu, Origins: []string{"https://www.example.com"},
	}}
}

func find(fs []Finding, check string) (Finding, bool) {
	for _, f := range fs {
		if f.Check == check {
			return f, true
		}
	}
	return Finding{}, false
}

func report(fs []Finding) string {
	var b bytes.Buffer
	Write(&b, fs)
	return b.String()
}

func TestGoodDeployment(t *testing.T) {
	s := deploy(t, edgehog.Config{Prefix: "/ph"}, nil)
	fs := Run(t.Context(), s.opts)
	if Failed(fs) {
		t.Fatalf("a good deployment failed:\n%s", report(fs))
	}
	for _, check := range []string{
		"limits.recordings", "project token", "upstream.assets /static", "upstream.assets /array",
		"url reaches edgehog", "url /static identical", "url /array", "url POST /e/", "url POST /flags/",
		"url 25 MiB recording", "url CORS https://www.example.com",
	} {
		if f, ok := find(fs, check); !ok || f.Status != OK {
			t.Errorf("%s = %+v, %v; want ok\n%s", check, f, ok, report(fs))
		}
	}
	// The fake is plain http: said, not failed.
	if f, _ := find(fs, "upstream.api tls"); f.Status != Warn {
		t.Errorf("upstream.api tls = %+v, want a warning for plain http", f)
	}
}

func TestBrokenDeployments(t *testing.T) {
	tests := []struct {
		name  string
		cfg   edgehog.Config
		front func(http.Handler) http.Handler
		mod   func(*setup)
		fail  []string // checks that must fail
	}{
		{
			name: "token of the other region",
			mod:  func(s *setup) { s.opts.Token = "phc_from_eu" },
			fail: []string{"project token"},
		},
		{
			name: "array routed to the api host",
			mod: func(s *setup) {
				s.opts.Assets = s.opts.API
			},
			fail: []string{"upstream.assets /static", "upstream.assets /array"},
		},
		{
			name: "recordings limit under 25 MiB",
			cfg:  edgehog.Config{Limits: edgehog.Limits{Recordings: 10 << 20}},
			fail: []string{"limits.recordings", "url 25 MiB recording"},
		},
		{
			name: "redirecting upstream",
			mod: func(s *setup) {
				s.fake.SetFault("/flags", fakehog.Fault{Status: http.StatusMovedPermanently, Header: http.Header{"Location": {"https://elsewhere.example/flags/"}}})
			},
			fail: []string{"project token", "url POST /flags/"},
		},
		{
			name: "unreachable upstream",
			cfg:  edgehog.Config{API: "http://127.0.0.1:1"},
			fail: []string{"project token", "url POST /e/"},
		},
		{
			name: "front redirects to https",
			front: func(http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "https://www.example.com"+r.URL.Path, http.StatusMovedPermanently)
				})
			},
			fail: []string{"url reaches edgehog"},
		},
		{
			name: "url outside the prefix",
			cfg:  edgehog.Config{Prefix: "/ph"},
			mod:  func(s *setup) { s.opts.PublicURL.Path = "/analytics" },
			fail: []string{"url reaches edgehog"},
		},
		{
			name: "front strips Cache-Control and rewrites static",
			front: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					rec := httptest.NewRecorder()
					next.ServeHTTP(rec, r)
					for k, v := range rec.Header() {
						w.Header()[k] = v
					}
					w.Header().Del("Cache-Control")
					body := rec.Body.Bytes()
					if strings.HasPrefix(r.URL.Path, "/static/") {
						w.Header().Del("Content-Length")
						w.Header().Del("Content-Encoding")
						body = append([]byte("/* minified */"), body...)
					}
					w.WriteHeader(rec.Code)
					w.Write(body)
				})
			},
			fail: []string{"url /array", "url /static identical"},
		},
		{
			name: "front drops CORS",
			front: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodOptions {
						w.WriteHeader(http.StatusNoContent)
						return
					}
					next.ServeHTTP(w, r)
				})
			},
			fail: []string{"url CORS https://www.example.com"},
		},
		{
			name: "front caps bodies",
			front: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.ContentLength > 1<<20 {
						http.Error(w, "too large", http.StatusRequestEntityTooLarge)
						return
					}
					next.ServeHTTP(w, r)
				})
			},
			fail: []string{"url 25 MiB recording"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := deploy(t, tt.cfg, tt.front)
			if tt.mod != nil {
				tt.mod(s)
			}
			fs := Run(t.Context(), s.opts)
			if !Failed(fs) {
				t.Errorf("Failed = false, want true\n%s", report(fs))
			}
			for _, check := range tt.fail {
				f, ok := find(fs, check)
				if !ok || f.Status != Fail || f.Fix == "" {
					t.Errorf("%s = %+v, %v; want a failure with a fix\n%s", check, f, ok, report(fs))
				}
			}
		})
	}
}

// fakeResolver answers from a map.
type fakeResolver map[string][]string

func (r fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestUpstreamDNSAndTLS(t *testing.T) {
	good := httptest.NewTLSServer(http.NotFoundHandler())
	defer good.Close()
	goodURL, _ := url.Parse(good.URL)
	roots := good.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	tests := []struct {
		name   string
		u      string
		roots  bool
		check  string
		status Status
	}{
		{"does not resolve", "https://ph.nowhere.invalid", false, "upstream.api dns", Fail},
		{"resolves", "https://ph.example.com:" + goodURL.Port(), true, "upstream.api dns", OK},
		{"tls verified with sni", "https://example.com:" + goodURL.Port(), true, "upstream.api tls", OK},
		{"unknown ca", "https://example.com:" + goodURL.Port(), false, "upstream.api tls", Fail},
		{"wrong name", "https://ph.example.org:" + goodURL.Port(), true, "upstream.api tls", Fail},
		{"plain http", "http://example.com:" + goodURL.Port(), true, "upstream.api tls", Warn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.u)
			o := Options{Resolver: fakeResolver{"example.com": {"127.0.0.1"}, "ph.example.com": {"127.0.0.1"}, "ph.example.org": {"127.0.0.1"}}, Timeout: 5e9}
			if tt.roots {
				o.RootCAs = roots
			}
			d := &doctor{o: o}
			d.checkUpstream(t.Context(), "upstream.api", u)
			f, ok := find(d.findings, tt.check)
			if !ok || f.Status != tt.status {
				t.Errorf("%s = %+v, %v; want %s\n%s", tt.check, f, ok, tt.status, report(d.findings))
			}
		})
	}
}

package guard

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/route"
)

func TestCheckPath(t *testing.T) {
	tests := []struct {
		path string
		want error
	}{
		{"/e/", nil},
		{"/i/v0/e/", nil},
		{"/static/1.449.2/lazy-recorder.js", nil},
		{"/array/phc_abc/config.js", nil},
		{"/api/projects/@current/feature_flags/my-flag/remote_config", nil},
		{"/static/a%20b.js", nil},
		{"/", nil},
		{"/static/../api/projects/", ErrPathUnsafe},
		{"/static/..", ErrPathUnsafe},
		{"/static/./x", ErrPathUnsafe},
		{"/static/.", ErrPathUnsafe},
		{"/static/%2e%2e/api", ErrPathUnsafe},
		{"/static/%2E%2E/api", ErrPathUnsafe},
		{"/static/.%2e/api", ErrPathUnsafe},
		{"/static%2f..%2fapi", ErrPathUnsafe},
		{"/static/%2F", ErrPathUnsafe},
		{"/static/%5c..", ErrPathUnsafe},
		{`/static\..\api`, ErrPathUnsafe},
		{"//api/projects", ErrPathUnsafe},
		{"/static//x", ErrPathUnsafe},
		{"/e/%00", ErrPathUnsafe},
		{"/e/\x01", ErrPathUnsafe},
		{"/e/%", ErrPathUnsafe},
		{"/e/%2", ErrPathUnsafe},
		{"e/", ErrPathUnsafe},
		{"/" + strings.Repeat("a", MaxPathLen), ErrPathTooLong},
		{"/static/..foo/", nil}, // a name starting with dots is not a dot segment
	}
	for _, tt := range tests {
		if got := CheckPath(tt.path); !errors.Is(got, tt.want) && got != tt.want {
			t.Errorf("CheckPath(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestExposed(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/e/", true},
		{"/i/v0/e/", true},
		{"/batch/", true},
		{"/s/", true},
		{"/i/v0/ai/batch/", true},
		{"/i/v1/logs", true},
		{"/i/v1/analytics/events", true},
		{"/flags/", true},
		{"/decide/", true},
		{"/flags/definitions", true},
		{"/api/feature_flag/local_evaluation", true},
		{"/static/array.js", true},
		{"/array/phc_x/config.js", true},
		{"/api/surveys/", true},
		{"/api/surveys", true},
		{"/api/early_access_features/", true},
		{"/api/web_experiments/", true},
		{"/api/product_tours/", true},
		{"/api/conversations/v1/widget/message", true},
		{"/site_app/1/phc_x/abc/", true},
		{"/report/", true},
		{"/api/projects/@current/feature_flags/my-flag/remote_config", true},
		{"/api/projects/@current/feature_flags/my-flag/remote_config/", true},
		{"/api/projects/@current/feature_flags/", false},
		{"/api/projects/@current/feature_flags/x/y/remote_config", false},
		{"/api/projects/1/insights/", false},
		{"/api/projects/@current/messaging/send/email/", false},
		{"/api/surveysx", false},
		{"/api/users/@me/", false},
		{"/admin/", false},
		{"/", false},
		{"/login", false},
		{"/E/", false},
		{"/API/projects/", false},
	}
	for _, tt := range tests {
		k, _ := route.Classify(tt.path)
		if got := Exposed(ExposePublic, k, tt.path); got != tt.want {
			t.Errorf("Exposed(public, %v, %q) = %v, want %v", k, tt.path, got, tt.want)
		}
		if !Exposed(ExposeAll, k, tt.path) {
			t.Errorf("Exposed(all, %v, %q) = false, want true", k, tt.path)
		}
	}
}

func TestParseExposure(t *testing.T) {
	for in, want := range map[string]Exposure{"": ExposePublic, "public": ExposePublic, "all": ExposeAll} {
		if got, err := ParseExposure(in); err != nil || got != want {
			t.Errorf("ParseExposure(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseExposure("everything"); err == nil {
		t.Error("ParseExposure(everything) accepted")
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := NewLimiter(LimiterOptions{Rate: Rate{PerSecond: 2, Burst: 3}}, now)
	a := netip.MustParseAddr("198.51.100.1")
	b := netip.MustParseAddr("198.51.100.2")
	for i := range 3 {
		if ok, _ := l.Allow(a, now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, retry := l.Allow(a, now)
	if ok || retry <= 0 || retry > 500*time.Millisecond {
		t.Fatalf("4th request: ok=%v retry=%v, want refused with retry in (0, 500ms]", ok, retry)
	}
	if ok, _ := l.Allow(b, now); !ok {
		t.Error("another client was limited by the first one's bucket")
	}
	if ok, _ := l.Allow(a, now.Add(500*time.Millisecond)); !ok {
		t.Error("no token after the refill interval")
	}
	// A refused request must not consume a token.
	l2 := NewLimiter(LimiterOptions{Rate: Rate{PerSecond: 1, Burst: 1}}, now)
	l2.Allow(a, now)
	for range 10 {
		l2.Allow(a, now.Add(100*time.Millisecond))
	}
	if ok, _ := l2.Allow(a, now.Add(1001*time.Millisecond)); !ok {
		t.Error("refused requests consumed tokens")
	}
}

func TestLimiterBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := NewLimiter(LimiterOptions{Rate: Rate{PerSecond: 1, Burst: 1}, MaxClients: 1000}, now)
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Allow(a, now)
		if n := l.Len(); n > 1000 {
			t.Fatalf("after %d clients the limiter holds %d buckets, want at most 1000", i+1, n)
		}
	}
	// Idle buckets go after two refill windows.
	later := now.Add(time.Hour)
	l.Allow(netip.MustParseAddr("192.0.2.1"), later)
	l.Allow(netip.MustParseAddr("192.0.2.2"), later.Add(2*time.Second))
	if n := l.Len(); n > 2 {
		t.Errorf("after an idle hour the limiter holds %d buckets, want at most 2", n)
	}
}

func TestNilLimiter(t *testing.T) {
	l := NewLimiter(LimiterOptions{}, time.Now())
	if ok, _ := l.Allow(netip.MustParseAddr("::1"), time.Now()); !ok || l != nil {
		t.Error("a zero rate must mean no limiter")
	}
}

func FuzzCheckPath(f *testing.F) {
	// Seeds: a clean path, traversal spelled four ways, an empty segment.
	f.Add("/static/array.js")
	f.Add("/static/../api/")
	f.Add("/static/%2e%2e/api/")
	f.Add("/static%2f..%2fapi")
	f.Add(`/static\..\api`)
	f.Add("//api")
	f.Fuzz(func(t *testing.T, p string) {
		if CheckPath(p) != nil {
			return
		}
		// An accepted path has no segment that a server could resolve
		// upwards, whatever the decoding.
		for _, seg := range strings.Split(p[1:], "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("CheckPath(%q) accepted a dot segment", p)
			}
		}
		if strings.Contains(p, "//") || strings.ContainsAny(p, "\\\x00") {
			t.Fatalf("CheckPath(%q) accepted an empty segment or a backslash", p)
		}
		low := strings.ToLower(p)
		for _, enc := range []string{"%2e", "%2f", "%5c", "%00"} {
			if strings.Contains(low, enc) {
				t.Fatalf("CheckPath(%q) accepted %s", p, enc)
			}
		}
	})
}

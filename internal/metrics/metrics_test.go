package metrics

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/route"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s mismatch (run go test -update to accept)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// fixedBuild is the build information of deterministic expositions.
var fixedBuild = BuildInfo{Version: "v1.2.3", Commit: "abc123def456", GoVersion: "go1.26.8"}

// sample records one request of each outcome.
func sample(m *Metrics) {
	reqs := []edgehog.RequestInfo{
		{Kind: "capture", Upstream: "api", Status: 200, Duration: 3 * time.Millisecond, UpstreamDuration: 2 * time.Millisecond, BytesIn: 1200, BytesOut: 15},
		{Kind: "capture", Upstream: "api", Status: 413, Outcome: "payload_too_large", Duration: time.Millisecond, BytesOut: 90},
		{Kind: "capture", Upstream: "api", Status: 429, Outcome: "rate_limited", Duration: time.Millisecond, BytesOut: 80},
		{Kind: "replay", Upstream: "api", Status: 499, Outcome: "client_gone", Duration: 2 * time.Second, BytesIn: 40000},
		{Kind: "flags", Upstream: "api", Status: 504, Outcome: "upstream_timeout", Duration: 2500 * time.Millisecond, BytesOut: 70},
		{Kind: "flags", Upstream: "api", Status: 502, Outcome: "upstream_unreachable", Duration: 4 * time.Millisecond, BytesOut: 70},
		{Kind: "batch", Upstream: "api", Status: 503, Duration: 20 * time.Millisecond, UpstreamDuration: 19 * time.Millisecond, BytesOut: 30},
		{Kind: "assets", Upstream: "assets", Status: 200, Duration: 40 * time.Millisecond, UpstreamDuration: 30 * time.Millisecond, BytesOut: 200000},
		{Kind: "other", Upstream: "api", Status: 404, Outcome: "not_found", Duration: 100 * time.Microsecond, BytesOut: 60},
	}
	for _, r := range reqs {
		m.RequestStarted()
		m.RequestDone(r)
	}
	m.RequestStarted() // one still in flight
}

func TestExpositionGolden(t *testing.T) {
	m := New(Options{
		Build: fixedBuild,
		Cache: func() CacheStats {
			return CacheStats{Hits: 40, Misses: 3, Stale: 2, Revalidations: 5, Evictions: 1, Bytes: 524288, Entries: 4}
		},
	})
	sample(m)
	got, err := testutil.GatherAndFormat(m.Registry(), expfmt.TypeTextPlain, allNames...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("empty exposition")
	}
	golden(t, "exposition.txt", got)
	if !*update {
		// The same, compared by meaning rather than bytes.
		want, err := os.Open(filepath.Join("testdata", "exposition.txt"))
		if err != nil {
			t.Fatal(err)
		}
		defer want.Close()
		if err := testutil.GatherAndCompare(m.Registry(), want, allNames...); err != nil {
			t.Error(err)
		}
	}
}

// allNames lists every edgehog metric.
var allNames = []string{
	NameRequests, NameRequestDuration, NameUpstreamDuration, NameRequestBytes, NameResponseBytes,
	NameUpstreamErrors, NameRejections, NameClientGone, NameInflight, NameBuildInfo,
	NameCacheHits, NameCacheMisses, NameCacheStale, NameCacheRevalidations, NameCacheEvictions,
	NameCacheBytes, NameCacheEntries,
}

func TestLint(t *testing.T) {
	m := New(Options{Build: fixedBuild, Cache: func() CacheStats { return CacheStats{} }, Runtime: true})
	sample(m)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestKindNames keeps the kind list here equal to route's.
func TestKindNames(t *testing.T) {
	ks := route.Kinds()
	if len(ks) != numKinds {
		t.Fatalf("route has %d kinds, metrics %d; want the same", len(ks), numKinds)
	}
	for _, k := range ks {
		if got := kindNames[kindIndex(k.String())]; got != k.String() {
			t.Errorf("kindNames[kindIndex(%q)] = %q, want %q", k, got, k)
		}
		if int(k) != kindIndex(k.String()) {
			t.Errorf("kindIndex(%q) = %d, want route's %d", k, kindIndex(k.String()), k)
		}
	}
	if got := kindIndex("no such kind"); got != kindOther {
		t.Errorf("kindIndex(unknown) = %d, want other (%d)", got, kindOther)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		code   string
		status int
		want   outcome
	}{
		{"", 200, outcome{}},
		{"", 404, outcome{}},
		{"", 500, outcome{cause: causeStatus5x}},
		{"", 503, outcome{cause: causeStatus5x}},
		{"client_gone", 499, outcome{clientGone: true}},
		{"upstream_unreachable", 502, outcome{cause: causeConnect}},
		{"upstream_timeout", 504, outcome{cause: causeTimeout}},
		{"upstream_redirect", 502, outcome{cause: causeRedirect}},
		{"upstream_error", 502, outcome{cause: causeReset}},
		{"payload_too_large", 413, outcome{reason: reasonTooLarge}},
		{"rate_limited", 429, outcome{reason: reasonRateLimit}},
		{"not_found", 404, outcome{reason: reasonNotExposed}},
		{"bad_path", 400, outcome{reason: reasonBadPath}},
		{"bad_path", 414, outcome{reason: reasonBadPath}},
		{"cors_rejected", 403, outcome{reason: reasonCORS}},
		{"method_not_allowed", 405, outcome{reason: reasonMethod}},
		{"no_route", 404, outcome{reason: reasonNoRoute}},
		{"bad_request", 400, outcome{reason: reasonBadRequest}},
		{"spool_full", 503, outcome{reason: reasonSpoolFull}},
		{"spooled", 200, outcome{}},
		{"some_new_code", 502, outcome{cause: causeReset}},
		{"some_new_code", 400, outcome{reason: reasonOther}},
		{"some_new_code", 200, outcome{}},
	}
	for _, tt := range tests {
		if got := classify(tt.code, tt.status); got != tt.want {
			t.Errorf("classify(%q, %d) = %+v, want %+v", tt.code, tt.status, got, tt.want)
		}
	}
}

func TestClassIndex(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{{0, "other"}, {99, "other"}, {100, "1xx"}, {200, "2xx"}, {304, "3xx"}, {499, "4xx"}, {599, "5xx"}, {600, "other"}}
	for _, tt := range tests {
		if got := classNames[classIndex(tt.status)]; got != tt.want {
			t.Errorf("class of %d = %q, want %q", tt.status, got, tt.want)
		}
	}
}

// TestInflight checks the gauge follows RequestStarted and RequestDone.
func TestInflight(t *testing.T) {
	m := New(Options{})
	for range 3 {
		m.RequestStarted()
	}
	m.RequestDone(edgehog.RequestInfo{Kind: "capture", Upstream: "api", Status: 200})
	if got := testutil.ToFloat64(m.inflight); got != 2 {
		t.Errorf("in flight = %v, want 2", got)
	}
}

// TestRequestDoneAllocs checks that the request path allocates nothing
// once a series exists.
func TestRequestDoneAllocs(t *testing.T) {
	m := New(Options{})
	ri := edgehog.RequestInfo{Kind: "capture", Upstream: "api", Status: 200, Duration: time.Millisecond, UpstreamDuration: time.Millisecond, BytesIn: 10, BytesOut: 10}
	m.RequestDone(ri) // creates the lazy series
	allocs := testing.AllocsPerRun(1000, func() {
		m.RequestStarted()
		m.RequestDone(ri)
	})
	if allocs != 0 {
		t.Errorf("RequestStarted+RequestDone allocate %v times, want 0", allocs)
	}
}

func TestNoCacheMetricsWithoutCache(t *testing.T) {
	m := New(Options{})
	n, err := testutil.GatherAndCount(m.Registry(), NameCacheHits)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%s series without a cache = %d, want 0", NameCacheHits, n)
	}
}

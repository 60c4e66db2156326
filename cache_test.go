package edgehog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/fakehog"
)

const cacheHeader = "X-Edgehog-Cache"

// get sends GET target with the given header pairs.
func (e *env) get(t *testing.T, target string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req := e.newRequest(t, "GET", target, nil)
	req.Header.Set("Accept-Encoding", "identity")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return e.do(t, req)
}

// upstreamCount counts the requests the fake saw for path.
func (e *env) upstreamCount(path string) int {
	n := 0
	for _, r := range e.fake.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

func TestCacheHitBothEncodings(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	want := e.fake.StaticBody("/static/array.js")
	for _, ae := range []string{"gzip", "identity"} {
		t.Run(ae, func(t *testing.T) {
			var first []byte
			for i, state := range []string{"MISS", "HIT", "HIT"} {
				res, body := e.get(t, "/static/array.js", "Accept-Encoding", ae)
				if res.StatusCode != 200 || res.Header.Get(cacheHeader) != state {
					t.Fatalf("request %d = %d %s, want 200 %s", i, res.StatusCode, res.Header.Get(cacheHeader), state)
				}
				if i == 0 {
					first = body
				} else if !bytes.Equal(body, first) {
					t.Errorf("request %d body differs from upstream's (%d bytes, want %d)", i, len(body), len(first))
				}
				wantCE := ""
				if ae == "gzip" {
					wantCE = "gzip"
					body = gunzipBytes(t, body)
				}
				if got := res.Header.Get("Content-Encoding"); got != wantCE {
					t.Errorf("request %d Content-Encoding = %q, want %q", i, got, wantCE)
				}
				if !bytes.Equal(body, want) {
					t.Errorf("request %d decoded body differs from the fake's bundle", i)
				}
				if res.Header.Get("Age") == "" || res.Header.Get("ETag") == "" ||
					res.Header.Get("Cache-Control") != "public, max-age=3600" ||
					res.Header.Get("Content-Type") != "application/javascript" ||
					res.Header.Get("Content-Length") != strconv.Itoa(len(first)) {
					t.Errorf("request %d fields: %v", i, res.Header)
				}
			}
		})
	}
	if n := e.upstreamCount("/static/array.js"); n != 2 {
		t.Errorf("upstream saw %d requests, want 2 (one per encoding)", n)
	}
	// HEAD is answered from the stored GET.
	req := e.newRequest(t, "HEAD", "/static/array.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, body := e.do(t, req)
	if res.StatusCode != 200 || res.Header.Get(cacheHeader) != "HIT" || len(body) != 0 {
		t.Errorf("HEAD = %d %s with %d body bytes, want 200 HIT and none", res.StatusCode, res.Header.Get(cacheHeader), len(body))
	}
	s := e.proxy.CacheStats()
	if !s.Enabled || s.Hits != 5 || s.Misses != 2 || s.Entries != 2 || s.Bytes <= int64(len(want)) {
		t.Errorf("CacheStats() = %+v, want 5 hits, 2 misses, 2 entries", s)
	}
}

func TestCacheConfigVary(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	const p = "/array/phc_x/config.js"
	tests := []struct {
		origin, referer, want string
	}{
		{"https://a.test", "https://a.test/page/1?x=y", "MISS"},
		{"https://a.test", "https://a.test/page/2", "HIT"}, // same site, other page
		{"https://b.test", "https://b.test/", "MISS"},
		{"https://a.test", "https://b.test/", "MISS"},
		{"https://a.test", "https://a.test/", "HIT"},
	}
	for i, tt := range tests {
		res, _ := e.get(t, p, "Origin", tt.origin, "Referer", tt.referer)
		if got := res.Header.Get(cacheHeader); got != tt.want {
			t.Errorf("request %d (Origin %s, Referer %s) = %s, want %s", i, tt.origin, tt.referer, got, tt.want)
		}
		if res.Header.Get("Vary") != "Origin, Referer" || res.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("request %d: Vary %q, Cache-Control %q, want upstream's", i, res.Header.Get("Vary"), res.Header.Get("Cache-Control"))
		}
	}
	reqs := e.fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("upstream saw %d requests, want 3", len(reqs))
	}
	// The page's path never leaves: upstream sees the Referer's origin.
	if got := reqs[0].Header.Get("Referer"); got != "https://a.test/" {
		t.Errorf("upstream Referer = %q, want https://a.test/", got)
	}
}

func TestCacheConditionalClient(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	res, _ := e.get(t, "/static/surveys.js")
	etag := res.Header.Get("ETag")
	res, body := e.get(t, "/static/surveys.js", "If-None-Match", etag)
	if res.StatusCode != 304 || len(body) != 0 || res.Header.Get("ETag") != etag || res.Header.Get(cacheHeader) != "HIT" {
		t.Errorf("conditional GET = %d (%d bytes) ETag %q %s, want 304 HIT with ETag %q", res.StatusCode, len(body), res.Header.Get("ETag"), res.Header.Get(cacheHeader), etag)
	}
	if n := e.upstreamCount("/static/surveys.js"); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}

func TestCacheRevalidation(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	e.fake.SetFault("/static/", fakehog.Fault{Header: http.Header{"Cache-Control": {"public, max-age=0, stale-while-revalidate=0"}}})
	res, first := e.get(t, "/static/array.js")
	if res.Header.Get(cacheHeader) != "MISS" {
		t.Fatalf("first = %s, want MISS", res.Header.Get(cacheHeader))
	}
	res, body := e.get(t, "/static/array.js")
	if res.StatusCode != 200 || res.Header.Get(cacheHeader) != "REVALIDATED" || !bytes.Equal(body, first) {
		t.Errorf("second = %d %s (%d bytes), want 200 REVALIDATED with the stored body", res.StatusCode, res.Header.Get(cacheHeader), len(body))
	}
	reqs := e.fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("upstream saw %d requests, want 2", len(reqs))
	}
	if inm := reqs[1].Header.Get("If-None-Match"); inm == "" || reqs[1].Status != http.StatusNotModified {
		t.Errorf("revalidation sent If-None-Match %q and got %d, want the ETag and 304", inm, reqs[1].Status)
	}
	if s := e.proxy.CacheStats(); s.Revalidations != 1 {
		t.Errorf("CacheStats().Revalidations = %d, want 1", s.Revalidations)
	}
}

func TestCacheCoalescesMisses(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	// Upstream is slow, so the misses overlap; any request that comes
	// after the answer is stored is a plain hit. Either way: one fetch.
	e.fake.SetFault("/static/", fakehog.Fault{Delay: 300 * time.Millisecond})
	const n = 20
	var wg sync.WaitGroup
	bodies := make([][]byte, n)
	for i := range n {
		wg.Go(func() {
			req := e.newRequest(t, "GET", "/static/lazy-recorder.js", nil)
			req.Header.Set("Accept-Encoding", "identity")
			res, err := e.front.Client().Do(req)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			defer res.Body.Close()
			var b bytes.Buffer
			b.ReadFrom(res.Body)
			bodies[i] = b.Bytes()
		})
	}
	wg.Wait()
	if got := e.upstreamCount("/static/lazy-recorder.js"); got != 1 {
		t.Errorf("upstream saw %d requests for %d concurrent misses, want 1", got, n)
	}
	want := e.fake.StaticBody("/static/lazy-recorder.js")
	for i, b := range bodies {
		if !bytes.Equal(b, want) {
			t.Errorf("request %d body differs (%d bytes, want %d)", i, len(b), len(want))
		}
	}
}

func TestCacheStaleIfError(t *testing.T) {
	for _, failure := range []string{"503", "stopped"} {
		t.Run(failure, func(t *testing.T) {
			e := newEnv(t, edgehog.Config{})
			e.fake.SetFault("/static/", fakehog.Fault{Header: http.Header{"Cache-Control": {"public, max-age=0, stale-while-revalidate=0"}}})
			_, first := e.get(t, "/static/array.js")
			if failure == "503" {
				e.fake.SetFault("/static/", fakehog.Fault{Status: 503, Body: "down"})
			} else {
				e.fake.Close()
			}
			res, body := e.get(t, "/static/array.js")
			if res.StatusCode != 200 || res.Header.Get(cacheHeader) != "STALE" || !bytes.Equal(body, first) {
				t.Errorf("with upstream %s: %d %s (%d bytes), want 200 STALE with the stored body", failure, res.StatusCode, res.Header.Get(cacheHeader), len(body))
			}
			if s := e.proxy.CacheStats(); s.Stale != 1 {
				t.Errorf("CacheStats().Stale = %d, want 1", s.Stale)
			}
			// Nothing stored for this one: the failure shows.
			res, _ = e.get(t, "/static/other.js")
			if res.StatusCode < 500 {
				t.Errorf("uncached path with upstream %s = %d, want an error", failure, res.StatusCode)
			}
		})
	}
}

func TestCacheStaleIfErrorOff(t *testing.T) {
	e := newEnv(t, edgehog.Config{Cache: edgehog.CacheOptions{StaleIfError: -1}})
	e.fake.SetFault("/static/", fakehog.Fault{Header: http.Header{"Cache-Control": {"public, max-age=0, stale-while-revalidate=0"}}})
	e.get(t, "/static/array.js")
	e.fake.SetFault("/static/", fakehog.Fault{Status: 503})
	if res, _ := e.get(t, "/static/array.js"); res.StatusCode != 503 {
		t.Errorf("stale_if_error off: %d, want upstream's 503", res.StatusCode)
	}
}

func TestCacheStaleWhileRevalidate(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	e.fake.SetFault("/static/", fakehog.Fault{Header: http.Header{"Cache-Control": {"public, max-age=0, stale-while-revalidate=60"}}})
	_, first := e.get(t, "/static/array.js")
	res, body := e.get(t, "/static/array.js")
	if res.Header.Get(cacheHeader) != "UPDATING" || !bytes.Equal(body, first) {
		t.Fatalf("second = %s, want UPDATING with the stored body", res.Header.Get(cacheHeader))
	}
	// The refresh runs in the background; wait for upstream to see it.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := e.fake.WaitRequests(ctx, 2); err != nil {
		t.Fatal(err)
	}
	r := e.fake.Requests()[1]
	if r.Header.Get("If-None-Match") == "" {
		t.Errorf("background refresh sent no If-None-Match")
	}
	if s := e.proxy.CacheStats(); s.Updating != 1 {
		t.Errorf("CacheStats().Updating = %d, want 1", s.Updating)
	}
}

func TestCacheNotUsed(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		hdr    []string
		fault  http.Header
	}{
		{"POST", "POST", "/static/array.js", nil, nil},
		{"flags", "POST", "/flags/?v=2", nil, nil},
		{"Authorization", "GET", "/static/array.js", []string{"Authorization", "Bearer phx_x"}, nil},
		{"kept cookie", "GET", "/static/array.js", []string{"Cookie", "ph_session=abc"}, nil},
		{"no-store", "GET", "/static/array.js", nil, http.Header{"Cache-Control": {"no-store"}}},
		{"private", "GET", "/static/array.js", nil, http.Header{"Cache-Control": {"private, max-age=60"}}},
		{"Set-Cookie", "GET", "/static/array.js", nil, http.Header{"Set-Cookie": {"a=b"}}},
		{"definitions", "GET", "/flags/definitions?token=phc_x", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, edgehog.Config{KeepCookies: []string{"ph_session"}})
			if tt.fault != nil {
				e.fake.SetFault("/", fakehog.Fault{Header: tt.fault})
			}
			for range 2 {
				var body *strings.Reader
				req := e.newRequest(t, tt.method, tt.path, nil)
				if tt.method == "POST" {
					body = strings.NewReader(`{"api_key":"phc_x","distinct_id":"d"}`)
					req = e.newRequest(t, tt.method, tt.path, body)
				}
				for i := 0; i+1 < len(tt.hdr); i += 2 {
					req.Header.Set(tt.hdr[i], tt.hdr[i+1])
				}
				res, _ := e.do(t, req)
				if s := res.Header.Get(cacheHeader); s == "HIT" {
					t.Errorf("answer came from the cache")
				}
			}
			if n := len(e.fake.Requests()); n != 2 {
				t.Errorf("upstream saw %d requests, want 2", n)
			}
			if s := e.proxy.CacheStats(); s.Entries != 0 {
				t.Errorf("CacheStats().Entries = %d, want 0", s.Entries)
			}
		})
	}
}

func TestCacheByteBound(t *testing.T) {
	const max = 400 << 10
	e := newEnv(t, edgehog.Config{Cache: edgehog.CacheOptions{MaxBytes: max}})
	for i := range 20 {
		e.get(t, "/static/1.2."+strconv.Itoa(i)+"/surveys.js")
	}
	s := e.proxy.CacheStats()
	if s.Bytes > max || s.Evictions == 0 || s.Entries == 0 || s.Entries >= 20 {
		t.Errorf("CacheStats() = %+v, want at most %d bytes, some evictions", s, max)
	}
	// The most recent bundle is still there, the first one is gone.
	if res, _ := e.get(t, "/static/1.2.19/surveys.js"); res.Header.Get(cacheHeader) != "HIT" {
		t.Errorf("newest bundle = %s, want HIT", res.Header.Get(cacheHeader))
	}
	if res, _ := e.get(t, "/static/1.2.0/surveys.js"); res.Header.Get(cacheHeader) != "MISS" {
		t.Errorf("oldest bundle = %s, want MISS", res.Header.Get(cacheHeader))
	}
}

func TestCacheDisabled(t *testing.T) {
	e := newEnv(t, edgehog.Config{Cache: edgehog.CacheOptions{Disabled: true}})
	for range 2 {
		if res, _ := e.get(t, "/static/array.js"); res.Header.Get(cacheHeader) != "" {
			t.Errorf("%s = %q with the cache off, want none", cacheHeader, res.Header.Get(cacheHeader))
		}
	}
	if n := len(e.fake.Requests()); n != 2 {
		t.Errorf("upstream saw %d requests, want 2", n)
	}
}

func TestAdminPurge(t *testing.T) {
	e := newEnv(t, edgehog.Config{Prefix: "/ph", Aliases: []edgehog.Alias{{From: "/cdn/*", To: "/static/*"}}})
	e.get(t, "/ph/cdn/array.js")
	e.get(t, "/ph/array/phc_x/config")
	admin := httptest.NewServer(e.proxy.AdminHandler())
	defer admin.Close()

	res, err := admin.Client().Get(admin.URL + "/cache/purge?prefix=/static/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /cache/purge = %d, want 405", res.StatusCode)
	}
	for _, tt := range []struct {
		prefix string
		status int
		purged int
	}{{"", 400, 0}, {"static", 400, 0}, {"/static/", 200, 1}, {"/static/", 200, 0}, {"/", 200, 1}} {
		res, err := admin.Client().Post(admin.URL+"/cache/purge?prefix="+tt.prefix, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Purged int }
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if res.StatusCode != tt.status || got.Purged != tt.purged {
			t.Errorf("purge %q = %d %d, want %d %d", tt.prefix, res.StatusCode, got.Purged, tt.status, tt.purged)
		}
	}
	if res, _ := e.get(t, "/ph/cdn/array.js"); res.Header.Get(cacheHeader) != "MISS" {
		t.Errorf("after purge = %s, want MISS", res.Header.Get(cacheHeader))
	}
	res, err = admin.Client().Get(admin.URL + "/cache/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var stats edgehog.CacheStats
	if err := json.NewDecoder(res.Body).Decode(&stats); err != nil || stats.Purged != 2 || stats.Entries != 1 {
		t.Errorf("GET /cache/stats = %+v (%v), want 2 purged, 1 entry", stats, err)
	}
}

package cache

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/route"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// origin is an upstream stand-in: answer builds each answer, calls counts
// them, and conditional requests are recorded.
type origin struct {
	calls  atomic.Int64
	mu     sync.Mutex
	inm    []string // If-None-Match of each call
	answer func(w http.ResponseWriter, r *http.Request)
}

func (o *origin) fetch(w http.ResponseWriter, r *http.Request, _ bool) {
	o.calls.Add(1)
	o.mu.Lock()
	o.inm = append(o.inm, r.Header.Get("If-None-Match"))
	o.mu.Unlock()
	o.answer(w, r)
}

// static answers like PostHog's assets origin with the given Cache-Control
// and ETag "v1", honouring If-None-Match.
func static(cc string, date func() time.Time) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", cc)
		h.Set("ETag", `"v1"`)
		h.Set("Date", date().UTC().Format(http.TimeFormat))
		h.Set("Content-Type", "application/javascript")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte("console.log(1)"))
	}
}

var assetsMatch = route.Match{Kind: route.KindAssets, Upstream: route.UpstreamAssets, Path: "/static/array.js"}

func newTestCache(t *testing.T, o Options, clk *clock) *Cache {
	t.Helper()
	if o.MaxBytes == 0 {
		o.MaxBytes = 1 << 20
	}
	o.Now = clk.now
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// get serves one GET through c and returns the recorder.
func get(c *Cache, m route.Match, o *origin, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "http://edge"+m.Path, nil)
	r.Header.Set("Accept-Encoding", "gzip")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	c.Serve(w, r, m, o.fetch)
	return w
}

func TestFreshness(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		cc      string
		age     string        // upstream Age
		later   time.Duration // time passed before the second request
		want    string        // the second answer's state
		wantAge string
	}{
		{"fresh", "public, max-age=60", "", 30 * time.Second, StateHit, "30"},
		{"expired", "public, max-age=60", "", 61 * time.Second, StateRevalidated, "0"},
		// The 304 carries Age 50 again: the refreshed copy is 50 s old.
		{"upstream age counts", "public, max-age=60", "50", 20 * time.Second, StateRevalidated, "50"},
		{"s-maxage wins for a shared cache", "max-age=1, s-maxage=120", "", 60 * time.Second, StateHit, "60"},
		{"no-cache revalidates every time", "no-cache", "", 0, StateRevalidated, "0"},
		{"stale while revalidate", "max-age=10, stale-while-revalidate=60", "", 30 * time.Second, StateUpdating, "30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: start}
			c := newTestCache(t, Options{}, clk)
			o := &origin{answer: func(w http.ResponseWriter, r *http.Request) {
				if tt.age != "" {
					w.Header().Set("Age", tt.age)
				}
				static(tt.cc, clk.now)(w, r)
			}}
			if w := get(c, assetsMatch, o); w.Header().Get(HeaderName) != StateMiss {
				t.Fatalf("first answer %s = %q, want MISS", HeaderName, w.Header().Get(HeaderName))
			}
			clk.add(tt.later)
			w := get(c, assetsMatch, o)
			if got := w.Header().Get(HeaderName); got != tt.want {
				t.Errorf("second answer %s = %q, want %q", HeaderName, got, tt.want)
			}
			if got := w.Header().Get("Age"); got != tt.wantAge {
				t.Errorf("second answer Age = %q, want %q", got, tt.wantAge)
			}
			if w.Code != 200 || w.Body.String() != "console.log(1)" {
				t.Errorf("second answer = %d %q, want 200 and the stored body", w.Code, w.Body)
			}
			if tt.want == StateRevalidated {
				o.mu.Lock()
				inm := o.inm[len(o.inm)-1]
				o.mu.Unlock()
				if inm != `"v1"` {
					t.Errorf("revalidation sent If-None-Match %q, want \"v1\"", inm)
				}
			}
		})
	}
}

func TestNotStored(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		status int
	}{
		{"no-store", http.Header{"Cache-Control": {"no-store, max-age=60"}}, 200},
		{"private", http.Header{"Cache-Control": {"private, max-age=60"}}, 200},
		{"set-cookie", http.Header{"Cache-Control": {"max-age=60"}, "Set-Cookie": {"a=b"}}, 200},
		{"vary star", http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"*"}}, 200},
		{"no freshness, no validator", http.Header{}, 200},
		{"server error", http.Header{"Cache-Control": {"max-age=60"}}, 500},
		{"created", http.Header{"Cache-Control": {"max-age=60"}}, 201},
		{"not found without freshness", http.Header{"Etag": {`"x"`}}, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCache(t, Options{StaleIfError: -1}, &clock{t: time.Now()})
			o := &origin{answer: func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tt.status)
				w.Write([]byte("x"))
			}}
			for range 2 {
				get(c, assetsMatch, o)
			}
			if n := o.calls.Load(); n != 2 {
				t.Errorf("upstream calls = %d, want 2 (nothing stored)", n)
			}
			if s := c.Stats(); s.Entries != 0 {
				t.Errorf("entries = %d, want 0", s.Entries)
			}
		})
	}
}

func TestStaleIfError(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		cc    string
		after time.Duration
		bound time.Duration
		want  int // status of the answer once upstream fails
		state string
	}{
		{"within bound", "max-age=60", time.Hour, 24 * time.Hour, 200, StateStale},
		{"beyond bound", "max-age=60", 25 * time.Hour, 24 * time.Hour, 503, StateMiss},
		{"upstream shortens it", "max-age=60, stale-if-error=10", 5 * time.Minute, 24 * time.Hour, 503, StateMiss},
		{"must-revalidate forbids it", "max-age=60, must-revalidate", time.Hour, 24 * time.Hour, 503, StateMiss},
		{"s-maxage forbids it", "s-maxage=60", time.Hour, 24 * time.Hour, 503, StateMiss},
		{"off", "max-age=60", time.Hour, -1, 503, StateMiss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: start}
			c := newTestCache(t, Options{StaleIfError: tt.bound}, clk)
			var failing atomic.Bool
			o := &origin{answer: func(w http.ResponseWriter, r *http.Request) {
				if failing.Load() {
					w.Header().Set("Content-Type", "text/plain")
					w.WriteHeader(http.StatusServiceUnavailable)
					w.Write([]byte("down"))
					return
				}
				static(tt.cc, clk.now)(w, r)
			}}
			get(c, assetsMatch, o)
			clk.add(tt.after)
			failing.Store(true)
			w := get(c, assetsMatch, o)
			if w.Code != tt.want || w.Header().Get(HeaderName) != tt.state {
				t.Errorf("answer = %d %s, want %d %s", w.Code, w.Header().Get(HeaderName), tt.want, tt.state)
			}
			wantStale := uint64(0)
			if tt.state == StateStale {
				wantStale = 1
			}
			if got := c.Stats().Stale; got != wantStale {
				t.Errorf("Stats().Stale = %d, want %d", got, wantStale)
			}
		})
	}
}

func TestVersionedBundleImmutable(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newTestCache(t, Options{}, clk)
	o := &origin{answer: static("public, max-age=60", clk.now)}
	m := route.Match{Kind: route.KindAssets, Upstream: route.UpstreamAssets, Path: "/static/1.449.2/surveys.js"}
	get(c, m, o)
	clk.add(30 * 24 * time.Hour)
	if w := get(c, m, o); w.Header().Get(HeaderName) != StateHit {
		t.Errorf("versioned bundle after 30 days: %s = %q, want HIT", HeaderName, w.Header().Get(HeaderName))
	}
	// A bare major version is not immutable.
	m.Path = "/static/1/array.js"
	get(c, m, o)
	clk.add(2 * time.Minute)
	if w := get(c, m, o); w.Header().Get(HeaderName) != StateRevalidated {
		t.Errorf("/static/1/array.js after its max-age: %s = %q, want REVALIDATED", HeaderName, w.Header().Get(HeaderName))
	}
}

func TestConfigNoDefaultStaleWhileRevalidate(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newTestCache(t, Options{StaleWhileRevalidate: time.Hour}, clk)
	o := &origin{answer: static("public, max-age=300", clk.now)}
	m := route.Match{Kind: route.KindConfig, Upstream: route.UpstreamAssets, Path: "/array/phc_x/config.js"}
	get(c, m, o)
	clk.add(301 * time.Second)
	// Remote config is never served older than upstream says, except when
	// upstream fails: no background refresh of a stale copy.
	if w := get(c, m, o); w.Header().Get(HeaderName) != StateRevalidated {
		t.Errorf("config past max-age: %s = %q, want REVALIDATED", HeaderName, w.Header().Get(HeaderName))
	}
}

func TestClientConditionals(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newTestCache(t, Options{}, clk)
	o := &origin{answer: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", "Mon, 01 Dec 2025 00:00:00 GMT")
		static("max-age=60", clk.now)(w, r)
	}}
	get(c, assetsMatch, o)
	tests := []struct {
		hdr  []string
		want int
	}{
		{[]string{"If-None-Match", `"v1"`}, 304},
		{[]string{"If-None-Match", `W/"v1"`}, 304},
		{[]string{"If-None-Match", `"other", "v1"`}, 304},
		{[]string{"If-None-Match", `*`}, 304},
		{[]string{"If-None-Match", `"v2"`}, 200},
		{[]string{"If-Modified-Since", "Tue, 02 Dec 2025 00:00:00 GMT"}, 304},
		{[]string{"If-Modified-Since", "Sun, 30 Nov 2025 00:00:00 GMT"}, 200},
		// If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
		{[]string{"If-None-Match", `"v2"`, "If-Modified-Since", "Tue, 02 Dec 2025 00:00:00 GMT"}, 200},
	}
	for _, tt := range tests {
		w := get(c, assetsMatch, o, tt.hdr...)
		if w.Code != tt.want {
			t.Errorf("GET with %q = %d, want %d", tt.hdr, w.Code, tt.want)
		}
		if w.Code == 304 && (w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" || w.Header().Get("ETag") != `"v1"`) {
			t.Errorf("304 with %q carries body %q, Content-Type %q, ETag %q; want no body or Content-Type, and the ETag", tt.hdr, w.Body, w.Header().Get("Content-Type"), w.Header().Get("ETag"))
		}
	}
	if n := o.calls.Load(); n != 1 {
		t.Errorf("upstream calls = %d, want 1", n)
	}
}

func TestLRUByteBound(t *testing.T) {
	clk := &clock{t: time.Now()}
	body := strings.Repeat("x", 10_000)
	// Room for three entries, not four.
	c := newTestCache(t, Options{MaxBytes: 35_000, MaxEntryBytes: 12_000}, clk)
	o := &origin{answer: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write([]byte(body))
	}}
	match := func(i int) route.Match {
		return route.Match{Kind: route.KindAssets, Upstream: route.UpstreamAssets, Path: "/static/" + strconv.Itoa(i) + ".js"}
	}
	for i := range 3 {
		get(c, match(i), o)
	}
	get(c, match(0), o) // 0 is now the most recently used
	get(c, match(3), o) // evicts 1, the least recently used
	s := c.Stats()
	if s.Entries != 3 || s.Evictions != 1 || s.Bytes > 35_000 {
		t.Errorf("Stats() = %+v, want 3 entries, 1 eviction, at most 35000 bytes", s)
	}
	before := o.calls.Load()
	for _, i := range []int{0, 2, 3} {
		if w := get(c, match(i), o); w.Header().Get(HeaderName) != StateHit {
			t.Errorf("entry %d: %s = %q, want HIT", i, HeaderName, w.Header().Get(HeaderName))
		}
	}
	if w := get(c, match(1), o); w.Header().Get(HeaderName) != StateMiss {
		t.Errorf("evicted entry 1: %s = %q, want MISS", HeaderName, w.Header().Get(HeaderName))
	}
	if got := o.calls.Load() - before; got != 1 {
		t.Errorf("upstream calls after eviction = %d, want 1", got)
	}
	// Too big for one entry: streamed, never stored.
	big := strings.Repeat("y", 13_000)
	o.answer = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write([]byte(big))
	}
	for range 2 {
		if w := get(c, match(9), o); w.Body.String() != big {
			t.Fatalf("big answer body has %d bytes, want %d", w.Body.Len(), len(big))
		}
	}
	if got := o.calls.Load() - before; got != 3 {
		t.Errorf("upstream calls for an answer above the entry bound = %d, want 2", got-1)
	}
}

func TestPurge(t *testing.T) {
	clk := &clock{t: time.Now()}
	c := newTestCache(t, Options{}, clk)
	o := &origin{answer: static("max-age=600", clk.now)}
	paths := []string{"/static/array.js", "/static/1.2.3/surveys.js", "/array/phc_x/config.js"}
	for _, p := range paths {
		get(c, route.Match{Kind: route.KindAssets, Upstream: route.UpstreamAssets, Path: p}, o)
	}
	if n := c.Purge("/static/"); n != 2 {
		t.Errorf("Purge(/static/) = %d, want 2", n)
	}
	if s := c.Stats(); s.Entries != 1 || s.Purged != 2 {
		t.Errorf("after purge Stats() = %+v, want 1 entry, 2 purged", s)
	}
	if n := c.Purge("/"); n != 1 {
		t.Errorf("Purge(/) = %d, want 1", n)
	}
}

func TestEligible(t *testing.T) {
	c := newTestCache(t, Options{KeepCookies: []string{"ph_session"}}, &clock{t: time.Now()})
	tests := []struct {
		method string
		hdr    []string
		want   bool
	}{
		{"GET", nil, true},
		{"HEAD", nil, true},
		{"POST", nil, false},
		{"OPTIONS", nil, false},
		{"GET", []string{"Authorization", "Bearer x"}, false},
		{"GET", []string{"Cookie", "ph_session=1"}, false},
		{"GET", []string{"Cookie", "other=1; ph_sessionx=2"}, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "http://edge/static/array.js", nil)
		for i := 0; i+1 < len(tt.hdr); i += 2 {
			r.Header.Set(tt.hdr[i], tt.hdr[i+1])
		}
		if got := c.Eligible(r); got != tt.want {
			t.Errorf("Eligible(%s %q) = %v, want %v", tt.method, tt.hdr, got, tt.want)
		}
	}
}

func TestNotFoundStoredWithFreshness(t *testing.T) {
	c := newTestCache(t, Options{}, &clock{t: time.Now()})
	o := &origin{answer: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=30")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("Not Found\n"))
	}}
	get(c, assetsMatch, o)
	w := get(c, assetsMatch, o)
	if w.Code != 404 || w.Header().Get(HeaderName) != StateHit || o.calls.Load() != 1 {
		t.Errorf("second 404 = %d %s after %d upstream calls, want 404 HIT after 1", w.Code, w.Header().Get(HeaderName), o.calls.Load())
	}
}

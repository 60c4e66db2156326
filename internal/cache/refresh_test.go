package cache

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestCloseStopsRefresh checks that a background refresh stuck on a slow
// upstream ends when the Cache closes, and Close waits for it.
func TestCloseStopsRefresh(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c, err := New(Options{MaxBytes: 1 << 20, Now: clk.now, RefreshTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var started, ended atomic.Bool
	entered := make(chan struct{})
	o := &origin{}
	o.answer = func(w http.ResponseWriter, r *http.Request) {
		if o.calls.Load() == 1 {
			static("max-age=10, stale-while-revalidate=60", clk.now)(w, r)
			return
		}
		started.Store(true)
		close(entered)
		<-r.Context().Done() // upstream never answers
		ended.Store(true)
	}
	get(c, assetsMatch, o)
	clk.add(20 * time.Second)
	if w := get(c, assetsMatch, o); w.Header().Get(HeaderName) != StateUpdating {
		t.Fatalf("%s = %q, want UPDATING", HeaderName, w.Header().Get(HeaderName))
	}
	<-entered
	c.Close()
	if !started.Load() || !ended.Load() {
		t.Errorf("after Close: refresh started %v, ended %v; want both", started.Load(), ended.Load())
	}
	// No refresh starts after Close.
	before := o.calls.Load()
	get(c, assetsMatch, o)
	if got := o.calls.Load(); got != before {
		t.Errorf("upstream calls after Close = %d, want %d", got, before)
	}
}

// TestLeaderPanicReleasesWaiters checks that waiters on a fill whose
// leader panics (net/http's ErrAbortHandler when its client leaves)
// fetch for themselves instead of waiting for ever.
func TestLeaderPanicReleasesWaiters(t *testing.T) {
	c := newTestCache(t, Options{}, &clock{t: time.Now()})
	release := make(chan struct{})
	var first atomic.Bool
	o := &origin{}
	o.answer = func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			<-release
			panic(http.ErrAbortHandler)
		}
		static("max-age=60", time.Now)(w, r)
	}
	leaderDone := make(chan any)
	go func() {
		defer func() { leaderDone <- recover() }()
		get(c, assetsMatch, o)
	}()
	for o.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	waiter := make(chan int)
	go func() { waiter <- get(c, assetsMatch, o).Code }()
	// Give the waiter a moment to join the flight; if it has not yet, it
	// becomes a leader itself, which the test also accepts.
	time.Sleep(50 * time.Millisecond)
	close(release)
	if p := <-leaderDone; p != http.ErrAbortHandler {
		t.Errorf("leader panic = %v, want http.ErrAbortHandler", p)
	}
	if code := <-waiter; code != 200 {
		t.Errorf("waiter status = %d, want 200", code)
	}
}

package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

func named(name string, entered chan<- struct{}, release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, name)
	})
}

func get(h http.Handler, path string) string {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w.Body.String()
}

func TestSwappable(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s := NewSwappable(named("old", entered, release))
	if got := get(s, "/"); got != "old" {
		t.Fatalf("before Swap = %q, want old", got)
	}
	slow := make(chan string)
	go func() { slow <- get(s, "/slow") }()
	<-entered

	old, drained := s.Swap(named("new", nil, nil))
	if get(old, "/") != "old" {
		t.Error("Swap returned the wrong old handler")
	}
	if got := get(s, "/"); got != "new" {
		t.Errorf("after Swap = %q, want new", got)
	}
	select {
	case <-drained:
		t.Fatal("drained closed while a request still runs on the old handler")
	default:
	}
	close(release)
	if got := <-slow; got != "old" {
		t.Errorf("in-flight request = %q, want old (it started there)", got)
	}
	<-drained // closes once the in-flight request is done

	// An idle handler drains at once.
	_, drained = s.Swap(named("newer", nil, nil))
	<-drained
	if got := get(s, "/"); got != "newer" {
		t.Errorf("after second Swap = %q, want newer", got)
	}
}

// TestSwappableConcurrent swaps while requests run; run with -race. Every
// request is served by some handler, and each old handler drains.
func TestSwappableConcurrent(t *testing.T) {
	s := NewSwappable(named("0", nil, nil))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				if get(s, "/") == "" {
					t.Error("request served by no handler")
					return
				}
			}
		})
	}
	for i := range 100 {
		_, drained := s.Swap(named(string(rune('a'+i%26)), nil, nil))
		<-drained
	}
	wg.Wait()
}

func BenchmarkSwappable(b *testing.B) {
	s := NewSwappable(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		s.ServeHTTP(nil, r)
	}
}

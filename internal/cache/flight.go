package cache

import "sync"

// flights collapses concurrent fills of one key into one upstream request
// (the job golang.org/x/sync/singleflight does; this one lets waiters stop
// waiting when their client leaves, lets the leader stream a response that
// turned out uncacheable to its own client, and keeps a panicking leader,
// such as net/http's ErrAbortHandler, from taking waiters down).
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// flight is one fill in progress; res is set before done is closed.
type flight struct {
	done chan struct{}
	res  *result
}

// join returns the flight for key and whether the caller leads it (and
// must call finish).
func (g *flights) join(key string) (*flight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f, false
	}
	if g.m == nil {
		g.m = make(map[string]*flight)
	}
	f := &flight{done: make(chan struct{})}
	g.m[key] = f
	return f, true
}

// finish publishes res (nil when the fill failed) to the waiters.
func (g *flights) finish(key string, f *flight, res *result) {
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	g.mu.Unlock()
	f.res = res
	close(f.done)
}

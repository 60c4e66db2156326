package server

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// Swappable is an http.Handler whose handler can be replaced while it
// serves, for configuration reloads: a request runs to its end on the
// handler it started on, and every request that starts after Swap returns
// runs on the new one. The zero value is not usable; call NewSwappable.
type Swappable struct {
	cur atomic.Pointer[generation]
}

// NewSwappable returns a Swappable serving h.
func NewSwappable(h http.Handler) *Swappable {
	s := &Swappable{}
	s.cur.Store(newGeneration(h))
	return s
}

// ServeHTTP serves r on the current handler.
func (s *Swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := s.acquire()
	defer g.release()
	g.h.ServeHTTP(w, r)
}

// acquire returns the current generation with the request counted in.
func (s *Swappable) acquire() *generation {
	for {
		// When acquire fails, g was retired between Load and acquire: a
		// newer generation is already stored, so the next Load finds it.
		if g := s.cur.Load(); g.acquire() {
			return g
		}
	}
}

// Handler returns the current handler.
func (s *Swappable) Handler() http.Handler { return s.cur.Load().h }

// Swap makes h serve every request that starts from now on. It returns
// the handler it replaced and a channel closed once the last request
// running on that handler has finished (at once if none was).
func (s *Swappable) Swap(h http.Handler) (old http.Handler, drained <-chan struct{}) {
	g := s.cur.Swap(newGeneration(h))
	g.retire()
	return g.h, g.idle
}

// retiredBit marks a generation retired in its counter; the bits below
// count the requests running on it. One atomic word keeps the request path
// free of locks.
const retiredBit = int64(1) << 62

// generation is one handler and the requests running on it.
type generation struct {
	h        http.Handler
	n        atomic.Int64 // running requests, plus retiredBit once retired
	idle     chan struct{}
	idleOnce sync.Once
}

func newGeneration(h http.Handler) *generation {
	return &generation{h: h, idle: make(chan struct{})}
}

// acquire counts a request in, unless g is retired.
func (g *generation) acquire() bool {
	if g.n.Add(1)&retiredBit != 0 {
		g.release()
		return false
	}
	return true
}

// release counts a request out; the last one out of a retired generation
// closes idle.
func (g *generation) release() {
	if g.n.Add(-1) == retiredBit {
		g.idleOnce.Do(func() { close(g.idle) })
	}
}

// retire refuses new requests; idle closes when the running ones end.
func (g *generation) retire() {
	if g.n.Add(retiredBit) == retiredBit {
		g.idleOnce.Do(func() { close(g.idle) })
	}
}

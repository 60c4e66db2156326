package metrics

import "sync/atomic"

// lazy holds a series created on first use. Two requests racing to create
// it get the same child from the vector, so either may win.
type lazy[T any] struct{ p atomic.Pointer[T] }

// get returns the series, creating it with create the first time.
func (l *lazy[T]) get(create func() T) T {
	if p := l.p.Load(); p != nil {
		return *p
	}
	v := create()
	l.p.CompareAndSwap(nil, &v)
	return *l.p.Load()
}

package guard

import (
	"math"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket: Burst requests at once, refilled at PerSecond.
type Rate struct {
	PerSecond float64
	Burst     int
}

// DefaultMaxClients is the default bound on client buckets per limiter.
const DefaultMaxClients = 100_000

// LimiterOptions configure a Limiter.
type LimiterOptions struct {
	Rate Rate
	// MaxClients bounds the number of client buckets held; default 100 000.
	// When the bound is reached, the least recently active half is dropped
	// (a dropped bucket comes back full, as an idle one would have).
	MaxClients int
}

// Limiter rate-limits requests per client address with one token bucket per
// address. Memory is bounded: buckets live in two generations, and a
// generation is dropped once it is older than the time a bucket needs to
// refill completely (an idle bucket that old is full, so forgetting it
// changes nothing) or once it holds MaxClients/2 buckets.
type Limiter struct {
	rate   rate.Limit
	burst  int
	max    int
	window time.Duration

	mu      sync.Mutex
	cur     map[netip.Addr]*rate.Limiter
	prev    map[netip.Addr]*rate.Limiter
	started time.Time // of cur
}

// NewLimiter builds a Limiter. A Rate with PerSecond <= 0 returns nil: no
// limit. A nil *Limiter allows everything.
func NewLimiter(o LimiterOptions, now time.Time) *Limiter {
	if o.Rate.PerSecond <= 0 {
		return nil
	}
	if o.Rate.Burst < 1 {
		o.Rate.Burst = int(math.Ceil(o.Rate.PerSecond))
	}
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	refill := time.Duration(float64(o.Rate.Burst) / o.Rate.PerSecond * float64(time.Second))
	return &Limiter{
		rate:    rate.Limit(o.Rate.PerSecond),
		burst:   o.Rate.Burst,
		max:     max(o.MaxClients/2, 1),
		window:  max(refill, time.Second),
		cur:     map[netip.Addr]*rate.Limiter{},
		prev:    map[netip.Addr]*rate.Limiter{},
		started: now,
	}
}

// Allow takes one token for client at now. When none is left it reports
// false and how long until one is.
func (l *Limiter) Allow(client netip.Addr, now time.Time) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	b := l.bucket(client, now)
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		l.mu.Unlock()
		return false, d
	}
	l.mu.Unlock()
	return true, 0
}

func (l *Limiter) bucket(client netip.Addr, now time.Time) *rate.Limiter {
	if now.Sub(l.started) > l.window || len(l.cur) >= l.max {
		l.prev, l.cur = l.cur, make(map[netip.Addr]*rate.Limiter, len(l.cur))
		l.started = now
	}
	if b, ok := l.cur[client]; ok {
		return b
	}
	b, ok := l.prev[client]
	if ok {
		delete(l.prev, client)
	} else {
		b = rate.NewLimiter(l.rate, l.burst)
	}
	l.cur[client] = b
	return b
}

// Len returns the number of client buckets held.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.cur) + len(l.prev)
}

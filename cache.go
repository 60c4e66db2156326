package edgehog

import (
	"fmt"
	"net/http"

	"github.com/edgehog/edgehog/internal/cache"
	"github.com/edgehog/edgehog/internal/forward"
	"github.com/edgehog/edgehog/internal/guard"
	"github.com/edgehog/edgehog/internal/route"
)

// CacheStats are the counters of the cache and of CORS refusals since New.
type CacheStats struct {
	// Enabled is false when the cache is off; the cache counters are then
	// zero.
	Enabled bool
	// Hits are answers served from memory while fresh, including
	// Coalesced ones.
	Hits uint64
	// Misses are answers fetched from upstream.
	Misses uint64
	// Revalidations are stored answers confirmed by upstream with a 304.
	Revalidations uint64
	// Updating are stale answers served while a background refresh ran
	// (stale-while-revalidate).
	Updating uint64
	// Stale are stale answers served because upstream failed
	// (stale-if-error).
	Stale uint64
	// Bypassed are /static and /array requests the cache may not answer
	// (not GET or HEAD, Authorization, a kept cookie).
	Bypassed uint64
	// Coalesced are requests that waited for another request's upstream
	// fetch instead of making their own.
	Coalesced uint64
	// Evictions are answers dropped to stay within the memory bound.
	Evictions uint64
	// Purged are answers dropped by PurgeCache.
	Purged uint64
	// Bytes is the memory the stored answers take now.
	Bytes int64
	// Entries is the number of stored answers now.
	Entries int64
	// CORSRejected counts requests from origins CORS does not allow.
	CORSRejected uint64
}

func (p *Proxy) setCache(o CacheOptions) error {
	if o.Disabled {
		return nil
	}
	o = o.withDefaults()
	if o.MaxBytes < 0 {
		return fmt.Errorf("%w: cache.max_bytes: must be positive", ErrConfig)
	}
	c, err := cache.New(cache.Options{
		MaxBytes:             o.MaxBytes,
		StaleIfError:         o.StaleIfError,
		StaleWhileRevalidate: o.StaleWhileRevalidate,
		KeepCookies:          p.cfg.KeepCookies,
		Logger:               p.log.With(logKeyCacheComponent, "cache"),
	})
	if err != nil {
		return fmt.Errorf("%w: cache: %w", ErrConfig, err)
	}
	p.cache = c
	return nil
}

func (p *Proxy) setCORS(o CORSOptions) error {
	if o.Disabled {
		return nil
	}
	c, err := guard.NewCORS(guard.CORSOptions{Origins: o.Origins, Credentials: o.Credentials, MaxAge: o.MaxAge})
	if err != nil {
		return fmt.Errorf("%w: cors.%w", ErrConfig, err)
	}
	p.cors = c
	return nil
}

// dispatch sends a guarded request to the cache (bundles and remote
// config) or straight upstream.
func (p *Proxy) dispatch(w http.ResponseWriter, r *http.Request, st *forward.State) {
	if p.cache == nil || (st.Match.Kind != route.KindAssets && st.Match.Kind != route.KindConfig) {
		p.fwd.Forward(w, r, st)
		return
	}
	p.cache.Serve(w, r, st.Match, func(w http.ResponseWriter, fr *http.Request, background bool) {
		if !background {
			p.fwd.Forward(w, fr, st)
			return
		}
		// A refresh outlives the request: it gets its own state, so the
		// access log of the request that started it is not raced.
		bg := &forward.State{
			Match:          st.Match,
			ClientIP:       st.ClientIP,
			ForwardedProto: st.ForwardedProto,
			ForwardedHost:  st.ForwardedHost,
			RequestID:      st.RequestID,
		}
		p.fwd.Forward(w, fr, bg)
	})
}

// PurgeCache drops every cached answer whose canonical PostHog path (after
// the mount prefix and aliases, such as /static/ or /array/phc_x/) starts
// with prefix, and returns how many it dropped. "/" drops everything.
func (p *Proxy) PurgeCache(prefix string) int {
	if p.cache == nil {
		return 0
	}
	return p.cache.Purge(prefix)
}

// CacheStats returns the cache and CORS counters.
func (p *Proxy) CacheStats() CacheStats {
	var s CacheStats
	if p.cors != nil {
		s.CORSRejected = p.cors.Rejected()
	}
	if p.cache == nil {
		return s
	}
	c := p.cache.Stats()
	s.Enabled = true
	s.Hits, s.Misses, s.Revalidations = c.Hits, c.Misses, c.Revalidations
	s.Updating, s.Stale, s.Bypassed, s.Coalesced = c.Updating, c.Stale, c.Bypassed, c.Coalesced
	s.Evictions, s.Purged, s.Bytes, s.Entries = c.Evictions, c.Purged, c.Bytes, c.Entries
	return s
}

// logKeyCacheComponent names the component in the cache's log lines.
const logKeyCacheComponent = "component"

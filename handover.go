package edgehog

import (
	"net/http"
	"reflect"
	"slices"
)

// NewFrom builds a Proxy from cfg, like New, for a configuration reload:
// it takes over from prev the state that must outlive a configuration
// instead of building it afresh.
//
//   - The edge cache, when cfg's cache settings, kept cookies and upstreams
//     are prev's: stored bundles and remote config stay warm.
//   - The spool and its delivery loop, when cfg's spool settings, limits,
//     upstream connection settings and API upstream are prev's: queued
//     requests keep being delivered, and the spool's directory, which one
//     process may hold, is not opened twice.
//
// Whatever differs is built afresh from cfg (a changed spool whose
// directory prev still holds fails, as New would). Once NewFrom returns,
// prev keeps serving the requests it has, and its Close leaves what was
// taken over to the new Proxy. A nil prev makes NewFrom New.
func NewFrom(cfg Config, prev *Proxy) (*Proxy, error) {
	if prev == nil {
		return New(cfg)
	}
	old := prev.cfg
	api, assets, err := upstreams(cfg)
	if err != nil {
		return nil, err
	}
	sameUpstreams := api.String() == prev.api.String() && assets.String() == prev.assets.String()
	takeCache := prev.cache != nil && sameUpstreams &&
		reflect.DeepEqual(cfg.Cache, old.Cache) && slices.Equal(cfg.KeepCookies, old.KeepCookies)
	takeSpool := prev.spool != nil && api.String() == prev.api.String() &&
		reflect.DeepEqual(cfg.Spool, old.Spool) && cfg.Limits == old.Limits &&
		cfg.Upstream == old.Upstream && sameTransport(cfg.Transport, old.Transport)

	build := cfg
	if takeCache {
		build.Cache.Disabled = true
	}
	if takeSpool {
		build.Spool.Mode = SpoolOff
	}
	p, err := New(build)
	if err != nil {
		return nil, err
	}
	p.cfg = cfg
	if takeCache {
		p.cache = prev.cache
		prev.keepCache.Store(true)
	}
	if takeSpool {
		p.spool = prev.spool
		prev.keepSpool.Store(true)
	}
	return p, nil
}

// sameTransport reports whether a and b are the same RoundTripper; a
// RoundTripper of an incomparable type (a func) is never the same.
func sameTransport(a, b http.RoundTripper) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}

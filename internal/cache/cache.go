package cache

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgehog/edgehog/internal/route"
)

// HeaderName is the response field that says how the cache answered.
const HeaderName = "X-Edgehog-Cache"

// The values of HeaderName.
const (
	StateHit         = "HIT"         // served from memory, fresh
	StateMiss        = "MISS"        // fetched from upstream
	StateRevalidated = "REVALIDATED" // stored copy confirmed by upstream (304)
	StateUpdating    = "UPDATING"    // stale copy served while a background refresh runs
	StateStale       = "STALE"       // stale copy served because upstream failed
	StateBypass      = "BYPASS"      // request not eligible for the cache
)

// stateValues hold the field values ready to assign, so a hit allocates
// nothing for them. Nobody appends to them: header values are replaced.
var stateValues = map[string][]string{
	StateHit: {StateHit}, StateMiss: {StateMiss}, StateRevalidated: {StateRevalidated},
	StateUpdating: {StateUpdating}, StateStale: {StateStale}, StateBypass: {StateBypass},
}

// Options configure a Cache.
type Options struct {
	// MaxBytes bounds the memory held by stored answers (bodies, fields
	// and bookkeeping). It must be positive.
	MaxBytes int64
	// MaxEntryBytes bounds one stored answer; larger answers are streamed
	// and not stored. Zero means MaxBytes/8.
	MaxEntryBytes int64
	// StaleIfError bounds how long past its freshness a stored answer may
	// be served when upstream fails (RFC 5861); an upstream
	// stale-if-error shortens it. Zero or negative: never.
	StaleIfError time.Duration
	// StaleWhileRevalidate is how long past freshness a stored asset is
	// served while a background refresh runs, when upstream's
	// Cache-Control gives no stale-while-revalidate. Remote config never
	// gets this default. Zero or negative: none.
	StaleWhileRevalidate time.Duration
	// RefreshTimeout bounds a background refresh; zero means 30s.
	RefreshTimeout time.Duration
	// KeepCookies are the cookies forwarded upstream: a request carrying
	// one bypasses the cache, since upstream may answer it personally.
	KeepCookies []string
	// Logger receives background refresh failures at Debug; nil discards.
	Logger *slog.Logger
	// Now returns the time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// FetchFunc forwards r upstream and writes the answer to w. The cache
// calls it with r itself when a request bypasses the cache, and with its
// own requests for fills; background is true for refreshes no client
// waits on (r's context then belongs to the Cache).
type FetchFunc func(w http.ResponseWriter, r *http.Request, background bool)

// Cache is the in-memory cache. It is safe for concurrent use; Close stops
// its background refreshes.
type Cache struct {
	store    *store
	flights  flights
	policy   policy
	maxEntry int64
	refreshT time.Duration
	keep     map[string]bool
	log      *slog.Logger
	now      func() time.Time

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed against wg.Add after Close
	closed bool
	wg     sync.WaitGroup

	hits, misses, revalidations, updating, stale, bypassed, coalesced, purged atomic.Uint64
}

// Stats are the cache's counters since New, and its current size.
type Stats struct {
	Hits          uint64 // answered from memory, fresh (includes Coalesced)
	Misses        uint64 // fetched from upstream
	Revalidations uint64 // stored copies confirmed by a 304
	Updating      uint64 // stale copies served during a background refresh
	Stale         uint64 // stale copies served because upstream failed
	Bypassed      uint64 // requests not eligible (method, Authorization, kept cookie)
	Coalesced     uint64 // requests that waited for another request's fill
	Evictions     uint64 // entries dropped to stay within MaxBytes
	Purged        uint64 // entries dropped by Purge
	Bytes         int64  // memory charged now
	Entries       int64  // entries stored now
}

// New builds a Cache.
func New(o Options) (*Cache, error) {
	if o.MaxBytes <= 0 {
		return nil, errors.New("max bytes must be positive")
	}
	if o.MaxEntryBytes <= 0 {
		o.MaxEntryBytes = max(o.MaxBytes/8, 1)
	}
	if o.RefreshTimeout <= 0 {
		o.RefreshTimeout = 30 * time.Second
	}
	c := &Cache{
		store:    newStore(o.MaxBytes),
		policy:   policy{staleIfError: max(o.StaleIfError, 0), staleWhileRevalidate: max(o.StaleWhileRevalidate, 0)},
		maxEntry: min(o.MaxEntryBytes, o.MaxBytes),
		refreshT: o.RefreshTimeout,
		log:      o.Logger,
		now:      o.Now,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if len(o.KeepCookies) > 0 {
		c.keep = make(map[string]bool, len(o.KeepCookies))
		for _, k := range o.KeepCookies {
			c.keep[k] = true
		}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Close stops background refreshes and waits for them to end.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	b, n, ev := c.store.usage()
	return Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Revalidations: c.revalidations.Load(),
		Updating: c.updating.Load(), Stale: c.stale.Load(), Bypassed: c.bypassed.Load(),
		Coalesced: c.coalesced.Load(), Evictions: ev, Purged: c.purged.Load(),
		Bytes: b, Entries: n,
	}
}

// Purge drops every stored answer whose canonical PostHog path (such as
// /static/array.js or /array/phc_x/config.js) starts with prefix, and
// returns how many it dropped. Fills under way when it runs are served
// but not stored.
func (c *Cache) Purge(prefix string) int {
	n := c.store.purge(prefix)
	c.purged.Add(uint64(n))
	return n
}

// Eligible reports whether r may be answered from the cache: GET or HEAD,
// no Authorization, and no cookie the operator forwards upstream.
func (c *Cache) Eligible(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if _, ok := r.Header["Authorization"]; ok {
		return false
	}
	if c.keep != nil {
		for _, ck := range r.Cookies() {
			if c.keep[ck.Name] {
				return false
			}
		}
	}
	return true
}

// Serve answers r, routed as m, from the cache or through fetch.
func (c *Cache) Serve(w http.ResponseWriter, r *http.Request, m route.Match, fetch FetchFunc) {
	if !c.Eligible(r) || (m.Kind != route.KindAssets && m.Kind != route.KindConfig) {
		c.bypassed.Add(1)
		w.Header()[HeaderName] = stateValues[StateBypass]
		fetch(w, r, false)
		return
	}
	kh := keyHeader(r.Header, m.Kind)
	key := primaryKey(m, r.URL.RawQuery)
	now := c.now()
	want, accepted := fillCoding(kh)
	e := c.store.lookup(key, kh, want)
	if e != nil {
		age := e.age(now)
		switch {
		case e.fresh(age):
			c.hits.Add(1)
			c.write(w, r, e, age, StateHit)
			return
		case e.swr > 0 && age < e.lifetime+e.swr:
			c.updating.Add(1)
			c.write(w, r, e, age, StateUpdating)
			c.refresh(r, kh, m, key, e, fetch)
			return
		}
	}
	if r.Method == http.MethodHead && e == nil {
		// Nothing to revalidate and no body to store: pass it on.
		c.misses.Add(1)
		w.Header()[HeaderName] = stateValues[StateMiss]
		fetch(w, r, false)
		return
	}
	if e == nil && !accepted {
		// The client takes none of the codings the cache fetches.
		c.bypassed.Add(1)
		w.Header()[HeaderName] = stateValues[StateBypass]
		fetch(w, r, false)
		return
	}
	c.fill(w, r, kh, m, key, want, e, fetch)
}

// keyHeader is the request's fields as the cache keys on them and sends
// them upstream. For remote config the Referer is cut to its origin:
// PostHog varies the config on the site (Vary: Origin, Referer), and
// keying on each page's full URL would keep one copy per page.
func keyHeader(h http.Header, kind route.Kind) http.Header {
	if kind != route.KindConfig {
		return h
	}
	ref, ok := h["Referer"]
	if !ok {
		return h
	}
	o := ""
	if len(ref) > 0 {
		o = refererOrigin(ref[0])
	}
	if len(ref) == 1 && ref[0] == o {
		return h
	}
	kh := h.Clone()
	if o == "" {
		delete(kh, "Referer")
	} else {
		kh["Referer"] = []string{o}
	}
	return kh
}

// result is what a fill leaves for the requests that waited on it.
type result struct {
	entry  *entry // the stored or revalidated entry, if any
	state  string // StateMiss or StateRevalidated for entry
	errRes *held  // an upstream failure (5xx), kept whole
}

// held is a whole answer kept in memory.
type held struct {
	status int
	header http.Header
	body   []byte
}

// flightKey names the fills that concurrent requests can share: same
// resource, same coding asked for, same Origin (and, for config, the same
// Referer origin), the fields PostHog's answers vary on.
func flightKey(key, coding string, kh http.Header, kind route.Kind) string {
	var b strings.Builder
	b.WriteString(key)
	b.WriteByte(0)
	b.WriteString(coding)
	b.WriteByte(0)
	b.WriteString(varyValue(kh, "Origin"))
	if kind == route.KindConfig {
		b.WriteByte(0)
		b.WriteString(varyValue(kh, "Referer"))
	}
	return b.String()
}

// fill fetches the answer for r (a miss, or stale entry cand to
// revalidate), stores it when allowed and answers r, sharing the fetch
// with concurrent requests for the same thing.
func (c *Cache) fill(w http.ResponseWriter, r *http.Request, kh http.Header, m route.Match, key, coding string, cand *entry, fetch FetchFunc) {
	if cand != nil {
		coding = cand.coding
	}
	fk := flightKey(key, coding, kh, m.Kind)
	f, leader := c.flights.join(fk)
	if !leader {
		c.await(w, r, kh, key, coding, f, cand, fetch)
		return
	}
	var res *result
	defer func() {
		// Runs on the leader's panics too (a client gone mid-stream), so
		// that waiters never wait for ever.
		c.flights.finish(fk, f, res)
	}()
	out := c.fillRequest(r.Context(), r, kh, coding, cand)
	res, spilled := c.fetchFill(w, out, kh, m, key, cand, fetch, false)
	if spilled {
		c.misses.Add(1)
		return
	}
	c.answer(w, r, res, cand, fetch)
}

// answer serves the outcome of a fill to the request that led it.
func (c *Cache) answer(w http.ResponseWriter, r *http.Request, res *result, cand *entry, fetch FetchFunc) {
	now := c.now()
	switch {
	case res.entry != nil && codingQ(r.Header, res.entry.coding) > 0:
		if res.state == StateRevalidated {
			c.revalidations.Add(1)
		} else {
			c.misses.Add(1)
		}
		c.write(w, r, res.entry, res.entry.age(now), res.state)
	case res.errRes != nil && cand != nil && cand.servableStale(cand.age(now)):
		c.stale.Add(1)
		c.write(w, r, cand, cand.age(now), StateStale)
	case res.errRes != nil:
		c.misses.Add(1)
		writeHeld(w, r, res.errRes)
	default:
		c.misses.Add(1)
		// Nothing usable came back (the fill was cut short, or its answer
		// is not for this client's coding): forward r itself.
		w.Header()[HeaderName] = stateValues[StateMiss]
		fetch(w, r, false)
	}
}

// await waits for another request's fill and answers r with its outcome.
func (c *Cache) await(w http.ResponseWriter, r *http.Request, kh http.Header, key, want string, f *flight, cand *entry, fetch FetchFunc) {
	select {
	case <-f.done:
	case <-r.Context().Done():
		return // the client left; there is nobody to answer
	}
	res := f.res
	now := c.now()
	if res != nil && res.entry != nil {
		if e := c.store.lookup(key, kh, want); e != nil && (e == res.entry || e.fresh(e.age(now))) {
			c.hits.Add(1)
			c.coalesced.Add(1)
			c.write(w, r, e, e.age(now), StateHit)
			return
		}
	}
	if res != nil && res.errRes != nil {
		if cand != nil && cand.servableStale(cand.age(now)) {
			c.stale.Add(1)
			c.write(w, r, cand, cand.age(now), StateStale)
			return
		}
		c.misses.Add(1)
		writeHeld(w, r, res.errRes)
		return
	}
	// The answer could not be shared (not storable, too big, or the
	// leader's client left mid-way): fetch it for this client alone.
	c.misses.Add(1)
	w.Header()[HeaderName] = stateValues[StateMiss]
	fetch(w, r, false)
}

// fillRequest builds the upstream request of a fill: r's fields without
// the client's own conditionals, ranges and cache directives, asking for
// one coding, and with the stored validators when revalidating cand.
func (c *Cache) fillRequest(ctx context.Context, r *http.Request, kh http.Header, coding string, cand *entry) *http.Request {
	out := r.Clone(ctx)
	out.Method = http.MethodGet
	out.Body, out.ContentLength = http.NoBody, 0
	h := kh.Clone()
	for _, k := range []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range", "Cache-Control", "Pragma"} {
		delete(h, k)
	}
	h["Accept-Encoding"] = []string{acceptEncodingFor(coding)}
	if cand != nil {
		if cand.etag != "" {
			h["If-None-Match"] = []string{cand.etag}
		}
		if cand.lastMod != "" {
			h["If-Modified-Since"] = []string{cand.lastMod}
		}
	}
	out.Header = h
	return out
}

// fetchFill runs one fill and stores its answer when allowed. client is
// the leader's writer (nil in the background): answers that cannot be
// stored stream to it, and spilled says so.
func (c *Cache) fetchFill(client http.ResponseWriter, out *http.Request, kh http.Header, m route.Match, key string, cand *entry, fetch FetchFunc, background bool) (res *result, spilled bool) {
	gen := c.store.generation()
	reqTime := c.now()
	fw := &fillWriter{
		header: make(http.Header),
		limit:  c.maxEntry,
		client: client,
		hold: func(status int) bool {
			return isServerError(status) || (status == http.StatusNotModified && cand != nil)
		},
		storable: func(status int, h http.Header) bool {
			if cl := h.Get("Content-Length"); cl != "" {
				if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n > c.maxEntry {
					return false
				}
			}
			_, ok := c.policy.build(m.Kind, key, m.Path, kh, status, h, nil, reqTime, reqTime)
			return ok
		},
		onSpill: func(h http.Header) { h[HeaderName] = stateValues[StateMiss] },
	}
	fetch(fw, out, background)
	if fw.spilled() {
		if cand != nil {
			c.store.remove(cand) // upstream answers differently now
		}
		return &result{}, true
	}
	respTime := c.now()
	res = &result{}
	switch fw.mode {
	case modeHold:
		if fw.status == http.StatusNotModified {
			n := c.policy.revalidated(cand, m.Kind, fw.header, reqTime, respTime)
			// If cand was purged or evicted meanwhile, n still answers
			// this request; it is just not stored again. A 304 may also
			// forbid storing from now on.
			if d := ParseCacheControl(n.header); d.NoStore || d.Private {
				c.store.remove(cand)
			} else {
				c.store.replace(cand, n)
			}
			res.entry, res.state = n, StateRevalidated
			return res, false
		}
		res.errRes = &held{status: fw.status, header: fw.header, body: fw.body}
	case modeBuffer:
		e, ok := c.policy.build(m.Kind, key, m.Path, kh, fw.status, fw.header, fw.body, reqTime, respTime)
		if ok {
			e.askedFor = acceptEncodingCoding(out.Header)
			c.store.put(e, kh, gen, c.maxEntry)
			res.entry, res.state = e, StateMiss
		}
	case modeDiscard:
		if cand != nil {
			c.store.remove(cand) // upstream answers differently now
		}
	}
	return res, false
}

// acceptEncodingCoding is the coding a fill request asked for.
func acceptEncodingCoding(h http.Header) string {
	if ae := h.Get("Accept-Encoding"); ae != "identity" {
		return ae
	}
	return ""
}

func isServerError(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// refresh starts a background refresh of e unless one is under way.
func (c *Cache) refresh(r *http.Request, kh http.Header, m route.Match, key string, e *entry, fetch FetchFunc) {
	fk := flightKey(key, e.coding, kh, m.Kind)
	f, leader := c.flights.join(fk)
	if !leader {
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.flights.finish(fk, f, nil)
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, c.refreshT)
	out := c.fillRequest(ctx, r, kh, e.coding, e)
	go func() {
		defer c.wg.Done()
		defer cancel()
		var res *result
		defer func() { c.flights.finish(fk, f, res) }()
		res, _ = c.fetchFill(nil, out, kh, m, key, e, fetch, true)
		if res.errRes != nil {
			c.log.LogAttrs(ctx, slog.LevelDebug, "cache refresh failed",
				slog.String("path", m.Path), slog.Int("status", res.errRes.status))
		}
	}()
}

// write answers r from e: a 304 when the client's validators match,
// else the stored answer, with Age and HeaderName.
func (c *Cache) write(w http.ResponseWriter, r *http.Request, e *entry, age time.Duration, state string) {
	h := w.Header()
	for k, v := range e.header {
		h[k] = v
	}
	h["Age"] = []string{seconds(age)}
	h[HeaderName] = stateValues[state]
	if e.status == http.StatusOK && notModified(r.Header, e) {
		for k := range h {
			if !keptOn304[k] {
				delete(h, k)
			}
		}
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Length"] = e.contentLength
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead {
		// A write error means the client left; nothing to do about it.
		_, _ = w.Write(e.body)
	}
}

// writeHeld sends a kept upstream answer as it came.
func writeHeld(w http.ResponseWriter, r *http.Request, a *held) {
	h := w.Header()
	for k, v := range a.header {
		h[k] = v
	}
	h[HeaderName] = stateValues[StateMiss]
	h["Content-Length"] = []string{strconv.Itoa(len(a.body))}
	w.WriteHeader(a.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
}

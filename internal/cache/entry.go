package cache

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgehog/edgehog/internal/route"
)

// entry is one stored answer: one variant (Vary values and coding) of one
// upstream resource. Entries are never changed once stored; a
// revalidation stores a new entry that shares the body.
type entry struct {
	key, path string
	vary      []string // the Vary field names, without Accept-Encoding
	varyKey   string   // the request's values for vary when stored
	coding    string   // Content-Encoding, "" for identity
	// askedFor is the coding the fill asked for: an identity answer to a
	// request for a compressed one means upstream does not compress.
	askedFor string

	status        int
	header        http.Header // end-to-end fields to send; slices clipped
	body          []byte
	contentLength []string // len(body), preformatted
	etag, lastMod string
	size          int64 // bytes charged against the cache's bound

	// RFC 9111 §4.2.3: the corrected initial age and when it was measured.
	responseTime time.Time
	initialAge   time.Duration
	lifetime     time.Duration
	// noCache means every use needs a successful revalidation.
	noCache bool
	// swr and sie are how long past lifetime the entry may be served
	// while a background refresh runs, or when upstream fails.
	swr, sie time.Duration

	prev, next *entry // LRU list, guarded by the store's lock
}

// age is the entry's current age at now (RFC 9111 §4.2.3).
func (e *entry) age(now time.Time) time.Duration {
	return e.initialAge + max(now.Sub(e.responseTime), 0)
}

func (e *entry) fresh(age time.Duration) bool { return !e.noCache && age < e.lifetime }

// servableStale reports whether a stale entry of this age may stand in for
// an upstream error.
func (e *entry) servableStale(age time.Duration) bool {
	return e.sie > 0 && age < e.lifetime+e.sie
}

// storedStatuses are the statuses worth keeping: success, and the "gone"
// answers a missing bundle gets (the SDK then falls back to another URL;
// caching the 404 as long as upstream allows spares upstream the retries).
var storedStatuses = map[int]bool{
	http.StatusOK: true, http.StatusNonAuthoritativeInfo: true,
	http.StatusNotFound: true, http.StatusGone: true,
}

// droppedFields are never stored: CORS is edgehog's own (the stored
// answer serves every origin), Age is computed per answer,
// Content-Length is the stored body's, and hop-by-hop fields are the
// connection's.
var droppedFields = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
	"Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Expose-Headers", "Access-Control-Max-Age",
	"Access-Control-Allow-Private-Network",
	"Age", "Content-Length", "Set-Cookie", "Connection", "Keep-Alive",
	"Proxy-Connection", "Transfer-Encoding", "Trailer", "Upgrade",
	// Each answer carries its own request's ID and cache state.
	"X-Request-Id", HeaderName,
}

// policy holds the cache-wide settings entries are built with.
type policy struct {
	staleIfError         time.Duration // bound; 0 none
	staleWhileRevalidate time.Duration // default for assets; 0 none
}

// immutableTTL is how long a versioned bundle stays fresh here: its bytes
// cannot change, so the bound is eviction, not time.
const immutableTTL = 365 * 24 * time.Hour

// build turns an upstream answer into an entry; false when it must not
// be stored (RFC 9111 §3 plus edgehog's own rules).
func (p policy) build(kind route.Kind, key, path string, reqHeader http.Header, status int, h http.Header, body []byte, reqTime, respTime time.Time) (*entry, bool) {
	if !storedStatuses[status] {
		return nil, false
	}
	if _, ok := h["Set-Cookie"]; ok {
		return nil, false
	}
	d := ParseCacheControl(h)
	if d.NoStore || d.Private {
		return nil, false
	}
	vary, ok := parseVary(h)
	if !ok {
		return nil, false
	}
	e := &entry{
		key: key, path: path, vary: vary, varyKey: varyKey(reqHeader, vary),
		coding: contentCoding(h), status: status, body: body,
		etag: h.Get("ETag"), lastMod: h.Get("Last-Modified"),
	}
	e.header = storedHeader(h)
	e.contentLength = []string{strconv.Itoa(len(body))}
	p.setTimes(e, kind, d, h, reqTime, respTime)
	useful := e.lifetime > 0 || e.sie > 0 || e.etag != "" || e.lastMod != ""
	if !useful {
		return nil, false
	}
	if status != http.StatusOK && e.lifetime <= 0 {
		// A "not found" is kept only as long as upstream says: without
		// that it could hide a bundle published a moment later.
		return nil, false
	}
	e.size = entrySize(e)
	return e, true
}

// setTimes computes the entry's age, lifetime and stale windows from the
// answer's fields.
func (p policy) setTimes(e *entry, kind route.Kind, d Directives, h http.Header, reqTime, respTime time.Time) {
	date, dateErr := http.ParseTime(h.Get("Date"))
	if dateErr != nil {
		date = respTime
	}
	ageValue, _ := parseDelta(strings.TrimSpace(h.Get("Age")))
	apparent := max(respTime.Sub(date), 0)
	corrected := ageValue + max(respTime.Sub(reqTime), 0)
	e.responseTime = respTime
	e.initialAge = max(apparent, corrected)

	// A shared cache prefers s-maxage (RFC 9111 §4.2.1).
	switch {
	case d.Invalid:
		e.lifetime = 0
	case d.SMaxAge >= 0:
		e.lifetime = d.SMaxAge
	case d.MaxAge >= 0:
		e.lifetime = d.MaxAge
	case h.Get("Expires") != "":
		if exp, err := http.ParseTime(h.Get("Expires")); err == nil {
			e.lifetime = max(exp.Sub(date), 0)
		}
	}
	e.noCache = d.NoCache
	// must-revalidate, proxy-revalidate and s-maxage forbid serving stale
	// (RFC 9111 §4.2.4, §5.2.2.10), and no-cache forbids any use without
	// revalidation.
	staleOK := !d.NoCache && !d.MustRevalidate && !d.ProxyRevalidate && d.SMaxAge < 0
	if staleOK && kind == route.KindAssets && e.status == http.StatusOK && isVersioned(e.path) {
		e.lifetime = max(e.lifetime, immutableTTL)
	}
	if !staleOK {
		return
	}
	switch {
	case d.StaleWhileRevalidate >= 0:
		e.swr = d.StaleWhileRevalidate
	case kind == route.KindAssets:
		// Remote config gets no default: it is never served older than
		// upstream says except when upstream fails.
		e.swr = p.staleWhileRevalidate
	}
	e.sie = p.staleIfError
	if d.StaleIfError >= 0 {
		e.sie = min(e.sie, d.StaleIfError)
	}
}

// contentCoding returns the answer's Content-Encoding, "" for identity.
func contentCoding(h http.Header) string {
	c := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
	if c == "identity" {
		return ""
	}
	return c
}

// storedHeader copies the fields to store, each slice clipped so that a
// handler appending to a served header cannot write into the entry.
func storedHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		out[k] = slices.Clip(slices.Clone(v))
	}
	for _, k := range droppedFields {
		delete(out, k)
	}
	return out
}

// entryOverhead approximates the bookkeeping of one entry beyond its body
// and fields.
const entryOverhead = 256

func entrySize(e *entry) int64 {
	n := int64(len(e.body) + len(e.key) + len(e.varyKey) + entryOverhead)
	for k, vs := range e.header {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// notUpdated are the fields a 304 never changes in the stored answer
// (RFC 9111 §3.2 and §4.3.4).
var notUpdated = map[string]bool{
	"Content-Length": true, "Content-Encoding": true, "Content-Type": true,
	"Content-Range": true, "Transfer-Encoding": true,
}

// revalidated returns a copy of e refreshed by a 304 answer's fields.
func (p policy) revalidated(e *entry, kind route.Kind, h http.Header, reqTime, respTime time.Time) *entry {
	merged := e.header.Clone()
	for k, v := range storedHeader(h) {
		if !notUpdated[k] {
			merged[k] = v
		}
	}
	for k, v := range merged {
		merged[k] = slices.Clip(v)
	}
	// Field by field: prev and next belong to the store's lock.
	n := entry{
		key: e.key, path: e.path, vary: e.vary, varyKey: e.varyKey,
		coding: e.coding, askedFor: e.askedFor, status: e.status,
		body: e.body, contentLength: e.contentLength,
	}
	n.header = merged
	n.etag, n.lastMod = merged.Get("ETag"), merged.Get("Last-Modified")
	n.lifetime, n.swr, n.sie = 0, 0, 0
	withAge := merged
	if a := h.Get("Age"); a != "" {
		withAge = merged.Clone()
		withAge.Set("Age", a)
	}
	p.setTimes(&n, kind, ParseCacheControl(merged), withAge, reqTime, respTime)
	n.size = entrySize(&n)
	return &n
}

package guard

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// CORSOptions configure a CORS policy.
type CORSOptions struct {
	// Origins are the allowed origins: exact ("https://www.example.com"),
	// wildcard subdomains ("https://*.example.com": any subdomain, at any
	// depth, but not example.com itself), or "*" to mirror any origin, as
	// PostHog capture does. Empty means "*".
	Origins []string
	// Credentials adds Access-Control-Allow-Credentials: true, for clients
	// that send cookies cross-origin (posthog-js ≤ 1.384.2 over XHR).
	// With "*", only a real origin is mirrored, never "null".
	Credentials bool
	// MaxAge is how long browsers may cache a preflight's answer; zero
	// means 10 minutes, negative sends no Access-Control-Max-Age.
	MaxAge time.Duration
}

// DefaultCORSMaxAge is the preflight cache time when none is configured.
const DefaultCORSMaxAge = 10 * time.Minute

// corsMethods are what PostHog's SDKs send (protocol.md §1).
const corsMethods = "GET, HEAD, POST, OPTIONS"

// maxRequestHeaders bounds the Access-Control-Request-Headers mirrored.
const maxRequestHeaders = 1024

// CORS is a compiled CORS policy. It is safe for concurrent use.
type CORS struct {
	any         bool
	exact       map[string]bool
	wildcards   []wildcardOrigin
	credentials bool
	maxAge      []string // the preformatted field value; nil for none
	rejected    atomic.Uint64
}

// wildcardOrigin is "scheme://*.suffix[:port]".
type wildcardOrigin struct {
	scheme, suffix, port string // suffix starts with "."
}

// ErrOrigin is wrapped by errors about configured origins.
var ErrOrigin = errors.New("not an origin")

// NewCORS compiles a policy.
func NewCORS(o CORSOptions) (*CORS, error) {
	c := &CORS{exact: map[string]bool{}, credentials: o.Credentials}
	switch {
	case o.MaxAge == 0:
		c.maxAge = []string{strconv.Itoa(int(DefaultCORSMaxAge / time.Second))}
	case o.MaxAge > 0:
		c.maxAge = []string{strconv.FormatInt(int64(o.MaxAge/time.Second), 10)}
	}
	if len(o.Origins) == 0 {
		c.any = true
	}
	for i, s := range o.Origins {
		if s == "*" {
			c.any = true
			continue
		}
		w, exact, err := ParseOriginPattern(s)
		if err != nil {
			return nil, fmt.Errorf("origins[%d]: %w", i, err)
		}
		if w != nil {
			c.wildcards = append(c.wildcards, *w)
		} else {
			c.exact[exact] = true
		}
	}
	return c, nil
}

// ParseOriginPattern vets one configured origin: an exact origin comes
// back normalised (lower case, default port dropped), a wildcard as a
// pattern.
func ParseOriginPattern(s string) (*wildcardOrigin, string, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "http" && scheme != "https") || rest == "" || strings.ContainsAny(rest, "/?#@ ") {
		return nil, "", fmt.Errorf("%w: %q must be scheme://host[:port], like https://www.example.com or https://*.example.com", ErrOrigin, s)
	}
	if suffix, ok := strings.CutPrefix(rest, "*."); ok {
		host, port := splitPort(strings.ToLower(suffix))
		if host == "" || strings.Contains(host, "*") || !validOriginHost(host) {
			return nil, "", fmt.Errorf("%w: %q: a wildcard is \"*.\" followed by a domain", ErrOrigin, s)
		}
		return &wildcardOrigin{scheme: scheme, suffix: "." + host, port: normPort(scheme, port)}, "", nil
	}
	norm, ok := normalizeOrigin(s)
	if !ok {
		return nil, "", fmt.Errorf("%w: %q must be scheme://host[:port], like https://www.example.com or https://*.example.com", ErrOrigin, s)
	}
	return nil, norm, nil
}

// normalizeOrigin returns the origin in lower case without its default
// port or a trailing slash, or false if it is not a serialised http(s)
// origin (RFC 6454 §6.2). It parses by hand, without allocating when the
// origin is already in that form, which browsers' Origin fields are.
func normalizeOrigin(s string) (string, bool) {
	if len(s) > 512 {
		return "", false
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "", false
	}
	lower := strings.ToLower(scheme)
	if lower != "http" && lower != "https" {
		return "", false
	}
	trimmed := strings.TrimSuffix(rest, "/")
	if trimmed == "" || strings.ContainsAny(trimmed, "/?#@\\%") {
		return "", false
	}
	lrest := strings.ToLower(trimmed)
	host, port := splitPort(lrest)
	if host == "" || !validOriginHost(host) {
		return "", false
	}
	if port != "" {
		if len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return "", false
		}
		if n, err := strconv.Atoi(port); err != nil || n > 65535 {
			return "", false
		}
	}
	if np := normPort(lower, port); lower == scheme && lrest == rest && np == port {
		return s, true // already normal: no allocation
	}
	scheme, port = lower, normPort(lower, port)
	norm := scheme + "://" + host
	if port != "" {
		norm += ":" + port
	}
	return norm, true
}

func splitPort(hostport string) (host, port string) {
	if strings.HasPrefix(hostport, "[") {
		i := strings.IndexByte(hostport, ']')
		if i < 0 {
			return "", ""
		}
		host, rest := hostport[:i+1], hostport[i+1:]
		if p, ok := strings.CutPrefix(rest, ":"); ok {
			return host, p
		}
		if rest != "" {
			return "", ""
		}
		return host, ""
	}
	host, port, _ = strings.Cut(hostport, ":")
	return host, port
}

func normPort(scheme, port string) string {
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return ""
	}
	return port
}

// validOriginHost accepts DNS names, IPv4 and bracketed IPv6 literals.
func validOriginHost(h string) bool {
	if strings.HasPrefix(h, "[") {
		return strings.HasSuffix(h, "]") && len(h) > 2 && strings.Trim(h[1:len(h)-1], "0123456789abcdef:.") == ""
	}
	if strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// Allowed reports whether origin (an Origin field value) may read answers.
func (c *CORS) Allowed(origin string) bool {
	if origin == "null" {
		// Sandboxed frames and file: pages; never with credentials.
		return c.any && !c.credentials
	}
	norm, ok := normalizeOrigin(origin)
	if !ok {
		return false
	}
	if c.any || c.exact[norm] {
		return true
	}
	scheme, rest, _ := strings.Cut(norm, "://")
	host, port := splitPort(rest)
	for _, w := range c.wildcards {
		if w.scheme == scheme && w.port == port && len(host) > len(w.suffix) && strings.HasSuffix(host, w.suffix) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether origin names the host the request was sent
// to: a same-origin request needs no CORS answer and is not a refusal.
func sameOrigin(origin, host string) bool {
	_, rest, ok := strings.Cut(origin, "://")
	return ok && host != "" && strings.EqualFold(rest, host)
}

// IsPreflight reports whether r is a CORS preflight (Fetch standard
// §4.8): OPTIONS with Origin and Access-Control-Request-Method.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// Preflight answers a preflight: 204 with the allowed methods, the
// requested headers mirrored and Max-Age for an allowed origin; 403 with
// no CORS fields for any other (counted in Rejected). It reports whether
// the origin was allowed.
func (c *CORS) Preflight(w http.ResponseWriter, r *http.Request) (allowed bool) {
	h := w.Header()
	h["Vary"] = []string{"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}
	origin := r.Header.Get("Origin")
	if !c.Allowed(origin) && !sameOrigin(origin, r.Host) {
		c.rejected.Add(1)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("origin not allowed\n"))
		return false
	}
	h["Access-Control-Allow-Origin"] = []string{origin}
	if c.credentials {
		h["Access-Control-Allow-Credentials"] = []string{"true"}
	}
	h["Access-Control-Allow-Methods"] = []string{corsMethods}
	if rh := requestHeaders(r.Header); rh != "" {
		h["Access-Control-Allow-Headers"] = []string{rh}
	}
	if c.maxAge != nil {
		h["Access-Control-Max-Age"] = c.maxAge
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// requestHeaders returns the preflight's Access-Control-Request-Headers as
// one list of field names, or "" if it is empty or not a list of tokens.
func requestHeaders(h http.Header) string {
	vs := h.Values("Access-Control-Request-Headers")
	if len(vs) == 0 {
		return ""
	}
	s := strings.Join(vs, ", ")
	if len(s) > maxRequestHeaders {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isTokenChar(c) || c == ',' || c == ' ' || c == '\t') {
			return ""
		}
	}
	return s
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Apply sets the CORS fields of an actual answer for a request with the
// given Origin and Host: upstream's Access-Control-* fields are removed
// first, so exactly one Access-Control-Allow-Origin goes out. It adds
// Origin to Vary, since the answer depends on it. A disallowed origin
// gets no CORS fields and is counted.
func (c *CORS) Apply(h http.Header, origin, host string) {
	for _, k := range responseFields {
		delete(h, k)
	}
	addVaryOrigin(h)
	if origin == "" {
		return
	}
	if !c.Allowed(origin) {
		if !sameOrigin(origin, host) {
			c.rejected.Add(1)
		}
		return
	}
	h["Access-Control-Allow-Origin"] = []string{origin}
	if c.credentials {
		h["Access-Control-Allow-Credentials"] = []string{"true"}
	}
}

// responseFields are the CORS response fields (Fetch standard §3.2.3), as
// canonical keys, that upstream's answer may carry and edgehog replaces.
var responseFields = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
	"Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Max-Age", "Access-Control-Expose-Headers",
	"Access-Control-Allow-Private-Network",
}

// Rejected returns how many requests came from a disallowed origin.
func (c *CORS) Rejected() uint64 { return c.rejected.Load() }

var varyOrigin = []string{"Origin"}

// addVaryOrigin adds Origin to Vary unless it is listed (or "*" is).
func addVaryOrigin(h http.Header) {
	vs := h["Vary"]
	for _, v := range vs {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.EqualFold(t, "Origin") {
				return
			}
		}
	}
	if len(vs) == 0 {
		// Shared: its capacity is its length, so an append elsewhere
		// copies it rather than writing into it.
		h["Vary"] = varyOrigin[:1:1]
		return
	}
	h["Vary"] = []string{strings.Join(vs, ", ") + ", Origin"}
}

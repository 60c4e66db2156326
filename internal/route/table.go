package route

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Options configures a Table.
type Options struct {
	// Prefix is the mount prefix stripped before routing, such as "/ph".
	// Empty or "/" mounts edgehog at the root.
	Prefix string
	// Hosts restricts edgehog to these host names, each with its own prefix.
	// Empty means every host is served with Prefix.
	Hosts []Host
	// Aliases map custom paths to canonical PostHog paths.
	Aliases []Alias
}

// Host is one served host name. Name is matched case-insensitively, without
// the port; "*.example.com" matches every subdomain of example.com (but not
// example.com itself). An empty Prefix means Options.Prefix.
type Host struct {
	Name   string
	Prefix string
}

// Alias maps the custom path From to the canonical PostHog path To, so that a
// site can rename paths that blockers know (the SDK side is posthog-js's
// rewriteRequestPath). An exact alias ("/k/" → "/e/") matches both slash forms
// and keeps the request's form. A prefix alias ends in "*" on both sides
// ("/cdn/*" → "/static/*") and keeps the rest of the path.
type Alias struct {
	From string
	To   string
}

// Match is the routing decision for one request.
type Match struct {
	Kind     Kind
	Upstream Upstream
	// Path is the escaped canonical path to forward upstream.
	Path string
	// Prefix is the mount prefix that was stripped ("" at the root).
	Prefix string
}

// Table is a compiled routing table. It is safe for concurrent use.
type Table struct {
	prefix   string
	hosts    []host
	anyHost  bool
	exact    map[string]string // alias From without trailing slash → To without
	prefixes []prefixAlias
}

type host struct {
	name     string // lower case; for wildcards the suffix including the dot
	wildcard bool
	prefix   string
}

type prefixAlias struct{ from, to string }

// ErrInvalid is wrapped by every error New returns.
var ErrInvalid = errors.New("invalid route")

// New compiles a routing table.
func New(o Options) (*Table, error) {
	t := &Table{exact: map[string]string{}}
	var err error
	if t.prefix, err = cleanPrefix(o.Prefix); err != nil {
		return nil, fmt.Errorf("prefix: %w", err)
	}
	t.anyHost = len(o.Hosts) == 0
	for i, h := range o.Hosts {
		name := strings.ToLower(strings.TrimSpace(h.Name))
		if name == "" || strings.ContainsAny(name, "/:@ ") {
			return nil, invalidf("hosts[%d].host: %q is not a host name", i, h.Name)
		}
		hh := host{name: name, prefix: t.prefix}
		if strings.HasPrefix(name, "*.") {
			hh.wildcard, hh.name = true, name[1:]
		} else if strings.Contains(name, "*") {
			return nil, invalidf("hosts[%d].host: %q: a wildcard must be the whole first label (*.example.com)", i, h.Name)
		}
		if h.Prefix != "" {
			if hh.prefix, err = cleanPrefix(h.Prefix); err != nil {
				return nil, fmt.Errorf("hosts[%d].prefix: %w", i, err)
			}
		}
		t.hosts = append(t.hosts, hh)
	}
	for i, a := range o.Aliases {
		if err := t.addAlias(a); err != nil {
			return nil, fmt.Errorf("aliases[%d].%w", i, err)
		}
	}
	return t, nil
}

func cleanPrefix(p string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "" || p == "/" {
		return "", nil
	}
	if p[0] != '/' {
		return "", invalidf("%q must start with /", p)
	}
	if strings.ContainsAny(p, "?#%*\\ ") || strings.Contains(p, "//") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
		return "", invalidf("%q must be a plain path", p)
	}
	return strings.TrimSuffix(p, "/"), nil
}

func (t *Table) addAlias(a Alias) error {
	from, to := strings.TrimSpace(a.From), strings.TrimSpace(a.To)
	if !strings.HasPrefix(from, "/") || len(from) < 2 {
		return invalidf("from: %q must be a path below /", a.From)
	}
	if !strings.HasPrefix(to, "/") || len(to) < 2 {
		return invalidf("to: %q must be a canonical PostHog path", a.To)
	}
	if strings.ContainsAny(from+to, "?#%\\ ") {
		return invalidf("from: %q → %q: both must be plain paths (no ?, #, %%, \\ or spaces)", a.From, a.To)
	}
	fromStar, toStar := strings.HasSuffix(from, "*"), strings.HasSuffix(to, "*")
	if fromStar != toStar {
		return invalidf("to: %q → %q: a prefix alias ends in * on both sides", a.From, a.To)
	}
	if fromStar {
		f, tt := strings.TrimSuffix(from, "*"), strings.TrimSuffix(to, "*")
		if strings.Contains(f, "*") || strings.Contains(tt, "*") || !strings.HasSuffix(f, "/") || !strings.HasSuffix(tt, "/") {
			return invalidf("from: %q → %q: a prefix alias looks like /name/*", a.From, a.To)
		}
		for _, p := range t.prefixes {
			if p.from == f {
				return invalidf("from: %q is aliased twice", a.From)
			}
		}
		t.prefixes = append(t.prefixes, prefixAlias{from: f, to: tt})
		return nil
	}
	if strings.Contains(from+to, "*") {
		return invalidf("from: %q → %q: * may only end a prefix alias", a.From, a.To)
	}
	f, tt := trimSlash(from), trimSlash(to)
	if _, dup := t.exact[f]; dup {
		return invalidf("from: %q is aliased twice", a.From)
	}
	if k, _ := Classify(f); k != KindOther && f != tt {
		return invalidf("from: %q is itself a PostHog path; aliasing it would hide that endpoint", a.From)
	}
	t.exact[f] = tt
	return nil
}

func trimSlash(p string) string {
	if len(p) > 1 && p[len(p)-1] == '/' {
		return p[:len(p)-1]
	}
	return p
}

// Match routes a request by its Host header value and escaped path. It
// reports false when the request is not for edgehog: another host, or a path
// outside the mount prefix.
func (t *Table) Match(hostport, path string) (Match, bool) {
	prefix, ok := t.prefixFor(hostport)
	if !ok {
		return Match{}, false
	}
	rest, ok := stripPrefix(path, prefix)
	if !ok {
		return Match{}, false
	}
	rest = t.unalias(rest)
	k, u := Classify(rest)
	return Match{Kind: k, Upstream: u, Path: rest, Prefix: prefix}, true
}

func (t *Table) prefixFor(hostport string) (string, bool) {
	if t.anyHost {
		return t.prefix, true
	}
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(h, ".")
	for _, c := range t.hosts {
		if c.wildcard {
			if len(h) > len(c.name) && hasSuffixFold(h, c.name) {
				return c.prefix, true
			}
		} else if strings.EqualFold(h, c.name) {
			return c.prefix, true
		}
	}
	return "", false
}

func hasSuffixFold(s, suffix string) bool {
	return strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// stripPrefix removes prefix from path: "/ph/e/" → "/e/", "/ph" → "/".
func stripPrefix(path, prefix string) (string, bool) {
	if prefix == "" {
		if path == "" {
			return "/", true
		}
		return path, true
	}
	if !strings.HasPrefix(path, prefix) {
		return "", false
	}
	rest := path[len(prefix):]
	if rest == "" {
		return "/", true
	}
	if rest[0] != '/' {
		return "", false
	}
	return rest, true
}

func (t *Table) unalias(p string) string {
	if len(t.exact) > 0 {
		trimmed := trimSlash(p)
		if to, ok := t.exact[trimmed]; ok {
			if trimmed != p {
				return to + "/"
			}
			return to
		}
	}
	for _, a := range t.prefixes {
		if strings.HasPrefix(p, a.from) {
			return a.to + p[len(a.from):]
		}
	}
	return p
}

package config

import (
	"fmt"
	"strings"

	"github.com/edgehog/edgehog/internal/guard"
	"github.com/edgehog/edgehog/internal/route"
)

// RouteRow is one line of the route table: a public path and where edgehog
// sends it.
type RouteRow struct {
	// Host is the served host name; "*" when every host is served.
	Host string
	// Path is the public path: mount prefix and pattern. A pattern ending
	// in "*" covers every path below.
	Path string
	// Alias is, for an alias, the canonical PostHog path it maps to; empty
	// for a canonical path.
	Alias string
	// Kind is the endpoint kind the path is routed as.
	Kind route.Kind
	// Upstream is the URL requests are forwarded to.
	Upstream string
	// Exposed reports whether the path is forwarded at all: with exposure
	// "public", paths PostHog's SDKs do not call get 404 from edgehog.
	Exposed bool
}

// canonicalPatterns are the PostHog paths of protocol.md §1, in the order
// the route table lists them; "/*" stands for everything else.
func canonicalPatterns() []string {
	return []string{
		"/e/", "/i/v0/e/", "/batch/", "/capture/", "/track/", "/engage/",
		"/s/", "/i/v0/ai/*", "/i/v1/analytics/events",
		"/i/v1/logs", "/i/v1/metrics", "/i/v1/traces",
		"/flags/", "/decide/", "/flags/definitions", "/api/feature_flag/local_evaluation",
		// The Django endpoints the SDKs call, then the rest of the API.
		"/api/surveys/*", "/api/early_access_features/*", "/api/web_experiments/*",
		"/api/product_tours/*", "/api/conversations/*",
		"/api/projects/@current/feature_flags/*/remote_config",
		"/api/*", "/site_app/*", "/report", "/static/*", "/array/*",
		"/*",
	}
}

// RouteTable lists, for every served host, the canonical PostHog paths and
// then the aliases, each with its kind, upstream URL and exposure. Each row
// is checked against a route.Table built from f, so the table shows what
// edgehog really does. It fails when f's routing settings are invalid.
func RouteTable(f File) ([]RouteRow, error) {
	p := f.Proxy
	exposure, err := guard.ParseExposure(p.Exposure)
	if err != nil {
		return nil, &Error{Field: "exposure", Msg: err.Error()}
	}
	hosts := make([]route.Host, len(p.Hosts))
	for i, h := range p.Hosts {
		hosts[i] = route.Host{Name: h.Name, Prefix: h.Prefix}
	}
	aliases := make([]route.Alias, len(p.Aliases))
	for i, a := range p.Aliases {
		aliases[i] = route.Alias{From: a.From, To: a.To}
	}
	table, err := route.New(route.Options{Prefix: p.Prefix, Hosts: hosts, Aliases: aliases})
	if err != nil {
		return nil, invalidError{err}
	}
	api, assets, err := p.Upstreams()
	if err != nil {
		return nil, invalidError{err}
	}
	type served struct{ name, sample, prefix string }
	var all []served
	if len(p.Hosts) == 0 {
		all = append(all, served{"*", "example.com", cleanPrefix(p.Prefix)})
	}
	for _, h := range p.Hosts {
		all = append(all, served{h.Name, strings.Replace(h.Name, "*", "x", 1), f.hostPrefix(h)})
	}

	var rows []RouteRow
	add := func(h served, from, to string) error {
		sample := strings.Replace(from, "*", "x", 1)
		if from == "/*" {
			sample = "/other"
		}
		m, ok := table.Match(h.sample, h.prefix+sample)
		if !ok {
			return fmt.Errorf("route table: %s%s%s is not routed", h.name, h.prefix, from)
		}
		base := api
		if m.Upstream == route.UpstreamAssets {
			base = assets
		}
		row := RouteRow{
			Host:     h.name,
			Path:     h.prefix + from,
			Kind:     m.Kind,
			Upstream: strings.TrimSuffix(redactURL(base), "/") + to,
			Exposed:  guard.Exposed(exposure, m.Kind, m.Path),
		}
		if from != to {
			row.Alias = to
		}
		rows = append(rows, row)
		return nil
	}
	for _, h := range all {
		for _, pat := range canonicalPatterns() {
			if err := add(h, pat, pat); err != nil {
				return nil, err
			}
		}
		for _, a := range p.Aliases {
			if err := add(h, strings.TrimSpace(a.From), strings.TrimSpace(a.To)); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
}

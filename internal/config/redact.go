package config

import (
	"bytes"
	"cmp"
	"net/url"
	"strconv"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/route"
	"gopkg.in/yaml.v3"
)

// Redacted renders the effective configuration as YAML in the format Parse
// reads: every key, with defaults filled in and upstreams resolved from the
// region. Secrets are masked: a password in an upstream URL shows as
// "xxxxx". (Cookie settings hold only names, which are not secret.)
func (f File) Redacted() string { return f.render(true) }

// render renders the effective configuration; comments say where derived
// values come from.
func (f File) render(comments bool) string {
	p, s := f.Proxy, f.Server
	comment := func(n *yaml.Node, c string) *yaml.Node {
		if comments && c != "" {
			n.LineComment = "# " + c
		}
		return n
	}
	api, assets := f.Upstreams()
	root := mapping(
		"listen", str(s.Listen),
		"region", comment(str(p.Region), ifThen(p.API != "", "ignored: upstream.api is set")),
		"prefix", str(rootPath(p.Prefix)),
		"exposure", str(p.Exposure),
		"forwarded_headers", str(p.ForwardedHeaders),
		"upstream", mapping(
			"api", comment(str(redactURL(api)), ifThen(p.API == "", "from region "+p.Region)),
			"assets", comment(str(redactURL(assets)), assetsOrigin(p.API, p.Assets, p.Region)),
			"dial_timeout", dur(p.Upstream.DialTimeout),
			"tls_handshake_timeout", dur(p.Upstream.TLSHandshakeTimeout),
			"response_header_timeout", dur(p.Upstream.ResponseHeaderTimeout),
			"flags_timeout", dur(p.Upstream.FlagsTimeout),
			"idle_conn_timeout", dur(p.Upstream.IdleConnTimeout),
			"conn_max_age", dur(p.Upstream.ConnMaxAge),
			"max_idle_conns_per_host", num(int64(p.Upstream.MaxIdleConnsPerHost)),
			"http2", comment(boolean(!p.Upstream.DisableHTTP2), "https:// upstreams that offer it; HTTP/1.1 otherwise"),
			"ca_file", comment(str(p.Upstream.CAFile), ifThen(p.Upstream.CAFile == "", "the system's roots")),
		),
		"hosts", f.renderHosts(comment),
		"aliases", f.renderAliases(),
		"cookies", mapping("keep", flow(strList(p.KeepCookies))),
		"client_ip", mapping(
			"trusted_proxies", flow(strList(p.ClientIP.TrustedProxies)),
			"trust_all_proxies", boolean(p.ClientIP.TrustAllProxies),
			"header", comment(str(p.ClientIP.Header), ifThen(p.ClientIP.Header == "", "X-Forwarded-For")),
			"truncate", boolean(p.ClientIP.Truncate),
		),
		"limits", mapping(
			"events", size(p.Limits.Events),
			"batch", size(p.Limits.Batch),
			"recordings", size(p.Limits.Recordings),
			"ai", size(p.Limits.AI),
			"flags", size(p.Limits.Flags),
			"other", size(p.Limits.Other),
		),
		"rate_limit", mapping(
			"kinds", renderRates(p.RateLimit.Kinds),
			"max_clients", num(int64(p.RateLimit.MaxClients)),
		),
		"cache", renderCache(p.Cache),
		"cors", renderCORS(p.CORS),
		"spool", renderSpool(p.Spool, comment),
		"tls", f.renderTLS(comment),
		"http_redirect_listen", comment(str(s.RedirectListen), ifThen(s.RedirectListen == "", "none")),
		"server", mapping(
			"read_header_timeout", dur(s.ReadHeaderTimeout),
			"read_timeout", dur(s.ReadTimeout),
			"write_timeout", dur(s.WriteTimeout),
			"idle_timeout", dur(s.IdleTimeout),
			"max_header_bytes", size(int64(s.MaxHeaderBytes)),
			"shutdown_timeout", dur(s.ShutdownTimeout),
			"health_path", str(s.HealthPath),
			"ready_path", str(s.ReadyPath),
			"pid_file", comment(str(s.PidFile), ifThen(s.PidFile == "", "none")),
			"engine", str(s.Engine),
		),
		"admin", renderAdmin(f.Admin, comment),
		"log", mapping(
			"level", str(f.Log.Level),
			"format", str(f.Log.Format),
			"access", boolean(f.Log.Access),
		),
	)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		// The tree is built above from strings and numbers only.
		panic("config: encoding the effective configuration: " + err.Error())
	}
	enc.Close()
	return b.String()
}

func (f File) renderHosts(comment func(*yaml.Node, string) *yaml.Node) *yaml.Node {
	l := &yaml.Node{Kind: yaml.SequenceNode}
	for _, h := range f.Proxy.Hosts {
		l.Content = append(l.Content, mapping(
			"host", str(h.Name),
			"prefix", comment(str(rootPath(cmp.Or(h.Prefix, f.Proxy.Prefix))), ifThen(h.Prefix == "", "inherited")),
		))
	}
	return flowIfEmpty(l)
}

func (f File) renderAliases() *yaml.Node {
	l := &yaml.Node{Kind: yaml.SequenceNode}
	for _, a := range f.Proxy.Aliases {
		l.Content = append(l.Content, mapping("from", str(a.From), "to", str(a.To)))
	}
	return flowIfEmpty(l)
}

// renderRates renders rate_limit.kinds in the order of route.Kinds.
func renderRates(rates map[string]edgehog.Rate) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range route.Kinds() {
		r, ok := rates[k.String()]
		if !ok {
			continue
		}
		// No tag: 50 renders as 50, not !!float 50.
		v := mapping("per_second", &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatFloat(r.PerSecond, 'g', -1, 64)})
		if r.Burst != 0 {
			v.Content = append(v.Content, str("burst"), num(int64(r.Burst)))
		}
		m.Content = append(m.Content, str(k.String()), flow(v))
	}
	if len(m.Content) == 0 {
		return flow(m)
	}
	return m
}

func assetsOrigin(api, assets, region string) string {
	switch {
	case assets != "":
		return ""
	case api != "":
		return "same as upstream.api"
	}
	return "from region " + region
}

// rootPath shows the root mount as "/", and any other prefix as written.
func rootPath(p string) string { return cmp.Or(p, "/") }

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

func ifThen(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

// The node builders of Redacted.

func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return m
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func num(v int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v, 10)}
}

func boolean(v bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
}

func dur(d time.Duration) *yaml.Node { return str(formatDuration(d)) }

func size(v int64) *yaml.Node {
	s := formatSize(v)
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return num(v)
	}
	return str(s)
}

func strList(ss []string) *yaml.Node {
	l := &yaml.Node{Kind: yaml.SequenceNode}
	for _, s := range ss {
		l.Content = append(l.Content, str(s))
	}
	return l
}

func flow(n *yaml.Node) *yaml.Node {
	n.Style = yaml.FlowStyle
	return n
}

func flowIfEmpty(n *yaml.Node) *yaml.Node {
	if len(n.Content) == 0 {
		return flow(n)
	}
	return n
}

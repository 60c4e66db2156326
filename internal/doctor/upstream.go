package doctor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// checkLimits: edgehog's own recordings limit admits a 25 MiB upload.
func (d *doctor) checkLimits() {
	l := d.o.RecordingsLimit
	if l >= 0 && l < RecordingSize {
		d.add("limits.recordings", Fail, fmt.Sprintf("%d bytes: a 25 MiB recording batch would be refused with 413", l),
			"set limits.recordings to at least 25MiB (the default is 64MiB)")
		return
	}
	d.add("limits.recordings", OK, "admits a 25 MiB recording", "")
}

// checkUpstream: the upstream's host resolves, and over https it answers
// a TLS handshake with its name as SNI and a certificate valid for it.
func (d *doctor) checkUpstream(ctx context.Context, name string, u *url.URL) {
	host := u.Hostname()
	addrs := []string{host}
	if net.ParseIP(host) == nil {
		ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
		var err error
		addrs, err = d.o.Resolver.LookupHost(ctx, host)
		cancel()
		if err != nil || len(addrs) == 0 {
			d.add(name+" dns", Fail, fmt.Sprintf("%s does not resolve: %v", host, err),
				"check the host name in "+name+" and this machine's DNS (resolv.conf, a DNS policy in Kubernetes)")
			return
		}
		d.add(name+" dns", OK, host+" → "+strings.Join(addrs, ", "), "")
	}
	if u.Scheme != "https" {
		d.add(name+" tls", Warn, u.Redacted()+" is plain http",
			"use https unless the upstream is on a private network you trust (a self-hosted PostHog beside edgehog)")
		return
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	dialer := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: d.o.Timeout},
		Config:    &tls.Config{ServerName: host, RootCAs: d.o.RootCAs, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}},
	}
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	// The address just resolved, with the upstream's name as SNI: what
	// edgehog's own connections do.
	c, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(addrs[0], port))
	if err != nil {
		d.add(name+" tls", Fail, fmt.Sprintf("TLS to %s with SNI %s: %v", net.JoinHostPort(host, port), host, err),
			"make the upstream serve a certificate for "+host+"; for a private CA set upstream.ca_file")
		return
	}
	defer c.Close()
	st := c.(*tls.Conn).ConnectionState()
	leaf := st.PeerCertificates[0]
	d.add(name+" tls", OK, fmt.Sprintf("%s, SNI %s, %s, certificate valid until %s",
		tls.VersionName(st.Version), host, protoName(st.NegotiatedProtocol), leaf.NotAfter.Format("2006-01-02")), "")
}

func protoName(alpn string) string {
	if alpn == "" {
		return "http/1.1"
	}
	return alpn
}

// flagsBody is a /flags request for token; distinct_id is fixed so the
// check never creates new persons.
func flagsBody(token string) string {
	return `{"api_key":` + quote(token) + `,"distinct_id":"edgehog-doctor"}`
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// checkToken: the project token is known to the API upstream. PostHog
// Cloud keeps US and EU projects apart: a US token sent to EU answers 401.
func (d *doctor) checkToken(ctx context.Context) {
	if d.o.Token == "" {
		d.add("project token", Warn, "not checked", "pass --token phc_… (the project API key) to check it against the configured region")
		return
	}
	resp, err := d.post(ctx, d.upstream, join(d.o.API, "/flags/?v=2"), flagsBody(d.o.Token), nil)
	if err != nil {
		d.add("project token", Fail, "POST /flags/ to "+d.o.API.Redacted()+": "+err.Error(), "check that edgehog's host can reach "+d.o.API.Host)
		return
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		d.add("project token", OK, "accepted by "+d.o.API.Host, "")
	case resp.StatusCode == http.StatusUnauthorized:
		d.add("project token", Fail, d.o.API.Host+" answered 401: it does not know this project token",
			"set region to the project's region (a US project's token answers 401 in EU and the reverse), or upstream.api to your self-hosted PostHog; check the token in PostHog's project settings")
	case isRedirect(resp.StatusCode):
		d.add("project token", Fail, "POST /flags/ answered "+describe(resp),
			"point upstream.api at the ingestion host itself (like https://us.i.posthog.com), not a host that redirects")
	default:
		d.add("project token", Fail, "POST /flags/ answered "+describe(resp), "check upstream.api")
	}
}

// checkAssets: the assets upstream serves the posthog-js bundle and, with
// its Cache-Control, the project's remote config.
func (d *doctor) checkAssets(ctx context.Context) {
	resp, err := d.get(ctx, d.upstream, join(d.o.Assets, "/static/array.js"), nil)
	switch {
	case err != nil:
		d.add("upstream.assets /static", Fail, err.Error(), "check that edgehog's host can reach "+d.o.Assets.Host)
	case resp.StatusCode != http.StatusOK:
		d.add("upstream.assets /static", Fail, "GET /static/array.js answered "+describe(resp),
			"set upstream.assets to the assets host (https://us-assets.i.posthog.com or https://eu-assets.i.posthog.com), or leave it unset to follow region")
	default:
		d.add("upstream.assets /static", OK, "GET /static/array.js: 200, "+resp.Header.Get("Content-Type"), "")
	}
	if resp != nil {
		resp.Body.Close()
	}
	if d.o.Token == "" {
		return
	}
	d.checkConfigJS(ctx, "upstream.assets /array", d.upstream, d.o.Assets)
}

// checkConfigJS: /array/<token>/config.js answers 200 with Cache-Control,
// which only the assets host sends (the API host strips it, so every page
// view would fetch the config again).
func (d *doctor) checkConfigJS(ctx context.Context, check string, c *http.Client, base *url.URL) {
	resp, err := d.get(ctx, c, join(base, "/array/"+url.PathEscape(d.o.Token)+"/config.js"), nil)
	if err != nil {
		d.add(check, Fail, err.Error(), "check that "+base.Host+" is reachable")
		return
	}
	resp.Body.Close()
	cc := resp.Header.Get("Cache-Control")
	switch {
	case resp.StatusCode != http.StatusOK:
		d.add(check, Fail, "GET /array/<token>/config.js answered "+describe(resp),
			"/array/ must go to the assets host: set upstream.assets (or leave it unset to follow region)")
	case cc == "":
		d.add(check, Fail, "GET /array/<token>/config.js has no Cache-Control: it came from the API host, or something in between stripped it",
			"send /array/ to the assets host (upstream.assets), and keep Cache-Control in any CDN or proxy in front")
	default:
		d.add(check, OK, "200, Cache-Control: "+cc, "")
	}
}

func (d *doctor) get(ctx context.Context, c *http.Client, u string, h http.Header) (*http.Response, error) {
	return d.do(ctx, c, http.MethodGet, u, "", h)
}

func (d *doctor) post(ctx context.Context, c *http.Client, u, body string, h http.Header) (*http.Response, error) {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json")
	return d.do(ctx, c, http.MethodPost, u, body, h)
}

func (d *doctor) do(ctx context.Context, c *http.Client, method, u, body string, h http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "edgehog-doctor")
	return c.Do(req)
}

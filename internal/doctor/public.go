package doctor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
)

// checkPublic runs the checks through the public URL.
func (d *doctor) checkPublic(ctx context.Context) {
	if !d.checkReach(ctx) {
		return
	}
	d.checkStatic(ctx)
	if d.o.Token != "" {
		d.checkConfigJS(ctx, "url /array", d.public, d.o.PublicURL)
	}
	d.checkNoRedirect(ctx, "/e/", `{"api_key":`+quote(d.o.Token)+`,"batch":[]}`)
	d.checkNoRedirect(ctx, "/flags/?v=2", flagsBody(d.o.Token))
	d.checkBodyLimit(ctx)
}

// edgehogError is the JSON body edgehog answers its own errors with.
type edgehogError struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Error  string `json:"error"`
}

// checkReach: the public URL reaches edgehog. A path no SDK uses gets
// edgehog's own JSON 404, which PostHog and other servers do not send.
func (d *doctor) checkReach(ctx context.Context) bool {
	var nonce [6]byte
	rand.Read(nonce[:])
	resp, err := d.get(ctx, d.public, join(d.o.PublicURL, "/edgehog-doctor-"+hex.EncodeToString(nonce[:])), nil)
	if err != nil {
		d.add("url reaches edgehog", Fail, err.Error(), "check that "+d.o.PublicURL.Host+" resolves and forwards to edgehog")
		return false
	}
	defer resp.Body.Close()
	body := readSome(resp.Body)
	var e edgehogError
	isEdgehog := json.Unmarshal(body, &e) == nil && e.Code != "" && e.Status == resp.StatusCode
	switch {
	case isRedirect(resp.StatusCode):
		d.add("url reaches edgehog", Fail, describe(resp),
			"use the final address as --url and in posthog.init's api_host (posthog-js does not follow redirects for POSTs)")
		return false
	case isEdgehog && strings.HasPrefix(e.Error, "no edgehog route"):
		d.add("url reaches edgehog", Fail, "edgehog answered, but no route covers "+d.o.PublicURL.Host+d.o.PublicURL.Path,
			"set prefix (or hosts[].prefix) to the URL's path "+orRoot(d.o.PublicURL.Path)+", and list its host under hosts when hosts is set")
		return false
	case isEdgehog:
		d.add("url reaches edgehog", OK, d.o.PublicURL.String(), "")
		return true
	}
	d.add("url reaches edgehog", Fail, fmt.Sprintf("%s answered %s, not edgehog (Server: %q)", d.o.PublicURL.Host, resp.Status, resp.Header.Get("Server")),
		"route "+d.o.PublicURL.String()+" and everything below it to edgehog in your CDN, load balancer or web server; with exposure: all this check cannot tell")
	return false
}

func orRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// checkStatic: /static/array.js through the public URL is byte for byte
// what the assets upstream serves (SRI hashes and posthog-js's own
// integrity checks depend on it). Both are fetched with the same
// Accept-Encoding, and compared as they arrive, still encoded.
func (d *doctor) checkStatic(ctx context.Context) {
	h := http.Header{"Accept-Encoding": {"gzip"}}
	sum := func(c *http.Client, u string) (string, int, error) {
		resp, err := d.get(ctx, c, u, h.Clone())
		if err != nil {
			return "", 0, err
		}
		defer resp.Body.Close()
		s := sha256.New()
		if _, err := io.Copy(s, resp.Body); err != nil {
			return "", 0, err
		}
		return hex.EncodeToString(s.Sum(nil)), resp.StatusCode, nil
	}
	up, upCode, err := sum(d.upstream, join(d.o.Assets, "/static/array.js"))
	if err != nil || upCode != http.StatusOK {
		return // checkAssets already reported it
	}
	pub, pubCode, err := sum(d.public, join(d.o.PublicURL, "/static/array.js"))
	switch {
	case err != nil:
		d.add("url /static identical", Fail, err.Error(), "check the route of /static/ to edgehog")
	case pubCode != http.StatusOK:
		d.add("url /static identical", Fail, fmt.Sprintf("GET /static/array.js answered %d", pubCode), "route /static/ to edgehog")
	case pub != up:
		d.add("url /static identical", Fail, "/static/array.js differs from the assets upstream's (sha256 "+pub[:12]+" vs "+up[:12]+")",
			"turn off minification, recompression and content rewriting for this path in the CDN or proxy in front, and purge its cache")
	default:
		d.add("url /static identical", OK, "sha256 "+up[:12]+", same as upstream", "")
	}
}

// checkNoRedirect: a POST to path through the public URL gets an answer
// that is not a redirect, a 404 or a server error.
func (d *doctor) checkNoRedirect(ctx context.Context, path, body string) {
	check := "url POST " + strings.SplitN(path, "?", 2)[0]
	resp, err := d.post(ctx, d.public, join(d.o.PublicURL, path), body, nil)
	if err != nil {
		d.add(check, Fail, err.Error(), "check the route to edgehog")
		return
	}
	resp.Body.Close()
	switch {
	case isRedirect(resp.StatusCode):
		d.add(check, Fail, describe(resp),
			"remove the redirect: posthog-js drops events on a redirected POST (look for http→https, trailing-slash or www redirects in front of edgehog)")
	case resp.StatusCode == http.StatusNotFound:
		d.add(check, Fail, describe(resp), "route "+path+" to edgehog; with hosts or prefix set, check the URL matches them")
	case resp.StatusCode >= 500:
		d.add(check, Fail, describe(resp), "see edgehog's log for the upstream error")
	default:
		d.add(check, OK, resp.Status+", no redirect", "")
	}
}

// errNoBody stops an upload once the server has admitted it.
var errNoBody = errors.New("upload admitted; not sending it")

// refusingBody fails its first Read: the body of an upload that is only
// announced, never sent.
type refusingBody struct{}

func (refusingBody) Read([]byte) (int, error) { return 0, errNoBody }

// checkBodyLimit: a 25 MiB recording passes everything in front of
// edgehog and edgehog itself. The upload is announced with its
// Content-Length and "Expect: 100-continue" (RFC 9110 §10.1.1): nginx,
// CDNs and edgehog refuse an oversize body from its Content-Length at
// once with 413, and the body itself is never sent.
func (d *doctor) checkBodyLimit(ctx context.Context) {
	check := "url 25 MiB recording"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, join(d.o.PublicURL, "/s/?compression=gzip-js"), refusingBody{})
	if err != nil {
		d.add(check, Fail, err.Error(), "")
		return
	}
	req.ContentLength = RecordingSize
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("Content-Type", "text/plain")
	// The trace hook runs on the transport's goroutine.
	var admitted atomic.Bool
	trace := &httptrace.ClientTrace{Got100Continue: func() { admitted.Store(true) }}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := d.public.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	switch {
	case admitted.Load():
		d.add(check, OK, "admitted (100 Continue)", "")
	case resp != nil && resp.StatusCode == http.StatusRequestEntityTooLarge:
		d.add(check, Fail, "refused with 413 before upload",
			"raise the body limit in front of edgehog (nginx client_max_body_size 64m; Cloudflare and CloudFront plans cap bodies too) and limits.recordings")
	case resp != nil:
		d.add(check, Warn, "answered "+describe(resp)+" without asking for the body", "check the limits of the proxies in front of edgehog")
	default:
		d.add(check, Warn, "inconclusive: "+err.Error(), "check the body limits of the proxies in front of edgehog")
	}
}

// checkCORS: a preflight from each origin gets that origin back, through
// the public URL (or the API upstream without one).
func (d *doctor) checkCORS(ctx context.Context) {
	base, c, where := d.o.API, d.upstream, "upstream.api"
	if d.o.PublicURL != nil {
		base, c, where = d.o.PublicURL, d.public, "url"
	}
	for _, origin := range d.o.Origins {
		check := where + " CORS " + origin
		h := http.Header{
			"Origin":                         {origin},
			"Access-Control-Request-Method":  {"POST"},
			"Access-Control-Request-Headers": {"content-type"},
		}
		resp, err := d.do(ctx, c, http.MethodOptions, join(base, "/e/"), "", h)
		if err != nil {
			d.add(check, Fail, err.Error(), "")
			continue
		}
		resp.Body.Close()
		allow := resp.Header.Values("Access-Control-Allow-Origin")
		switch {
		case resp.StatusCode >= 300:
			d.add(check, Fail, "preflight answered "+describe(resp),
				"let OPTIONS through to edgehog (some CDNs and WAFs answer or block it)")
		case len(allow) > 1:
			d.add(check, Fail, "Access-Control-Allow-Origin sent twice: "+strings.Join(allow, ", "),
				"let only one hop add CORS headers: remove the ones your proxy or CDN adds")
		case len(allow) == 1 && (allow[0] == origin || allow[0] == "*"):
			d.add(check, OK, "Access-Control-Allow-Origin: "+allow[0], "")
		default:
			d.add(check, Fail, fmt.Sprintf("Access-Control-Allow-Origin: %q", strings.Join(allow, "")),
				"browsers on "+origin+" will refuse the answers: allow this origin")
		}
	}
}

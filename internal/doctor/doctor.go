// Package doctor checks an edgehog deployment end to end: the upstreams
// resolve and answer over TLS, the project token belongs to the configured
// region, remote config and the posthog-js bundle arrive intact, capture
// and flags answer without redirects, large recordings fit, CORS answers,
// and the public URL reaches edgehog. Each finding says how to fix it.
package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is the outcome of one check.
type Status int

// The outcomes, from good to bad.
const (
	OK Status = iota
	Warn
	Fail
)

// String returns "ok", "warn" or "FAIL" (capitals, so failures stand out).
func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Warn:
		return "warn"
	}
	return "FAIL"
}

// Finding is the result of one check.
type Finding struct {
	// Check names what was checked, like "upstream.api tls".
	Check string
	// Status is the outcome.
	Status Status
	// Detail says what was seen.
	Detail string
	// Fix says what to change; empty when Status is OK.
	Fix string
}

// RecordingSize is the recording upload every path must admit: posthog-js
// sends session-replay snapshots in batches of up to this size
// (protocol.md, /s/).
const RecordingSize = 25 << 20

// Resolver looks up host names; *net.Resolver is one.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Options say what to check.
type Options struct {
	// API and Assets are the upstream origins edgehog forwards to.
	API, Assets *url.URL
	// RootCAs verify the upstreams' certificates (upstream.ca_file); nil
	// means the system's roots.
	RootCAs *x509.CertPool
	// RecordingsLimit is edgehog's effective limits.recordings; negative
	// means unlimited.
	RecordingsLimit int64
	// Token is the project token (phc_…); empty skips the checks that
	// need one, with a warning.
	Token string
	// PublicURL is where the site sends PostHog traffic, such as
	// https://www.example.com/ph; nil skips the checks through it.
	PublicURL *url.URL
	// PublicRootCAs verify PublicURL's certificate; nil means the
	// system's roots.
	PublicRootCAs *x509.CertPool
	// Origins are the site origins that must pass CORS, such as
	// https://www.example.com.
	Origins []string
	// Timeout bounds each request; default 15s.
	Timeout time.Duration
	// Resolver looks up the upstream hosts; nil means net.DefaultResolver.
	Resolver Resolver
}

// doctor runs the checks of one Run.
type doctor struct {
	o        Options
	upstream *http.Client
	public   *http.Client
	findings []Finding
}

// Run runs every check and returns the findings in order.
func Run(ctx context.Context, o Options) []Finding {
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	d := &doctor{o: o, upstream: newClient(o.RootCAs, o.Timeout), public: newClient(o.PublicRootCAs, o.Timeout)}
	defer d.upstream.CloseIdleConnections()
	defer d.public.CloseIdleConnections()
	d.checkLimits()
	d.checkUpstream(ctx, "upstream.api", o.API)
	if o.Assets.String() != o.API.String() {
		d.checkUpstream(ctx, "upstream.assets", o.Assets)
	}
	d.checkToken(ctx)
	d.checkAssets(ctx)
	if o.PublicURL == nil {
		d.add("public url", Warn, "not checked", "pass --url with the address the site's posthog.init uses as api_host, like https://www.example.com/ph")
	} else {
		d.checkPublic(ctx)
	}
	d.checkCORS(ctx)
	return d.findings
}

// Failed reports whether any finding failed.
func Failed(fs []Finding) bool {
	for _, f := range fs {
		if f.Status == Fail {
			return true
		}
	}
	return false
}

// Write prints the findings, one line each, with the fix below any that
// is not OK, then a summary line.
func Write(w io.Writer, fs []Finding) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var counts [3]int
	for _, f := range fs {
		counts[f.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Status, f.Check, f.Detail)
		if f.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", f.Fix)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d ok, %d warnings, %d failed\n", counts[OK], counts[Warn], counts[Fail])
	return err
}

func (d *doctor) add(check string, s Status, detail, fix string) {
	if s == OK {
		fix = ""
	}
	d.findings = append(d.findings, Finding{Check: check, Status: s, Detail: detail, Fix: fix})
}

// newClient returns a client that never follows redirects: a redirect is
// itself a finding (posthog-js does not follow one on a POST).
func newClient(roots *x509.CertPool, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	// Long enough for a proxy in front to answer the 25 MiB check; after
	// it, the check is inconclusive rather than sending the body.
	tr.ExpectContinueTimeout = 5 * time.Second
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// join appends p, a path with an optional query, to base's path.
func join(base *url.URL, p string) string {
	u := *base
	p, q, _ := strings.Cut(p, "?")
	u.Path = strings.TrimSuffix(u.Path, "/") + p
	u.RawPath = ""
	u.RawQuery = q
	return u.String()
}

// describe names a response for a finding.
func describe(resp *http.Response) string {
	s := resp.Status
	if loc := resp.Header.Get("Location"); loc != "" {
		s += " → " + loc
	}
	return s
}

// isRedirect reports a 3xx answer.
func isRedirect(code int) bool { return code >= 300 && code < 400 }

// readSome reads at most 64 KiB of a body, for error details.
func readSome(r io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	return b
}

package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/doctor"
)

// doctorCommand checks a deployment end to end and prints each finding
// with its fix.
type doctorCommand struct {
	getenv         env
	stdout, stderr io.Writer

	cf      *configFlags
	url     string
	token   string
	origins stringList
	timeout time.Duration
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func (c *doctorCommand) flags(w io.Writer) *flag.FlagSet {
	fs := newFlagSet("edgehog doctor", "edgehog doctor [--config FILE] [--url https://www.example.com/ph] [--token phc_...] [--origin https://www.example.com]...", w)
	c.cf = addConfigFlags(fs)
	fs.StringVar(&c.url, "url", "", "the public `URL` the site sends PostHog traffic to (posthog.init's api_host); checks run through it")
	fs.StringVar(&c.token, "token", "", "the project API `token` (phc_...), to check it against the region and fetch its remote config")
	fs.Var(&c.origins, "origin", "a site `origin` that must pass CORS, like https://www.example.com (repeatable)")
	fs.DurationVar(&c.timeout, "timeout", 15*time.Second, "bound on each request")
	return fs
}

// errFindings is returned when a check failed: exit status 1, after the
// findings are printed.
var errFindings = errors.New("some checks failed")

// Run loads the configuration, runs every check and prints the findings.
func (c *doctorCommand) Run(ctx context.Context, args []string) error {
	f, err := c.cf.parseValid(c.flags(c.stderr), args, c.getenv)
	if err != nil {
		return err
	}
	o := doctor.Options{Token: c.token, Origins: c.origins, Timeout: c.timeout, RecordingsLimit: f.Proxy.Limits.Recordings}
	if o.RecordingsLimit == 0 {
		o.RecordingsLimit = edgehog.DefaultConfig().Limits.Recordings
	}
	api, assets := f.Upstreams()
	if o.API, err = url.Parse(api); err != nil {
		return usageError{fmt.Errorf("upstream.api: %w", err)}
	}
	if o.Assets, err = url.Parse(assets); err != nil {
		return usageError{fmt.Errorf("upstream.assets: %w", err)}
	}
	if ca := f.Proxy.Upstream.CAFile; ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return usageError{fmt.Errorf("upstream.ca_file: %w", err)}
		}
		o.RootCAs = x509.NewCertPool()
		o.RootCAs.AppendCertsFromPEM(pem)
	}
	if c.url != "" {
		u, err := url.Parse(c.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError{fmt.Errorf("--url: %q is not an http:// or https:// URL", c.url)}
		}
		o.PublicURL = u
	}
	findings := doctor.Run(ctx, o)
	if err := doctor.Write(c.stdout, findings); err != nil {
		return err
	}
	if doctor.Failed(findings) {
		return errFindings
	}
	return nil
}

// Package edgehog is a first-party analytics edge for PostHog: an
// http.Handler that carries the traffic of PostHog's browser and server SDKs
// from the site's own domain to PostHog Cloud (US or EU) or a self-hosted
// PostHog, streaming, with every byte of bodies and query strings untouched.
//
// The edgehog command serves a Proxy; a Go program can embed one directly:
//
//	p, err := edgehog.New(edgehog.Config{Region: "eu", Prefix: "/ph"})
//	if err != nil { ... }
//	defer p.Close()
//	http.Handle("/", p.Middleware(siteHandler))
package edgehog

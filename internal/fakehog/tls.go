package fakehog

import (
	"crypto/tls"
	"errors"
	"net/http"
)

// HeaderProto is the response header a TLS fake sets on every answer to the
// protocol the request came in on ("HTTP/2.0" or "HTTP/1.1"), so that a
// test or benchmark behind a proxy can tell what the proxy negotiated with
// its upstream. Plain-HTTP fakes do not set it.
const HeaderProto = "X-Fakehog-Proto"

// tlsConfig checks opts.TLS and returns the config both origins serve:
// a clone offering HTTP/2 and HTTP/1.1 by ALPN, as PostHog's load
// balancers do, unless the caller chose NextProtos itself.
func tlsConfig(c *tls.Config) (*tls.Config, error) {
	if len(c.Certificates) == 0 && c.GetCertificate == nil && c.GetConfigForClient == nil {
		return nil, errors.New("no certificate (Certificates, GetCertificate or GetConfigForClient)")
	}
	c = c.Clone()
	if len(c.NextProtos) == 0 {
		c.NextProtos = []string{"h2", "http/1.1"}
	}
	return c, nil
}

// withProto wraps h to set HeaderProto on every answer.
func withProto(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderProto, r.Proto)
		h.ServeHTTP(w, r)
	})
}

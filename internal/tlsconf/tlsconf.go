package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// defaultRenewBefore renews 30 days before expiry: a third of a 90-day
// Let's Encrypt certificate, as Let's Encrypt advises.
const defaultRenewBefore = 30 * 24 * time.Hour

// TLS is a built TLS configuration for a listener.
type TLS struct {
	config *tls.Config
	acme   *autocert.Manager // nil without ACME
	http01 bool
}

// New builds the TLS configuration o describes: it loads the certificate
// files, or prepares the ACME manager (which talks to the CA only when a
// handshake needs a certificate it does not have). It returns nil, nil when
// o does not enable TLS. A nil log discards.
func New(o Options, log *slog.Logger) (*TLS, error) {
	return newTLS(o, log, time.Now)
}

func newTLS(o Options, log *slog.Logger, now func() time.Time) (*TLS, error) {
	if !o.Enabled() {
		return nil, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// HTTP/2 first: net/http serves h2 when the client offers it over
	// TLS with this ALPN list (RFC 7540 §3.3).
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
	}
	t := &TLS{config: cfg}
	if !o.ACME.Enabled {
		fp, err := newFilePair(o.CertFile, o.KeyFile, log, now)
		if err != nil {
			return nil, err
		}
		cfg.GetCertificate = fp.GetCertificate
		return t, nil
	}
	m, err := newManager(o.ACME, log)
	if err != nil {
		return nil, err
	}
	t.acme = m
	t.http01 = o.ACME.wants(ChallengeHTTP01)
	cfg.GetCertificate = m.GetCertificate
	if o.ACME.wants(ChallengeTLSALPN01) {
		// The TLS-ALPN-01 challenge arrives as a handshake offering only
		// this protocol (RFC 8737 §3); GetCertificate answers it.
		cfg.NextProtos = append(cfg.NextProtos, acme.ALPNProto)
	}
	return t, nil
}

// newManager builds the autocert manager for a.
func newManager(a ACMEOptions, log *slog.Logger) (*autocert.Manager, error) {
	dir := a.Dir
	if dir == "" {
		dir = DefaultACMEDir
	}
	// DirCache creates the directory 0700 on first write; making it now
	// turns a read-only or mistyped path into a start-up error instead of
	// a failed handshake much later.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating tls.acme.dir: %w", err)
	}
	client := &acme.Client{DirectoryURL: a.CA, UserAgent: "edgehog"}
	if client.DirectoryURL == "" {
		client.DirectoryURL = LetsEncrypt
	}
	if a.CARootFile != "" {
		pem, err := os.ReadFile(a.CARootFile)
		if err != nil {
			return nil, fmt.Errorf("reading tls.acme.ca_root_file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading tls.acme.ca_root_file: %s holds no PEM certificate", a.CARootFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		client.HTTPClient = &http.Client{Transport: tr}
	}
	renew := a.RenewBefore
	if renew == 0 {
		renew = defaultRenewBefore
	}
	policy := autocert.HostWhitelist(a.Hosts...)
	return &autocert.Manager{
		Prompt: autocert.AcceptTOS,
		Cache:  autocert.DirCache(dir),
		HostPolicy: func(ctx context.Context, host string) error {
			// HTTP-01 requests carry the Host header, with a port when
			// the redirect listener is not on 80.
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if err := policy(ctx, host); err != nil {
				log.Debug("tls handshake for a host outside tls.acme.hosts", logKeyHost, host)
				return err
			}
			return nil
		},
		Email:       a.Email,
		Client:      client,
		RenewBefore: renew,
	}, nil
}

// Config returns the tls.Config for the listener: HTTP/2 and HTTP/1.1,
// TLS 1.2 or newer, and the certificate source. Callers must not change it.
func (t *TLS) Config() *tls.Config { return t.config }

// ACME reports whether certificates come from ACME.
func (t *TLS) ACME() bool { return t.acme != nil }

// HTTPHandler wraps fallback for the plain-HTTP listener: with ACME and
// the http-01 challenge it answers /.well-known/acme-challenge/ itself and
// hands every other request to fallback.
func (t *TLS) HTTPHandler(fallback http.Handler) http.Handler {
	if t == nil || t.acme == nil || !t.http01 {
		return fallback
	}
	return t.acme.HTTPHandler(fallback)
}

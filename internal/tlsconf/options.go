// Package tlsconf builds the TLS side of edgehog's listener: a certificate
// and key pair read from files (and read again when they change), or
// certificates obtained and renewed automatically through ACME (RFC 8555)
// with the TLS-ALPN-01 and HTTP-01 challenges. HTTP/2 is always offered.
package tlsconf

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ACME challenge names, as RFC 8555 §8 and RFC 8737 spell them.
const (
	ChallengeHTTP01    = "http-01"
	ChallengeTLSALPN01 = "tls-alpn-01"
)

// LetsEncrypt is the directory URL of Let's Encrypt's production CA, the
// default ACME CA.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// DefaultACMEDir is where ACME account keys and certificates are kept when
// ACMEOptions.Dir is empty: systemd's StateDirectory=edgehog.
const DefaultACMEDir = "/var/lib/edgehog/acme"

// Options configure TLS on the listener. The zero value means plain HTTP.
// Set either CertFile and KeyFile, or ACME, never both.
type Options struct {
	// CertFile is a PEM file holding the certificate chain, leaf first.
	// It and KeyFile are read at start and again on the next handshake
	// after either file changes (a changed size or modification time); a
	// pair that fails to load is logged and the previous one kept.
	CertFile string
	// KeyFile is the PEM private key of CertFile.
	KeyFile string
	// ACME, when Enabled, obtains and renews certificates automatically.
	ACME ACMEOptions
}

// ACMEOptions configure automatic certificates. The ACME account is
// registered on first use, agreeing to the CA's terms of service.
type ACMEOptions struct {
	// Enabled turns ACME on.
	Enabled bool
	// Email is the account's contact address, for the CA's expiry
	// warnings; empty registers without one.
	Email string
	// Hosts are the names certificates are issued for; a handshake for any
	// other name fails (so that no one can make edgehog request
	// certificates for names of their choosing). The configuration layer
	// defaults it to the configured proxy hosts; empty is an error.
	Hosts []string
	// Dir stores the account key and the certificates, so that restarts
	// reuse them instead of hitting the CA's rate limits; default
	// DefaultACMEDir. It must be private to edgehog (keys live there).
	Dir string
	// CA is the ACME directory URL; default LetsEncrypt.
	CA string
	// CARootFile, if set, is a PEM file of the roots that sign the ACME
	// server's own HTTPS certificate (a private CA such as step-ca, or
	// Pebble in tests); default the system's roots.
	CARootFile string
	// Challenges lists the challenge types answered: "tls-alpn-01" (on
	// the TLS listener) and "http-01" (on the redirect listener, which
	// must then be configured). Default both.
	Challenges []string
	// RenewBefore renews a certificate this long before it expires;
	// default 30 days (Let's Encrypt's advice for 90-day certificates).
	RenewBefore time.Duration
}

// Enabled reports whether o turns TLS on.
func (o Options) Enabled() bool { return o.CertFile != "" || o.KeyFile != "" || o.ACME.Enabled }

// ErrOptions is wrapped by every error Validate returns.
var ErrOptions = errors.New("invalid tls options")

// Validate checks o without touching the disk or the network. Errors name
// the configuration field at fault (tls.cert_file, tls.acme.hosts, …).
// redirect reports whether a plain-HTTP redirect listener is configured.
func (o Options) Validate(redirect bool) error {
	fail := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrOptions, field, fmt.Sprintf(format, args...))
	}
	files := o.CertFile != "" || o.KeyFile != ""
	switch {
	case files && o.ACME.Enabled:
		return fail("tls", "set cert_file and key_file, or acme, not both")
	case o.CertFile == "" && o.KeyFile != "":
		return fail("tls.cert_file", "missing: key_file is set")
	case o.KeyFile == "" && o.CertFile != "":
		return fail("tls.key_file", "missing: cert_file is set")
	case !o.ACME.Enabled:
		return nil
	}
	a := o.ACME
	if len(a.Hosts) == 0 {
		return fail("tls.acme.hosts", "no host names to get certificates for (set tls.acme.hosts or hosts)")
	}
	for i, h := range a.Hosts {
		if err := checkHostName(h); err != nil {
			return fail(fmt.Sprintf("tls.acme.hosts[%d]", i), "%v", err)
		}
	}
	for i, c := range a.Challenges {
		if c != ChallengeHTTP01 && c != ChallengeTLSALPN01 {
			return fail(fmt.Sprintf("tls.acme.challenges[%d]", i), "%q is not http-01 or tls-alpn-01", c)
		}
	}
	if o.ACME.wants(ChallengeHTTP01) && !o.ACME.wants(ChallengeTLSALPN01) && !redirect {
		return fail("tls.acme.challenges", "http-01 alone needs http_redirect_listen (port 80) to answer it")
	}
	if a.RenewBefore < 0 {
		return fail("tls.acme.renew_before", "must be positive")
	}
	return nil
}

// wants reports whether challenge c is enabled (all are by default).
func (a ACMEOptions) wants(c string) bool {
	return len(a.Challenges) == 0 || slices.Contains(a.Challenges, c)
}

// checkHostName vets a name a certificate can be issued for: a DNS name
// with at least one dot (autocert and public CAs refuse single labels), no
// wildcard (those need DNS-01), no IP address, no port.
func checkHostName(h string) error {
	switch {
	case h == "":
		return errors.New("empty host name")
	case slices.Contains([]byte(h), '*'):
		return fmt.Errorf("%q: wildcards need the DNS-01 challenge, which edgehog does not answer", h)
	case !isDNSName(h):
		return fmt.Errorf("%q is not a DNS name with at least two labels, like ph.example.com", h)
	}
	return nil
}

// isDNSName reports whether h is letters, digits, hyphens and dots, in
// at least two non-empty labels, and not all digits and dots (an IPv4
// address).
func isDNSName(h string) bool {
	if len(h) > 253 {
		return false
	}
	labels, digitsOnly := 1, true
	prev := byte('.')
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			if prev == '.' || prev == '-' {
				return false
			}
			labels++
		case c == '-':
			if prev == '.' {
				return false
			}
			digitsOnly = false
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			digitsOnly = false
		default:
			return false
		}
		prev = c
	}
	return labels >= 2 && prev != '.' && prev != '-' && !digitsOnly
}

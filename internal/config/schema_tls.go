package config

import (
	"fmt"
	"net/url"

	"github.com/edgehog/edgehog/internal/server"
	"github.com/edgehog/edgehog/internal/tlsconf"
	"gopkg.in/yaml.v3"
)

// The TLS keys:
//
//	tls:                       # default: none (plain HTTP)
//	  cert_file: /etc/edgehog/tls/cert.pem   # read again when it changes
//	  key_file: /etc/edgehog/tls/key.pem
//	  acme:                    # instead of cert_file and key_file
//	    email: ops@example.com
//	    hosts: [ph.example.com]               # default: the names under hosts
//	    dir: /var/lib/edgehog/acme
//	    ca: https://acme-v02.api.letsencrypt.org/directory
//	    ca_root_file: /etc/edgehog/acme-ca.pem # default: the system's roots
//	    challenges: [tls-alpn-01, http-01]
//	    renew_before: 720h
//	http_redirect_listen: ":80" # default: none; needs tls
//	server:
//	  pid_file: /run/edgehog/edgehog.pid      # default: none

// tls decodes the tls mapping into the server options.
func (d *decoder) tls(o *tlsconf.Options) decodeFunc {
	return d.mapping(
		field{key: "cert_file", decode: d.str(&o.CertFile, checkNotEmpty)},
		field{key: "key_file", decode: d.str(&o.KeyFile, checkNotEmpty)},
		field{key: "acme", decode: d.acme(&o.ACME)},
	)
}

// acme decodes tls.acme; its presence turns ACME on.
func (d *decoder) acme(a *tlsconf.ACMEOptions) decodeFunc {
	inner := d.mapping(
		field{key: "email", decode: d.str(&a.Email, nil)},
		field{key: "hosts", decode: d.strs(&a.Hosts, checkNotEmpty)},
		field{key: "dir", decode: d.str(&a.Dir, checkNotEmpty)},
		field{key: "ca", decode: d.str(&a.CA, checkACMEDirectory)},
		field{key: "ca_root_file", decode: d.str(&a.CARootFile, checkNotEmpty)},
		field{key: "challenges", decode: d.strs(&a.Challenges, oneOf(tlsconf.ChallengeTLSALPN01, tlsconf.ChallengeHTTP01))},
		field{key: "renew_before", decode: d.duration(&a.RenewBefore)},
	)
	return func(n *yaml.Node, path string) error {
		a.Enabled = true
		return inner(n, path)
	}
}

// checkACMEDirectory vets an ACME directory URL: https, as RFC 8555 §6.1
// requires.
func checkACMEDirectory(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an https:// ACME directory URL", v)
	}
	return nil
}

// redirectListen decodes http_redirect_listen.
func (d *decoder) redirectListen(s *server.Options) decodeFunc {
	return d.str(&s.RedirectListen, checkListen)
}

// effectiveTLS returns the TLS options with the ACME hosts defaulted to
// the configured proxy hosts.
func (f File) effectiveTLS() tlsconf.Options {
	o := f.Server.TLS
	if o.ACME.Enabled && len(o.ACME.Hosts) == 0 {
		for _, h := range f.Proxy.Hosts {
			o.ACME.Hosts = append(o.ACME.Hosts, h.Name)
		}
	}
	return o
}

// ServerOptions returns the listener's options with the defaults that
// depend on other settings filled in: the ACME host names default to the
// names under hosts. The edgehog command serves with these.
func (f File) ServerOptions() server.Options {
	o := f.Server
	o.TLS = f.effectiveTLS()
	return o
}

// validateTLS checks the TLS settings as a whole.
func (f File) validateTLS() error {
	tl := f.effectiveTLS()
	if err := tl.Validate(f.Server.RedirectListen != ""); err != nil {
		return invalidError{err}
	}
	if f.Server.RedirectListen != "" && !tl.Enabled() {
		return &Error{Field: "http_redirect_listen", Msg: "set only with tls: without it there is no https to redirect to"}
	}
	if f.Server.RedirectListen != "" && f.Server.RedirectListen == f.Server.Listen {
		return &Error{Field: "http_redirect_listen", Msg: "must differ from listen"}
	}
	return nil
}

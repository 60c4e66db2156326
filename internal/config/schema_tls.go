package config

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strings"
	"time"

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
	return d.str(&s.RedirectListen, allowEmpty(checkListen))
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
	if tl.CertFile != "" {
		// Read now, as upstream.ca_file is: check and a reload catch a
		// bad pair before serve or the running server would.
		if _, err := tls.LoadX509KeyPair(tl.CertFile, tl.KeyFile); err != nil {
			return &Error{Field: "tls.cert_file", Msg: err.Error()}
		}
	}
	if f.Server.RedirectListen != "" && !tl.Enabled() {
		return &Error{Field: "http_redirect_listen", Msg: "set only with tls: without it there is no https to redirect to"}
	}
	if f.Server.RedirectListen != "" && f.Server.RedirectListen == f.Server.Listen && !strings.HasSuffix(f.Server.Listen, ":0") {
		return &Error{Field: "http_redirect_listen", Msg: "must differ from listen"}
	}
	return nil
}

// renderTLS renders the tls mapping for Redacted: {} when off, the files,
// or acme with its defaults filled in.
func (f File) renderTLS(comment func(*yaml.Node, string) *yaml.Node) *yaml.Node {
	o := f.effectiveTLS()
	var kv []any
	if o.CertFile != "" || o.KeyFile != "" {
		kv = append(kv, "cert_file", str(o.CertFile), "key_file", str(o.KeyFile))
	}
	if a := o.ACME; a.Enabled {
		acme := []any{}
		if a.Email != "" {
			acme = append(acme, "email", str(a.Email))
		}
		hosts := comment(flow(strList(a.Hosts)), ifThen(len(f.Server.TLS.ACME.Hosts) == 0, "from hosts"))
		acme = append(acme, "hosts", hosts,
			"dir", str(cmpOr(a.Dir, tlsconf.DefaultACMEDir)),
			"ca", str(cmpOr(a.CA, tlsconf.LetsEncrypt)))
		if a.CARootFile != "" {
			acme = append(acme, "ca_root_file", str(a.CARootFile))
		}
		challenges := a.Challenges
		if len(challenges) == 0 {
			challenges = []string{tlsconf.ChallengeTLSALPN01, tlsconf.ChallengeHTTP01}
		}
		renew := a.RenewBefore
		if renew == 0 {
			renew = 30 * 24 * time.Hour
		}
		acme = append(acme, "challenges", flow(strList(challenges)), "renew_before", dur(renew))
		kv = append(kv, "acme", mapping(acme...))
	}
	m := mapping(kv...)
	if len(kv) == 0 {
		return comment(flow(m), "plain HTTP")
	}
	return m
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// allowEmpty wraps check so that "" (unset) passes.
func allowEmpty(check func(string) error) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil
		}
		return check(v)
	}
}

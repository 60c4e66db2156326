package config

import (
	"fmt"
	"net"

	"gopkg.in/yaml.v3"
)

// The admin keys (docs/operations.md):
//
//	admin:
//	  listen: 127.0.0.1:9090     # default: none (no admin listener)
//	  token: ""                  # default: none; better set with EDGEHOG_ADMIN_TOKEN
//	  public_metrics_path: ""    # default: none (/metrics on the admin listener only)

// AdminOptions configure the admin listener: /metrics, the /status page,
// /status.json and /healthz.
type AdminOptions struct {
	// Listen is the admin listener's address, such as "127.0.0.1:9090".
	// Empty (the default) starts no admin listener.
	Listen string
	// Token, when set, is required on every admin request except
	// /healthz, as a bearer token or the password of HTTP Basic auth. It
	// is masked in Redacted.
	Token string
	// PublicMetricsPath, when set, also serves the Prometheus metrics on
	// the public listener at this path, for platforms that expose a
	// single port. Token then guards it too. Empty (the default) keeps
	// metrics on the admin listener only.
	PublicMetricsPath string
}

// maskedToken stands for a set token in Redacted.
const maskedToken = "xxxxx"

func (d *decoder) admin(o *AdminOptions) decodeFunc {
	return d.mapping(
		field{key: "listen", decode: d.str(&o.Listen, checkOptionalListen)},
		field{key: "token", decode: d.str(&o.Token, nil)},
		field{key: "public_metrics_path", decode: d.str(&o.PublicMetricsPath, checkOptionalPath)},
	)
}

// checkOptionalListen vets a listen address that may be empty (off).
func checkOptionalListen(v string) error {
	if v == "" {
		return nil
	}
	return checkListen(v)
}

// checkOptionalPath vets a path that may be empty (off).
func checkOptionalPath(v string) error {
	if v == "" {
		return nil
	}
	return checkProbePath(v)
}

// renderAdmin renders the admin mapping for Redacted, the token masked.
func renderAdmin(o AdminOptions, comment func(*yaml.Node, string) *yaml.Node) *yaml.Node {
	token := ""
	if o.Token != "" {
		token = maskedToken
	}
	return mapping(
		"listen", comment(str(o.Listen), ifThen(o.Listen == "", "no admin listener")),
		"token", comment(str(token), ifThen(o.Token == "", "none: anyone who reaches the admin listener may read it")),
		"public_metrics_path", comment(str(o.PublicMetricsPath), ifThen(o.PublicMetricsPath == "", "metrics on the admin listener only")),
	)
}

// validateAdmin checks the admin settings against the rest.
func (f File) validateAdmin() error {
	a := f.Admin
	if a.Listen != "" {
		if err := checkListen(a.Listen); err != nil {
			return &Error{Field: "admin.listen", Msg: err.Error()}
		}
		if _, port, _ := net.SplitHostPort(a.Listen); a.Listen == f.Server.Listen && port != "0" {
			return &Error{Field: "admin.listen", Msg: fmt.Sprintf("%q is also the public listen address; they must differ (or use admin.public_metrics_path)", a.Listen)}
		}
	}
	if p := a.PublicMetricsPath; p != "" {
		// Answered before the proxy, like the probes: the same rules.
		if err := f.checkProbe(p); err != nil {
			return &Error{Field: "admin.public_metrics_path", Msg: err.Error()}
		}
		if p == f.Server.HealthPath || p == f.Server.ReadyPath {
			return &Error{Field: "admin.public_metrics_path", Msg: fmt.Sprintf("%q is also a probe path; they must differ", p)}
		}
	}
	return nil
}

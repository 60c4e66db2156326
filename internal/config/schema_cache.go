package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/guard"
	"gopkg.in/yaml.v3"
)

// The cache and CORS keys (docs/caching.md):
//
//	cache:
//	  enabled: true
//	  max_bytes: 64MiB
//	  stale_if_error: 24h          # or off
//	  stale_while_revalidate: 60s  # bundles only, when upstream names none; or off
//	cors:
//	  enabled: true                # false: leave CORS to upstream
//	  origins: ["*"]               # or [https://www.example.com, "https://*.example.com"]
//	  credentials: false
//	  max_age: 10m                 # or off

// cache decodes the cache mapping.
func (d *decoder) cache(o *edgehog.CacheOptions) decodeFunc {
	return d.mapping(
		field{key: "enabled", decode: d.inverted(&o.Disabled)},
		field{key: "max_bytes", decode: d.size(&o.MaxBytes, false)},
		field{key: "stale_if_error", decode: d.durationOrOff(&o.StaleIfError)},
		field{key: "stale_while_revalidate", decode: d.durationOrOff(&o.StaleWhileRevalidate)},
	)
}

// cors decodes the cors mapping.
func (d *decoder) cors(o *edgehog.CORSOptions) decodeFunc {
	return d.mapping(
		field{key: "enabled", decode: d.inverted(&o.Disabled)},
		field{key: "origins", decode: d.origins(&o.Origins)},
		field{key: "credentials", decode: d.boolean(&o.Credentials)},
		field{key: "max_age", decode: d.durationOrOff(&o.MaxAge)},
	)
}

// inverted decodes a boolean into its negation (enabled → Disabled).
func (d *decoder) inverted(dst *bool) decodeFunc {
	return func(n *yaml.Node, path string) error {
		var v bool
		if err := d.boolean(&v)(n, path); err != nil {
			return err
		}
		*dst = !v
		return nil
	}
}

// durationOrOff decodes a positive duration, or "off" (stored as -1).
func (d *decoder) durationOrOff(dst *time.Duration) decodeFunc {
	return func(n *yaml.Node, path string) error {
		r := resolve(n)
		if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!str" && strings.EqualFold(strings.TrimSpace(r.Value), "off") {
			*dst = -1
			return nil
		}
		if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!bool" && strings.EqualFold(r.Value, "off") {
			// YAML 1.1 readers may take a bare off for false.
			*dst = -1
			return nil
		}
		n2, err := d.scalar(n, path, "!!str", "a duration like 24h or 60s, or off")
		if err != nil {
			return err
		}
		v, err := parseDuration(n2.Value)
		if err != nil {
			return d.errorf(n2, path, "%v, or off", err)
		}
		*dst = v
		return nil
	}
}

// origins decodes cors.origins: "*" or origins to allow.
func (d *decoder) origins(dst *[]string) decodeFunc {
	return func(n *yaml.Node, path string) error {
		var out []string
		if err := d.strs(&out, checkOrigin)(n, path); err != nil {
			return err
		}
		*dst = out
		return nil
	}
}

// checkOrigin vets one allowed origin with the CORS policy's own parser.
func checkOrigin(v string) error {
	if v == "*" {
		return nil
	}
	if _, _, err := guard.ParseOriginPattern(v); err != nil {
		return fmt.Errorf("%q is not an origin: want \"*\", scheme://host[:port] or scheme://*.domain", v)
	}
	return nil
}

// renderCache renders the cache mapping for Redacted.
func renderCache(o edgehog.CacheOptions) *yaml.Node {
	return mapping(
		"enabled", boolean(!o.Disabled),
		"max_bytes", size(o.MaxBytes),
		"stale_if_error", durOrOff(o.StaleIfError),
		"stale_while_revalidate", durOrOff(o.StaleWhileRevalidate),
	)
}

// renderCORS renders the cors mapping for Redacted.
func renderCORS(o edgehog.CORSOptions) *yaml.Node {
	return mapping(
		"enabled", boolean(!o.Disabled),
		"origins", flow(strList(o.Origins)),
		"credentials", boolean(o.Credentials),
		"max_age", durOrOff(o.MaxAge),
	)
}

func durOrOff(v time.Duration) *yaml.Node {
	if v < 0 {
		return str("off")
	}
	return dur(v)
}

package config

import (
	"fmt"
	"math"
	"strings"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/clientip"
	"github.com/edgehog/edgehog/internal/guard"
	"github.com/edgehog/edgehog/internal/route"
	"gopkg.in/yaml.v3"
)

// checkExposure vets exposure with the guard's own parser.
func checkExposure(v string) error {
	_, err := guard.ParseExposure(v)
	return err
}

// checkForwardedHeaders vets forwarded_headers (edgehog.Config documents
// the choices).
func checkForwardedHeaders(v string) error { return oneOf("auto", "always", "never")(v) }

// checkTrustedProxy vets a trusted network with the resolver's own parser.
func checkTrustedProxy(v string) error {
	if _, err := clientip.ParsePrefix(v); err != nil {
		return fmt.Errorf("%q is not a network (like 10.0.0.0/8, 2001:db8::/32 or 192.0.2.1)", v)
	}
	return nil
}

// checkClientIPHeader vets client_ip.header by building a resolver with it.
func checkClientIPHeader(v string) error {
	if _, err := clientip.New(clientip.Options{Header: v}); err != nil {
		return fmt.Errorf("%q is not one of X-Forwarded-For, %s", v, strings.Join(clientip.SupportedHeaders(), ", "))
	}
	return nil
}

func (d *decoder) clientIP(o *edgehog.ClientIPOptions) decodeFunc {
	return d.mapping(
		field{key: "trusted_proxies", decode: d.strs(&o.TrustedProxies, checkTrustedProxy)},
		field{key: "trust_all_proxies", decode: d.boolean(&o.TrustAllProxies)},
		field{key: "header", decode: d.str(&o.Header, checkClientIPHeader)},
		field{key: "truncate", decode: d.boolean(&o.Truncate)},
	)
}

func (d *decoder) rateLimit(o *edgehog.RateLimitOptions) decodeFunc {
	return d.mapping(
		field{key: "kinds", decode: d.rates(&o.Kinds)},
		field{key: "max_clients", decode: d.count(&o.MaxClients)},
	)
}

// rates decodes rate_limit.kinds: endpoint kind → {per_second, burst}.
func (d *decoder) rates(dst *map[string]edgehog.Rate) decodeFunc {
	return func(n *yaml.Node, path string) error {
		n = resolve(n)
		if isNull(n) {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return d.errorf(n, path, "want a mapping of endpoint kinds, got %s", describe(n))
		}
		out := make(map[string]edgehog.Rate, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return d.errorf(k, path, "want a key name, got %s", describe(k))
			}
			p := join(path, k.Value)
			if kind, ok := route.ParseKind(k.Value); !ok || kind.String() != k.Value {
				return d.errorf(k, p, "unknown endpoint kind (known: %s)", kindNames())
			}
			if _, dup := out[k.Value]; dup {
				return d.errorf(k, p, "duplicate key")
			}
			var r edgehog.Rate
			err := d.mapping(
				field{key: "per_second", decode: d.rate(&r.PerSecond), required: true},
				field{key: "burst", decode: d.count(&r.Burst)},
			)(n.Content[i+1], p)
			if err != nil {
				return err
			}
			out[k.Value] = r
		}
		*dst = out
		return nil
	}
}

// rate decodes a positive, finite number of requests per second.
func (d *decoder) rate(dst *float64) decodeFunc {
	return func(n *yaml.Node, path string) error {
		n = resolve(n)
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			return d.errorf(n, path, "want a number of requests per second, got %s", describe(n))
		}
		var v float64
		if err := n.Decode(&v); err != nil || !(v > 0) || math.IsInf(v, 0) {
			return d.errorf(n, path, "%s must be a positive number", n.Value)
		}
		*dst = v
		return nil
	}
}

// kindNames lists the endpoint kinds, for errors.
func kindNames() string {
	ks := route.Kinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.String()
	}
	return strings.Join(names, ", ")
}

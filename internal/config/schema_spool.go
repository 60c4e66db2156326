package config

import (
	"github.com/edgehog/edgehog"
	"gopkg.in/yaml.v3"
)

// The spool keys (docs/spool.md):
//
//	spool:
//	  mode: off                # off | fallback | always
//	  dir: /var/lib/edgehog/spool
//	  max_bytes: 1GiB
//	  max_age: 72h
//	  sync_interval: 1s        # unset (the default): fsync every write before answering
//	  concurrency: 4           # 1: strict order
//	  max_backoff: 5m
//	  nats:                    # an external JetStream cluster instead of dir
//	    url: nats://n1:4222,nats://n2:4222,nats://n3:4222
//	    credentials: /etc/edgehog/nats.creds
//	    stream: EDGEHOG_SPOOL
//	    replicas: 3

// spool decodes the spool mapping.
func (d *decoder) spool(o *edgehog.SpoolOptions) decodeFunc {
	return d.mapping(
		field{key: "mode", decode: d.spoolMode(&o.Mode)},
		field{key: "dir", decode: d.str(&o.Dir, checkNotEmpty)},
		field{key: "max_bytes", decode: d.size(&o.MaxBytes, false)},
		field{key: "max_age", decode: d.duration(&o.MaxAge)},
		field{key: "sync_interval", decode: d.duration(&o.SyncInterval)},
		field{key: "concurrency", decode: d.count(&o.Concurrency)},
		field{key: "max_backoff", decode: d.duration(&o.MaxBackoff)},
		field{key: "nats", decode: d.mapping(
			field{key: "url", decode: d.str(&o.NATSURL, checkNotEmpty)},
			field{key: "credentials", decode: d.str(&o.NATSCredentials, checkNotEmpty)},
			field{key: "stream", decode: d.str(&o.Stream, checkNotEmpty)},
			field{key: "replicas", decode: d.count(&o.Replicas)},
		)},
	)
}

// spoolMode decodes spool.mode. A bare off is YAML 1.1's false to some
// readers; it is taken as the mode "off".
func (d *decoder) spoolMode(dst *string) decodeFunc {
	check := oneOf(edgehog.SpoolOff, edgehog.SpoolFallback, edgehog.SpoolAlways)
	return func(n *yaml.Node, path string) error {
		if r := resolve(n); r.Kind == yaml.ScalarNode && r.ShortTag() == "!!bool" && (r.Value == "off" || r.Value == "false") {
			*dst = edgehog.SpoolOff
			return nil
		}
		return d.str(dst, check)(n, path)
	}
}

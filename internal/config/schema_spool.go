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

// renderSpool renders the spool mapping for Redacted. Only the keys that
// are set are shown (the spool fills its own defaults when it opens, and
// the output must parse again); the defaults are named in a comment.
func renderSpool(o edgehog.SpoolOptions, comment func(*yaml.Node, string) *yaml.Node) *yaml.Node {
	mode := o.Mode
	if mode == "" {
		mode = edgehog.SpoolOff
	}
	kv := []any{"mode", comment(str(mode), "defaults: max_bytes 1GiB, max_age 72h, fsync every write, concurrency 4, max_backoff 5m")}
	add := func(set bool, key string, n *yaml.Node) {
		if set {
			kv = append(kv, key, n)
		}
	}
	add(o.Dir != "", "dir", str(o.Dir))
	add(o.MaxBytes != 0, "max_bytes", size(o.MaxBytes))
	add(o.MaxAge != 0, "max_age", dur(o.MaxAge))
	add(o.SyncInterval != 0, "sync_interval", dur(o.SyncInterval))
	add(o.Concurrency != 0, "concurrency", num(int64(o.Concurrency)))
	add(o.MaxBackoff != 0, "max_backoff", dur(o.MaxBackoff))
	if o.NATSURL != "" {
		nats := []any{"url", str(o.NATSURL)}
		if o.NATSCredentials != "" {
			nats = append(nats, "credentials", str(o.NATSCredentials))
		}
		if o.Stream != "" {
			nats = append(nats, "stream", str(o.Stream))
		}
		if o.Replicas != 0 {
			nats = append(nats, "replicas", num(int64(o.Replicas)))
		}
		kv = append(kv, "nats", mapping(nats...))
	}
	return mapping(kv...)
}

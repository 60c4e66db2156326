package config

import (
	"github.com/edgehog/edgehog"
	"gopkg.in/yaml.v3"
)

// file decodes the top-level mapping into f. The keys and their order are
// those of the package documentation.
func (d *decoder) file(f *File) decodeFunc {
	p, s := &f.Proxy, &f.Server
	return d.mapping(
		field{key: "listen", decode: d.str(&s.Listen, checkListen)},
		field{key: "region", decode: d.str(&p.Region, checkRegion)},
		field{key: "prefix", decode: d.str(&p.Prefix, checkPrefix)},
		field{key: "exposure", decode: d.str(&p.Exposure, checkExposure)},
		field{key: "forwarded_headers", decode: d.str(&p.ForwardedHeaders, checkForwardedHeaders)},
		field{key: "upstream", decode: d.upstream(p)},
		field{key: "hosts", decode: d.hosts(&p.Hosts)},
		field{key: "aliases", decode: d.aliases(&p.Aliases)},
		field{key: "cookies", decode: d.mapping(
			field{key: "keep", decode: d.strs(&p.KeepCookies, checkCookieName)},
		)},
		field{key: "client_ip", decode: d.clientIP(&p.ClientIP)},
		field{key: "limits", decode: d.limits(&p.Limits)},
		field{key: "rate_limit", decode: d.rateLimit(&p.RateLimit)},
		field{key: "cache", decode: d.cache(&p.Cache)},
		field{key: "cors", decode: d.cors(&p.CORS)},
		field{key: "spool", decode: d.spool(&p.Spool)},
		field{key: "tls", decode: d.tls(&s.TLS)},
		field{key: "http_redirect_listen", decode: d.redirectListen(s)},
		field{key: "server", decode: d.server(f)},
		field{key: "admin", decode: d.admin(&f.Admin)},
		field{key: "log", decode: d.mapping(
			field{key: "level", decode: d.str(&f.Log.Level, checkLevel)},
			field{key: "format", decode: d.str(&f.Log.Format, checkFormat)},
			field{key: "access", decode: d.boolean(&f.Log.Access)},
		)},
	)
}

func (d *decoder) upstream(p *edgehog.Config) decodeFunc {
	u := &p.Upstream
	return d.mapping(
		field{key: "api", decode: d.str(&p.API, checkUpstream)},
		field{key: "assets", decode: d.str(&p.Assets, checkUpstream)},
		field{key: "dial_timeout", decode: d.duration(&u.DialTimeout)},
		field{key: "tls_handshake_timeout", decode: d.duration(&u.TLSHandshakeTimeout)},
		field{key: "response_header_timeout", decode: d.duration(&u.ResponseHeaderTimeout)},
		field{key: "flags_timeout", decode: d.duration(&u.FlagsTimeout)},
		field{key: "idle_conn_timeout", decode: d.duration(&u.IdleConnTimeout)},
		field{key: "conn_max_age", decode: d.duration(&u.ConnMaxAge)},
		field{key: "max_idle_conns_per_host", decode: d.count(&u.MaxIdleConnsPerHost)},
		field{key: "http2", decode: func(n *yaml.Node, path string) error {
			on := !u.DisableHTTP2
			err := d.boolean(&on)(n, path)
			u.DisableHTTP2 = !on
			return err
		}},
		field{key: "ca_file", decode: d.str(&u.CAFile, nil)},
	)
}

func (d *decoder) hosts(dst *[]edgehog.Host) decodeFunc {
	return func(n *yaml.Node, path string) error {
		var out []edgehog.Host
		err := d.list(func(_ int, e *yaml.Node, p string) error {
			var h edgehog.Host
			err := d.mapping(
				field{key: "host", decode: d.str(&h.Name, checkNotEmpty), required: true},
				field{key: "prefix", decode: d.str(&h.Prefix, checkPrefix)},
			)(e, p)
			out = append(out, h)
			return err
		})(n, path)
		*dst = out
		return err
	}
}

func (d *decoder) aliases(dst *[]edgehog.Alias) decodeFunc {
	return func(n *yaml.Node, path string) error {
		var out []edgehog.Alias
		err := d.list(func(_ int, e *yaml.Node, p string) error {
			var a edgehog.Alias
			err := d.mapping(
				field{key: "from", decode: d.str(&a.From, checkNotEmpty), required: true},
				field{key: "to", decode: d.str(&a.To, checkNotEmpty), required: true},
			)(e, p)
			out = append(out, a)
			return err
		})(n, path)
		*dst = out
		return err
	}
}

func (d *decoder) limits(l *edgehog.Limits) decodeFunc {
	return d.mapping(
		field{key: "events", decode: d.size(&l.Events, true)},
		field{key: "batch", decode: d.size(&l.Batch, true)},
		field{key: "recordings", decode: d.size(&l.Recordings, true)},
		field{key: "ai", decode: d.size(&l.AI, true)},
		field{key: "flags", decode: d.size(&l.Flags, true)},
		field{key: "other", decode: d.size(&l.Other, true)},
	)
}

func (d *decoder) server(f *File) decodeFunc {
	s := &f.Server
	return d.mapping(
		field{key: "read_header_timeout", decode: d.duration(&s.ReadHeaderTimeout)},
		field{key: "read_timeout", decode: d.duration(&s.ReadTimeout)},
		field{key: "write_timeout", decode: d.duration(&s.WriteTimeout)},
		field{key: "idle_timeout", decode: d.duration(&s.IdleTimeout)},
		field{key: "max_header_bytes", decode: d.headerBytes(&s.MaxHeaderBytes)},
		field{key: "shutdown_timeout", decode: d.duration(&s.ShutdownTimeout)},
		field{key: "health_path", decode: d.str(&s.HealthPath, checkProbePath)},
		field{key: "ready_path", decode: d.str(&s.ReadyPath, checkProbePath)},
		field{key: "pid_file", decode: d.str(&s.PidFile, nil)},
		field{key: "engine", decode: d.str(&s.Engine, checkEngine)},
	)
}

// maxHeaderBytes bounds server.max_header_bytes; more is a mistake.
const maxHeaderBytes = 16 * mib

func (d *decoder) headerBytes(dst *int) decodeFunc {
	return func(n *yaml.Node, path string) error {
		var v int64
		if err := d.size(&v, false)(n, path); err != nil {
			return err
		}
		if v > maxHeaderBytes {
			return d.errorf(resolve(n), path, "%s is more than %s", resolve(n).Value, formatSize(maxHeaderBytes))
		}
		*dst = int(v)
		return nil
	}
}

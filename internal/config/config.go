// Package config loads edgehog's configuration for the edgehog command: a
// YAML file, then EDGEHOG_* environment variables, then command-line flags,
// each overriding the one before, on top of the defaults.
//
// The YAML file looks like this; every key is optional, and the values shown
// are the defaults except where marked:
//
//	listen: ":8080"
//	region: us                 # us | eu (ignored when upstream.api is set)
//	prefix: /ph                # mount prefix; default / (the root)
//	exposure: public           # public (the SDKs' endpoints only) | all (every path)
//	forwarded_headers: auto    # X-Forwarded-Proto/Host upstream: auto | always | never
//	upstream:
//	  api: https://us.i.posthog.com           # default: from region
//	  assets: https://us-assets.i.posthog.com # default: from region, or api
//	  dial_timeout: 5s
//	  tls_handshake_timeout: 5s
//	  response_header_timeout: 30s
//	  flags_timeout: 2500ms
//	  idle_conn_timeout: 90s
//	  conn_max_age: 5m
//	  max_idle_conns_per_host: 256
//	  ca_file: /etc/edgehog/ca.pem            # default: the system's roots
//	hosts:                     # default: every host
//	  - host: ph.example.com
//	    prefix: /              # default: the top-level prefix
//	aliases:                   # default: none
//	  - from: /k/
//	    to: /e/
//	cookies:
//	  keep: [ph_session]       # default: none
//	client_ip:
//	  trusted_proxies: [10.0.0.0/8, 192.0.2.1] # default: none (the socket peer is the client)
//	  trust_all_proxies: false
//	  header: CF-Connecting-IP # default: X-Forwarded-For
//	  truncate: false
//	limits:                    # sizes like 64MiB, 20MB, 512KiB, 1048576; -1 or none = unlimited
//	  events: 20MiB
//	  batch: 64MiB
//	  recordings: 64MiB
//	  ai: 64MiB
//	  flags: 8MiB
//	  other: 64MiB
//	rate_limit:                # per client address and endpoint kind; default: none
//	  kinds:
//	    capture: {per_second: 50, burst: 100}
//	  max_clients: 100000
//	cache:                     # /static and /array answers in memory (docs/caching.md)
//	  enabled: true
//	  max_bytes: 64MiB
//	  stale_if_error: 24h      # or off
//	  stale_while_revalidate: 1m # bundles, when upstream names none; or off
//	cors:
//	  enabled: true            # false: leave CORS to upstream
//	  origins: ["*"]           # or [https://www.example.com, "https://*.example.com"]
//	  credentials: false
//	  max_age: 10m             # or off
//	server:
//	  read_header_timeout: 10s
//	  read_timeout: 5m
//	  write_timeout: 6m
//	  idle_timeout: 2m
//	  max_header_bytes: 64KiB
//	  shutdown_timeout: 30s
//	  health_path: /healthz
//	  ready_path: /readyz
//	  engine: edgehog          # edgehog | go (net/http's HTTP/1.x server)
//	admin:                     # /metrics, /status (docs/operations.md)
//	  listen: 127.0.0.1:9090   # default: none (no admin listener)
//	  token: ""                # default: none; better EDGEHOG_ADMIN_TOKEN
//	  public_metrics_path: ""  # default: none (metrics on the admin listener only)
//	log:
//	  level: info              # debug | info | warn | error
//	  format: json             # json | text
//	  access: true             # one line per request
//
// Parsing is strict: an unknown key, a value of the wrong type, a bad
// duration, size or choice is an *Error naming the file, line and field path.
// Durations are Go durations (5s, 2500ms, 1m30s) and must be positive.
package config

import (
	"log/slog"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/server"
)

// File is the whole configuration of the edgehog command.
type File struct {
	// Proxy configures the handler. Load leaves Logger and Transport nil
	// and AccessLog false: the command sets them (AccessLog from
	// Log.Access).
	Proxy edgehog.Config
	// Server configures the listener.
	Server server.Options
	// Log configures the process logger.
	Log LogOptions
	// Admin configures the admin listener (metrics, status page); off by
	// default.
	Admin AdminOptions
}

// LogOptions configure the process logger.
type LogOptions struct {
	// Level is the lowest level logged: "debug", "info", "warn" or "error";
	// default "info".
	Level string
	// Format is "json" (the default) or "text".
	Format string
	// Access logs one line per request; default true.
	Access bool
}

// SlogLevel returns Level as a slog.Level; anything unknown is Info.
func (l LogOptions) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// Default returns the defaults, with every value spelled out so that
// Redacted shows them. The proxy values are those edgehog.Config documents
// for its zero fields. API and Assets stay empty: they follow Region.
func Default() File {
	return File{
		Proxy:  edgehog.DefaultConfig(),
		Server: server.DefaultOptions(),
		Log:    LogOptions{Level: "info", Format: "json", Access: true},
	}
}

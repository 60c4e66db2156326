package config

import (
	"fmt"
	"os"
	"strconv"
)

// Load reads the configuration: the defaults, then the YAML file at path
// (none when path is empty), then the EDGEHOG_* variables env returns (nil
// reads none; an empty value counts as unset). Command-line flags go on top
// with Set. Load does not Validate.
func Load(path string, env func(string) string) (File, error) {
	f := Default()
	if path != "" {
		r, err := os.Open(path)
		if err != nil {
			return File{}, fmt.Errorf("reading config: %w", err)
		}
		defer r.Close()
		if f, err = Parse(r, path); err != nil {
			return File{}, err
		}
	}
	if env == nil {
		return f, nil
	}
	for _, o := range Overrides() {
		if v := env(o.Env); v != "" {
			if err := f.Set(o.Env, o.Key, v); err != nil {
				return File{}, err
			}
		}
	}
	return f, nil
}

// Override is one setting that an environment variable, and maybe a
// command-line flag, can set over the file.
type Override struct {
	// Key is the setting's YAML path, such as "upstream.api".
	Key string
	// Env is the environment variable, such as "EDGEHOG_API".
	Env string
	// Flag is the command-line flag name without dashes; empty when there
	// is none.
	Flag string
	// Usage is the flag's help text.
	Usage string
}

// Overrides lists the settings environment variables and flags can set, in
// the order Load applies them.
func Overrides() []Override {
	return []Override{
		{Key: "listen", Env: "EDGEHOG_LISTEN", Flag: "listen", Usage: "listen `address`, like :8080 or 127.0.0.1:8080"},
		{Key: "region", Env: "EDGEHOG_REGION", Flag: "region", Usage: "PostHog Cloud `region`: us or eu"},
		{Key: "upstream.api", Env: "EDGEHOG_API", Flag: "api", Usage: "API upstream `URL` (overrides region), like https://eu.i.posthog.com"},
		{Key: "upstream.assets", Env: "EDGEHOG_ASSETS", Flag: "assets", Usage: "assets upstream `URL` (default: from region, or the API URL)"},
		{Key: "prefix", Env: "EDGEHOG_PREFIX", Flag: "prefix", Usage: "mount prefix `path`, like /ph"},
		{Key: "log.level", Env: "EDGEHOG_LOG_LEVEL", Usage: "log level: debug, info, warn or error"},
		{Key: "log.format", Env: "EDGEHOG_LOG_FORMAT", Usage: "log format: json or text"},
		{Key: "log.access", Env: "EDGEHOG_ACCESS_LOG", Usage: "one log line per request: true or false"},
		{Key: "admin.listen", Env: "EDGEHOG_ADMIN_LISTEN", Flag: "admin-listen", Usage: "admin listener `address` for /metrics and /status, like 127.0.0.1:9090 (default: none)"},
		{Key: "admin.token", Env: "EDGEHOG_ADMIN_TOKEN", Usage: "token required by the admin endpoints"},
		{Key: "server.engine", Env: "EDGEHOG_SERVER_ENGINE", Usage: "HTTP/1.x server: edgehog or go (net/http's)"},
	}
}

// Set sets the setting key (an Override.Key) from the text of an
// environment variable or flag. source names where value came from
// ("EDGEHOG_REGION", "--region"); errors name it.
func (f *File) Set(source, key, value string) error {
	fail := func(err error) error { return &Error{Field: source, Msg: err.Error()} }
	if err := checkPrintable(value); err != nil {
		return fail(err)
	}
	str := func(dst *string, check func(string) error) error {
		if err := check(value); err != nil {
			return fail(err)
		}
		*dst = value
		return nil
	}
	switch key {
	case "listen":
		return str(&f.Server.Listen, checkListen)
	case "region":
		return str(&f.Proxy.Region, checkRegion)
	case "upstream.api":
		return str(&f.Proxy.API, checkUpstream)
	case "upstream.assets":
		return str(&f.Proxy.Assets, checkUpstream)
	case "prefix":
		return str(&f.Proxy.Prefix, checkPrefix)
	case "admin.listen":
		return str(&f.Admin.Listen, checkOptionalListen)
	case "admin.token":
		f.Admin.Token = value
		return nil
	case "server.engine":
		return str(&f.Server.Engine, checkEngine)
	case "log.level":
		return str(&f.Log.Level, checkLevel)
	case "log.format":
		return str(&f.Log.Format, checkFormat)
	case "log.access":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fail(fmt.Errorf("%q is not a boolean (true or false)", value))
		}
		f.Log.Access = b
		return nil
	}
	return fail(fmt.Errorf("%q is not a setting that can be overridden", key))
}

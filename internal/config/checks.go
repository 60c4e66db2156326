package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/edgehog/edgehog/internal/server"
)

// oneOf returns a check that the value is one of choices.
func oneOf(choices ...string) func(string) error {
	return func(v string) error {
		for _, c := range choices {
			if v == c {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(choices, ", "))
	}
}

// checkRegion vets a PostHog Cloud region.
func checkRegion(v string) error { return oneOf("us", "eu")(v) }

// checkEngine vets server.engine.
func checkEngine(v string) error { return oneOf(server.EngineEdgehog, server.EngineGo)(v) }

// checkLevel vets a log level.
func checkLevel(v string) error { return oneOf("debug", "info", "warn", "error")(v) }

// checkFormat vets a log format.
func checkFormat(v string) error { return oneOf("json", "text")(v) }

// checkListen vets a listen address: host:port, host optional.
func checkListen(v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return fmt.Errorf("%q is not a listen address (like :8080 or 127.0.0.1:8080)", v)
	}
	return nil
}

// checkUpstream vets an upstream origin. Empty means unset.
func checkUpstream(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", v)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		// The same rule as edgehog.New: credentials in a URL end up in
		// logs and process listings.
		return fmt.Errorf("%q must be scheme://host[:port][/path] and nothing else", v)
	}
	return nil
}

// checkPrefix vets a mount prefix. Empty means the root.
func checkPrefix(v string) error {
	if v != "" && !strings.HasPrefix(v, "/") {
		return fmt.Errorf("%q must start with /", v)
	}
	return nil
}

// checkProbePath vets a health or readiness path.
func checkProbePath(v string) error {
	if !strings.HasPrefix(v, "/") {
		return fmt.Errorf("%q must start with /", v)
	}
	return nil
}

// checkPrintable refuses control characters, which no setting has a use
// for and which hide in terminals and logs.
func checkPrintable(v string) error {
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q contains a control character", v)
		}
	}
	return nil
}

func checkNotEmpty(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

// checkCookieName vets a cookie name (RFC 6265 §4.1.1 token, loosely).
func checkCookieName(v string) error {
	if v == "" || strings.ContainsAny(v, "=; \t,") {
		return fmt.Errorf("%q is not a cookie name", v)
	}
	return nil
}

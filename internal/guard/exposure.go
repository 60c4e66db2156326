package guard

import (
	"fmt"
	"strings"

	"github.com/edgehog/edgehog/internal/route"
)

// Exposure says how much of PostHog edgehog forwards.
type Exposure uint8

const (
	// ExposePublic forwards only the endpoints PostHog's SDKs call
	// (protocol.md §1). Project management (/api/projects/..., /admin, the
	// app itself) gets 404 without touching upstream, so edgehog cannot be
	// used as a way into PostHog.
	ExposePublic Exposure = iota
	// ExposeAll forwards every path: the whole PostHog app behind
	// edgehog, for a self-hosted PostHog.
	ExposeAll
)

// ParseExposure parses "public" or "all".
func ParseExposure(s string) (Exposure, error) {
	switch s {
	case "", "public":
		return ExposePublic, nil
	case "all":
		return ExposeAll, nil
	}
	return 0, fmt.Errorf("%q is not an exposure (public or all)", s)
}

// String returns "public" or "all".
func (e Exposure) String() string {
	if e == ExposeAll {
		return "all"
	}
	return "public"
}

// sdkAPIPrefixes are the Django endpoints PostHog's SDKs call themselves
// (protocol.md §1 and §2): surveys, early access features, web
// experiments, product tours, conversations and site apps.
var sdkAPIPrefixes = []string{
	"/api/surveys",
	"/api/early_access_features",
	"/api/web_experiments",
	"/api/product_tours",
	"/api/conversations/",
	"/site_app/",
	"/report",
}

// Exposed reports whether a request of kind k for the canonical path p is
// forwarded under exposure e.
func Exposed(e Exposure, k route.Kind, p string) bool {
	if e == ExposeAll {
		return true
	}
	switch k {
	case route.KindOther:
		return false
	case route.KindAPI:
		for _, pre := range sdkAPIPrefixes {
			if strings.HasPrefix(p, pre) {
				// "/api/surveys" must not admit "/api/surveysfoo".
				rest := p[len(pre):]
				if rest == "" || rest[0] == '/' || pre[len(pre)-1] == '/' {
					return true
				}
			}
		}
		return isFlagRemoteConfig(p)
	}
	return true
}

// isFlagRemoteConfig matches the server SDKs' flag payload endpoint,
// /api/projects/@current/feature_flags/<key>/remote_config[/]; it needs a
// secret key, which PostHog checks.
func isFlagRemoteConfig(p string) bool {
	const pre = "/api/projects/@current/feature_flags/"
	if !strings.HasPrefix(p, pre) {
		return false
	}
	rest := strings.TrimSuffix(p[len(pre):], "/")
	key, tail, ok := strings.Cut(rest, "/")
	return ok && key != "" && tail == "remote_config"
}

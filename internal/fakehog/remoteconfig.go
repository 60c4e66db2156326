package fakehog

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// parseArrayPath splits "/array/<token>/<file>" for the three files Django
// serves there (PH:posthog/urls.py: config, config.js, array.js).
func parseArrayPath(p string) (token, file string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/array/")
	if !ok {
		return "", "", false
	}
	token, file, ok = strings.Cut(rest, "/")
	if !ok || token == "" {
		return "", "", false
	}
	switch file {
	case "config", "config.js", "array.js":
		return token, file, true
	}
	return "", "", false
}

// clientConfig holds the remote-config keys posthog-js reads
// (protocol.md §4.2, PH:posthog/api/test/test_remote_config.py), also
// returned by /decide and /flags?config=true, with Options.RemoteConfig
// merged over these defaults.
func (f *Fake) clientConfig() map[string]any {
	cfg := map[string]any{
		"supportedCompression":  []string{"gzip", "gzip-js"},
		"hasFeatureFlags":       len(f.flags) > 0,
		"captureDeadClicks":     false,
		"capturePerformance":    false,
		"autocapture_opt_out":   false,
		"autocaptureExceptions": false,
		"analytics":             map[string]any{"endpoint": "/i/v0/e/"},
		"elementsChainAsString": true,
		"sessionRecording":      false,
		"heatmaps":              false,
		"surveys":               false,
		"defaultIdentifiedOnly": true,
		"siteApps":              []any{},
	}
	for k, v := range f.opts.RemoteConfig {
		if v == nil {
			delete(cfg, k)
			continue
		}
		cfg[k] = v
	}
	return cfg
}

// remoteConfigJSON is the /array/<token>/config document.
func (f *Fake) remoteConfigJSON(token string) []byte {
	cfg := f.clientConfig()
	cfg["token"] = token
	body, _ := json.Marshal(cfg) // Options.RemoteConfig was checked by Start
	return body
}

// remoteConfigJS is the config.js script: it registers the config under
// window._POSTHOG_REMOTE_CONFIG[token], as observed from PostHog
// (protocol.md §2.1). The token is a JSON string, safe as JS.
func (f *Fake) remoteConfigJS(token string) []byte {
	key, _ := json.Marshal(token)
	var b bytes.Buffer
	b.WriteString("window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {};\n")
	b.WriteString("window._POSTHOG_REMOTE_CONFIG[")
	b.Write(key)
	b.WriteString("] = {config: ")
	b.Write(f.remoteConfigJSON(token))
	b.WriteString(", siteApps: []};\n")
	return b.Bytes()
}

// remoteConfig answers /array/<token>/{config,config.js,array.js}.
// Django sets Cache-Control: public, max-age=300 and Vary: Origin, Referer
// (protocol.md §4.3); only the assets origin keeps Cache-Control, since
// the API origin strips it (protocol.md §0.2).
func (f *Fake) remoteConfig(upstream, token, file string) reply {
	var rep reply
	switch file {
	case "config":
		rep = jsonReply(http.StatusOK, f.remoteConfigJSON(token))
	case "config.js":
		rep = newReply(http.StatusOK, jsContentType, f.remoteConfigJS(token))
	default: // array.js: the SDK bundle with its config in front
		body := f.remoteConfigJS(token)
		if sf, ok := f.static.get("array.js"); ok {
			body = append(body, sf.body...)
		}
		rep = newReply(http.StatusOK, jsContentType, body)
	}
	if upstream == UpstreamAssets {
		rep.header.Set("Cache-Control", "public, max-age=300")
	}
	rep.header.Set("Vary", "Origin, Referer")
	return rep
}

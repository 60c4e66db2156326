package fakehog

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// flagSpec is one configured flag.
type flagSpec struct {
	id      int
	key     string
	enabled bool
	variant string // "" for boolean flags
	payload string // the payload's JSON text, "" for none
}

// payloadValue is the payload as PostHog sends it, a JSON-encoded string,
// or nil for none.
func (fs flagSpec) payloadValue() any {
	if fs.payload == "" {
		return nil
	}
	return fs.payload
}

// addPayloads validates Options.FlagPayloads onto the parsed flags.
func addPayloads(flags []flagSpec, payloads map[string]json.RawMessage) error {
	for k, p := range payloads {
		i := slices.IndexFunc(flags, func(fs flagSpec) bool { return fs.key == k })
		if i < 0 {
			return fmt.Errorf("%s: not a key of Flags", k)
		}
		if !json.Valid(p) {
			return fmt.Errorf("%s: not valid JSON", k)
		}
		flags[i].payload = string(p)
	}
	return nil
}

// value is the flag's value in legacy responses: the variant or the bool.
func (fs flagSpec) value() any {
	if fs.variant != "" {
		return fs.variant
	}
	return fs.enabled
}

// parseFlags validates Options.Flags into specs sorted by key, ids from 1.
func parseFlags(m map[string]any) ([]flagSpec, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	specs := make([]flagSpec, 0, len(keys))
	for i, k := range keys {
		if k == "" {
			return nil, errors.New("empty flag key")
		}
		spec := flagSpec{id: i + 1, key: k}
		switch v := m[k].(type) {
		case bool:
			spec.enabled = v
		case string:
			if v == "" {
				return nil, fmt.Errorf("%s: variant must not be empty", k)
			}
			spec.enabled, spec.variant = true, v
		default:
			return nil, fmt.Errorf("%s: value must be a bool or a variant string, got %T", k, v)
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

func isFlagsPath(p string) bool  { return strings.TrimSuffix(p, "/") == "/flags" }
func isDecidePath(p string) bool { return strings.TrimSuffix(p, "/") == "/decide" }

func isDefinitionsPath(p string) bool {
	p = strings.TrimSuffix(p, "/")
	return p == "/flags/definitions" || p == "/api/feature_flag/local_evaluation"
}

// serveFlags answers /flags (decide false) and /decide (decide true).
func (f *Fake) serveFlags(r *http.Request, in inbound, decode, decide bool) (reply, decodeResult) {
	q := r.URL.Query()
	var res decodeResult
	if decode {
		if !in.complete {
			res.err = "body too large to decode"
		} else {
			decoded, err := decodeFlags(q, r.Header, in.data, f.decodeLimit())
			if err != nil {
				res.err = err.Error()
				return flagsErrorReply(err), res
			}
			res.decoded = decoded
			if !f.tokenKnown(decoded) {
				return invalidTokenReply(), res
			}
		}
	}
	v, _ := strconv.Atoi(q.Get("v"))
	return jsonReply(http.StatusOK, f.flagsBody(v, decide, q.Get("config") == "true")), res
}

// flagsBody builds the response for API version v (protocol.md §4.2,
// PH:rust/feature-flags/src/api/endpoint.rs get_versioned_response):
// /flags v≥2 and /decide v≥4 get the v2 "flags" map; /flags v<2 and
// /decide v3 the legacy "featureFlags" map; /decide v2 a map of active
// flags and /decide v1 a list of active keys. /decide and config=true add
// the client config fields.
func (f *Fake) flagsBody(v int, decide, config bool) []byte {
	resp := map[string]any{
		"errorsWhileComputingFlags": false,
		"requestId":                 newUUID(),
	}
	switch {
	case decide && v < 2:
		active := []string{}
		for _, fs := range f.flags {
			if fs.enabled {
				active = append(active, fs.key)
			}
		}
		resp["featureFlags"] = active
	case decide && v == 2:
		active := map[string]any{}
		for _, fs := range f.flags {
			if fs.enabled {
				active[fs.key] = fs.value()
			}
		}
		resp["featureFlags"] = active
	case decide && v == 3, !decide && v < 2:
		all := map[string]any{}
		for _, fs := range f.flags {
			all[fs.key] = fs.value()
		}
		resp["featureFlags"] = all
		payloads := map[string]any{}
		for _, fs := range f.flags {
			if fs.enabled && fs.payload != "" {
				payloads[fs.key] = fs.payload
			}
		}
		resp["featureFlagPayloads"] = payloads
	default:
		details := map[string]flagDetail{}
		for _, fs := range f.flags {
			details[fs.key] = detailOf(fs)
		}
		resp["flags"] = details
	}
	if decide || config {
		for k, v := range f.clientConfig() {
			resp[k] = v
		}
		resp["config"] = map[string]any{"enable_collect_everything": true}
		resp["toolbarParams"] = map[string]any{}
		resp["isAuthenticated"] = false
	}
	body, _ := json.Marshal(resp) // plain maps and structs: cannot fail
	return body
}

// flagDetail is a v2 flag (PH:rust/feature-flags/src/api/types.rs
// FlagDetails).
type flagDetail struct {
	Key      string       `json:"key"`
	Enabled  bool         `json:"enabled"`
	Variant  *string      `json:"variant"`
	Reason   flagReason   `json:"reason"`
	Metadata flagMetadata `json:"metadata"`
}

type flagReason struct {
	Code           string `json:"code"`
	ConditionIndex *int   `json:"condition_index"`
	Description    string `json:"description"`
}

type flagMetadata struct {
	ID          int     `json:"id"`
	Version     int     `json:"version"`
	Description *string `json:"description"`
	Payload     any     `json:"payload"` // a JSON-encoded string, or nil
}

func detailOf(fs flagSpec) flagDetail {
	d := flagDetail{
		Key:      fs.key,
		Enabled:  fs.enabled,
		Metadata: flagMetadata{ID: fs.id, Version: 1},
		Reason:   flagReason{Code: "no_condition_match", Description: "No matching condition set"},
	}
	if fs.enabled {
		zero := 0
		d.Reason = flagReason{Code: "condition_match", ConditionIndex: &zero, Description: "Matched condition set 1"}
	}
	if fs.variant != "" {
		d.Variant = &fs.variant
	}
	if fs.enabled {
		d.Metadata.Payload = fs.payloadValue()
	}
	return d
}

// flagsErrorReply is the feature-flags service's error body,
// {"type","code","detail"}.
func flagsErrorReply(err error) reply {
	var de *decodeError
	if !errors.As(err, &de) || de.status == 0 {
		de = errDecoding(err.Error())
	}
	body, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}{"validation_error", de.code, de.msg})
	return jsonReply(de.status, body)
}

// serveDefinitions answers /flags/definitions and
// /api/feature_flag/local_evaluation with ETag and If-None-Match → 304,
// which both server SDKs use (protocol.md §4.3, flags.md §1).
func (f *Fake) serveDefinitions(r *http.Request) reply {
	if etagMatch(r.Header.Get("If-None-Match"), f.defsETag) {
		rep := newReply(http.StatusNotModified, "", nil)
		rep.header.Set("ETag", f.defsETag)
		return rep
	}
	rep := jsonReply(http.StatusOK, f.definitions)
	rep.header.Set("ETag", f.defsETag)
	return rep
}

// definitionsFor builds a local-evaluation document (flags.md §1) that
// agrees with the /flags answers: every flag active, rolled out to 100 %
// (0 % for false), variants as a single 100 % variant.
func definitionsFor(flags []flagSpec) []byte {
	defs := make([]map[string]any, 0, len(flags))
	for _, fs := range flags {
		rollout := 100
		if !fs.enabled {
			rollout = 0
		}
		var multivariate any
		if fs.variant != "" {
			multivariate = map[string]any{"variants": []any{
				map[string]any{"key": fs.variant, "name": fs.variant, "rollout_percentage": 100},
			}}
		}
		defs = append(defs, map[string]any{
			"id":                           fs.id,
			"key":                          fs.key,
			"name":                         fs.key,
			"active":                       true,
			"deleted":                      false,
			"ensure_experience_continuity": false,
			"filters": map[string]any{
				"groups": []any{map[string]any{
					"properties":         []any{},
					"rollout_percentage": rollout,
					"variant":            nil,
				}},
				"multivariate": multivariate,
				"payloads":     definitionPayloads(fs),
			},
		})
	}
	body, _ := json.Marshal(map[string]any{
		"flags":              defs,
		"group_type_mapping": map[string]string{},
		"cohorts":            map[string]any{},
	})
	return body
}

// definitionPayloads is filters.payloads of a flag definition (flags.md
// §1): the payload under the variant's key, or "true" for a boolean flag.
func definitionPayloads(fs flagSpec) map[string]any {
	out := map[string]any{}
	switch {
	case fs.payload == "":
	case fs.variant != "":
		out[fs.variant] = fs.payload
	default:
		out["true"] = fs.payload
	}
	return out
}

// newUUID returns a random RFC 9562 version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

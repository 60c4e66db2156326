package posthog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"syscall"
)

// flagsPath is the remote evaluation endpoint posthog-node calls
// (getFlags: /flags/?v=2).
const flagsPath = "/flags/?v=2"

// maxFlagsBody bounds a /flags answer.
const maxFlagsBody = 16 << 20

// flagsRequest is the /flags body posthog-node sends (protocol.md §2.3).
type flagsRequest struct {
	Token             string                `json:"token"`
	DistinctID        string                `json:"distinct_id"`
	Groups            map[string]string     `json:"groups"`
	PersonProperties  Properties            `json:"person_properties"`
	GroupProperties   map[string]Properties `json:"group_properties"`
	GeoipDisable      bool                  `json:"geoip_disable,omitempty"`
	FlagKeys          []string              `json:"flag_keys_to_evaluate,omitempty"`
	EvalContexts      []string              `json:"evaluation_contexts,omitempty"`
	EvaluationRuntime string                `json:"evaluation_runtime"`
	DeviceID          any                   `json:"$device_id,omitempty"`
}

// flagsResponse is the v2 answer (protocol.md §4.2).
type flagsResponse struct {
	Flags                     map[string]remoteFlag `json:"flags"`
	ErrorsWhileComputingFlags bool                  `json:"errorsWhileComputingFlags"`
	QuotaLimited              []string              `json:"quotaLimited"`
	RequestID                 string                `json:"requestId"`
	EvaluatedAt               *int64                `json:"evaluatedAt"`
	MinimalFlagCalledEvents   bool                  `json:"minimalFlagCalledEvents"`
}

type remoteFlag struct {
	Key     string  `json:"key"`
	Enabled bool    `json:"enabled"`
	Variant *string `json:"variant"`
	Failed  bool    `json:"failed"`
	Reason  *struct {
		Code        string `json:"code"`
		Description string `json:"description"`
	} `json:"reason"`
	Metadata *struct {
		ID            *int            `json:"id"`
		Version       *int            `json:"version"`
		Payload       json.RawMessage `json:"payload"`
		HasExperiment *bool           `json:"has_experiment"`
	} `json:"metadata"`
}

// value is the flag's FlagValue.
func (f *remoteFlag) value() FlagValue {
	if !f.Enabled {
		return Off
	}
	if f.Variant != nil {
		return Variant(*f.Variant)
	}
	return On
}

// payload is the flag's payload as posthog-node returns it: a string
// payload holding JSON is that JSON, any other string is itself (as a JSON
// string), other values as they are; nil for none.
func (f *remoteFlag) payload() json.RawMessage {
	if f.Metadata == nil {
		return nil
	}
	return decodePayloadField(f.Metadata.Payload)
}

func decodePayloadField(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return raw // not a string: returned as is
	}
	if s == "" {
		return nil // posthog-node: payloads[key] || null
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	return raw
}

// remoteFlags asks /flags/?v=2 for keys (all flags when empty), with one
// retry after 502, 504 or a network error other than a refused connection
// (posthog-core isRetryableFlagsFetchError).
func (c *Client) remoteFlags(ctx context.Context, distinctID string, call *flagCall, keys []string) (*flagsResponse, error) {
	req := flagsRequest{
		Token:             c.projectKey,
		DistinctID:        distinctID,
		Groups:            call.groups,
		PersonProperties:  make(Properties, len(call.personProperties)+1),
		GroupProperties:   make(map[string]Properties, len(call.groups)),
		GeoipDisable:      c.cfg.disableGeoip,
		FlagKeys:          keys,
		EvalContexts:      c.cfg.evalContexts,
		EvaluationRuntime: "server",
	}
	if req.Groups == nil {
		req.Groups = map[string]string{}
	}
	// posthog-node addLocalPersonAndGroupProperties: distinct_id and
	// $group_key are added unless the caller gave them.
	req.PersonProperties["distinct_id"] = distinctID
	maps.Copy(req.PersonProperties, call.personProperties)
	for t, p := range call.groupProperties {
		req.GroupProperties[t] = p
	}
	for t, key := range call.groups {
		bag := Properties{"$group_key": key}
		maps.Copy(bag, call.groupProperties[t])
		req.GroupProperties[t] = bag
	}
	if id, ok := call.personProperties["$device_id"]; ok && id != nil && id != "" {
		req.DeviceID = id
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("posthog: encoding /flags request: %w", err)
	}
	header := http.Header{"Content-Type": {"application/json"}}
	const attempts = 2 // featureFlagsRequestMaxRetries: 1
	for attempt := range attempts {
		if attempt > 0 && !sleepCtx(ctx, c.cfg.retryDelay) {
			return nil, ctx.Err()
		}
		var resp *flagsResponse
		resp, err = c.fetchFlags(ctx, header, body)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retryableFlags(err) {
			break
		}
	}
	return nil, err
}

// fetchFlags is one /flags attempt.
func (c *Client) fetchFlags(ctx context.Context, header http.Header, body []byte) (*flagsResponse, error) {
	resp, err := c.do(ctx, http.MethodPost, flagsPath, header, body, c.cfg.flagsTimeout)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxFlagsBody))
	if err != nil {
		return nil, &NetworkError{Path: pathOnly(flagsPath), Err: fmt.Errorf("reading answer: %w", err)}
	}
	return parseFlagsResponse(raw)
}

// parseFlagsResponse decodes a /flags v2 answer.
func parseFlagsResponse(raw []byte) (*flagsResponse, error) {
	var out flagsResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("posthog: decoding /flags answer: %w", err)
	}
	return &out, nil
}

// retryableFlags: 502, 504, and network errors except refused connections.
func retryableFlags(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusBadGateway || ae.Status == http.StatusGatewayTimeout
	}
	var ne *NetworkError
	return errors.As(err, &ne) && !errors.Is(err, syscall.ECONNREFUSED)
}

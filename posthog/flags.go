package posthog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/edgehog/edgehog/internal/flags"
)

// Flag errors. A flag call never answers a value it does not have: when
// posthog-node would return undefined, these say why.
var (
	// ErrFlagNotFound: the flag is not defined, locally or on the server
	// (posthog-node's "flag_missing").
	ErrFlagNotFound = errors.New("posthog: feature flag not found")
	// ErrInconclusive: local evaluation cannot decide the flag (for
	// example a property it needs was not given, or the definitions are
	// not loaded) and remote evaluation was not allowed
	// (OnlyEvaluateLocally, StrictLocalEvaluation).
	ErrInconclusive = errors.New("posthog: feature flag evaluation inconclusive")
	// ErrQuotaLimited: PostHog answered that the project is over its
	// feature-flags quota.
	ErrQuotaLimited = errors.New("posthog: feature flags quota limited")
	// ErrFlagFailed: the server could not compute the flag
	// (errorsWhileComputingFlags with the flag marked failed).
	ErrFlagFailed = errors.New("posthog: server failed to compute the feature flag")
)

// FlagOption adjusts one flag call.
type FlagOption func(*flagCall)

// flagCall is one call's options.
type flagCall struct {
	groups           map[string]string
	personProperties Properties
	groupProperties  map[string]Properties
	onlyLocal        *bool
	sendEvents       *bool
	matchValue       *FlagValue
	flagKeys         []string
}

// WithGroups gives the groups ("company": "acme") group flags bucket on.
func WithGroups(groups map[string]string) FlagOption {
	return func(c *flagCall) { c.groups = groups }
}

// WithPersonProperties gives person properties for local evaluation (and
// sends them to /flags). distinct_id is added unless given.
func WithPersonProperties(props Properties) FlagOption {
	return func(c *flagCall) { c.personProperties = props }
}

// WithGroupProperties gives group properties by group type. $group_key is
// added for the groups of WithGroups unless given.
func WithGroupProperties(props map[string]Properties) FlagOption {
	return func(c *flagCall) { c.groupProperties = props }
}

// OnlyEvaluateLocally forbids the remote /flags fallback: when local
// evaluation is inconclusive the call fails with ErrInconclusive.
func OnlyEvaluateLocally() FlagOption {
	return func(c *flagCall) { t := true; c.onlyLocal = &t }
}

// SendFeatureFlagEvents overrides Options.SendFeatureFlagEvent for one
// IsFeatureEnabled or GetFeatureFlag call.
func SendFeatureFlagEvents(send bool) FlagOption {
	return func(c *flagCall) { c.sendEvents = &send }
}

// WithMatchValue makes GetFeatureFlagPayload return the payload of this
// value without evaluating the flag (posthog-node's matchValue).
func WithMatchValue(v FlagValue) FlagOption {
	return func(c *flagCall) { c.matchValue = &v }
}

// WithFlagKeys limits GetAllFlags and GetAllFlagsAndPayloads to these keys.
func WithFlagKeys(keys ...string) FlagOption {
	return func(c *flagCall) { c.flagKeys = keys }
}

func (c *Client) newCall(opts []FlagOption) *flagCall {
	call := &flagCall{}
	for _, o := range opts {
		o(call)
	}
	return call
}

func (c *Client) onlyLocal(call *flagCall) bool {
	if call.onlyLocal != nil {
		return *call.onlyLocal
	}
	return c.cfg.strictLocal
}

func (c *Client) input(call *flagCall, distinctID string) flags.Input {
	in := flags.Input{
		EvaluationContexts: c.cfg.evalContexts,
		DistinctID:         distinctID,
		Groups:             call.groups,
		PersonProperties:   call.personProperties,
	}
	if len(call.groupProperties) > 0 {
		in.GroupProperties = make(map[string]map[string]any, len(call.groupProperties))
		for t, p := range call.groupProperties {
			in.GroupProperties[t] = p
		}
	}
	return in
}

// flagResult is one resolved (or failed) single-flag evaluation, with what
// its $feature_flag_called event reports.
type flagResult struct {
	value     FlagValue
	payload   json.RawMessage
	ok        bool // value is valid
	local     bool
	id        *int
	version   *int
	reason    string
	requestID string
	hasExp    *bool
	evalAt    *int64
	errCode   string // $feature_flag_error
	// minimal: the source (definitions or /flags answer) asked for
	// minimal $feature_flag_called events.
	minimal bool
}

// GetFeatureFlag returns the flag's value for distinctID: locally evaluated
// when a PersonalAPIKey is set and the definitions decide it, else from
// /flags (unless OnlyEvaluateLocally). It sends a $feature_flag_called
// event, once per distinct id, flag, value and groups. The error is
// ErrFlagNotFound, an error wrapping ErrInconclusive, ErrQuotaLimited,
// ErrFlagFailed, an *APIError or *NetworkError, or ctx's error; the value
// is then Off and must not be used.
func (c *Client) GetFeatureFlag(ctx context.Context, key, distinctID string, opts ...FlagOption) (FlagValue, error) {
	call := c.newCall(opts)
	r, err := c.evaluateFlag(ctx, key, distinctID, call)
	send := c.cfg.sendFlagEvents
	if call.sendEvents != nil {
		send = *call.sendEvents
	}
	if send && ctx.Err() == nil {
		c.flagCalled(key, distinctID, call.groups, r)
	}
	if err != nil {
		return Off, err
	}
	return r.value, nil
}

// IsFeatureEnabled reports whether the flag is on (any variant counts) for
// distinctID. Errors are as for GetFeatureFlag.
func (c *Client) IsFeatureEnabled(ctx context.Context, key, distinctID string, opts ...FlagOption) (bool, error) {
	v, err := c.GetFeatureFlag(ctx, key, distinctID, opts...)
	return v.Enabled(), err
}

// GetFeatureFlagPayload returns the flag's payload (JSON) for distinctID,
// nil when the value has none. With WithMatchValue the payload of that
// value is returned without evaluating. No $feature_flag_called event is
// sent. Errors are as for GetFeatureFlag.
func (c *Client) GetFeatureFlagPayload(ctx context.Context, key, distinctID string, opts ...FlagOption) (json.RawMessage, error) {
	call := c.newCall(opts)
	if call.matchValue != nil {
		if defs := c.flags.definitions(ctx); defs != nil {
			res, err := defs.Payload(key, call.matchValue.Enabled(), call.matchValue.Variant())
			if err == nil {
				return res.Payload, nil
			}
		}
	}
	r, err := c.evaluateFlag(ctx, key, distinctID, call)
	if err != nil {
		return nil, err
	}
	return r.payload, nil
}

// evaluateFlag is posthog-node's _getFeatureFlagResult without the event.
func (c *Client) evaluateFlag(ctx context.Context, key, distinctID string, call *flagCall) (flagResult, error) {
	var localErr error
	if defs := c.flags.definitions(ctx); defs != nil {
		res, err := defs.Evaluate(key, c.input(call, distinctID), c.cfg.now())
		if err == nil {
			id := res.FlagID
			r := flagResult{
				value:   FlagValue{enabled: res.Enabled, variant: res.Variant},
				payload: res.Payload,
				ok:      true,
				local:   true,
				id:      &id,
				reason:  "Evaluated locally",
				minimal: defs.MinimalFlagCalledEvents(),
			}
			if info, ok := defs.Flag(key); ok && info.HasExperimentSet {
				r.hasExp = &info.HasExperiment
			}
			return r, nil
		}
		localErr = err
	} else if c.flags.poller != nil {
		localErr = fmt.Errorf("flag definitions not loaded: %w", flags.ErrInconclusive)
	}
	if c.onlyLocal(call) {
		switch {
		case localErr == nil:
			// Local evaluation is off (no PersonalAPIKey).
			return flagResult{errCode: "local_evaluation_inconclusive"}, fmt.Errorf("%w: flag %q: local evaluation needs a PersonalAPIKey", ErrInconclusive, key)
		case errors.Is(localErr, flags.ErrUnknownFlag):
			return flagResult{errCode: "flag_missing"}, fmt.Errorf("%w: %q", ErrFlagNotFound, key)
		default:
			return flagResult{errCode: "local_evaluation_inconclusive"}, fmt.Errorf("%w: %w", ErrInconclusive, localErr)
		}
	}
	resp, err := c.remoteFlags(ctx, distinctID, call, []string{key})
	if err != nil {
		return flagResult{errCode: flagErrorCode(err)}, err
	}
	r := flagResult{requestID: resp.RequestID, evalAt: resp.EvaluatedAt, minimal: resp.MinimalFlagCalledEvents}
	var codes []string
	if resp.ErrorsWhileComputingFlags {
		codes = append(codes, "errors_while_computing_flags")
	}
	quota := slices.Contains(resp.QuotaLimited, "feature_flags")
	if quota {
		codes = append(codes, "quota_limited")
	}
	f, found := resp.Flags[key]
	if !found {
		codes = append(codes, "flag_missing")
	}
	r.errCode = joinCodes(codes)
	switch {
	case quota && !found:
		return r, fmt.Errorf("%w: flag %q", ErrQuotaLimited, key)
	case !found:
		return r, fmt.Errorf("%w: %q", ErrFlagNotFound, key)
	case f.Failed:
		return r, fmt.Errorf("%w: %q", ErrFlagFailed, key)
	}
	r.value, r.payload, r.ok = f.value(), f.payload(), true
	if f.Metadata != nil {
		r.id, r.version, r.hasExp = f.Metadata.ID, f.Metadata.Version, f.Metadata.HasExperiment
	}
	if f.Reason != nil {
		r.reason = f.Reason.Description
		if r.reason == "" {
			r.reason = f.Reason.Code
		}
	}
	return r, nil
}

// flagErrorCode is posthog-node's $feature_flag_error for a failed request.
func flagErrorCode(err error) string {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return fmt.Sprintf("api_error_%d", ae.Status)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	var ne *NetworkError
	if errors.As(err, &ne) {
		return "connection_error"
	}
	return "unknown_error"
}

func joinCodes(codes []string) string {
	out := ""
	for i, c := range codes {
		if i > 0 {
			out += ","
		}
		out += c
	}
	return out
}

// flagCalled sends $feature_flag_called for a single-flag read, de-duplicated
// as posthog-node's _captureFlagCalledEventIfNeeded.
func (c *Client) flagCalled(key, distinctID string, groups map[string]string, r flagResult) {
	response := "undefined"
	if r.ok {
		response = r.value.String()
	}
	if !c.flags.called.firstTime(distinctID, reportKey(key, response, groups)) {
		return
	}
	props := Properties{
		"$feature_flag":     key,
		"locally_evaluated": r.local,
	}
	// Minimal events (posthog-core minimizeFlagCalledEventProperties) keep
	// an allowlist that leaves out $feature/<key> and the definitions load
	// time; they apply only to flags known to have no experiment.
	minimal := r.minimal && r.hasExp != nil && !*r.hasExp
	if r.ok {
		props["$feature_flag_response"] = r.value.Value()
		if !minimal {
			props["$feature/"+key] = r.value.Value()
		}
	}
	if r.id != nil {
		props["$feature_flag_id"] = *r.id
	}
	if r.version != nil {
		props["$feature_flag_version"] = *r.version
	}
	if r.reason != "" {
		props["$feature_flag_reason"] = r.reason
	}
	if r.requestID != "" {
		props["$feature_flag_request_id"] = r.requestID
	}
	switch {
	case r.local:
		props["$feature_flag_evaluated_at"] = c.cfg.now().UnixMilli()
		if at := c.flags.loadedAt.Load(); at != 0 && !minimal {
			props["$feature_flag_definitions_loaded_at"] = at
		}
	case r.evalAt != nil:
		props["$feature_flag_evaluated_at"] = *r.evalAt
	}
	if r.hasExp != nil {
		props["$feature_flag_has_experiment"] = *r.hasExp
	}
	if r.errCode != "" {
		props["$feature_flag_error"] = r.errCode
	}
	if err := c.Capture(Event{DistinctID: distinctID, Event: "$feature_flag_called", Properties: props, Groups: groups}); err != nil && !errors.Is(err, ErrClosed) {
		c.report(err)
	}
}

// AllFlags are the values and payloads of every flag that could be
// evaluated, from GetAllFlagsAndPayloads.
type AllFlags struct {
	// Flags maps flag keys to values.
	Flags map[string]FlagValue
	// Payloads maps flag keys to payloads; as in posthog-node only truthy
	// payloads are present (not null, false, 0 or "").
	Payloads map[string]json.RawMessage
}

// GetAllFlags returns the value of every flag for distinctID. Flags are
// evaluated locally when possible; /flags is asked (and its values win)
// when there are no local definitions or some flag that may run on the
// server is inconclusive, unless OnlyEvaluateLocally. No
// $feature_flag_called events are sent. On error the map holds what was
// evaluated locally.
func (c *Client) GetAllFlags(ctx context.Context, distinctID string, opts ...FlagOption) (map[string]FlagValue, error) {
	all, err := c.GetAllFlagsAndPayloads(ctx, distinctID, opts...)
	return all.Flags, err
}

// GetAllFlagsAndPayloads is GetAllFlags with the payloads.
func (c *Client) GetAllFlagsAndPayloads(ctx context.Context, distinctID string, opts ...FlagOption) (AllFlags, error) {
	call := c.newCall(opts)
	out := AllFlags{Flags: map[string]FlagValue{}, Payloads: map[string]json.RawMessage{}}
	if distinctID == "" {
		return out, nil // posthog-node returns {} for an empty distinct id
	}
	if call.flagKeys != nil && len(call.flagKeys) == 0 {
		return out, nil
	}
	fallback := true
	defs := c.flags.definitions(ctx)
	if defs != nil && defs.Len() > 0 {
		results, inconclusive := defs.EvaluateAll(c.input(call, distinctID), c.cfg.now())
		fallback = false
		for key, res := range results {
			if call.flagKeys != nil && !slices.Contains(call.flagKeys, key) {
				continue
			}
			out.Flags[key] = FlagValue{enabled: res.Enabled, variant: res.Variant}
			if res.PayloadTruthy() {
				out.Payloads[key] = res.Payload
			}
		}
		for key := range inconclusive {
			if call.flagKeys != nil && !slices.Contains(call.flagKeys, key) {
				continue
			}
			if info, ok := defs.Flag(key); !ok || info.EvaluationRuntime != "client" {
				fallback = true
			}
		}
	}
	if !fallback {
		return out, nil
	}
	if c.onlyLocal(call) {
		if defs == nil {
			return out, fmt.Errorf("%w: no local flag definitions", ErrInconclusive)
		}
		return out, nil
	}
	resp, err := c.remoteFlags(ctx, distinctID, call, call.flagKeys)
	if err != nil {
		return out, err
	}
	for key, f := range resp.Flags {
		if f.Failed {
			continue
		}
		out.Flags[key] = f.value()
		delete(out.Payloads, key)
		if p := f.payload(); truthyJSON(p) {
			out.Payloads[key] = p
		}
	}
	if len(resp.Flags) == 0 && slices.Contains(resp.QuotaLimited, "feature_flags") {
		return out, ErrQuotaLimited
	}
	return out, nil
}

// truthyJSON reports whether JavaScript would find the JSON value truthy.
func truthyJSON(p json.RawMessage) bool {
	switch string(p) {
	case "", "null", "false", "0", `""`, "-0", "0.0":
		return false
	}
	var f float64
	if json.Unmarshal(p, &f) == nil {
		return f != 0
	}
	return true
}

// ReloadFeatureFlags fetches the flag definitions now, even during a
// backoff (posthog-node's reloadFeatureFlags). Without a PersonalAPIKey it
// does nothing.
func (c *Client) ReloadFeatureFlags(ctx context.Context) error {
	if c.flags.poller == nil {
		return nil
	}
	if err := c.flags.poller.Reload(ctx); err != nil {
		return fmt.Errorf("posthog: reloading feature flags: %w", err)
	}
	return nil
}

package flags

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrInconclusive is wrapped by every error that means "local evaluation
// cannot decide this flag; only the server can". posthog-node returns
// undefined in these cases. Use errors.As with *InconclusiveError for the
// Reason.
var ErrInconclusive = errors.New("flag evaluation inconclusive")

// ErrUnknownFlag is returned by Evaluate for a key that is not in the
// definitions (or was dropped by Input.EvaluationContexts). posthog-node
// returns undefined for it too, but it is not an inconclusive evaluation.
var ErrUnknownFlag = errors.New("unknown flag key")

// Reason says why a flag could not be evaluated locally. The values are
// posthog-node's UnresolvedFlagReason strings.
type Reason string

// The reasons, in posthog-node's precedence order: when several causes apply
// to one flag, the earliest in this list is reported.
const (
	// ReasonExperienceContinuity: the flag has ensure_experience_continuity.
	ReasonExperienceContinuity Reason = "experience_continuity"
	// ReasonUnsupportedDefinition: the definition uses something local
	// evaluation cannot do (static or unknown cohort, unknown operator,
	// unparsable filter value, integer exact filter, non-portable regex,
	// unknown group type, missing or circular dependency, ...).
	ReasonUnsupportedDefinition Reason = "unsupported_definition"
	// ReasonUnresolvedDependency: a flag this one depends on is itself
	// inconclusive.
	ReasonUnresolvedDependency Reason = "unresolved_dependency"
	// ReasonMissingContext: a property (or $device_id) the flag needs was not
	// given, or a given value cannot be used.
	ReasonMissingContext Reason = "missing_context"
)

// rank orders reasons by precedence; lower wins.
func (r Reason) rank() int {
	switch r {
	case ReasonExperienceContinuity:
		return 0
	case ReasonUnsupportedDefinition:
		return 1
	case ReasonUnresolvedDependency:
		return 2
	case ReasonMissingContext:
		return 3
	}
	return 4
}

// InconclusiveError describes one inconclusive evaluation. It matches
// ErrInconclusive with errors.Is.
type InconclusiveError struct {
	// Key is the flag that could not be evaluated.
	Key string
	// Reason is the posthog-node reason for it.
	Reason Reason
	// Detail is a human-readable cause ("cohort 7 not in definitions").
	Detail string
}

// Error implements error.
func (e *InconclusiveError) Error() string {
	return fmt.Sprintf("flag %q: %s (%s)", e.Key, e.Detail, e.Reason)
}

// Is reports whether target is ErrInconclusive.
func (e *InconclusiveError) Is(target error) bool { return target == ErrInconclusive }

// Input is the caller's context for one evaluation, as given to
// posthog-node's getFeatureFlag / getAllFlags.
//
// The engine prepares it as posthog-node's client does: person properties
// are {distinct_id: DistinctID, ...PersonProperties} (a distinct_id in
// PersonProperties wins), and for every entry of Groups the group's bag is
// {$group_key: key, ...GroupProperties[type]}; bags for group types not in
// Groups are ignored. Nothing is copied or modified.
//
// Device-id bucketing (bucketing_identifier "device_id") reads
// PersonProperties["$device_id"], as posthog-node does.
//
// Property values are read as the JavaScript values JSON would give:
// string; bool; nil (JSON null; an absent key is different: "missing");
// every Go integer and float type, and json.Number, as a JS number (float64);
// []any, []string and other slices as arrays; map[string]any and other
// string-keyed maps as objects; time.Time as its JSON form (an RFC 3339
// string in UTC with milliseconds, as JSON.stringify writes a Date). Other
// types (structs, pointers, channels) are treated as non-JSON objects:
// inconclusive where posthog-node would refuse them, "[object Object]"
// where it would stringify them.
type Input struct {
	// DistinctID is the person's distinct id; it buckets person flags.
	// An empty id is evaluated normally (as posthog-node's getFeatureFlag).
	DistinctID string
	// Groups maps group type name ("company") to group key; it buckets group
	// flags. A group flag whose type is missing here evaluates to false.
	Groups map[string]string
	// PersonProperties are the person's properties known to the caller.
	PersonProperties map[string]any
	// GroupProperties maps group type name to that group's properties.
	GroupProperties map[string]map[string]any
	// EvaluationContexts is posthog-node's evaluationContexts option: when
	// non-empty, a flag whose evaluation_contexts (or legacy
	// evaluation_tags) is non-empty and shares no entry with it is treated
	// as absent (ErrUnknownFlag, left out of EvaluateAll), and a dependency
	// on it evaluates to false. nil or empty keeps every flag.
	EvaluationContexts []string
}

// Result is one conclusive flag evaluation.
type Result struct {
	// Key is the flag key.
	Key string
	// Enabled is false only when the flag evaluated to false.
	Enabled bool
	// Variant is the multivariate variant key, or the holdout value
	// "holdout-<id>"; "" for a boolean result.
	Variant string
	// Payload is the payload for the value as JSON, nil when there is none
	// (posthog-node's null). A payload string that is not valid JSON is
	// returned as a JSON string, as posthog-node returns the raw string.
	Payload json.RawMessage
	// FlagID is the definition's id.
	FlagID int
	// HasExperiment is the definition's has_experiment (false if absent).
	HasExperiment bool
}

// Value is the result as posthog-node returns it: false, true, or the
// variant string.
func (r Result) Value() any {
	switch {
	case !r.Enabled:
		return false
	case r.Variant != "":
		return r.Variant
	}
	return true
}

// PayloadTruthy reports whether posthog-node's getAllFlagsAndPayloads would
// include the payload: it omits null, false, 0 and "" payloads.
func (r Result) PayloadTruthy() bool { return payloadTruthy(r.Payload) }

// FlagInfo is the metadata of one flag definition, for callers that send
// $feature_flag_called events or decide on a server fallback.
type FlagInfo struct {
	// Key is the flag key.
	Key string
	// ID is the definition's id.
	ID int
	// Active is the definition's active field (missing means false).
	Active bool
	// HasExperiment is has_experiment; HasExperimentSet says it was present.
	HasExperiment, HasExperimentSet bool
	// EvaluationRuntime is "client", "server" or "all" (missing, null or any
	// other value reads as "all", as posthog-node normalizes it).
	EvaluationRuntime string
	// EvaluationContexts is evaluation_contexts, or evaluation_tags when that
	// is absent.
	EvaluationContexts []string
}

package flags

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Definitions is one parsed, validated and pre-compiled copy of a project's
// flag definitions. It is immutable and safe for concurrent use.
type Definitions struct {
	flags         []*flag          // in payload order (EvaluateAll's order)
	byKey         map[string]*flag // a later duplicate key wins, as in posthog-node
	cohorts       map[string]*propertyGroup
	groupTypes    map[string]string // String(index) -> group type name
	matchingV2    bool              // property_matching_version == 2
	minimalEvents bool              // minimal_flag_called_events === true
}

// rawDefinitions is the response body of /flags/definitions (and of the
// legacy /api/feature_flag/local_evaluation).
type rawDefinitions struct {
	Flags                   *[]json.RawMessage         `json:"flags"`
	GroupTypeMapping        map[string]json.RawMessage `json:"group_type_mapping"`
	Cohorts                 map[string]json.RawMessage `json:"cohorts"`
	PropertyMatchingVersion json.RawMessage            `json:"property_matching_version"`
	MinimalFlagCalledEvents json.RawMessage            `json:"minimal_flag_called_events"`
}

// ErrNoFlags is returned by Parse for a body without a "flags" key, which
// posthog-node rejects without replacing what it had.
var ErrNoFlags = errors.New("definitions have no flags key")

// Parse reads the JSON body of /flags/definitions (or of the legacy
// /api/feature_flag/local_evaluation) into Definitions. It fails only when
// the body is not a JSON object or has no "flags" array; a malformed flag or
// cohort does not fail the whole payload but makes evaluations that reach it
// inconclusive (posthog-node would throw there and return undefined).
func Parse(body []byte) (*Definitions, error) {
	var raw rawDefinitions
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("decoding flag definitions: %w", err)
	}
	if raw.Flags == nil {
		return nil, ErrNoFlags
	}
	d := &Definitions{
		byKey:      make(map[string]*flag, len(*raw.Flags)),
		cohorts:    make(map[string]*propertyGroup, len(raw.Cohorts)),
		groupTypes: make(map[string]string, len(raw.GroupTypeMapping)),
	}
	for idx, v := range raw.GroupTypeMapping {
		var name any
		if json.Unmarshal(v, &name) == nil {
			// Only a truthy name counts: posthog-node tests `!groupName`.
			if truthy(name) {
				d.groupTypes[idx] = jsString(name)
			}
		}
	}
	var pmv any
	if len(raw.PropertyMatchingVersion) > 0 && json.Unmarshal(raw.PropertyMatchingVersion, &pmv) == nil {
		f, ok := pmv.(float64)
		d.matchingV2 = ok && f == 2
	}
	d.minimalEvents = bytes.Equal(bytes.TrimSpace(raw.MinimalFlagCalledEvents), []byte("true"))
	for id, v := range raw.Cohorts {
		var g any
		if err := json.Unmarshal(v, &g); err != nil {
			return nil, fmt.Errorf("decoding cohort %s: %w", id, err)
		}
		d.cohorts[id] = compileGroup(g, 0)
	}
	for i, rf := range *raw.Flags {
		var m any
		if err := json.Unmarshal(rf, &m); err != nil {
			return nil, fmt.Errorf("decoding flag %d: %w", i, err)
		}
		obj, ok := m.(map[string]any)
		if !ok {
			// posthog-node would throw reading .key of a non-object.
			return nil, fmt.Errorf("flag %d: not an object", i)
		}
		f := compileFlag(obj)
		d.flags = append(d.flags, f)
		d.byKey[f.key] = f
	}
	// A later duplicate replaces the earlier one in the by-key map; keep the
	// evaluation order list consistent with what getAllFlags iterates (the
	// raw list) but evaluate the winning definition for each key.
	for _, f := range d.flags {
		f.definitionReason = d.definitionReason(f)
	}
	return d, nil
}

// Len is the number of flag definitions.
func (d *Definitions) Len() int { return len(d.flags) }

// Keys lists the flag keys in payload order.
func (d *Definitions) Keys() []string {
	keys := make([]string, 0, len(d.flags))
	for _, f := range d.flags {
		keys = append(keys, f.key)
	}
	return keys
}

// Flag returns the metadata of the flag with key.
func (d *Definitions) Flag(key string) (FlagInfo, bool) {
	f, ok := d.byKey[key]
	if !ok {
		return FlagInfo{}, false
	}
	return FlagInfo{
		Key:                key,
		ID:                 f.id,
		Active:             f.active,
		HasExperiment:      f.hasExperiment,
		HasExperimentSet:   f.hasExperimentSet,
		EvaluationRuntime:  f.runtime,
		EvaluationContexts: slices.Clone(f.contexts),
	}, true
}

// MinimalFlagCalledEvents reports the response's minimal_flag_called_events.
func (d *Definitions) MinimalFlagCalledEvents() bool { return d.minimalEvents }

// PropertyMatchingVersion is 2 when the response asked for explicit
// equality (no legacy boolean matching), else 1.
func (d *Definitions) PropertyMatchingVersion() int {
	if d.matchingV2 {
		return 2
	}
	return 1
}

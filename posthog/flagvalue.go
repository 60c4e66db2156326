package posthog

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// FlagValue is a feature flag's value for one person: off, on, or on with
// a variant (multivariate flags, and "holdout-<id>" for holdouts). The zero
// value is off.
type FlagValue struct {
	enabled bool
	variant string
}

// Off, On and Variant build FlagValues, for example for
// WithMatchValue or in tests.
var (
	// Off is the value of a disabled flag.
	Off = FlagValue{}
	// On is the value of an enabled boolean flag.
	On = FlagValue{enabled: true}
)

// Variant returns the value of an enabled multivariate flag. An empty
// variant is On, as posthog-node treats a variant keyed "".
func Variant(v string) FlagValue { return FlagValue{enabled: true, variant: v} }

// Enabled reports whether the flag is on (a variant counts as on).
func (v FlagValue) Enabled() bool { return v.enabled }

// Variant returns the variant key, or "" for a boolean value.
func (v FlagValue) Variant() string { return v.variant }

// Value returns the value as posthog-node does: false, true or the variant
// string.
func (v FlagValue) Value() any {
	switch {
	case !v.enabled:
		return false
	case v.variant != "":
		return v.variant
	}
	return true
}

// String returns "false", "true" or the variant, the text posthog-node uses
// in $feature_flag_called de-duplication.
func (v FlagValue) String() string {
	if v.variant != "" && v.enabled {
		return v.variant
	}
	return strconv.FormatBool(v.enabled)
}

// MarshalJSON encodes the value as false, true or the variant string.
func (v FlagValue) MarshalJSON() ([]byte, error) { return json.Marshal(v.Value()) }

// UnmarshalJSON decodes false, true or a variant string.
func (v *FlagValue) UnmarshalJSON(b []byte) error {
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	switch x := x.(type) {
	case bool:
		*v = FlagValue{enabled: x}
	case string:
		*v = Variant(x)
	default:
		return fmt.Errorf("posthog: flag value %s is neither a bool nor a string", b)
	}
	return nil
}

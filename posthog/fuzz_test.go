package posthog

import (
	"encoding/json"
	"testing"
)

// FuzzFlagsResponse feeds /flags answers, which come from the network (or a
// proxy), through the decoding the client does: it must never panic, and a
// payload it returns must be valid JSON.
func FuzzFlagsResponse(f *testing.F) {
	// A typical v2 answer with a JSON-string payload.
	f.Add([]byte(`{"flags":{"a":{"key":"a","enabled":true,"variant":null,"metadata":{"id":1,"version":2,"payload":"{\"x\":1}"}}},"requestId":"r"}`))
	// A variant with a payload string that is not JSON (returned as a string).
	f.Add([]byte(`{"flags":{"b":{"enabled":true,"variant":"v","metadata":{"payload":"plain text"}}}}`))
	// A payload that is already an object, not a string.
	f.Add([]byte(`{"flags":{"c":{"enabled":true,"metadata":{"payload":{"k":[1,2]}}}}}`))
	// Quota limited, no flags.
	f.Add([]byte(`{"flags":{},"quotaLimited":["feature_flags"],"errorsWhileComputingFlags":true}`))
	// Wrong types everywhere.
	f.Add([]byte(`{"flags":{"d":{"enabled":"yes","variant":5,"metadata":[]}}}`))
	// Not JSON.
	f.Add([]byte("\x1f\x8b\x08"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		resp, err := parseFlagsResponse(raw)
		if err != nil {
			return
		}
		for key, fl := range resp.Flags {
			v := fl.value()
			if !fl.Enabled && v != Off {
				t.Errorf("flag %q: disabled but value %v", key, v)
			}
			if p := fl.payload(); p != nil && !json.Valid(p) {
				t.Errorf("flag %q: payload %q is not valid JSON", key, p)
			}
		}
	})
}

// FuzzFlagValueJSON checks that a FlagValue survives a JSON round trip.
func FuzzFlagValueJSON(f *testing.F) {
	f.Add([]byte(`true`))      // boolean on
	f.Add([]byte(`false`))     // off
	f.Add([]byte(`"variant"`)) // a variant
	f.Add([]byte(`""`))        // empty variant reads as on
	f.Add([]byte(`{"x":1}`))   // not a flag value
	f.Fuzz(func(t *testing.T, raw []byte) {
		var v FlagValue
		if v.UnmarshalJSON(raw) != nil {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", v, err)
		}
		var back FlagValue
		if err := json.Unmarshal(b, &back); err != nil || back != v {
			t.Errorf("round trip of %s: %s → %v, %v; want %v", raw, b, back, err, v)
		}
	})
}

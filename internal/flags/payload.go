package flags

import (
	"bytes"
	"encoding/json"
)

// preparePayload is resolveFeatureFlagPayload's work done once: a falsy
// raw payload is null; a string is JSON-parsed, and kept as a JSON string
// when it does not parse; other values are used as they are.
func preparePayload(raw any) json.RawMessage {
	if !truthy(raw) {
		return nil
	}
	if s, ok := raw.(string); ok {
		t := bytes.TrimSpace([]byte(s))
		if json.Valid(t) {
			if string(t) == "null" {
				return nil
			}
			return json.RawMessage(t)
		}
		b, _ := json.Marshal(s)
		return b
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	return b
}

// payloadTruthy reports whether the payload is a truthy JavaScript value.
func payloadTruthy(p json.RawMessage) bool {
	switch string(bytes.TrimSpace(p)) {
	case "", "null", "false", `""`:
		return false
	}
	var f float64
	if json.Unmarshal(p, &f) == nil {
		return f != 0
	}
	return true
}

// payloadFor returns the payload for a flag value.
func (f *flag) payloadFor(v value) json.RawMessage {
	if !v.enabled || f.payloads == nil {
		return nil
	}
	k := v.variant
	if k == "" {
		k = "true"
	}
	return f.payloads[k]
}

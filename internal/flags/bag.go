package flags

// bag is a property bag as posthog-node's client prepares it: the caller's
// properties over one implicit entry (distinct_id for a person, $group_key
// for a group). It reads without copying.
type bag struct {
	props    map[string]any
	extraKey string // "" means no implicit entry
	extra    string
}

// get is hasOwnProperty plus lookup.
func (b bag) get(k string) (any, bool) {
	if v, ok := b.props[k]; ok {
		return v, true
	}
	if b.extraKey != "" && k == b.extraKey {
		return b.extra, true
	}
	return nil, false
}

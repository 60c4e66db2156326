package posthog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"
)

// Properties are an event's properties. Values must be encodable by
// encoding/json.
type Properties = map[string]any

// Event is one analytics event for Capture.
type Event struct {
	// DistinctID identifies the person. Empty means a personless event:
	// a random id is used and "$process_person_profile": false is added,
	// as posthog-node does.
	DistinctID string

	// Event is the event name, for example "order placed" or "$pageview"
	// (a page view is a capture of "$pageview" with "$current_url").
	// It must not be empty.
	Event string

	// Properties are the event properties. They are encoded during
	// Capture; the caller may reuse the map once Capture returns.
	Properties Properties

	// Set and SetOnce are person properties, sent as "$set" and
	// "$set_once"; they replace those keys in Properties when non-nil.
	Set, SetOnce Properties

	// Groups maps group types to group keys ("company": "acme"), sent as
	// "$groups".
	Groups map[string]string

	// Timestamp is when the event happened. Zero means now.
	Timestamp time.Time

	// UUID is the event's id, used by PostHog to de-duplicate. Empty means
	// a new UUIDv7; otherwise it must be a valid UUID.
	UUID string

	// DisableGeoip overrides Options.DisableGeoip for this event.
	DisableGeoip *bool
}

// IdentifyMessage sets person properties for a distinct id, the
// "$identify" event.
type IdentifyMessage struct {
	// DistinctID identifies the person; it must not be empty.
	DistinctID string
	// Set and SetOnce are the person properties, "$set" and "$set_once".
	Set, SetOnce Properties
	// AnonDistinctID, if set, links a previous anonymous id ("$anon_distinct_id").
	AnonDistinctID string
	// Timestamp, UUID and DisableGeoip are as in Event.
	Timestamp    time.Time
	UUID         string
	DisableGeoip *bool
}

// AliasMessage links Alias to DistinctID, the "$create_alias" event.
type AliasMessage struct {
	// DistinctID and Alias must not be empty.
	DistinctID, Alias string
	// Timestamp, UUID and DisableGeoip are as in Event.
	Timestamp    time.Time
	UUID         string
	DisableGeoip *bool
}

// GroupIdentifyMessage sets properties of a group, the "$groupidentify"
// event.
type GroupIdentifyMessage struct {
	// GroupType ("company") and GroupKey ("acme") must not be empty.
	GroupType, GroupKey string
	// Properties are the group properties ("$group_set").
	Properties Properties
	// DistinctID is who sets them. Empty means "$<type>_<key>", as
	// posthog-node does.
	DistinctID string
	// Timestamp, UUID and DisableGeoip are as in Event.
	Timestamp    time.Time
	UUID         string
	DisableGeoip *bool
}

// errEmptyEvent and friends describe invalid input.
var (
	errEmptyEvent      = errors.New("event name must not be empty")
	errEmptyDistinctID = errors.New("distinct id must not be empty")
)

// prop is one property the SDK adds to an event, in the order written.
type prop struct {
	key string
	val any
}

// timeLayout is JavaScript's Date.toISOString: UTC, milliseconds, "Z".
const timeLayout = "2006-01-02T15:04:05.000Z"

// isoTime formats t as posthog-node does.
func isoTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// encode validates and encodes one element of a /batch/ "batch" array, as
// posthog-node's prepareMessage builds it: distinct_id, event, properties,
// timestamp, uuid. The properties are the caller's (user, read but not
// modified) followed by the SDK's (extra, then $lib, $lib_version,
// $is_server and $geoip_disable); where both have a key the SDK's wins, as
// getCommonEventProperties is spread last in posthog-node. The result is
// the exact JSON sent.
func (c *Client) encode(distinctID, event string, user Properties, extra []prop, ts time.Time, uuid string, disableGeoip *bool) ([]byte, error) {
	if event == "" {
		return nil, errEmptyEvent
	}
	if uuid == "" {
		uuid = newUUIDv7(c.cfg.now())
	} else if !validUUID(uuid) {
		return nil, fmt.Errorf("uuid %q is not a valid UUID", uuid)
	}
	if ts.IsZero() {
		ts = c.cfg.now()
	}
	if distinctID == "" {
		distinctID = newUUIDv7(c.cfg.now())
		extra = append(extra, prop{"$process_person_profile", false})
	}
	extra = append(extra, prop{"$lib", Lib}, prop{"$lib_version", Version}, prop{"$is_server", true})
	geo := c.cfg.disableGeoip
	if disableGeoip != nil {
		geo = *disableGeoip
	}
	if geo {
		extra = append(extra, prop{"$geoip_disable", true})
	}
	// A key must not appear twice in the object: drop the caller's copy of
	// the keys the SDK writes (rare, so the common path copies nothing).
	for _, p := range extra {
		if _, dup := user[p.key]; dup {
			user = maps.Clone(user)
			for _, p := range extra {
				delete(user, p.key)
			}
			break
		}
	}

	var buf bytes.Buffer
	buf.Grow(256)
	enc := json.NewEncoder(&buf)
	put := func(v any) error {
		if err := enc.Encode(v); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode ends with a newline
		return nil
	}
	buf.WriteString(`{"distinct_id":`)
	_ = put(distinctID) // strings cannot fail
	buf.WriteString(`,"event":`)
	_ = put(event)
	buf.WriteString(`,"properties":`)
	if len(user) > 0 {
		if err := put(user); err != nil {
			return nil, fmt.Errorf("encoding properties of %q: %w", event, err)
		}
		buf.Truncate(buf.Len() - 1) // reopen the object
		buf.WriteByte(',')
	} else {
		buf.WriteByte('{')
	}
	for i, p := range extra {
		if i > 0 {
			buf.WriteByte(',')
		}
		_ = put(p.key)
		buf.WriteByte(':')
		if err := put(p.val); err != nil {
			return nil, fmt.Errorf("encoding %s of %q: %w", p.key, event, err)
		}
	}
	buf.WriteString(`},"timestamp":"`)
	buf.Write(ts.UTC().AppendFormat(buf.AvailableBuffer(), timeLayout))
	buf.WriteString(`","uuid":"`)
	buf.WriteString(uuid) // validated: hex digits and dashes only
	buf.WriteString(`"}`)
	return buf.Bytes(), nil
}

// captureExtras are the properties a Capture adds from its fields: $set,
// $set_once and $groups.
func captureExtras(e *Event) []prop {
	extra := make([]prop, 0, 8)
	if e.Set != nil {
		extra = append(extra, prop{"$set", e.Set})
	}
	if e.SetOnce != nil {
		extra = append(extra, prop{"$set_once", e.SetOnce})
	}
	if len(e.Groups) > 0 {
		extra = append(extra, prop{"$groups", e.Groups})
	}
	return extra
}

// orEmpty returns p, or an empty map for nil, so that it encodes as {}.
func orEmpty(p Properties) Properties {
	if p == nil {
		return Properties{}
	}
	return p
}

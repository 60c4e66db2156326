package posthog

import (
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

	// Properties are the event properties. The map is copied; the caller
	// may reuse it once Capture returns.
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

// wireEvent is one element of a /batch/ "batch" array (posthog-node's
// prepareMessage): distinct_id, event, properties, timestamp, uuid.
type wireEvent struct {
	DistinctID string     `json:"distinct_id"`
	Event      string     `json:"event"`
	Properties Properties `json:"properties"`
	Timestamp  string     `json:"timestamp"`
	UUID       string     `json:"uuid"`
}

// timeLayout is JavaScript's Date.toISOString: UTC, milliseconds, "Z".
const timeLayout = "2006-01-02T15:04:05.000Z"

// isoTime formats t as posthog-node does.
func isoTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// encode builds and marshals one event. props is owned by encode (the
// callers build a fresh map). The result is the exact JSON sent.
func (c *Client) encode(distinctID, event string, props Properties, ts time.Time, uuid string, disableGeoip *bool) ([]byte, error) {
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
	if props == nil {
		props = make(Properties, 4)
	}
	if distinctID == "" {
		distinctID = newUUIDv7(c.cfg.now())
		props["$process_person_profile"] = false
	}
	// Common properties win over the caller's, as in posthog-node
	// (getCommonEventProperties is spread after the event's own).
	props["$lib"] = Lib
	props["$lib_version"] = Version
	props["$is_server"] = true
	geo := c.cfg.disableGeoip
	if disableGeoip != nil {
		geo = *disableGeoip
	}
	if geo {
		props["$geoip_disable"] = true
	}
	b, err := json.Marshal(wireEvent{
		DistinctID: distinctID,
		Event:      event,
		Properties: props,
		Timestamp:  isoTime(ts),
		UUID:       uuid,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding event %q: %w", event, err)
	}
	return b, nil
}

// captureProps builds the properties of a Capture: the caller's, then
// $set, $set_once and $groups.
func captureProps(e *Event) Properties {
	props := make(Properties, len(e.Properties)+8)
	maps.Copy(props, e.Properties)
	if e.Set != nil {
		props["$set"] = e.Set
	}
	if e.SetOnce != nil {
		props["$set_once"] = e.SetOnce
	}
	if len(e.Groups) > 0 {
		props["$groups"] = e.Groups
	}
	return props
}

// orEmpty returns p, or an empty map for nil, so that it encodes as {}.
func orEmpty(p Properties) Properties {
	if p == nil {
		return Properties{}
	}
	return p
}

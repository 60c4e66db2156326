package flags

import (
	"encoding/json"
	"math"
)

// flag is one compiled flag definition.
type flag struct {
	key               string
	id                int
	active            bool
	continuity        bool // ensure_experience_continuity
	deviceBucketing   bool // bucketing_identifier == "device_id"
	runtime           string
	contexts          []string // evaluation_contexts ?? evaluation_tags
	hasExperiment     bool
	hasExperimentSet  bool
	agg               aggIndex // filters.aggregation_group_type_index
	conditions        []*condition
	variants          []variant
	payloads          map[string]json.RawMessage // prepared: value key -> JSON, absent = null
	holdout           *holdout
	earlyExit         bool
	malformed         string // non-empty: evaluation reaches a TypeError in posthog-node
	definitionReason  Reason // getDefinitionUnresolvedReason, "" when none
	conditionsMalform string // filters.groups is not iterable
}

// aggIndex is an aggregation_group_type_index as JavaScript sees it.
type aggIndex struct {
	kind aggKind
	num  float64
	str  string // String(value), the group_type_mapping key
}

type aggKind uint8

const (
	aggUndefined aggKind = iota
	aggNull
	aggNumber
	aggString
	aggOther
)

// set is JavaScript's `index != undefined`.
func (a aggIndex) set() bool { return a.kind != aggUndefined && a.kind != aggNull }

// same is JavaScript's strict equality of two indexes.
func (a aggIndex) same(b aggIndex) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case aggNumber:
		return a.num == b.num
	case aggString:
		return a.str == b.str
	case aggOther:
		return false // objects are equal only to themselves
	}
	return true
}

func compileAgg(v any, present bool) aggIndex {
	if !present {
		return aggIndex{kind: aggUndefined}
	}
	switch x := v.(type) {
	case nil:
		return aggIndex{kind: aggNull}
	case float64:
		return aggIndex{kind: aggNumber, num: x, str: jsString(x)}
	case string:
		return aggIndex{kind: aggString, str: x}
	}
	return aggIndex{kind: aggOther, str: jsString(v)}
}

// condition is one release condition (an entry of filters.groups).
type condition struct {
	props      []*property
	hasRollout bool
	rollout    float64 // rollout_percentage / 100 with JS coercion
	variant    string  // a valid override, "" for none
	aggPresent bool
	agg        aggIndex
}

// variant is one multivariate variant with its hash range.
type variant struct {
	key      string
	min, max float64
}

// holdout is filters.holdout when it applies.
type holdout struct {
	value string  // "holdout-<id>"
	pct   float64 // clamped exclusion percentage
}

func compileFlag(m map[string]any) *flag {
	f := &flag{
		key:             jsString(m["key"]),
		active:          truthy(m["active"]),
		continuity:      truthy(m["ensure_experience_continuity"]),
		deviceBucketing: m["bucketing_identifier"] == "device_id",
		runtime:         "all",
	}
	if id, ok := m["id"].(float64); ok && id == math.Trunc(id) && math.Abs(id) < 1<<53 {
		f.id = int(id)
	}
	if rt, ok := m["evaluation_runtime"].(string); ok && (rt == "client" || rt == "server") {
		f.runtime = rt
	}
	ctxs, ok := m["evaluation_contexts"]
	if !ok || ctxs == nil {
		ctxs = m["evaluation_tags"]
	}
	if arr, ok := ctxs.([]any); ok {
		for _, c := range arr {
			if s, ok := c.(string); ok {
				f.contexts = append(f.contexts, s)
			} else {
				f.contexts = append(f.contexts, "\x00"+jsString(c)) // never equals a Go string option
			}
		}
	}
	if he, ok := m["has_experiment"]; ok {
		f.hasExperimentSet = true
		f.hasExperiment = he == true
	}
	filters, _ := m["filters"].(map[string]any)
	if filters == nil {
		if fv := m["filters"]; truthy(fv) {
			f.malformed = "filters is not an object"
		}
		return f
	}
	aggRaw, aggPresent := filters["aggregation_group_type_index"]
	f.agg = compileAgg(aggRaw, aggPresent)
	f.earlyExit = truthy(filters["early_exit"])
	if mv, ok := filters["multivariate"].(map[string]any); ok {
		if vs, ok := mv["variants"].([]any); ok {
			lo := 0.0
			for _, rv := range vs {
				vm, _ := rv.(map[string]any)
				if vm == nil {
					f.malformed = "a variant is not an object"
					break
				}
				pct := math.NaN()
				if p, ok := vm["rollout_percentage"]; ok {
					pct = jsToNumber(p)
				}
				hi := lo + pct/100.0
				f.variants = append(f.variants, variant{key: jsString(vm["key"]), min: lo, max: hi})
				lo = hi
			}
		}
	}
	if ps, ok := filters["payloads"].(map[string]any); ok {
		f.payloads = make(map[string]json.RawMessage, len(ps))
		for k, v := range ps {
			if p := preparePayload(v); p != nil {
				f.payloads[k] = p
			}
		}
	}
	f.holdout = compileHoldout(filters["holdout"])
	switch gs := filters["groups"].(type) {
	case nil:
	case []any:
		for _, g := range gs {
			c, err := f.compileCondition(g)
			if err != "" {
				f.conditionsMalform = err
				break
			}
			f.conditions = append(f.conditions, c)
		}
	default:
		f.conditionsMalform = "filters.groups is not an array"
	}
	return f
}

func compileHoldout(v any) *holdout {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	id, pctRaw := m["id"], m["exclusion_percentage"]
	if id == nil || pctRaw == nil {
		return nil
	}
	p := jsToNumber(pctRaw)
	if math.IsNaN(p) || math.IsInf(p, 0) {
		return nil
	}
	return &holdout{value: "holdout-" + jsString(id), pct: min(max(p, 0), 100)}
}

// compileCondition compiles one release condition; a non-empty string is
// the TypeError posthog-node would hit.
func (f *flag) compileCondition(v any) (*condition, string) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, "a condition is not an object"
	}
	c := &condition{}
	if r, ok := m["rollout_percentage"]; ok && r != nil {
		c.hasRollout = true
		c.rollout = jsToNumber(r) / 100.0
	}
	if ov, ok := m["variant"].(string); ok && ov != "" {
		for _, vr := range f.variants {
			if vr.key == ov {
				c.variant = ov
				break
			}
		}
	}
	if a, ok := m["aggregation_group_type_index"]; ok {
		c.aggPresent = true
		c.agg = compileAgg(a, true)
	}
	switch ps := m["properties"].(type) {
	case nil:
	case []any:
		for _, p := range ps {
			pm, ok := p.(map[string]any)
			if !ok {
				return nil, "a property filter is not an object"
			}
			c.props = append(c.props, compileProperty(pm))
		}
	default:
		if truthy(ps) {
			return nil, "condition properties is not an array"
		}
	}
	return c, ""
}

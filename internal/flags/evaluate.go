package flags

import (
	"time"
)

// value is a flag value: false, true, or a variant (or holdout) string.
type value struct {
	enabled bool
	variant string
}

var (
	valueFalse = value{}
	valueTrue  = value{enabled: true}
)

// condResult is the outcome of one release condition.
type condResult uint8

const (
	condNoMatch condResult = iota
	condMatch
	condOutOfRollout
)

// maxDependencyDepth bounds nested flag dependencies and cohorts; the
// server never sends cycles (it empties dependency_chain), but a malformed
// payload must not overflow the stack.
const maxDependencyDepth = 32

// evaluation is the state of one Evaluate or EvaluateAll call.
type evaluation struct {
	d      *Definitions
	in     Input
	now    time.Time
	person bag
	cache  map[string]value // dependency results of this call
	depth  int
}

func (d *Definitions) newEvaluation(in Input, now time.Time) evaluation {
	return evaluation{d: d, in: in, now: now,
		person: bag{props: in.PersonProperties, extraKey: "distinct_id", extra: in.DistinctID}}
}

// visible reports whether Input.EvaluationContexts keeps the flag.
func (ev *evaluation) visible(f *flag) bool {
	if len(ev.in.EvaluationContexts) == 0 || len(f.contexts) == 0 {
		return true
	}
	for _, c := range f.contexts {
		for _, want := range ev.in.EvaluationContexts {
			if c == want {
				return true
			}
		}
	}
	return false
}

// groupBag is the prepared bag of a group type present in Input.Groups.
func (ev *evaluation) groupBag(name, key string) bag {
	return bag{props: ev.in.GroupProperties[name], extraKey: "$group_key", extra: key}
}

// Evaluate evaluates one flag for in at now (used by relative date
// filters). It returns ErrUnknownFlag for a key that is not defined (or not
// kept by in.EvaluationContexts), and an error wrapping ErrInconclusive
// (an *InconclusiveError) where posthog-node would return undefined.
func (d *Definitions) Evaluate(key string, in Input, now time.Time) (Result, error) {
	f, ok := d.byKey[key]
	if !ok {
		return Result{}, ErrUnknownFlag
	}
	ev := d.newEvaluation(in, now)
	if !ev.visible(f) {
		return Result{}, ErrUnknownFlag
	}
	return ev.result(f)
}

// EvaluateAll evaluates every flag kept by in.EvaluationContexts, as
// posthog-node's getAllFlagsAndPayloads does locally. Conclusive results
// are in results; flags only the server can decide are in inconclusive,
// each error an *InconclusiveError. Callers implementing getAllFlags
// should return nothing for an empty distinct id, as posthog-node does.
func (d *Definitions) EvaluateAll(in Input, now time.Time) (results map[string]Result, inconclusive map[string]error) {
	ev := d.newEvaluation(in, now)
	results = make(map[string]Result, len(d.byKey))
	for _, f := range d.flags {
		f = d.byKey[f.key] // a later duplicate definition wins
		if _, done := results[f.key]; done || !ev.visible(f) {
			continue
		}
		if inconclusive != nil {
			if _, done := inconclusive[f.key]; done {
				continue
			}
		}
		r, err := ev.result(f)
		if err != nil {
			if inconclusive == nil {
				inconclusive = make(map[string]error)
			}
			inconclusive[f.key] = err
			continue
		}
		results[f.key] = r
	}
	return results, inconclusive
}

// Payload is getFeatureFlagPayload with a match value: the payload for the
// given value of the flag, without evaluating it. It returns ErrUnknownFlag
// for an undefined key.
func (d *Definitions) Payload(key string, enabled bool, variant string) (Result, error) {
	f, ok := d.byKey[key]
	if !ok {
		return Result{}, ErrUnknownFlag
	}
	v := value{enabled: enabled, variant: variant}
	if !enabled {
		v.variant = ""
	}
	return f.resultOf(v), nil
}

func (f *flag) resultOf(v value) Result {
	return Result{
		Key:           f.key,
		Enabled:       v.enabled,
		Variant:       v.variant,
		Payload:       f.payloadFor(v),
		FlagID:        f.id,
		HasExperiment: f.hasExperiment,
	}
}

func (ev *evaluation) result(f *flag) (Result, error) {
	v, err := ev.flagValue(f)
	if err != nil {
		return Result{}, &InconclusiveError{Key: f.key, Reason: err.reason, Detail: err.detail}
	}
	return f.resultOf(v), nil
}

// flagValue is computeFlagValueLocally (flags.md §3).
func (ev *evaluation) flagValue(f *flag) (value, *matchErr) {
	if !f.active {
		return valueFalse, nil
	}
	if f.continuity {
		return valueFalse, &matchErr{reason: ReasonExperienceContinuity, detail: "experience continuity needs the server"}
	}
	if f.malformed != "" {
		return valueFalse, unsupported("malformed definition: " + f.malformed)
	}
	if f.agg.set() {
		name := ev.d.groupTypes[f.agg.str]
		if name == "" {
			return valueFalse, unsupported("unknown group type index " + f.agg.str)
		}
		key, ok := ev.in.Groups[name]
		if !ok {
			return valueFalse, nil
		}
		return ev.matchFlag(f, key, ev.groupBag(name, key))
	}
	bucket := ev.in.DistinctID
	if f.deviceBucketing {
		raw, _ := ev.person.get("$device_id")
		id := canon(raw)
		if id == nil || id == "" {
			reason := f.definitionReason
			if reason == "" {
				reason = ReasonMissingContext
			}
			return valueFalse, &matchErr{reason: reason, detail: "device-id bucketing without $device_id"}
		}
		bucket = jsString(id)
	}
	return ev.matchFlag(f, bucket, ev.person)
}

// matchFlag is matchFeatureFlagProperties (flags.md §5).
func (ev *evaluation) matchFlag(f *flag, bucket string, props bag) (value, *matchErr) {
	if h := f.holdout; h != nil {
		if h.pct == 100 || hash("holdout", bucket, "", '-') <= h.pct/100 {
			return value{enabled: true, variant: h.value}, nil
		}
	}
	if f.conditionsMalform != "" {
		return valueFalse, unsupported("malformed definition: " + f.conditionsMalform)
	}
	var (
		reason   Reason
		regexErr *matchErr
		deferred []value
		result   value
		matched  bool
	)
	for _, c := range f.conditions {
		b, p := bucket, props
		condAgg := f.agg
		if c.aggPresent {
			condAgg = c.agg
		}
		if !condAgg.same(f.agg) && condAgg.set() {
			name := ev.d.groupTypes[condAgg.str]
			key, ok := ev.in.Groups[name]
			if name == "" || !ok {
				continue
			}
			b, p = key, ev.groupBag(name, key)
		}
		r, err := ev.matchCondition(f, b, c, p)
		if err != nil {
			if err.server {
				defReason := f.definitionReason
				if defReason == "" {
					defReason = err.reason
				}
				final := pickReason(pickReason(reason, err.reason), defReason)
				return valueFalse, &matchErr{reason: final, detail: err.detail, server: true}
			}
			reason = pickReason(reason, err.reason)
			if err.regex {
				regexErr = err
				if f.earlyExit && c.hasRollout && hash(f.key, b, "", '.') > c.rollout {
					deferred = append(deferred, valueFalse)
				} else {
					deferred = append(deferred, f.conditionValue(c, b))
				}
			}
			continue
		}
		if r == condMatch {
			result, matched = f.conditionValue(c, b), true
			break
		}
		if r == condOutOfRollout && f.earlyExit {
			if reason != "" {
				break
			}
			return valueFalse, nil
		}
	}
	if matched {
		conflict := false
		if regexErr != nil {
			for _, dv := range deferred {
				if dv != result {
					conflict = true
					break
				}
			}
		}
		if !conflict {
			return result, nil
		}
	}
	if reason != "" {
		detail := "a condition cannot be decided locally"
		if regexErr != nil {
			detail = regexErr.detail
		}
		return valueFalse, &matchErr{reason: reason, detail: detail, regex: regexErr != nil}
	}
	return valueFalse, nil
}

// conditionValue is a matched condition's value: a valid variant override,
// else the computed variant, else true.
func (f *flag) conditionValue(c *condition, bucket string) value {
	if c.variant != "" {
		return value{enabled: true, variant: c.variant}
	}
	return f.variantFor(bucket)
}

// variantFor is getMatchingVariant(...) || true (flags.md §6).
func (f *flag) variantFor(bucket string) value {
	if len(f.variants) == 0 {
		return valueTrue
	}
	h := hash(f.key, bucket, "variant", '.')
	for _, v := range f.variants {
		if h >= v.min && h < v.max {
			return value{enabled: true, variant: v.key}
		}
	}
	return valueTrue
}

// matchCondition is isConditionMatch (flags.md §5).
func (ev *evaluation) matchCondition(f *flag, bucket string, c *condition, props bag) (condResult, *matchErr) {
	if len(c.props) > 0 {
		var (
			reason    Reason
			regexErr  *matchErr
			serverErr *matchErr
		)
		for _, p := range c.props {
			var (
				m   bool
				err *matchErr
			)
			switch p.kind {
			case kindCohort:
				m, err = ev.matchCohort(p, props)
			case kindFlag:
				m, err = ev.dependency(p)
			default:
				if _, has := props.get(p.key); !has {
					if p.unsupported != "" {
						reason = pickReason(reason, ReasonUnsupportedDefinition)
					} else {
						reason = pickReason(reason, ReasonMissingContext)
					}
					continue
				}
				m, err = p.match(props, ev.d.matchingV2, ev)
			}
			if err != nil {
				if err.server {
					if reason == "" && serverErr == nil {
						serverErr = err
					}
					reason = pickReason(reason, err.reason)
					continue
				}
				if err.regex {
					regexErr = err
				}
				reason = pickReason(reason, err.reason)
				continue
			}
			if !m {
				return condNoMatch, nil
			}
		}
		if serverErr != nil {
			return condNoMatch, serverErr
		}
		if reason != "" {
			if regexErr != nil {
				return condNoMatch, &matchErr{reason: reason, detail: regexErr.detail, regex: true}
			}
			if reason == ReasonMissingContext {
				return condNoMatch, errPropertyMissing
			}
			return condNoMatch, &matchErr{reason: reason, detail: "a filter cannot be decided locally"}
		}
		if !c.hasRollout {
			return condMatch, nil
		}
	}
	if c.hasRollout && hash(f.key, bucket, "", '.') > c.rollout {
		return condOutOfRollout, nil
	}
	return condMatch, nil
}

// pickReason keeps the higher-precedence reason; "" means none yet.
func pickReason(cur, next Reason) Reason {
	if cur == "" || next.rank() < cur.rank() {
		return next
	}
	return cur
}

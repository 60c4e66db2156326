package flags

import (
	"math"
	"strings"
)

// op is a property filter operator.
type op uint8

const (
	opUnknown op = iota
	opExact
	opIsNot
	opIsSet
	opIsNotSet
	opIContains
	opNotIContains
	opStartsWith
	opNotStartsWith
	opEndsWith
	opNotEndsWith
	opRegex
	opNotRegex
	opGT
	opGTE
	opLT
	opLTE
	opDateBefore
	opDateAfter
	opSemverEQ
	opSemverNEQ
	opSemverGT
	opSemverGTE
	opSemverLT
	opSemverLTE
	opSemverTilde
	opSemverCaret
	opSemverWildcard
)

var opNames = map[string]op{
	"exact": opExact, "is_not": opIsNot, "is_set": opIsSet, "is_not_set": opIsNotSet,
	"icontains": opIContains, "not_icontains": opNotIContains,
	"starts_with": opStartsWith, "not_starts_with": opNotStartsWith,
	"ends_with": opEndsWith, "not_ends_with": opNotEndsWith,
	"regex": opRegex, "not_regex": opNotRegex,
	"gt": opGT, "gte": opGTE, "lt": opLT, "lte": opLTE,
	"is_date_before": opDateBefore, "is_date_after": opDateAfter,
	"semver_eq": opSemverEQ, "semver_neq": opSemverNEQ, "semver_gt": opSemverGT,
	"semver_gte": opSemverGTE, "semver_lt": opSemverLT, "semver_lte": opSemverLTE,
	"semver_tilde": opSemverTilde, "semver_caret": opSemverCaret, "semver_wildcard": opSemverWildcard,
}

// nullAllowed reports the operators that compare a null value as the string
// "null" (posthog-node's NULL_VALUES_ALLOWED_OPERATORS).
func (o op) nullAllowed() bool {
	switch o {
	case opExact, opIsNot, opIContains, opNotIContains, opStartsWith, opNotStartsWith,
		opEndsWith, opNotEndsWith, opRegex, opNotRegex:
		return true
	}
	return false
}

// propKind is how a filter is evaluated.
type propKind uint8

const (
	kindProperty propKind = iota // person, group or untyped property
	kindCohort
	kindFlag
)

// property is one compiled property filter.
type property struct {
	kind     propKind
	key      string
	op       op
	opName   string
	value    any // the filter value (canonical JSON)
	negation bool

	// unsupported is assertFeatureFlagFilterSupported's verdict: the filter
	// cannot be used locally whatever the context holds.
	unsupported string

	// kindCohort
	cohortID string
	notIn    bool

	// kindFlag
	chain    []string
	chainErr string

	// pre-computed filter forms
	str       string      // String(value), ASCII-lowered for substring operators
	exact     exactFilter // exact / is_not
	num       float64     // parseFloat filter for gt/gte/lt/lte
	re        *jsRegexp   // regex / not_regex
	date      dateFilter  // date operators
	semver    semverRange // semver operators
	semverErr bool        // filter is not a valid semver
}

// exactFilter is the pre-computed filter side of exact / is_not.
type exactFilter struct {
	legacyBool bool // compare truthiness (legacy boolean mode or [] filter)
	boolLike   bool // filter is boolean-like (for v2 numbers)
	target     bool // isTruthyPropertyValue(filter)
	isArray    bool // filter is an array: any element
	items      []exactItem
	one        exactItem
}

// exactItem is one lower-cased filter string, or a filter value that makes
// posthog-node inconclusive when reached.
type exactItem struct {
	s  string
	ok bool
}

func compileProperty(m map[string]any) *property {
	p := &property{key: jsString(m["key"]), value: m["value"], negation: truthy(m["negation"])}
	if k, ok := m["key"]; !ok || k == nil {
		p.key = "undefined"
		if ok {
			p.key = "null"
		}
	}
	p.opName = "exact"
	if o := m["operator"]; truthy(o) {
		p.opName = jsString(o)
	}
	p.op = opNames[p.opName]
	switch m["type"] {
	case "cohort":
		p.kind = kindCohort
		p.cohortID = jsString(p.value)
		p.notIn = p.opName == "not_in"
		return p
	case "flag":
		p.kind = kindFlag
		p.compileDependency(m)
		return p
	}
	p.compileOperator()
	return p
}

func (p *property) compileDependency(m map[string]any) {
	rawChain, ok := m["dependency_chain"]
	if !ok {
		p.chainErr = "dependency_chain missing"
		return
	}
	arr, ok := rawChain.([]any)
	if !ok {
		p.chainErr = "dependency_chain is not an array"
		return
	}
	if len(arr) == 0 {
		p.chainErr = "circular dependency (empty dependency_chain)"
		return
	}
	for _, k := range arr {
		p.chain = append(p.chain, jsString(k))
	}
}

// compileOperator pre-computes what the filter side of the operator needs
// and records assertFeatureFlagFilterSupported's verdict.
func (p *property) compileOperator() {
	v := p.value
	switch p.op {
	case opUnknown:
		p.unsupported = "unknown operator " + p.opName
	case opExact, opIsNot:
		p.compileExact()
	case opIContains, opNotIContains, opStartsWith, opNotStartsWith, opEndsWith, opNotEndsWith:
		p.str = asciiLower(jsString(v))
	case opRegex, opNotRegex:
		p.re = compileJSRegexp(jsString(v))
	case opGT, opGTE, opLT, opLTE:
		if f, ok := v.(float64); ok {
			p.num = f
		} else {
			p.num = jsParseFloat(v)
		}
		p.str = jsString(v)
	case opDateBefore, opDateAfter:
		p.date = compileDateFilter(v)
		if p.date.invalid != "" {
			p.unsupported = p.date.invalid
		}
	case opSemverEQ, opSemverNEQ, opSemverGT, opSemverGTE, opSemverLT, opSemverLTE,
		opSemverTilde, opSemverCaret, opSemverWildcard:
		r, ok := compileSemverFilter(p.op, jsString(v))
		p.semver, p.semverErr = r, !ok
		if !ok {
			p.unsupported = "invalid semver filter " + jsString(v)
		}
	}
}

func (p *property) compileExact() {
	v := p.value
	e := &p.exact
	arr, isArr := v.([]any)
	e.boolLike = boolLike(v)
	e.legacyBool = isArr && len(arr) == 0 // the v1 part is decided per Definitions
	e.target = boolTruthy(v)
	e.isArray = isArr
	if isArr {
		for _, it := range arr {
			s, ok := exactString(it)
			e.items = append(e.items, exactItem{s: jsLower(s), ok: ok})
			if !ok && p.unsupported == "" {
				p.unsupported = "exact filter value cannot be compared locally"
			}
		}
		return
	}
	s, ok := exactString(v)
	e.one = exactItem{s: jsLower(s), ok: ok}
	if !ok {
		p.unsupported = "exact filter value cannot be compared locally"
	}
}

// matchErr is a filter, condition or flag that cannot be decided locally.
type matchErr struct {
	reason Reason
	detail string
	// regex marks a regex that needs the server: a later match is deferred
	// to it (flags.md §5).
	regex bool
	// server marks posthog-node's RequiresServerEvaluation (a missing or
	// static cohort): it stops the condition loop.
	server bool
}

func unsupported(detail string) *matchErr {
	return &matchErr{reason: ReasonUnsupportedDefinition, detail: detail}
}

// Shared errors for the common causes, so the hot path does not allocate.
var (
	errPropertyMissing = &matchErr{reason: ReasonMissingContext, detail: "property not given"}
	errContextValue    = &matchErr{reason: ReasonMissingContext, detail: "property value cannot be compared locally"}
	errRegexServer     = &matchErr{reason: ReasonUnsupportedDefinition, detail: "regex requires server evaluation", regex: true}
)

// match is posthog-node's matchFeatureFlagProperty for a person or group
// filter against a property bag.
func (p *property) match(b bag, v2 bool, ev *evaluation) (bool, *matchErr) {
	ok, err := p.matchValue(b, v2, ev)
	if err != nil && err.reason == ReasonMissingContext && p.unsupported != "" {
		// An unusable filter outranks missing context.
		return false, &matchErr{reason: ReasonUnsupportedDefinition, detail: p.unsupported, regex: err.regex}
	}
	return ok, err
}

func (p *property) matchValue(b bag, v2 bool, ev *evaluation) (bool, *matchErr) {
	raw, has := b.get(p.key)
	if !has {
		return false, errPropertyMissing
	}
	switch p.op {
	case opIsNotSet:
		return false, nil
	case opIsSet:
		return true, nil
	}
	actual := canon(raw)
	if actual == nil && !p.op.nullAllowed() {
		return false, nil
	}
	switch p.op {
	case opExact:
		return p.exactMatch(actual, v2)
	case opIsNot:
		m, err := p.exactMatch(actual, v2)
		return !m && err == nil, err
	case opIContains:
		return strings.Contains(asciiLower(jsString(actual)), p.str), nil
	case opNotIContains:
		return !strings.Contains(asciiLower(jsString(actual)), p.str), nil
	case opStartsWith:
		return strings.HasPrefix(asciiLower(jsString(actual)), p.str), nil
	case opNotStartsWith:
		return !strings.HasPrefix(asciiLower(jsString(actual)), p.str), nil
	case opEndsWith:
		return strings.HasSuffix(asciiLower(jsString(actual)), p.str), nil
	case opNotEndsWith:
		return !strings.HasSuffix(asciiLower(jsString(actual)), p.str), nil
	case opRegex, opNotRegex:
		m, valid, err := p.re.test(jsString(actual))
		if err != nil {
			return false, err
		}
		if !valid {
			return false, nil // a pattern JavaScript rejects matches nothing, either way
		}
		return m == (p.op == opRegex), nil
	case opGT, opGTE, opLT, opLTE:
		return p.compare(actual), nil
	case opDateBefore, opDateAfter:
		if p.unsupported != "" {
			return false, unsupported(p.unsupported)
		}
		filterMs := p.date.at(ev.now)
		actualMs, ok := contextDate(actual)
		if !ok {
			return false, errContextValue
		}
		if p.op == opDateBefore {
			return actualMs < filterMs, nil
		}
		return actualMs > filterMs, nil
	case opUnknown:
		return false, unsupported(p.unsupported)
	}
	// Semver: the filter is parsed before the context value.
	if p.semverErr {
		return false, unsupported(p.unsupported)
	}
	got, ok := parseSemver(jsString(actual))
	if !ok {
		return false, errContextValue
	}
	return p.semver.contains(p.op, got), nil
}

// exactMatch is posthog-node's computeExactMatch.
func (p *property) exactMatch(actual any, v2 bool) (bool, *matchErr) {
	e := &p.exact
	if (!v2 && e.boolLike) || e.legacyBool {
		if !jsonRepresentable(actual, 0) {
			return false, errContextValue
		}
		return e.target == boolTruthy(actual), nil
	}
	if _, isNum := actual.(float64); v2 && isNum && e.boolLike {
		if !jsonRepresentable(actual, 0) {
			return false, errContextValue
		}
		return false, nil
	}
	if e.isArray {
		as, ok := exactString(actual)
		if !ok {
			return false, errContextValue
		}
		as = jsLower(as)
		for _, it := range e.items {
			if !it.ok {
				return false, unsupported(p.unsupported)
			}
			if it.s == as {
				return true, nil
			}
		}
		return false, nil
	}
	if !e.one.ok {
		return false, unsupported(p.unsupported)
	}
	as, ok := exactString(actual)
	if !ok {
		return false, errContextValue
	}
	return e.one.s == jsLower(as), nil
}

// compare is gt/gte/lt/lte: numbers when both sides parse as finite
// numbers, else JavaScript string comparison (flags.md §8.5).
func (p *property) compare(actual any) bool {
	a, isNum := actual.(float64)
	if !isNum {
		a = jsParseFloat(actual)
	}
	f := p.num
	var c int
	if !math.IsNaN(a) && !math.IsInf(a, 0) && !math.IsNaN(f) && !math.IsInf(f, 0) {
		switch {
		case a < f:
			c = -1
		case a > f:
			c = 1
		}
	} else {
		c = compareUTF16(jsString(actual), p.str)
	}
	switch p.op {
	case opGT:
		return c > 0
	case opGTE:
		return c >= 0
	case opLT:
		return c < 0
	}
	return c <= 0
}

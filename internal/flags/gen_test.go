package flags

import (
	"fmt"
	"math/rand/v2"
)

// The generator below builds flag definitions and evaluation inputs for the
// differential test. It is seeded, so a failure reproduces exactly.

// gen draws from a seeded source. In clean mode it avoids what makes
// posthog-node inconclusive (unknown operators, integer exact filters,
// non-portable regexes, static and XOR cohorts, missing properties), so
// that more cases end in a conclusive value.
type gen struct {
	r     *rand.Rand
	clean bool
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g *gen) pick(xs ...any) any    { return xs[g.r.IntN(len(xs))] }
func (g *gen) chance(p float64) bool { return g.r.Float64() < p }
func (g *gen) n(k int) int           { return g.r.IntN(k) }

// propKeys are the property keys filters and contexts share.
var propKeys = []string{"p0", "p1", "p2", "email", "plan"}

// contextValues are the caller-side values: every type mix the operators
// coerce (flags.md §8).
var contextValues = []any{
	"hello", "Hello", "HELLO world", "", "true", "True", "FALSE", "false", "null",
	"5", "5.5", " 12", "1e3", "5abc", "1,2", "-3", "Infinity", "0x10",
	"1.2.3", "v1.2.3", "1.2", "1.02.3", "01.2.3", "1.2.3.4", "2.0.0-beta+x", ".1", "1", "0.0.3", "0.2.5",
	"x@y.com", "X@Y.COM", "İstanbul", "istanbul", "ΣΑΣ", "σας", "ÄÖÜ", "äö", "a\rb", "abc\ndef", "a\vb",
	"2024-01-15", "2024-01-15T12:00:00Z", "2024-01-15T12:00:00", "2024-01-15 12:00:00", "2023-12-01T00:00:00+02:00",
	"2024/01/15", "January 15, 2024", "not a date", "2024-02-30", "2024-01-14T23:59:59.999Z",
	float64(5), 5.5, float64(-1), float64(0), 0.1, 1e21, 1705320000000.0, 1704067200000.0, float64(12), 3.25,
	true, false, nil,
	[]any{"a", "b"}, []any{true}, []any{}, []any{1.5}, []any{"hello"}, []any{"true", true},
	map[string]any{"b": 1.5, "a": "x"}, map[string]any{},
}

var regexPatterns = []any{
	"^abc", "a.c", `\d+`, "[a-z]+$", "(?i)abc", `\bword`, "[", "(abc", "a{2,3}", "a{3,2}", "^$", "x*",
	`[\s-9]`, `\s`, `[^\S]`, "a|b", "(?:ab)+c", `\x41`, `\:`, `[\:]`, "é", "a**", "a+*", "^*", "(?=a)",
	".", `\.`, "ell", "^H", "o$", "", "[]", "[^]", "a{2}", "(a)*", "()*", `\w+@\w+\.com`, "[0-9]{1,2}",
	"true", "^[^@]+$", "a{,3}", `[\d-z]`, `[a-c-e]`, "a??", "a*?b", "ab{0}c", float64(5), nil, true,
}

var dateFilters = []any{
	"-7d", "7d", "-1h", "-48h", "-2w", "-1m", "-3m", "-1y", "-0d", "-1D", "+1d", "-10000d", "-9999d", "-007d",
	"2024-01-01", "2024-01-15T12:00:00Z", "2024-01-15", "2024-01-15T11:00:00+01:00", "January 15, 2024",
	1705320000000.0, true, "garbage", "20240115", "1705320000000", "-1x",
}

var semverFilters = []any{
	"1.2.3", "1.2", "v1", "1.2.*", "1.*", "*", "1.x", "01.2", "1.2.3-beta", "0.0.3", "0.2.0", "2", " 1.2.3 ",
	"1.2.3.4", "", float64(1), 1.2, "V2.0.0",
}

var stringFilters = []any{"hello", "HEL", "lo", "", "x@y", "5", "true", "null", "ä", float64(5), 5.5, nil, true, "a,b"}
var numberFilters = []any{float64(5), 5.5, "5", "5.5", "10", "abc", "", true, nil, -1.0, "1e3", " 7", "hello"}
var exactFilters = []any{
	"hello", "HELLO", "true", "True", "false", "FALSE", true, false, "5.5", 5.5, float64(5), "5", "null", nil, "",
	[]any{"hello", "x@y.com"}, []any{"a", float64(5)}, []any{}, []any{true}, []any{"true", "false"}, []any{5.5, "x"},
	[]any{"a", "b"}, "istanbul", "σας", "İstanbul", "a,b", `["a","b"]`, `{"a":"x","b":1.5}`, "[]",
}

var operators = []string{
	"exact", "is_not", "is_set", "is_not_set", "icontains", "not_icontains", "starts_with", "not_starts_with",
	"ends_with", "not_ends_with", "regex", "not_regex", "gt", "gte", "lt", "lte", "is_date_before", "is_date_after",
	"semver_eq", "semver_neq", "semver_gt", "semver_gte", "semver_lt", "semver_lte", "semver_tilde", "semver_caret",
	"semver_wildcard", "", "bogus_op",
}

func (g *gen) filterValue(op string) any {
	if g.clean {
		for range 100 {
			v := g.filterValue1(op)
			p := &property{op: opNames[op], value: v}
			if op == "" {
				p.op = opExact
			}
			p.compileOperator()
			if p.unsupported == "" && (p.re == nil || !p.re.needsServer) {
				return v
			}
		}
	}
	return g.filterValue1(op)
}

func (g *gen) filterValue1(op string) any {
	switch op {
	case "exact", "is_not", "", "is_set", "is_not_set", "bogus_op":
		return g.pick(exactFilters...)
	case "regex", "not_regex":
		return g.pick(regexPatterns...)
	case "gt", "gte", "lt", "lte":
		return g.pick(numberFilters...)
	case "is_date_before", "is_date_after":
		return g.pick(dateFilters...)
	case "semver_eq", "semver_neq", "semver_gt", "semver_gte", "semver_lt", "semver_lte",
		"semver_tilde", "semver_caret", "semver_wildcard":
		return g.pick(semverFilters...)
	}
	return g.pick(stringFilters...)
}

// property is one person or group property filter.
func (g *gen) property(typ string) map[string]any {
	op := operators[g.n(len(operators))]
	for g.clean && op == "bogus_op" {
		op = operators[g.n(len(operators))]
	}
	p := map[string]any{"key": propKeys[g.n(len(propKeys))], "value": g.filterValue(op), "type": typ}
	if op != "" {
		p["operator"] = op
	}
	return p
}

// definitions builds one /flags/definitions body with nFlags flags.
func (g *gen) definitions(set int) (map[string]any, []string) {
	nFlags := 2 + g.n(5)
	var flags []any
	var keys []string
	cohorts := g.cohorts()
	for i := range nFlags {
		key := fmt.Sprintf("flag-%d-%d", set, i)
		if g.chance(0.1) {
			key = fmt.Sprintf("Flag-ü-%d", i)
		}
		flags = append(flags, g.flag(i+1, key, keys))
		keys = append(keys, key)
	}
	d := map[string]any{
		"flags":              flags,
		"group_type_mapping": map[string]any{"0": "company", "1": "project"},
		"cohorts":            cohorts,
	}
	if g.chance(0.4) {
		d["property_matching_version"] = float64(2)
	}
	return d, keys
}

func (g *gen) cohorts() map[string]any {
	props := func(n int) []any {
		var out []any
		for range n {
			p := g.property("person")
			if g.chance(0.3) {
				p["negation"] = true
			}
			out = append(out, p)
		}
		return out
	}
	return map[string]any{
		"1": map[string]any{"type": "OR", "values": []any{
			map[string]any{"type": "AND", "values": props(1 + g.n(2))},
			map[string]any{"type": "AND", "values": props(1 + g.n(2))},
		}},
		"2": map[string]any{"type": g.pick("AND", "OR", "property"), "values": props(1 + g.n(3))},
		"3": map[string]any{"type": "AND", "values": []any{
			map[string]any{"type": "cohort", "key": "id", "value": g.pick(float64(1), "2", float64(5)), "operator": g.pick("in", "not_in")},
			g.property("person"),
		}},
		"4": map[string]any{"type": "XOR", "values": props(1)},
		"5": map[string]any{},
		"6": map[string]any{"type": g.pick("AND", "OR"), "values": []any{}},
		"7": map[string]any{"type": "OR", "values": []any{
			map[string]any{"type": "OR", "values": props(1)},
			g.property("person"), // a bare property after a group
		}},
	}
}

func (g *gen) flag(id int, key string, earlier []string) map[string]any {
	f := map[string]any{"id": float64(id), "key": key, "active": !g.chance(0.08), "name": key}
	if g.chance(0.04) {
		f["ensure_experience_continuity"] = true
	}
	if g.chance(0.1) {
		f["bucketing_identifier"] = g.pick("device_id", "distinct_id", nil)
	}
	if g.chance(0.15) {
		// Older servers send the list as evaluation_tags.
		f[g.pick("evaluation_contexts", "evaluation_tags").(string)] = []any{g.pick("web", "server", "mobile")}
	}
	if g.chance(0.03) {
		delete(f, "active") // missing active reads as inactive
	}
	filters := map[string]any{}
	agg := any(nil)
	if g.chance(0.15) {
		agg = g.pick(float64(0), float64(1), float64(5), "0")
		filters["aggregation_group_type_index"] = agg
	}
	var variants []any
	if g.chance(0.4) {
		switch g.n(4) {
		case 0:
			variants = []any{genVariant("control", 50), genVariant("test", 50)}
		case 1:
			variants = []any{genVariant("a", 33.3), genVariant("b", 33.3), genVariant("c", 33.4)}
		case 2:
			variants = []any{genVariant("a", 20), genVariant("b", 30)} // sums below 100
		default:
			variants = []any{genVariant("", 50), genVariant("x", 50)}
		}
		filters["multivariate"] = map[string]any{"variants": variants}
	}
	var groups []any
	for range 1 + g.n(3) {
		groups = append(groups, g.condition(agg, variants, earlier))
	}
	filters["groups"] = groups
	if g.chance(0.5) {
		payloads := map[string]any{"true": g.pick(`{"a":1}`, "0", "false", `""`, "not json", "[1,2]", "null", `"str"`, "")}
		for _, v := range variants {
			k := v.(map[string]any)["key"].(string)
			payloads[k] = g.pick(`{"v":"`+k+`"}`, "1.5", "")
		}
		payloads["holdout-7"] = `{"held":true}`
		filters["payloads"] = payloads
	}
	if g.chance(0.1) {
		filters["holdout"] = map[string]any{"id": float64(7), "exclusion_percentage": g.pick(float64(0), float64(20), float64(100), "30", nil, 150.0)}
	}
	if g.chance(0.2) {
		filters["early_exit"] = true
	}
	f["filters"] = filters
	return f
}

func genVariant(key string, pct float64) any {
	return map[string]any{"key": key, "name": key, "rollout_percentage": pct}
}

func (g *gen) condition(agg any, variants []any, earlier []string) map[string]any {
	c := map[string]any{}
	switch g.n(5) {
	case 0:
	case 1:
		c["rollout_percentage"] = nil
	case 2:
		c["rollout_percentage"] = g.pick(float64(0), float64(100), float64(50), 12.5, "50") // a string coerces
	default:
		c["rollout_percentage"] = float64(g.n(101))
	}
	if len(variants) > 0 && g.chance(0.3) {
		c["variant"] = g.pick("control", "test", "a", "x", "nope")
	}
	if agg == nil && g.chance(0.08) {
		c["aggregation_group_type_index"] = g.pick(float64(0), float64(1), nil)
	}
	var props []any
	for range g.n(4) {
		switch k := g.n(10); {
		case k < 6:
			typ := "person"
			if agg != nil {
				typ = "group"
			}
			props = append(props, g.property(typ))
		case k < 8:
			props = append(props, map[string]any{
				"key": "id", "type": "cohort",
				"value":    g.cohortID(),
				"operator": g.pick("in", "not_in", nil),
			})
		default:
			props = append(props, g.dependency(earlier))
		}
	}
	if props != nil || g.chance(0.5) {
		c["properties"] = props
	}
	return c
}

func (g *gen) cohortID() any {
	if g.clean {
		return g.pick(float64(1), float64(2), "3", float64(5), float64(6))
	}
	return g.pick(float64(1), float64(2), "3", float64(4), float64(5), float64(6), float64(7), float64(99))
}

func (g *gen) dependency(earlier []string) map[string]any {
	p := map[string]any{"type": "flag", "operator": "flag_evaluates_to", "value": g.pick(true, false, "control", "a", "true", float64(1))}
	switch {
	case len(earlier) == 0 || g.chance(0.1):
		p["key"] = "missing-flag"
		p["dependency_chain"] = g.pick([]any{"missing-flag"}, []any{}, nil)
		if p["dependency_chain"] == nil {
			delete(p, "dependency_chain")
		}
	default:
		target := earlier[g.n(len(earlier))]
		p["key"] = target
		// The chain lists what target itself depends on first; earlier flags
		// are a superset, which posthog-node evaluates all the same.
		chain := []any{}
		for _, k := range earlier {
			if g.chance(0.3) && k != target {
				chain = append(chain, k)
			}
		}
		p["dependency_chain"] = append(chain, target)
	}
	return p
}

// input builds one caller context.
func (g *gen) input() map[string]any {
	in := map[string]any{}
	switch g.n(6) {
	case 0:
		in["distinct_id"] = ""
	case 1:
		in["distinct_id"] = fmt.Sprintf("üser-%d", g.n(1000))
	default:
		in["distinct_id"] = fmt.Sprintf("user-%d", g.n(100000))
	}
	person := map[string]any{}
	present := 0.6
	if g.clean {
		present = 0.95
	}
	for _, k := range propKeys {
		if g.chance(present) {
			person[k] = contextValues[g.n(len(contextValues))]
		}
	}
	if g.chance(0.3) {
		person["$device_id"] = g.pick("device-1", "device-2", "", nil, float64(42))
	}
	if g.chance(0.05) {
		person["distinct_id"] = "override-id"
	}
	in["person_properties"] = person
	if g.chance(0.5) {
		groups := map[string]any{"company": fmt.Sprintf("co-%d", g.n(50))}
		if g.chance(0.5) {
			groups["project"] = fmt.Sprintf("pr-%d", g.n(50))
		}
		in["groups"] = groups
		gp := map[string]any{}
		for name := range groups {
			bag := map[string]any{}
			for _, k := range propKeys {
				if g.chance(present) {
					bag[k] = contextValues[g.n(len(contextValues))]
				}
			}
			gp[name] = bag
		}
		gp["unused"] = map[string]any{"p0": "hello"}
		in["group_properties"] = gp
	}
	if g.chance(0.2) {
		in["contexts"] = []any{g.pick("web", "server")}
	}
	return in
}

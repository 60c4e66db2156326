package flags

import (
	"testing"
	"time"
)

// FuzzParseEvaluate feeds arbitrary definitions (untrusted: they come from
// the network) to Parse and evaluates every flag: nothing may panic, and
// every outcome is a result, ErrUnknownFlag or an *InconclusiveError.
func FuzzParseEvaluate(f *testing.F) {
	// A plain rollout flag.
	f.Add([]byte(`{"flags":[{"id":1,"key":"a","active":true,"filters":{"groups":[{"rollout_percentage":50}]}}]}`), "a", "plan", "pro")
	// Multivariate with an override, payloads and a holdout.
	f.Add([]byte(`{"flags":[{"id":2,"key":"m","active":true,"filters":{"holdout":{"id":1,"exclusion_percentage":"30"},"multivariate":{"variants":[{"key":"x","rollout_percentage":60},{"key":"y","rollout_percentage":40}]},"groups":[{"variant":"y","properties":[{"key":"plan","value":["pro","team"]}]}],"payloads":{"x":"{\"a\":1}","y":"nope"}}}]}`), "m", "plan", "team")
	// Cohorts nested AND/OR, a static cohort, a bare property after a group.
	f.Add([]byte(`{"flags":[{"id":3,"key":"c","active":true,"filters":{"groups":[{"properties":[{"key":"id","type":"cohort","value":1},{"key":"id","type":"cohort","value":9}]}]}}],"cohorts":{"1":{"type":"OR","values":[{"type":"AND","values":[{"key":"plan","operator":"regex","value":"^p(r|o)+$"}]},{"key":"x","value":1}]}}}`), "c", "plan", "pro")
	// Dependencies, a cycle and group flags with string indexes.
	f.Add([]byte(`{"flags":[{"id":4,"key":"d","active":true,"filters":{"aggregation_group_type_index":"0","groups":[{"properties":[{"key":"d","type":"flag","value":true,"dependency_chain":["d"]}]}]}}],"group_type_mapping":{"0":"company"}}`), "d", "$group_key", "acme")
	// Dates and semvers.
	f.Add([]byte(`{"flags":[{"id":5,"key":"s","active":true,"filters":{"groups":[{"properties":[{"key":"v","operator":"semver_caret","value":"0.2.*"},{"key":"t","operator":"is_date_after","value":"-3m"}]}]}}]}`), "s", "v", "0.2.9")
	f.Fuzz(func(t *testing.T, body []byte, key, prop, val string) {
		d, err := Parse(body)
		if err != nil {
			return
		}
		in := Input{
			DistinctID:       val,
			Groups:           map[string]string{"company": val},
			PersonProperties: map[string]any{prop: val, "n": 5.5, "t": "2024-01-01"},
			GroupProperties:  map[string]map[string]any{"company": {prop: val}},
		}
		now := time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)
		_, _ = d.Evaluate(key, in, now)
		results, inconclusive := d.EvaluateAll(in, now)
		for k := range results {
			if _, both := inconclusive[k]; both {
				t.Fatalf("flag %q is both a result and inconclusive", k)
			}
		}
	})
}

// FuzzRegex feeds arbitrary patterns (filter values come from the network)
// and values to the JavaScript-regex translation: it must never panic, and
// a pattern it runs must give one stable answer.
func FuzzRegex(f *testing.F) {
	f.Add(`^a[b-d]+\d{2,3}$`, "abd12") // classes, ranges and counts
	f.Add(`[\s-9]`, "-")               // a class the u flag rejects
	f.Add(`(?:ab)+|c*?`, "abab")       // groups, alternation, lazy
	f.Add(`[^\S\x41]\.`, " .")         // negated class with escapes
	f.Add(`a{3,2}`, "aaa")             // a JavaScript SyntaxError
	f.Add(`(?<n>x)\k<n>`, "xx")        // named groups: server only
	f.Fuzz(func(t *testing.T, pattern, value string) {
		re := compileJSRegexp(pattern)
		m1, v1, e1 := re.test(value)
		m2, v2, e2 := re.test(value)
		if m1 != m2 || v1 != v2 || (e1 == nil) != (e2 == nil) {
			t.Fatalf("regex %q on %q is not stable", pattern, value)
		}
	})
}

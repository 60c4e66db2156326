package flags

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// flagDoc builds a definitions body from flag JSON objects.
func flagDoc(extra string, flags ...string) []byte {
	if extra != "" {
		extra = "," + extra
	}
	return []byte(`{"flags":[` + strings.Join(flags, ",") + `],"group_type_mapping":{"0":"company"}` + extra + `}`)
}

// cond is a flag with the given filters object.
func cond(key, filters string) string {
	return fmt.Sprintf(`{"id":1,"key":%q,"active":true,"filters":%s}`, key, filters)
}

// outcome renders an evaluation as posthog-node would return it:
// false, true, "variant" or undefined(<reason>).
func outcome(r Result, err error) string {
	var ie *InconclusiveError
	switch {
	case errors.As(err, &ie):
		return "undefined(" + string(ie.Reason) + ")"
	case errors.Is(err, ErrUnknownFlag):
		return "undefined(unknown)"
	case err != nil:
		return "error: " + err.Error()
	}
	b, _ := json.Marshal(r.Value())
	return string(b)
}

// These cases are flags.md's statements about posthog-node (§3–§12), each
// checked against posthog-node by the differential test's generator too.
func TestEvaluateSemantics(t *testing.T) {
	p := func(key, op, value string) string {
		return fmt.Sprintf(`{"key":%q,"operator":%q,"value":%s,"type":"person"}`, key, op, value)
	}
	tests := []struct {
		name string
		doc  []byte
		key  string
		in   Input
		want string
	}{
		{"inactive beats continuity", flagDoc("", `{"id":1,"key":"f","active":false,"ensure_experience_continuity":true,"filters":{"groups":[{"rollout_percentage":100}]}}`),
			"f", Input{DistinctID: "u"}, "false"},
		{"continuity is inconclusive", flagDoc("", `{"id":1,"key":"f","active":true,"ensure_experience_continuity":true,"filters":{"groups":[{"rollout_percentage":100}]}}`),
			"f", Input{DistinctID: "u"}, "undefined(experience_continuity)"},
		{"missing and mismatching property is false", flagDoc("", cond("f", `{"groups":[{"properties":[`+p("a", "exact", `"x"`)+`,`+p("b", "exact", `"y"`)+`]}]}`)),
			"f", Input{DistinctID: "u", PersonProperties: map[string]any{"b": "z"}}, "false"},
		{"missing and matching property is undefined", flagDoc("", cond("f", `{"groups":[{"properties":[`+p("a", "exact", `"x"`)+`,`+p("b", "exact", `"y"`)+`]}]}`)),
			"f", Input{DistinctID: "u", PersonProperties: map[string]any{"b": "Y"}}, "undefined(missing_context)"},
		{"inconclusive first condition, later match wins", flagDoc("", cond("f", `{"groups":[{"properties":[`+p("a", "exact", `"x"`)+`]},{"rollout_percentage":100}]}`)),
			"f", Input{DistinctID: "u"}, "true"},
		{"static cohort stops the flag", flagDoc("", cond("f", `{"groups":[{"properties":[{"key":"id","type":"cohort","value":99}]},{"rollout_percentage":100}]}`)),
			"f", Input{DistinctID: "u"}, "undefined(unsupported_definition)"},
		{"cohort with nested OR", flagDoc(`"cohorts":{"3":{"type":"OR","values":[{"type":"AND","values":[`+p("plan", "exact", `"pro"`)+`]},{"type":"AND","values":[`+p("seats", "gt", `10`)+`]}]}}`,
			cond("f", `{"groups":[{"properties":[{"key":"id","type":"cohort","value":"3"}]}]}`)),
			"f", Input{DistinctID: "u", PersonProperties: map[string]any{"plan": "free", "seats": 12}}, "true"},
		{"not_in cohort", flagDoc(`"cohorts":{"3":{"type":"AND","values":[`+p("plan", "exact", `"pro"`)+`]}}`,
			cond("f", `{"groups":[{"properties":[{"key":"id","type":"cohort","value":3,"operator":"not_in"}]}]}`)),
			"f", Input{DistinctID: "u", PersonProperties: map[string]any{"plan": "PRO"}}, "false"},
		{"group flag without its group", flagDoc("", cond("f", `{"aggregation_group_type_index":0,"groups":[{"rollout_percentage":100}]}`)),
			"f", Input{DistinctID: "u"}, "false"},
		{"group flag with its group and $group_key", flagDoc("", cond("f", `{"aggregation_group_type_index":0,"groups":[{"properties":[{"key":"$group_key","value":"acme","type":"group"}]}]}`)),
			"f", Input{DistinctID: "u", Groups: map[string]string{"company": "acme"}}, "true"},
		{"unknown group type index", flagDoc("", cond("f", `{"aggregation_group_type_index":4,"groups":[{"rollout_percentage":100}]}`)),
			"f", Input{DistinctID: "u", Groups: map[string]string{"company": "acme"}}, "undefined(unsupported_definition)"},
		{"holdout before a 0% rollout", flagDoc("", cond("f", `{"holdout":{"id":13,"exclusion_percentage":100},"groups":[{"rollout_percentage":0}]}`)),
			"f", Input{DistinctID: "u"}, `"holdout-13"`},
		{"valid variant override", flagDoc("", cond("f", `{"multivariate":{"variants":[{"key":"a","rollout_percentage":100},{"key":"b","rollout_percentage":0}]},"groups":[{"variant":"b"}]}`)),
			"f", Input{DistinctID: "u"}, `"b"`},
		{"invalid variant override", flagDoc("", cond("f", `{"multivariate":{"variants":[{"key":"a","rollout_percentage":100}]},"groups":[{"variant":"zzz"}]}`)),
			"f", Input{DistinctID: "u"}, `"a"`},
		{"variants summing below 100 give true", flagDoc("", cond("f", `{"multivariate":{"variants":[{"key":"a","rollout_percentage":0}]},"groups":[{}]}`)),
			"f", Input{DistinctID: "u"}, "true"},
		{"legacy boolean: false filter matches a string", flagDoc("", cond("f", `{"groups":[{"properties":[`+p("a", "exact", `false`)+`]}]}`)),
			"f", Input{DistinctID: "u", PersonProperties: map[string]any{"a": "hello"}}, "true"},
		{"v2: no legacy boolean mode", flagDoc(`"property_matching_version":2`, cond("f", `{"groups":[{"properties":[`+p("a", "exact", `false`)+`]}]}`)),
			"f", Input{DistinctID: "u", PersonProperties: map[string]any{"a": "hello"}}, "false"},
		{"integer exact filter is inconclusive", flagDoc("", cond("f", `{"groups":[{"properties":[`+p("a", "exact", `5`)+`]}]}`)),
			"f", Input{DistinctID: "u", PersonProperties: map[string]any{"a": 5}}, "undefined(unsupported_definition)"},
		{"exact is Unicode case-insensitive", flagDoc("", cond("f", `{"groups":[{"properties":[`+p("a", "exact", `"σας"`)+`]}]}`)),
			"f", Input{DistinctID: "u", PersonProperties: map[string]any{"a": "ΣΑΣ"}}, "true"},
		{"gt falls back to string comparison", flagDoc("", cond("f", `{"groups":[{"properties":[`+p("a", "gt", `5`)+`]}]}`)),
			"f", Input{DistinctID: "u", PersonProperties: map[string]any{"a": "hello"}}, "true"},
		{"is_not_set on an absent property", flagDoc("", cond("f", `{"groups":[{"properties":[`+p("a", "is_not_set", `""`)+`]}]}`)),
			"f", Input{DistinctID: "u"}, "undefined(missing_context)"},
		{"relative date", flagDoc("", cond("f", `{"groups":[{"properties":[`+p("signup", "is_date_after", `"-7d"`)+`]}]}`)),
			"f", Input{DistinctID: "u", PersonProperties: map[string]any{"signup": time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC)}}, "true"},
		{"distinct_id is a property", flagDoc("", cond("f", `{"groups":[{"properties":[`+p("distinct_id", "icontains", `"vip"`)+`]}]}`)),
			"f", Input{DistinctID: "VIP-7"}, "true"},
		{"device bucketing without $device_id", flagDoc("", `{"id":1,"key":"f","active":true,"bucketing_identifier":"device_id","filters":{"groups":[{"rollout_percentage":100}]}}`),
			"f", Input{DistinctID: "u"}, "undefined(missing_context)"},
		{"dependency on a continuity flag", flagDoc("",
			`{"id":1,"key":"base","active":true,"ensure_experience_continuity":true,"filters":{"groups":[{}]}}`,
			cond("f", `{"groups":[{"properties":[{"key":"base","type":"flag","value":true,"operator":"flag_evaluates_to","dependency_chain":["base"]}]}]}`)),
			"f", Input{DistinctID: "u"}, "undefined(unresolved_dependency)"},
		{"dependency chain", flagDoc("",
			cond("base", `{"multivariate":{"variants":[{"key":"blue","rollout_percentage":100}]},"groups":[{}]}`),
			cond("f", `{"groups":[{"properties":[{"key":"base","type":"flag","value":"blue","operator":"flag_evaluates_to","dependency_chain":["base"]}]}]}`)),
			"f", Input{DistinctID: "u"}, "true"},
		{"circular dependency", flagDoc("", cond("f", `{"groups":[{"properties":[{"key":"f","type":"flag","value":true,"operator":"flag_evaluates_to","dependency_chain":[]}]}]}`)),
			"f", Input{DistinctID: "u"}, "undefined(unsupported_definition)"},
		{"evaluation context drops a flag", flagDoc("", `{"id":1,"key":"f","active":true,"evaluation_contexts":["web"],"filters":{"groups":[{}]}}`),
			"f", Input{DistinctID: "u", EvaluationContexts: []string{"server"}}, "undefined(unknown)"},
		{"dependency on a dropped flag is false", flagDoc("",
			`{"id":1,"key":"web","active":true,"evaluation_contexts":["web"],"filters":{"groups":[{}]}}`,
			cond("f", `{"groups":[{"properties":[{"key":"web","type":"flag","value":false,"operator":"flag_evaluates_to","dependency_chain":["web"]}]}]}`)),
			"f", Input{DistinctID: "u", EvaluationContexts: []string{"server"}}, "true"},
		{"unknown key", flagDoc("", cond("f", `{"groups":[{}]}`)), "nope", Input{DistinctID: "u"}, "undefined(unknown)"},
	}
	now := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.doc)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := outcome(d.Evaluate(tt.key, tt.in, now)); got != tt.want {
				t.Errorf("Evaluate(%q) = %s, want %s", tt.key, got, tt.want)
			}
		})
	}
}

func TestPayloads(t *testing.T) {
	doc := flagDoc("", cond("f", `{"multivariate":{"variants":[{"key":"a","rollout_percentage":100}]},"groups":[{}],
		"payloads":{"a":"not json","true":"{\"x\":1}"}}`), cond("z", `{"groups":[{}],"payloads":{"true":"0"}}`))
	d, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	r, err := d.Evaluate("f", Input{DistinctID: "u"}, time.Time{})
	if err != nil || string(r.Payload) != `"not json"` || !r.PayloadTruthy() {
		t.Errorf("payload of f = %s, %v; want the raw string as JSON", r.Payload, err)
	}
	r, err = d.Payload("f", true, "")
	if err != nil || string(r.Payload) != `{"x":1}` {
		t.Errorf("Payload(f, true) = %s, %v; want {\"x\":1}", r.Payload, err)
	}
	r, _ = d.Evaluate("z", Input{DistinctID: "u"}, time.Time{})
	if string(r.Payload) != "0" || r.PayloadTruthy() {
		t.Errorf("payload of z = %s (truthy %v), want 0 and not truthy", r.Payload, r.PayloadTruthy())
	}
	all, inconclusive := d.EvaluateAll(Input{DistinctID: "u"}, time.Time{})
	if len(all) != 2 || len(inconclusive) != 0 {
		t.Errorf("EvaluateAll = %v, %v; want 2 results", all, inconclusive)
	}
}

func TestParseRejects(t *testing.T) {
	for _, body := range []string{``, `[]`, `{"cohorts":{}}`, `{"flags":[1]}`, `{"flags":{}}`} {
		if _, err := Parse([]byte(body)); err == nil {
			t.Errorf("Parse(%q) = nil error, want one", body)
		}
	}
	if _, err := Parse([]byte(`{"cohorts":{}}`)); !errors.Is(err, ErrNoFlags) {
		t.Errorf("Parse without flags = %v, want ErrNoFlags", err)
	}
}

// TestConcurrentEvaluation shares one Definitions between goroutines (run
// with -race): evaluation must not write to it.
func TestConcurrentEvaluation(t *testing.T) {
	sc := benchScenarios()
	var docs []*Definitions
	for _, s := range sc {
		d, err := Parse([]byte(s.doc))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		docs = append(docs, d)
	}
	dep, err := Parse(flagDoc("",
		cond("base", `{"groups":[{"rollout_percentage":50}]}`),
		cond("f", `{"groups":[{"properties":[{"key":"base","type":"flag","value":true,"operator":"flag_evaluates_to","dependency_chain":["base"]}]}]}`)))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	now := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	want := make([]map[string]Result, len(sc[0].inputs))
	for i, in := range sc[0].inputs {
		want[i], _ = dep.EvaluateAll(in, now)
	}
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := g; i < 400; i += 4 {
				for j, d := range docs {
					if _, err := d.Evaluate(sc[j].key, sc[j].inputs[i], now); err != nil {
						t.Errorf("Evaluate: %v", err)
						return
					}
				}
				got, _ := dep.EvaluateAll(sc[0].inputs[i], now)
				if got["f"].Enabled != want[i]["f"].Enabled || got["f"].Enabled != got["base"].Enabled {
					t.Errorf("input %d: f = %v, base = %v; want f to follow base", i, got["f"].Enabled, got["base"].Enabled)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}

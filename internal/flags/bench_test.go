package flags

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// benchScenario is one benchmarked flag and the inputs it is evaluated for.
type benchScenario struct {
	name   string
	doc    string
	key    string
	inputs []Input
}

// benchScenarios are the three flags docs/performance.md reports: a plain
// rollout, a multivariate flag with property filters, and a cohort flag.
func benchScenarios() []benchScenario {
	ids := func(props func(i int) map[string]any) []Input {
		in := make([]Input, 1000)
		for i := range in {
			in[i] = Input{DistinctID: fmt.Sprintf("user-%d", i)}
			if props != nil {
				in[i].PersonProperties = props(i)
			}
		}
		return in
	}
	person := func(i int) map[string]any {
		plans := []string{"free", "pro", "team", "enterprise"}
		return map[string]any{
			"email":   fmt.Sprintf("user%d@%s", i, []string{"example.com", "corp.io"}[i%2]),
			"plan":    plans[i%len(plans)],
			"seats":   float64(i % 50),
			"country": []string{"US", "DE", "FR"}[i%3],
		}
	}
	return []benchScenario{
		{
			name:   "rollout",
			doc:    `{"flags":[{"id":1,"key":"rollout","active":true,"filters":{"groups":[{"properties":[],"rollout_percentage":50}]}}]}`,
			key:    "rollout",
			inputs: ids(nil),
		},
		{
			name: "multivariate",
			doc: `{"flags":[{"id":2,"key":"checkout","active":true,"filters":{
				"groups":[
					{"properties":[{"key":"email","operator":"icontains","value":"@example.com","type":"person"},
					               {"key":"plan","operator":"exact","value":["pro","team"],"type":"person"}],"rollout_percentage":100,"variant":"test"},
					{"properties":[{"key":"seats","operator":"gte","value":10,"type":"person"},
					               {"key":"country","operator":"is_not","value":"FR","type":"person"}],"rollout_percentage":80}],
				"multivariate":{"variants":[{"key":"control","rollout_percentage":34},{"key":"test","rollout_percentage":33},{"key":"other","rollout_percentage":33}]},
				"payloads":{"test":"{\"color\":\"blue\"}"}}}]}`,
			key:    "checkout",
			inputs: ids(person),
		},
		{
			name: "cohort",
			doc: `{"flags":[{"id":3,"key":"cohort","active":true,"filters":{"groups":[
					{"properties":[{"key":"id","type":"cohort","value":7}],"rollout_percentage":90}]}}],
				"cohorts":{"7":{"type":"OR","values":[
					{"type":"AND","values":[{"key":"plan","operator":"exact","value":"enterprise","type":"person"},
					                        {"key":"seats","operator":"gt","value":20,"type":"person"}]},
					{"type":"AND","values":[{"key":"email","operator":"regex","value":"@corp\\.io$","type":"person"},
					                        {"key":"country","operator":"exact","value":["US","DE"],"type":"person","negation":true}]}]}}}`,
			key:    "cohort",
			inputs: ids(person),
		},
	}
}

func BenchmarkEvaluate(b *testing.B) {
	now := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, sc := range benchScenarios() {
		b.Run(sc.name, func(b *testing.B) {
			d, err := Parse([]byte(sc.doc))
			if err != nil {
				b.Fatalf("Parse: %v", err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := d.Evaluate(sc.key, sc.inputs[i%len(sc.inputs)], now); err != nil {
					b.Fatalf("Evaluate: %v", err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
		})
	}
}

// BenchmarkPosthogNode times the same three flags in posthog-node on this
// machine (e2e/node/flags-bench.mjs), for the side-by-side figures in
// docs/performance.md. It reports node-ns/eval and node-evals/s (the last
// run's); its ns/op is a whole node process run and means nothing.
func BenchmarkPosthogNode(b *testing.B) {
	dir := nodeDir(b)
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for _, sc := range benchScenarios() {
		b.Run(sc.name, func(b *testing.B) {
			type nodeInput struct {
				DistinctID       string         `json:"distinct_id"`
				PersonProperties map[string]any `json:"person_properties,omitempty"`
			}
			var inputs []nodeInput
			for _, in := range sc.inputs {
				inputs = append(inputs, nodeInput{in.DistinctID, in.PersonProperties})
			}
			body, _ := json.Marshal(map[string]any{
				"definitions": json.RawMessage(sc.doc), "key": sc.key, "inputs": inputs, "n": n, "warmup": 2000,
			})
			var res struct {
				NsPerEval float64 `json:"ns_per_eval"`
			}
			// One node process per iteration; b.Loop usually runs it once.
			for b.Loop() {
				cmd := exec.Command("node", "flags-bench.mjs")
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "TZ=UTC")
				cmd.Stdin = bytes.NewReader(body)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					b.Fatalf("node flags-bench.mjs: %v\n%s", err, tail(stderr.String(), 2000))
				}
				if err := json.Unmarshal(out, &res); err != nil || res.NsPerEval <= 0 {
					b.Fatalf("node output %q: %v", out, err)
				}
			}
			b.ReportMetric(res.NsPerEval, "node-ns/eval")
			b.ReportMetric(1e9/res.NsPerEval, "node-evals/s")
		})
	}
}

// TestBenchScenariosAgree checks that the benchmarked flags evaluate to
// real, varied results (a benchmark of errors would be meaningless).
func TestBenchScenariosAgree(t *testing.T) {
	now := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, sc := range benchScenarios() {
		d, err := Parse([]byte(sc.doc))
		if err != nil {
			t.Fatalf("%s: Parse: %v", sc.name, err)
		}
		seen := map[any]int{}
		for _, in := range sc.inputs {
			r, err := d.Evaluate(sc.key, in, now)
			if err != nil {
				t.Fatalf("%s: Evaluate(%s): %v", sc.name, in.DistinctID, err)
			}
			seen[r.Value()]++
		}
		if len(seen) < 2 {
			t.Errorf("%s: every input evaluated to the same value %v", sc.name, seen)
		}
	}
}

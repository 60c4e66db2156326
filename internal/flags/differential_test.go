package flags

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

// The differential test evaluates thousands of generated cases with both
// this package and posthog-node 5.70.0 (e2e/node/flags-eval.mjs) and fails
// on any disagreement in value, payload or unresolved reason.

// diffNow is the fixed clock of both sides: 2024-01-15T12:00:00Z.
var diffNow = time.UnixMilli(1705320000000).UTC()

// nodeDir is where e2e/node's posthog-node is installed by npm ci.
func nodeDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "e2e", "node"))
	if err != nil {
		t.Fatal(err)
	}
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "posthog-node", "package.json"))
	if nodeErr != nil || modErr != nil {
		msg := "posthog-node is not installed: install Node.js 20+ and run `npm ci` in e2e/node (scripts/test does)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// diffCase is one evaluation request to flags-eval.mjs.
type diffCase struct {
	ID               string                    `json:"id"`
	Defs             int                       `json:"defs"`
	Contexts         []string                  `json:"contexts"`
	Key              *string                   `json:"key"`
	DistinctID       string                    `json:"distinct_id"`
	Groups           map[string]string         `json:"groups,omitempty"`
	PersonProperties map[string]any            `json:"person_properties,omitempty"`
	GroupProperties  map[string]map[string]any `json:"group_properties,omitempty"`
}

type diffInput struct {
	Now         int64            `json:"now"`
	Definitions []map[string]any `json:"definitions"`
	Cases       []diffCase       `json:"cases"`
}

// nodeResult is one line of flags-eval.mjs output.
type nodeResult struct {
	ID         string            `json:"id"`
	Value      json.RawMessage   `json:"value"`
	Payload    json.RawMessage   `json:"payload"`
	Reason     *string           `json:"reason"`
	Flags      map[string]any    `json:"flags"`
	Payloads   map[string]any    `json:"payloads"`
	Unresolved map[string]string `json:"unresolved"`
	Error      string            `json:"error"`
}

// runNode evaluates the cases with posthog-node.
func runNode(t *testing.T, body []byte) []nodeResult {
	t.Helper()
	cmd := exec.Command("node", "flags-eval.mjs")
	cmd.Dir = nodeDir(t)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node flags-eval.mjs: %v\n%s", err, tail(stderr.String(), 2000))
	}
	var res []nodeResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r nodeResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("decoding node output %q: %v", tail(sc.Text(), 300), err)
		}
		res = append(res, r)
	}
	return res
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// goResult evaluates a case with this package into node's output shape.
func goResult(d *Definitions, c diffCase) nodeResult {
	in := Input{
		DistinctID:         c.DistinctID,
		Groups:             c.Groups,
		PersonProperties:   c.PersonProperties,
		GroupProperties:    c.GroupProperties,
		EvaluationContexts: c.Contexts,
	}
	res := nodeResult{ID: c.ID}
	if c.Key == nil {
		results, inconclusive := d.EvaluateAll(in, diffNow)
		res.Flags, res.Payloads, res.Unresolved = map[string]any{}, map[string]any{}, map[string]string{}
		for k, r := range results {
			res.Flags[k] = r.Value()
			if r.PayloadTruthy() {
				var p any
				_ = json.Unmarshal(r.Payload, &p)
				res.Payloads[k] = p
			}
		}
		for k, err := range inconclusive {
			var ie *InconclusiveError
			if errors.As(err, &ie) {
				res.Unresolved[k] = string(ie.Reason)
			}
		}
		return res
	}
	r, err := d.Evaluate(*c.Key, in, diffNow)
	var ie *InconclusiveError
	switch {
	case errors.As(err, &ie):
		reason := string(ie.Reason)
		res.Reason = &reason
	case err != nil:
	default:
		res.Value, _ = json.Marshal(r.Value())
		res.Payload = r.Payload
		if res.Payload == nil {
			res.Payload = json.RawMessage("null")
		}
	}
	return res
}

// same compares a Go and a node result by meaning.
func same(c diffCase, got, want nodeResult) bool {
	if c.Key == nil {
		return jsonEqual(got.Flags, want.Flags) && jsonEqual(got.Payloads, want.Payloads) &&
			jsonEqual(got.Unresolved, nonNil(want.Unresolved))
	}
	if !rawEqual(got.Value, want.Value) || !rawEqual(got.Payload, want.Payload) {
		return false
	}
	if c.DistinctID == "" {
		return true // evaluateFlags, which reports reasons, needs a distinct id
	}
	return reflect.DeepEqual(got.Reason, want.Reason)
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func rawEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var x, y any
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}

// diffRun builds, runs and compares a batch.
func diffRun(t *testing.T, input diffInput, check func(c diffCase, got, want nodeResult)) {
	t.Helper()
	body, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	// Both sides read the cases as JSON, so they see the same values.
	var decoded diffInput
	if err := json.Unmarshal(body, &decoded); err != nil {
		t.Fatal(err)
	}
	defs := make([]*Definitions, len(decoded.Definitions))
	for i, dm := range decoded.Definitions {
		b, _ := json.Marshal(dm)
		if defs[i], err = Parse(b); err != nil {
			t.Fatalf("Parse(definitions %d): %v", i, err)
		}
	}
	want := runNode(t, body)
	if len(want) != len(decoded.Cases) {
		t.Fatalf("node answered %d cases, want %d", len(want), len(decoded.Cases))
	}
	for i, c := range decoded.Cases {
		if want[i].Error != "" {
			t.Fatalf("case %s: posthog-node threw: %s", c.ID, want[i].Error)
		}
		check(c, goResult(defs[c.Defs], c), want[i])
	}
}

func TestDifferentialGenerated(t *testing.T) {
	seed, sets, inputsPerSet := diffSeed(), 300, 6
	g := newGen(seed)
	var input diffInput
	input.Now = diffNow.UnixMilli()
	for s := range sets {
		g.clean = s%2 == 1
		d, keys := g.definitions(s)
		input.Definitions = append(input.Definitions, d)
		for i := range inputsPerSet {
			in := g.input()
			c := diffCase{Defs: s, DistinctID: in["distinct_id"].(string)}
			raw, _ := json.Marshal(in)
			_ = json.Unmarshal(raw, &c)
			if ctx, ok := in["contexts"].([]any); ok {
				c.Contexts = []string{ctx[0].(string)}
			}
			for _, k := range append(keys, "unknown-flag") {
				c.ID = fmt.Sprintf("set%d/in%d/%s", s, i, k)
				c.Key = &k
				input.Cases = append(input.Cases, c)
			}
			if c.DistinctID != "" {
				c.ID = fmt.Sprintf("set%d/in%d/all", s, i)
				c.Key = nil
				input.Cases = append(input.Cases, c)
			}
		}
	}
	failures := 0
	counts := map[string]int{}
	diffRun(t, input, func(c diffCase, got, want nodeResult) {
		switch {
		case c.Key == nil:
			counts["all"]++
		case want.Value == nil:
			counts["undefined"]++
		default:
			counts[string(want.Value)[:min(len(want.Value), 5)]]++
		}
		if same(c, got, want) {
			return
		}
		failures++
		if failures <= 15 {
			t.Errorf("case %s (seed %d):\n  definitions: %s\n  input: %s\n  got  %s\n  want %s",
				c.ID, seed, flagJSON(input.Definitions[c.Defs], c.Key), caseJSON(c), resultJSON(got), resultJSON(want))
		}
	})
	if failures > 0 {
		t.Errorf("%d of %d cases disagree with posthog-node", failures, len(input.Cases))
	}
	t.Logf("%d cases; outcomes %v", len(input.Cases), sortedCounts(counts))
}

func sortedCounts(m map[string]int) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}

// flagJSON prints what a failing case needs: the flag under test, the
// flags it mentions (dependencies, transitively), and the cohorts when it
// uses any. EvaluateAll cases get the whole document.
func flagJSON(defs map[string]any, key *string) string {
	if key == nil {
		b, _ := json.Marshal(defs)
		return string(b)
	}
	byKey := map[string]any{}
	for _, f := range defs["flags"].([]any) {
		byKey[f.(map[string]any)["key"].(string)] = f
	}
	keep := map[string]bool{}
	queue := []string{*key}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		f, ok := byKey[k]
		if !ok || keep[k] {
			continue
		}
		keep[k] = true
		b, _ := json.Marshal(f)
		for other := range byKey {
			if bytes.Contains(b, []byte(`"`+other+`"`)) {
				queue = append(queue, other)
			}
		}
	}
	out := map[string]any{"property_matching_version": defs["property_matching_version"], "group_type_mapping": defs["group_type_mapping"]}
	var flags []any
	usesCohorts := false
	for _, f := range defs["flags"].([]any) {
		if keep[f.(map[string]any)["key"].(string)] {
			flags = append(flags, f)
			b, _ := json.Marshal(f)
			usesCohorts = usesCohorts || bytes.Contains(b, []byte(`"type":"cohort"`))
		}
	}
	out["flags"] = flags
	if usesCohorts {
		out["cohorts"] = defs["cohorts"]
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func caseJSON(c diffCase) string { b, _ := json.Marshal(c); return string(b) }

func resultJSON(r nodeResult) string {
	r.ID = ""
	b, _ := json.Marshal(r)
	return string(b)
}

// diffSeed is the generator seed: FLAGS_DIFF_SEED, or a fixed default so
// that every run checks the same cases.
func diffSeed() uint64 {
	if s := os.Getenv("FLAGS_DIFF_SEED"); s != "" {
		var n uint64
		if _, err := fmt.Sscan(s, &n); err == nil {
			return n
		}
	}
	return 20261122
}

// TestDifferentialConsistency runs posthog-node's published consistency
// cases (its test suite's simple-flag at 45 %, a 50 % rollout, and the
// five-variant multivariate-flag at 55 %) over distinct_id_0 … _999; the
// expected values come from posthog-node in the same run.
func TestDifferentialConsistency(t *testing.T) {
	rollout := func(key string, pct float64) map[string]any {
		return map[string]any{"id": 1.0, "key": key, "active": true,
			"filters": map[string]any{"groups": []any{map[string]any{"properties": []any{}, "rollout_percentage": pct}}}}
	}
	mv := map[string]any{"id": 2.0, "key": "multivariate-flag", "active": true, "filters": map[string]any{
		"groups": []any{map[string]any{"properties": []any{}, "rollout_percentage": 55.0}},
		"multivariate": map[string]any{"variants": []any{
			genVariant("first-variant", 50), genVariant("second-variant", 20), genVariant("third-variant", 20),
			genVariant("fourth-variant", 5), genVariant("fifth-variant", 5),
		}},
	}}
	input := diffInput{Now: diffNow.UnixMilli(), Definitions: []map[string]any{{
		"flags": []any{rollout("simple-flag", 45), rollout("half-flag", 50), mv},
	}}}
	for _, key := range []string{"simple-flag", "half-flag", "multivariate-flag"} {
		for i := range 1000 {
			k := key
			input.Cases = append(input.Cases, diffCase{ID: fmt.Sprintf("%s/%d", key, i), Key: &k, DistinctID: fmt.Sprintf("distinct_id_%d", i)})
		}
	}
	values := map[string]int{}
	diffRun(t, input, func(c diffCase, got, want nodeResult) {
		values[*c.Key+"="+string(want.Value)]++
		if !same(c, got, want) {
			t.Errorf("case %s: got %s, want %s", c.ID, resultJSON(got), resultJSON(want))
		}
	})
	// Both sides broken the same way would still show here.
	for _, v := range []string{"simple-flag=true", "simple-flag=false", "half-flag=true", "half-flag=false",
		`multivariate-flag="first-variant"`, `multivariate-flag="fifth-variant"`, "multivariate-flag=false"} {
		if values[v] == 0 {
			t.Errorf("no case evaluated to %s; outcomes %v", v, values)
		}
	}
}

// TestDifferentialRegex compares the regex operators on generated
// patterns, the riskiest translation (JavaScript syntax to RE2).
func TestDifferentialRegex(t *testing.T) {
	tokens := []string{"a", "b", "c", ".", `\d`, `\D`, `\s`, `\S`, `\w`, `\W`, "[a-c]", "[^b]", `[\s-]`, `[\d.]`,
		"*", "+", "?", "{1,2}", "{2}", "{0,}", "(", ")", "(?:", "|", "^", "$", `\.`, `\x41`, `\-`, "]", "}", "{", "*?", `\v`, "[", `\b`, "-"}
	values := []string{"", "a", "abc", "aab", "A", "1.5", "a b", "x\ty", "a\vb", "b\n", "a-c", "--", "ccc", "{}", "]"}
	g := newGen(diffSeed() + 1)
	var fl []any
	var keys []string
	for i := range 400 {
		var p string
		for range 1 + g.n(6) {
			p += tokens[g.n(len(tokens))]
		}
		key := fmt.Sprintf("re-%d", i)
		fl = append(fl, map[string]any{"id": float64(i + 1), "key": key, "active": true, "filters": map[string]any{
			"groups": []any{map[string]any{"properties": []any{map[string]any{
				"key": "v", "type": "person", "value": p, "operator": []string{"regex", "not_regex"}[i%2],
			}}}},
		}})
		keys = append(keys, key)
	}
	input := diffInput{Now: diffNow.UnixMilli(), Definitions: []map[string]any{{"flags": fl}}}
	for i, k := range keys {
		for j, v := range values {
			if g.chance(0.5) {
				continue
			}
			input.Cases = append(input.Cases, diffCase{ID: fmt.Sprintf("%s/%d", k, j), Key: &keys[i],
				DistinctID: "u", PersonProperties: map[string]any{"v": v}})
		}
	}
	failures, decided := 0, 0
	diffRun(t, input, func(c diffCase, got, want nodeResult) {
		if want.Value != nil {
			decided++
		}
		if same(c, got, want) {
			return
		}
		if failures++; failures <= 15 {
			f := fl[0].(map[string]any)
			for _, x := range fl {
				if x.(map[string]any)["key"] == *c.Key {
					f = x.(map[string]any)
				}
			}
			prop := f["filters"].(map[string]any)["groups"].([]any)[0].(map[string]any)["properties"].([]any)[0].(map[string]any)
			t.Errorf("%s %q on %q: got %s, want %s", prop["operator"], prop["value"], c.PersonProperties["v"], resultJSON(got), resultJSON(want))
		}
	})
	if failures > 0 {
		t.Errorf("%d of %d regex cases disagree with posthog-node", failures, len(input.Cases))
	}
	t.Logf("%d regex cases, %d decided locally", len(input.Cases), decided)
}

package flags

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// The expected values in this file were produced by running the same
// expressions in Node.js 20 (posthog-node's runtime); they pin the
// JavaScript semantics without needing node at test time.

func TestHash(t *testing.T) {
	tests := []struct {
		key, bucket, salt string
		sep               byte
		want              float64
	}{
		{"simple-flag", "distinct_id_0", "", '.', 0.7836963764220432},
		{"simple-flag", "distinct_id_1", "", '.', 0.3397069926995401},
		{"multivariate-flag", "distinct_id_7", "variant", '.', 0.19476082862836147},
		{"holdout", "user-1", "", '-', 0.17805599206573022},
		{"Flag-ü", "üser-5", "", '.', 0.13749748501746778},
		{"k", "", "", '.', 0.6971174280554796},
		// Longer than hash's stack buffer.
		{"a-much-longer-flag-key-used-to-check-buffer-growth-past-the-stack-array-size-0123456789-0123456789-0123456789-0123456789-0123456789", "id", "variant", '.', 0.09887512656161843},
	}
	for _, tt := range tests {
		if got := hash(tt.key, tt.bucket, tt.salt, tt.sep); got != tt.want {
			t.Errorf("hash(%q, %q, %q, %q) = %v, want %v", tt.key, tt.bucket, tt.salt, tt.sep, got, tt.want)
		}
	}
}

func TestJSString(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, "null"}, {true, "true"}, {5.0, "5"}, {5.5, "5.5"}, {0.1, "0.1"}, {math.Copysign(0, -1), "0"},
		{1e21, "1e+21"}, {1e20, "100000000000000000000"}, {1.5e-7, "1.5e-7"}, {0.000001, "0.000001"},
		{123456789.125, "123456789.125"}, {math.Inf(-1), "-Infinity"}, {math.NaN(), "NaN"},
		{[]any{"a", nil, 1.5, []any{"b", "c"}}, "a,,1.5,b,c"}, {map[string]any{}, "[object Object]"},
		{int64(42), "42"}, {json.Number("7.25"), "7.25"}, {[]string{"x", "y"}, "x,y"},
		{time.Date(2024, 1, 15, 12, 0, 0, 5e6, time.UTC), "2024-01-15T12:00:00.005Z"},
		{struct{}{}, "[object Object]"},
	}
	for _, tt := range tests {
		if got := jsString(tt.in); got != tt.want {
			t.Errorf("jsString(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestJSParseFloatAndNumber(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		in              any
		parseFloat, num float64
	}{
		{"5abc", 5, nan}, {" 12", 12, 12}, {"1e3", 1000, 1000}, {"1.2.3", 1.2, nan}, {"1,2", 1, nan},
		{"true", nan, nan}, {true, nan, 1}, {"", nan, 0}, {".5", 0.5, 0.5}, {"-Infinity", math.Inf(-1), math.Inf(-1)},
		{"0x10", 0, 16}, {"1e", 1, nan}, {nil, nan, 0}, {[]any{5.0}, 5, 5}, {"\u00a07", 7, 7},
	}
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for _, tt := range tests {
		if got := jsParseFloat(tt.in); !same(got, tt.parseFloat) {
			t.Errorf("parseFloat(%#v) = %v, want %v", tt.in, got, tt.parseFloat)
		}
		if got := jsToNumber(tt.in); !same(got, tt.num) {
			t.Errorf("Number(%#v) = %v, want %v", tt.in, got, tt.num)
		}
	}
}

func TestJSLowerAndCompare(t *testing.T) {
	lower := []struct{ in, want string }{
		{"İstanbul", "i\u0307stanbul"}, {"ΣΑΣ", "σας"}, {"Σ", "σ"}, {"ΑΣ.", "ας."}, {"ABC", "abc"}, {"ÄÖÜ", "äöü"},
	}
	for _, tt := range lower {
		if got := jsLower(tt.in); got != tt.want {
			t.Errorf("jsLower(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := asciiLower("ÄbC"); got != "Äbc" {
		t.Errorf("asciiLower(%q) = %q, want %q", "ÄbC", got, "Äbc")
	}
	cmp := []struct {
		a, b string
		want int
	}{
		{"hello", "5", 1}, {"", "5", -1}, {"a", "a", 0}, {"\uffff", "\U0001F600", 1}, {"ab", "abc", -1},
	}
	for _, tt := range cmp {
		if got := compareUTF16(tt.a, tt.b); got != tt.want {
			t.Errorf("compareUTF16(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestExactString(t *testing.T) {
	tests := []struct {
		in     any
		want   string
		wantOK bool
	}{
		{"Hello", "Hello", true}, {5.5, "5.5", true}, {5.0, "", false}, {nil, "null", true}, {true, "true", true},
		{[]any{"a", 1.5}, `["a",1.5]`, true}, {[]any{"a", 1.0}, "", false},
		{map[string]any{"b": "<&>", "a": "\n"}, `{"a":"\n","b":"<&>"}`, true}, {struct{}{}, "", false},
	}
	for _, tt := range tests {
		got, ok := exactString(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("exactString(%#v) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestSemver(t *testing.T) {
	parse := []struct {
		in   string
		want semver
		ok   bool
	}{
		{"1.2.3", semver{1, 2, 3}, true}, {"v1.2", semver{1, 2, 0}, true}, {" V2.0.0-beta+x ", semver{2, 0, 0}, true},
		{"1.2.3.4", semver{1, 2, 3}, true}, {"1..2", semver{1, 0, 2}, true}, {"01.2.3", semver{}, false},
		{".1", semver{}, false}, {"", semver{}, false}, {"1.x", semver{}, false}, {"true", semver{}, false},
	}
	for _, tt := range parse {
		got, ok := parseSemver(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseSemver(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	ranges := []struct {
		op          op
		filter, got string
		want, valid bool
	}{
		{opSemverTilde, "1.2.3", "1.2.9", true, true}, {opSemverTilde, "1.2.3", "1.3.0", false, true},
		{opSemverCaret, "0.2.3", "0.2.9", true, true}, {opSemverCaret, "0.0.3", "0.0.4", false, true},
		{opSemverCaret, "1.2.3", "1.9.0", true, true}, {opSemverWildcard, "1.2.*", "1.2.7", true, true},
		{opSemverWildcard, "1", "1.9.9", true, true}, {opSemverWildcard, "*", "", false, false},
		{opSemverWildcard, "1.x", "", false, false}, {opSemverGT, "1.2", "1.2.1", true, true},
	}
	for _, tt := range ranges {
		r, ok := compileSemverFilter(tt.op, tt.filter)
		if ok != tt.valid {
			t.Errorf("compileSemverFilter(%v, %q) valid = %v, want %v", tt.op, tt.filter, ok, tt.valid)
			continue
		}
		if !ok {
			continue
		}
		v, _ := parseSemver(tt.got)
		if got := r.contains(tt.op, v); got != tt.want {
			t.Errorf("%q %v %q = %v, want %v", tt.got, tt.op, tt.filter, got, tt.want)
		}
	}
}

func TestDates(t *testing.T) {
	ms := func(s string) int64 { t, _ := time.Parse(time.RFC3339Nano, s); return t.UnixMilli() }
	parse := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2024-01-15", ms("2024-01-15T00:00:00Z"), true},
		{"2024-01-15T12:00:00+02:00", ms("2024-01-15T10:00:00Z"), true},
		{"2024-01-15 12:00:00", ms("2024-01-15T12:00:00Z"), true},
		{"2024-01-15T12:00:00.123456Z", ms("2024-01-15T12:00:00.123Z"), true},
		{"2024-02-30", ms("2024-03-01T00:00:00Z"), true},
		{"2024-01-15T24:00:00Z", ms("2024-01-16T00:00:00Z"), true},
		{"2024/1/5", ms("2024-01-05T00:00:00Z"), true},
		{"January 15, 2024", ms("2024-01-15T00:00:00Z"), true},
		{"1.2.3", ms("2003-01-02T00:00:00Z"), true},
		{"5", ms("2001-05-01T00:00:00Z"), true},
		{"32", ms("2032-01-01T00:00:00Z"), true},
		{"0.2.5", ms("2000-02-05T00:00:00Z"), true},
		{"2024-13-01", 0, false}, {"20240115", 0, false}, {"13", 0, false}, {"0.0.3", 0, false},
		{"5.0", 0, false}, {"1.2.3.4", 0, false}, {"not a date", 0, false}, {"1705320000000", 0, false},
	}
	for _, tt := range parse {
		got, ok := parseV8Date(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseV8Date(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	now := time.Date(2024, 3, 31, 10, 30, 0, 0, time.UTC)
	rel := []struct {
		filter string
		want   string
	}{
		{"-1m", "2024-02-29T10:30:00Z"}, {"-2m", "2024-01-29T10:30:00Z"}, {"7d", "2024-03-24T10:30:00Z"},
		{"-1h", "2024-03-31T09:30:00Z"}, {"-2w", "2024-03-17T10:30:00Z"}, {"-1y", "2023-03-31T10:30:00Z"},
		{"-0d", "2024-03-31T10:30:00Z"},
	}
	for _, tt := range rel {
		f := compileDateFilter(tt.filter)
		if !f.relative {
			t.Errorf("compileDateFilter(%q) is not relative", tt.filter)
			continue
		}
		if got := f.at(now); got != ms(tt.want) {
			t.Errorf("%q at %v = %v, want %s", tt.filter, now, time.UnixMilli(got).UTC(), tt.want)
		}
	}
	leap := compileDateFilter("-1y").at(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC))
	if want := ms("2023-02-28T00:00:00Z"); leap != want {
		t.Errorf("-1y from 2024-02-29 = %v, want 2023-02-28", time.UnixMilli(leap).UTC())
	}
	for _, bad := range []any{"-1D", "+1d", "-10000d", true, "garbage"} {
		if f := compileDateFilter(bad); f.invalid == "" || f.relative {
			t.Errorf("compileDateFilter(%#v) = %+v, want invalid", bad, f)
		}
	}
}

func TestRegex(t *testing.T) {
	tests := []struct {
		pattern, value string
		match, valid   bool
		server         bool
	}{
		{"^abc", "abcdef", true, true, false},
		{`\s`, "a\vb", true, true, false}, // JavaScript's \s includes \v; RE2's does not
		{`[^\S]`, "a\vb", true, true, false},
		{"a.c", "a\nc", false, true, false},
		{"o$", "hello\n", false, true, false},
		{"[", "x", false, false, false},
		{"a**", "a", false, false, false},
		{"a{3,2}", "a", false, false, false},
		{`[b-a]`, "a", false, false, false},
		{"(?i)abc", "ABC", false, false, true},
		{`\bword`, "word", false, false, true},
		{"é", "é", false, false, true},
		{`[\s-9]`, "-", false, false, true},
		{`[\:]`, ":", false, false, true},
		{`\:`, ":", true, true, false},
		{`[a-c-e]`, "-", true, true, false},
		{`[\d-z]`, "-", false, false, true}, // a class escape in a range fails with the u flag
		{"", "anything", true, true, false},
		{"abc", "ab\rc", false, false, true}, // values with \r need the server
		{`[\b]`, "\b", true, true, false},
		{"a{1001}", "a", false, false, true}, // valid JavaScript RE2 cannot run
	}
	for _, tt := range tests {
		re := compileJSRegexp(tt.pattern)
		match, valid, err := re.test(tt.value)
		if (err != nil) != tt.server || match != tt.match || valid != tt.valid {
			t.Errorf("regex %q on %q = match %v, valid %v, err %v; want %v, %v, server %v",
				tt.pattern, tt.value, match, valid, err, tt.match, tt.valid, tt.server)
		}
	}
}

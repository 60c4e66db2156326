package flags

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// exactString is posthog-node's exactMatchString: a string as itself, any
// other JSON value as canonical JSON with integers refused (the flags
// service can tell 5 from 5.0; JavaScript cannot, flags.md §8.1). ok is
// false when posthog-node would be inconclusive.
func exactString(v any) (s string, ok bool) {
	v = canon(v)
	if str, isStr := v.(string); isStr {
		return str, utf8.ValidString(str)
	}
	var b strings.Builder
	if !writeExactJSON(&b, v, 0) {
		return "", false
	}
	return b.String(), true
}

// maxDepth bounds recursion over caller values (JavaScript would throw a
// RangeError on cycles; Go values cannot be cyclic through []any easily,
// but maps can).
const maxDepth = 64

func writeExactJSON(b *strings.Builder, v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch x := canon(v).(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || x == math.Trunc(x) {
			return false
		}
		b.WriteString(numberString(x))
	case string:
		if !utf8.ValidString(x) {
			return false
		}
		writeJSONString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if !writeExactJSON(b, e, depth+1) {
				return false
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			if !utf8.ValidString(k) {
				return false
			}
			keys = append(keys, k)
		}
		slices.Sort(keys) // byte order of UTF-8 is code point order
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			if !writeExactJSON(b, x[k], depth+1) {
				return false
			}
		}
		b.WriteByte('}')
	default:
		return false
	}
	return true
}

// writeJSONString writes s as JSON.stringify does: only '"', '\\' and
// control characters are escaped (no HTML or U+2028 escaping).
func writeJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xF])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// jsonRepresentable is posthog-node's assertJsonRepresentable.
func jsonRepresentable(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch x := canon(v).(type) {
	case nil, bool:
		return true
	case string:
		return utf8.ValidString(x)
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case []any:
		for _, e := range x {
			if !jsonRepresentable(e, depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) || !jsonRepresentable(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// boolLike is posthog-node's isTruthyOrFalsyPropertyValue.
func boolLike(v any) bool {
	switch x := canon(v).(type) {
	case bool:
		return true
	case string:
		return strings.EqualFold(x, "true") && jsLower(x) == "true" || strings.EqualFold(x, "false") && jsLower(x) == "false"
	case []any:
		for _, e := range x {
			if !boolLike(e) {
				return false
			}
		}
		return true
	}
	return false
}

// boolTruthy is posthog-node's isTruthyPropertyValue.
func boolTruthy(v any) bool {
	switch x := canon(v).(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true") && jsLower(x) == "true"
	case []any:
		for _, e := range x {
			if !boolTruthy(e) {
				return false
			}
		}
		return true
	}
	return false
}

// jsLower is JavaScript's String.prototype.toLowerCase: the full Unicode
// default mapping, locale-independent, so U+0130 becomes "i̇" and a final
// capital sigma becomes "ς" (Go's strings.ToLower does neither).
func jsLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return asciiLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch r {
		case 0x130:
			b.WriteString("i\u0307")
		case 0x3A3:
			if finalSigma(s, i) {
				b.WriteRune(0x3C2)
			} else {
				b.WriteRune(0x3C3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma applies Unicode's Final_Sigma condition to the sigma at byte i.
func finalSigma(s string, i int) bool {
	before := false
	for j := i; j > 0; {
		r, n := utf8.DecodeLastRuneInString(s[:j])
		j -= n
		if caseIgnorable(r) {
			continue
		}
		before = cased(r)
		break
	}
	if !before {
		return false
	}
	for _, r := range s[i+2:] { // U+03A3 is two bytes
		if caseIgnorable(r) {
			continue
		}
		return !cased(r)
	}
	return true
}

func cased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', 0xB7, 0x2018, 0x2019, 0x2024, 0xFE52, 0xFF07, 0xFF0E, 0xFF1A, 0x387, 0x55F, 0x5F4, 0x2027, 0xFE13, 0xFE55:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

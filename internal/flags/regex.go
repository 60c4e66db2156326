package flags

import (
	"regexp"
	"strconv"
	"strings"
)

// jsRegexp is a regex / not_regex pattern prepared as posthog-node would
// treat it (flags.md §8.4): only a portable ASCII subset is matched locally;
// it is translated to an equivalent RE2 program.
type jsRegexp struct {
	empty       bool           // "" matches everything
	needsServer bool           // outside the portable subset
	jsInvalid   bool           // new RegExp(pattern) throws: matches nothing
	re          *regexp.Regexp // the translation, when evaluable
}

// compileJSRegexp follows matchFeatureFlagRegex's order: empty pattern,
// portability, JavaScript syntax, strict (u-flag) classes.
func compileJSRegexp(pattern string) *jsRegexp {
	if pattern == "" {
		return &jsRegexp{empty: true}
	}
	classes, ok := portableClasses(pattern)
	if !ok {
		return &jsRegexp{needsServer: true}
	}
	goPattern, ok := translateJSRegexp(pattern)
	if !ok {
		return &jsRegexp{jsInvalid: true}
	}
	for _, c := range classes {
		if !strictClassOK(c) {
			return &jsRegexp{needsServer: true}
		}
	}
	re, err := regexp.Compile(goPattern)
	if err != nil {
		// Valid JavaScript that RE2 cannot run (e.g. a repeat count above
		// 1000): say inconclusive rather than guess.
		return &jsRegexp{needsServer: true}
	}
	return &jsRegexp{re: re}
}

// test matches value. valid is false when JavaScript rejects the pattern.
func (r *jsRegexp) test(value string) (match, valid bool, err *matchErr) {
	switch {
	case r.empty:
		return true, true, nil
	case r.needsServer:
		return false, false, errRegexServer
	case r.jsInvalid:
		return false, false, nil
	}
	for i := 0; i < len(value); i++ {
		if value[i] >= 0x80 || value[i] == '\r' {
			return false, false, errRegexServer
		}
	}
	return r.re.MatchString(value), true, nil
}

func isLiteralPunct(c byte) bool {
	return (c >= 0x20 && c <= 0x2f) || c == ':' || c == ';' || c == '=' || c == '?' || c == '@' ||
		(c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e)
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// portableClasses is posthog-core's getPortableRegexClasses: the character
// classes of a portable pattern, or false when the server must evaluate it.
func portableClasses(p string) ([]string, bool) {
	var classes []string
	classStart := -1
	prev := "" // previous token: "", "literal", "empty group" or the character
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c > 0x7f {
			return nil, false
		}
		if c == '\\' {
			i++
			if i >= len(p) {
				break
			}
			e := p[i]
			if e == 'x' {
				if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
					return nil, false
				}
				i += 2
			} else if !strings.ContainsRune("dDsSwWbBfnrtv", rune(e)) && !isLiteralPunct(e) {
				return nil, false
			}
			if classStart == -1 && (e == 'b' || e == 'B') {
				return nil, false
			}
			prev = "literal"
			continue
		}
		switch {
		case c == '[':
			if classStart != -1 {
				return nil, false
			}
			classStart = i
		case c == ']' && classStart != -1:
			contentStart := classStart + 1
			if classStart+1 < len(p) && p[classStart+1] == '^' {
				contentStart++
			}
			if i == contentStart {
				return nil, false
			}
			classes = append(classes, p[classStart:i+1])
			classStart = -1
			prev = "literal"
			continue
		case classStart != -1:
			if i+1 < len(p) {
				two := p[i : i+2]
				if two == "&&" || two == "--" || two == "~~" {
					return nil, false
				}
			}
			continue
		case c == '(' && i+1 < len(p) && p[i+1] == '?':
			if i+2 >= len(p) || p[i+2] != ':' {
				return nil, false
			}
			i += 2
		case c == '{':
			lo, hi, n, ok := repetition(p[i:])
			_ = n
			if !ok || prev == "" || prev == "|" || prev == "(" || lo > 0xffffffff || hi > 0xffffffff {
				return nil, false
			}
		case strings.IndexByte("*+?}", c) >= 0 && i+1 < len(p) && (p[i+1] == '+' || p[i+1] == '{'):
			return nil, false
		}
		if strings.IndexByte("*+?{", c) >= 0 && (prev == "^" || prev == "$" || prev == "empty group") {
			return nil, false
		}
		if c == ')' && (prev == "(" || prev == "empty group") {
			prev = "empty group"
		} else {
			prev = string(c)
		}
	}
	return classes, true
}

// repetition parses ^\{(\d+)(?:,(\d*))?\} at the start of s; hi is -1 for
// an open upper bound. Counts beyond float64 precision saturate.
func repetition(s string) (lo, hi float64, n int, ok bool) {
	i := 1
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, 0, 0, false
	}
	lo, _ = strconv.ParseFloat(s[i:j], 64)
	hi = lo
	if j < len(s) && s[j] == ',' {
		k := j + 1
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k == j+1 {
			hi = -1
		} else {
			hi, _ = strconv.ParseFloat(s[j+1:k], 64)
		}
		j = k
	}
	if j >= len(s) || s[j] != '}' {
		return 0, 0, 0, false
	}
	return lo, hi, j + 1, true
}

// translateJSRegexp checks a portable pattern against JavaScript's syntax
// (Annex B, no flags) and rewrites it for RE2. ok is false when JavaScript
// throws a SyntaxError. Differences handled: \s and \S include \v in
// JavaScript, [\b] is a backspace, and "$" must stay end-of-input.
func translateJSRegexp(p string) (string, bool) {
	var b strings.Builder
	depth := 0
	atomOK := false     // a quantifier may follow
	afterQuant := false // the last token was a quantifier (lazy ? allowed once)
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '\\':
			if i+1 >= len(p) {
				return "", false // \ at end of pattern
			}
			i++
			b.WriteString(translateEscape(p, &i, false))
			atomOK, afterQuant = true, false
		case '[':
			// find the closing ] skipping escapes
			j := i + 1
			if j < len(p) && p[j] == '^' {
				j++
			}
			closed := false
			var cls strings.Builder
			cls.WriteByte('[')
			if p[i+1:] != "" && p[i+1] == '^' {
				cls.WriteByte('^')
			}
			var members []classAtom
			for ; j < len(p); j++ {
				if p[j] == ']' {
					closed = true
					break
				}
				if p[j] == '\\' {
					if j+1 >= len(p) {
						return "", false
					}
					j++
					members = append(members, classEscape(p, &j))
					continue
				}
				members = append(members, classLiteral(p[j]))
			}
			if !closed {
				return "", false
			}
			body, ok := classBody(members)
			if !ok {
				return "", false
			}
			cls.WriteString(body)
			cls.WriteByte(']')
			b.WriteString(cls.String())
			i = j
			atomOK, afterQuant = true, false
		case '(':
			depth++
			if strings.HasPrefix(p[i:], "(?:") {
				b.WriteString("(?:")
				i += 2
			} else {
				b.WriteByte('(')
			}
			atomOK, afterQuant = false, false
		case ')':
			if depth == 0 {
				return "", false
			}
			depth--
			b.WriteByte(')')
			atomOK, afterQuant = true, false
		case '|':
			b.WriteByte('|')
			atomOK, afterQuant = false, false
		case '*', '+', '?':
			if afterQuant && c == '?' {
				b.WriteByte('?')
				afterQuant = false
				atomOK = false
				continue
			}
			if !atomOK {
				return "", false // nothing to repeat
			}
			b.WriteByte(c)
			atomOK, afterQuant = false, true
		case '{':
			lo, hi, n, ok := repetition(p[i:])
			if !ok {
				// portableClasses only lets a valid repetition through.
				return "", false
			}
			if !atomOK {
				return "", false
			}
			if hi >= 0 && hi < lo {
				return "", false // numbers out of order
			}
			b.WriteString(p[i : i+n])
			i += n - 1
			atomOK, afterQuant = false, true
		case '^':
			b.WriteByte('^')
			atomOK, afterQuant = false, false
		case '$':
			b.WriteString(`\z`)
			atomOK, afterQuant = false, false
		case '.':
			b.WriteString(`[^\n\r\x{2028}\x{2029}]`)
			atomOK, afterQuant = true, false
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
			atomOK, afterQuant = true, false
		}
	}
	if depth != 0 {
		return "", false
	}
	return b.String(), true
}

// translateEscape rewrites the escape at p[*i] (after the backslash)
// outside a class.
func translateEscape(p string, i *int, _ bool) string {
	e := p[*i]
	switch e {
	case 's':
		return `[\t\n\v\f\r ]`
	case 'S':
		return `[^\t\n\v\f\r ]`
	case 'd', 'D', 'w', 'W', 'f', 'n', 'r', 't', 'v', 'b', 'B':
		return `\` + string(e)
	case 'x':
		h := p[*i+1 : *i+3]
		*i += 2
		return `\x` + h
	}
	return regexp.QuoteMeta(string(e))
}

// classAtom is one member of a character class.
type classAtom struct {
	rangeDash bool // an unescaped "-"
	isLit     bool
	lit       rune
	text      string // RE2 text for the member
}

func classLiteral(c byte) classAtom {
	text := regexp.QuoteMeta(string(c))
	if c == '-' {
		text = `\-`
	}
	return classAtom{rangeDash: c == '-', isLit: true, lit: rune(c), text: text}
}

func classEscape(p string, j *int) classAtom {
	e := p[*j]
	switch e {
	case 'd', 'D', 'w', 'W':
		return classAtom{text: `\` + string(e)}
	case 's':
		return classAtom{text: `\t\n\v\f\r `}
	case 'S':
		return classAtom{text: `\x00-\x08\x0e-\x1f\x21-\x{10FFFF}`}
	case 'b':
		return classAtom{isLit: true, lit: 8, text: `\x08`}
	case 'f':
		return classAtom{isLit: true, lit: '\f', text: `\f`}
	case 'n':
		return classAtom{isLit: true, lit: '\n', text: `\n`}
	case 'r':
		return classAtom{isLit: true, lit: '\r', text: `\r`}
	case 't':
		return classAtom{isLit: true, lit: '\t', text: `\t`}
	case 'v':
		return classAtom{isLit: true, lit: '\v', text: `\v`}
	case 'x':
		n, _ := strconv.ParseUint(p[*j+1:*j+3], 16, 8)
		*j += 2
		return classAtom{isLit: true, lit: rune(n), text: `\x` + p[*j-1:*j+1]}
	}
	// Identity escape (B is the letter B in a non-u class).
	return classAtom{isLit: true, lit: rune(e), text: `\x` + strconv.FormatUint(uint64(e)|0x100, 16)[1:]}
}

// classBody joins class members, resolving a-b ranges as Annex B does: a
// range between two literals must be ordered (else SyntaxError); a range
// with a class escape at either end is three literal members.
func classBody(ms []classAtom) (string, bool) {
	var b strings.Builder
	for k := 0; k < len(ms); k++ {
		m := ms[k]
		if k+2 < len(ms) && ms[k+1].rangeDash {
			hi := ms[k+2]
			if m.isLit && hi.isLit {
				if m.lit > hi.lit {
					return "", false
				}
				b.WriteString(m.text + "-" + hi.text)
				k += 2
				continue
			}
			b.WriteString(m.text + `\-` + hi.text)
			k += 2
			continue
		}
		b.WriteString(m.text)
	}
	return b.String(), true
}

// strictClassOK reports whether new RegExp(class, "u") compiles: only
// syntax characters and "-" may be identity-escaped, and no range may have
// a class escape at an end.
func strictClassOK(class string) bool {
	body := class[1 : len(class)-1]
	body = strings.TrimPrefix(body, "^")
	type atom struct {
		escClass bool
		lit      rune
		dash     bool
	}
	var atoms []atom
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			atoms = append(atoms, atom{lit: rune(c), dash: c == '-'})
			continue
		}
		i++
		e := body[i]
		switch {
		case strings.IndexByte("dDsSwW", e) >= 0:
			atoms = append(atoms, atom{escClass: true})
		case e == 'x':
			n, _ := strconv.ParseUint(body[i+1:i+3], 16, 8)
			atoms = append(atoms, atom{lit: rune(n)})
			i += 2
		case strings.IndexByte("bfnrtv", e) >= 0:
			atoms = append(atoms, atom{lit: map[byte]rune{'b': 8, 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}[e]})
		case strings.IndexByte(`^$\.*+?()[]{}|/-`, e) >= 0:
			atoms = append(atoms, atom{lit: rune(e)})
		default:
			return false
		}
	}
	for k := 0; k+2 < len(atoms); k++ {
		if atoms[k+1].dash {
			if atoms[k].escClass || atoms[k+2].escClass {
				return false
			}
			k += 2
		}
	}
	return true
}

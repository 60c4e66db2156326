package flags

import (
	"strconv"
	"strings"
)

// semver is a parsed version; parts are float64 because posthog-node parses
// them with parseInt into JavaScript numbers.
type semver [3]float64

func (a semver) cmp(b semver) int {
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

// semverRange is a semver filter: a version for the comparison operators,
// or [lower, upper) for tilde, caret and wildcard.
type semverRange struct {
	v, lower, upper semver
}

// stripV trims JavaScript whitespace and one leading v or V.
func stripV(s string) string {
	s = trimJSSpace(s)
	if s != "" && (s[0] == 'v' || s[0] == 'V') {
		s = s[1:]
	}
	return s
}

// parseSemver is posthog-node's parseFeatureFlagSemver with the strict
// policy (flags.md §8.7).
func parseSemver(s string) (semver, bool) {
	text := stripV(s)
	base, _, _ := strings.Cut(text, "-")
	base, _, _ = strings.Cut(base, "+")
	if base == "" || base[0] == '.' {
		return semver{}, false
	}
	parts := strings.Split(base, ".")
	var v semver
	for i := 0; i < 3 && i < len(parts); i++ {
		if parts[i] == "" {
			continue
		}
		n, ok := semverPart(parts[i])
		if !ok {
			return semver{}, false
		}
		v[i] = n
	}
	return v, true
}

// semverPart parses ^\d+$ without a leading zero.
func semverPart(s string) (float64, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func compileSemverFilter(o op, s string) (semverRange, bool) {
	if o == opSemverWildcard {
		text := stripV(s)
		text = strings.TrimSuffix(text, ".*")
		text = strings.TrimSuffix(text, "*")
		if text == "" {
			return semverRange{}, false
		}
		parts := strings.Split(text, ".")
		major, ok := semverPart(parts[0])
		if !ok {
			return semverRange{}, false
		}
		if len(parts) == 1 {
			return semverRange{lower: semver{major}, upper: semver{major + 1}}, true
		}
		minor, ok := semverPart(parts[1])
		if !ok {
			return semverRange{}, false
		}
		return semverRange{lower: semver{major, minor}, upper: semver{major, minor + 1}}, true
	}
	v, ok := parseSemver(s)
	if !ok {
		return semverRange{}, false
	}
	r := semverRange{v: v, lower: v}
	switch o {
	case opSemverTilde:
		r.upper = semver{v[0], v[1] + 1, 0}
	case opSemverCaret:
		switch {
		case v[0] > 0:
			r.upper = semver{v[0] + 1, 0, 0}
		case v[1] > 0:
			r.upper = semver{0, v[1] + 1, 0}
		default:
			r.upper = semver{0, 0, v[2] + 1}
		}
	}
	return r, true
}

// contains applies the operator to a context version.
func (r semverRange) contains(o op, got semver) bool {
	switch o {
	case opSemverEQ:
		return got.cmp(r.v) == 0
	case opSemverNEQ:
		return got.cmp(r.v) != 0
	case opSemverGT:
		return got.cmp(r.v) > 0
	case opSemverGTE:
		return got.cmp(r.v) >= 0
	case opSemverLT:
		return got.cmp(r.v) < 0
	case opSemverLTE:
		return got.cmp(r.v) <= 0
	}
	return got.cmp(r.lower) >= 0 && got.cmp(r.upper) < 0
}

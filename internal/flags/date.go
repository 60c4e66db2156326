package flags

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// dateFilter is the filter side of is_date_before / is_date_after: a fixed
// instant, or an offset from now (flags.md §8.6).
type dateFilter struct {
	invalid  string // non-empty: the filter cannot be used locally
	relative bool
	n        int  // amount of the relative offset
	unit     byte // h, d, w, m or y
	ms       int64
}

// maxDateMs is ECMAScript's TimeClip bound.
const maxDateMs = 8.64e15

func compileDateFilter(v any) dateFilter {
	if _, isBool := v.(bool); isBool {
		return dateFilter{invalid: "date filter is a boolean"}
	}
	if n, unit, ok := relativeDate(jsString(v)); ok {
		return dateFilter{relative: true, n: n, unit: unit}
	}
	ms, ok := contextDate(v)
	if !ok {
		return dateFilter{invalid: "date filter " + jsString(v) + " cannot be parsed locally"}
	}
	return dateFilter{ms: ms}
}

// relativeDate matches ^-?([0-9]+)([a-z])$ with a count below 10000 and a
// unit among h, d, w, m, y.
func relativeDate(s string) (int, byte, bool) {
	s = strings.TrimPrefix(s, "-")
	if len(s) < 2 {
		return 0, 0, false
	}
	unit := s[len(s)-1]
	digits := s[:len(s)-1]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, 0, false
		}
	}
	// Leading zeros are allowed ("007d"); parseInt ignores them.
	trimmed := strings.TrimLeft(digits, "0")
	if len(trimmed) > 4 {
		return 0, 0, false
	}
	n := 0
	if trimmed != "" {
		n, _ = strconv.Atoi(trimmed)
	}
	if n >= 10000 {
		return 0, 0, false
	}
	switch unit {
	case 'h', 'd', 'w', 'm', 'y':
		return n, unit, true
	}
	return 0, 0, false
}

// at is the filter's instant in epoch milliseconds for the given now.
func (f dateFilter) at(now time.Time) int64 {
	if !f.relative {
		return f.ms
	}
	// new Date(new Date().toISOString()): now, truncated to milliseconds, UTC.
	t := time.UnixMilli(now.UnixMilli()).UTC()
	switch f.unit {
	case 'h':
		t = t.Add(-time.Duration(f.n) * time.Hour)
	case 'd':
		t = t.AddDate(0, 0, -f.n)
	case 'w':
		t = t.AddDate(0, 0, -7*f.n)
	case 'm':
		t = subtractMonths(t, f.n)
	case 'y':
		day := t.Day()
		if f.n > 0 && t.Month() == time.February && day == 29 {
			day = 28
		}
		t = time.Date(t.Year()-f.n, t.Month(), day, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	}
	return t.UnixMilli()
}

// subtractMonths subtracts one month at a time, clamping the day at each
// step, as posthog-node's subtractUTCMonths (Mar 31 − 2m = Jan 28).
func subtractMonths(t time.Time, months int) time.Time {
	year, month, day := t.Year(), int(t.Month()), t.Day()
	for step := 1; step <= months && day > 28; step++ {
		last := time.Date(year, time.Month(month-step+1), 0, 0, 0, 0, 0, time.UTC).Day()
		day = min(day, last)
	}
	return time.Date(year, time.Month(month-months), day, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// contextDate is new Date(v) for a string or number, in epoch milliseconds.
// Strings are parsed as V8 does for the forms listed in docs/flags.md; any
// other string is reported as unparsable (inconclusive), never guessed.
// Times without a zone are read as UTC (posthog-node run with TZ=UTC).
func contextDate(v any) (int64, bool) {
	switch x := canon(v).(type) {
	case float64:
		if math.IsNaN(x) || math.Abs(x) > maxDateMs {
			return 0, false
		}
		return int64(math.Trunc(x)), true
	case string:
		return parseV8Date(x)
	}
	return 0, false
}

var monthNames = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// parseV8Date parses the date strings V8 is known to accept (checked
// against node): ISO 8601 dates and date-times (date-only forms are UTC,
// day overflow rolls into the next month as V8 does), YYYY/M/D, and
// "Month D, YYYY" / "Mon D YYYY".
func parseV8Date(s string) (int64, bool) {
	s = trimJSSpace(s)
	if ms, ok := parseISODate(s); ok {
		return ms, true
	}
	if ms, ok := parseSlashDate(s); ok {
		return ms, true
	}
	if ms, ok := parseNumericDate(s); ok {
		return ms, true
	}
	return parseMonthNameDate(s)
}

// parseNumericDate is V8's legacy reading of one to three numbers
// separated by ".", ",", "/", "-" or spaces ("1.2.3" is 2003-01-02, "5" is
// 2001-05-01, "32" is 2032-01-01): a first number that cannot be a day (0
// or above 31) starts year-month-day, else month-day-year; the default
// year is 2001 and two-digit years are 1950–2049. Year tokens of three or
// five and more digits are left to the server (not guessed).
func parseNumericDate(s string) (int64, bool) {
	var nums []int
	var lens []int
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j-i > 6 {
				return 0, false
			}
			n, _ := strconv.Atoi(s[i:j])
			nums, lens = append(nums, n), append(lens, j-i)
			i = j
		case c == '.' || c == ',' || c == '/' || c == '-' || c == ' ':
			i++
		default:
			return 0, false
		}
	}
	if len(nums) == 0 || len(nums) > 3 {
		return 0, false
	}
	isDay := func(n int) bool { return n >= 1 && n <= 31 }
	year, month, day, yearLen := 2001, 1, 1, 4
	switch {
	case !isDay(nums[0]):
		year, yearLen = nums[0], lens[0]
		if len(nums) > 1 {
			month = nums[1]
		}
		if len(nums) > 2 {
			day = nums[2]
		}
	default:
		month = nums[0]
		if len(nums) > 1 {
			day = nums[1]
		}
		if len(nums) > 2 {
			year, yearLen = nums[2], lens[2]
		}
	}
	if month < 1 || month > 12 || !isDay(day) {
		return 0, false
	}
	switch {
	case yearLen <= 2:
		if year < 50 {
			year += 2000
		} else {
			year += 1900
		}
	case yearLen != 4:
		return 0, false
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).UnixMilli(), true
}

// scanner reads fixed-width decimal fields.
type scanner struct {
	s string
	i int
}

func (sc *scanner) digits(min, max int) (int, bool) {
	j := sc.i
	for j < len(sc.s) && j-sc.i < max && sc.s[j] >= '0' && sc.s[j] <= '9' {
		j++
	}
	if j-sc.i < min {
		return 0, false
	}
	n, _ := strconv.Atoi(sc.s[sc.i:j])
	sc.i = j
	return n, true
}

func (sc *scanner) eat(c byte) bool {
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

func (sc *scanner) done() bool { return sc.i == len(sc.s) }

func parseISODate(s string) (int64, bool) {
	sc := &scanner{s: s}
	year, ok := sc.digits(4, 4)
	if !ok {
		return 0, false
	}
	month, day := 1, 1
	if sc.eat('-') {
		if month, ok = sc.digits(1, 2); !ok || month < 1 || month > 12 {
			return 0, false
		}
		if sc.eat('-') {
			if day, ok = sc.digits(1, 2); !ok || day < 1 || day > 31 {
				return 0, false
			}
		}
	}
	hour, minute, sec, ms := 0, 0, 0, 0
	if sc.i < len(s) && (s[sc.i] == 'T' || s[sc.i] == 't' || s[sc.i] == ' ') && sc.i == 10 {
		sc.i++
		if hour, ok = sc.digits(2, 2); !ok || !sc.eat(':') {
			return 0, false
		}
		if minute, ok = sc.digits(2, 2); !ok || minute > 59 {
			return 0, false
		}
		if sc.eat(':') {
			if sec, ok = sc.digits(2, 2); !ok || sec > 59 {
				return 0, false
			}
			if sc.eat('.') {
				start := sc.i
				if _, ok = sc.digits(1, 64); !ok {
					return 0, false
				}
				frac := (s[start:sc.i] + "00")[:3]
				ms, _ = strconv.Atoi(frac)
			}
		}
		if hour > 24 || (hour == 24 && (minute != 0 || sec != 0 || ms != 0)) {
			return 0, false
		}
	} else if sc.i != len(s) && sc.i != 10 {
		return 0, false
	}
	offset := 0
	switch {
	case sc.done():
	case sc.eat('Z') || sc.eat('z'):
	case sc.i < len(s) && (s[sc.i] == '+' || s[sc.i] == '-') && sc.i > 10:
		sign := 1
		if s[sc.i] == '-' {
			sign = -1
		}
		sc.i++
		oh, ok := sc.digits(2, 2)
		if !ok {
			return 0, false
		}
		sc.eat(':')
		om, ok := sc.digits(2, 2)
		if !ok || oh > 23 || om > 59 {
			return 0, false
		}
		offset = sign * (oh*60 + om)
	default:
		return 0, false
	}
	if !sc.done() {
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, ms*int(time.Millisecond), time.UTC)
	return t.UnixMilli() - int64(offset)*60_000, true
}

func parseSlashDate(s string) (int64, bool) {
	sc := &scanner{s: s}
	year, ok := sc.digits(4, 4)
	if !ok || !sc.eat('/') {
		return 0, false
	}
	month, ok := sc.digits(1, 2)
	if !ok || month < 1 || month > 12 || !sc.eat('/') {
		return 0, false
	}
	day, ok := sc.digits(1, 2)
	if !ok || day < 1 || day > 31 || !sc.done() {
		return 0, false
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).UnixMilli(), true
}

func parseMonthNameDate(s string) (int64, bool) {
	fields := strings.Fields(strings.ReplaceAll(s, ",", " "))
	if len(fields) != 3 || len(fields[0]) < 3 {
		return 0, false
	}
	name := strings.ToLower(fields[0])
	month := 0
	for i, m := range monthNames {
		full := strings.ToLower(time.Month(i + 1).String())
		if name == m || name == full {
			month = i + 1
			break
		}
	}
	if month == 0 {
		return 0, false
	}
	d := &scanner{s: fields[1]}
	day, ok := d.digits(1, 2)
	if !ok || !d.done() || day < 1 || day > 31 {
		return 0, false
	}
	y := &scanner{s: fields[2]}
	year, ok := y.digits(4, 4)
	if !ok || !y.done() {
		return 0, false
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).UnixMilli(), true
}

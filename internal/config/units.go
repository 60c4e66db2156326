package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// sizeUnit returns the multiplier of a size unit, in lower case. Binary
// units are powers of 1024, decimal ones powers of 1000.
func sizeUnit(unit string) (int64, bool) {
	switch unit {
	case "", "b":
		return 1, true
	case "kb":
		return 1000, true
	case "mb":
		return 1000 * 1000, true
	case "gb":
		return 1000 * 1000 * 1000, true
	case "kib":
		return kib, true
	case "mib":
		return mib, true
	case "gib":
		return gib, true
	}
	return 0, false
}

// sizeHint ends every unparsable-size error.
const sizeHint = "like 20MiB, 512KiB, 20MB, 1048576, or none"

// parseSize parses "64MiB", "20 MB", "1048576", "-1" or "none" (-1).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "none") {
		return -1, nil
	}
	i := 0
	if i < len(t) && t[i] == '-' {
		i++
	}
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnit(unit)
	if !ok || num == "" || num == "-" {
		return 0, fmt.Errorf("%q is not a size (%s)", s, sizeHint)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return n * mult, nil
}

// checkSize vets a parsed size: positive, or -1 for no limit where allowed.
func checkSize(v int64, text string, unlimited bool) error {
	switch {
	case v > 0:
		return nil
	case v == -1 && unlimited:
		return nil
	case unlimited:
		return fmt.Errorf("%s must be positive, or -1 or none for no limit", text)
	case v < 0:
		return fmt.Errorf("%s: this size must have a limit", text)
	}
	return fmt.Errorf("%s must be positive", text)
}

// formatSize renders a size the way parseSize reads it, in the largest
// binary unit that divides it.
func formatSize(v int64) string {
	switch {
	case v < 0:
		return "none"
	case v == 0:
		return "0"
	case v%gib == 0:
		return strconv.FormatInt(v/gib, 10) + "GiB"
	case v%mib == 0:
		return strconv.FormatInt(v/mib, 10) + "MiB"
	case v%kib == 0:
		return strconv.FormatInt(v/kib, 10) + "KiB"
	}
	return strconv.FormatInt(v, 10)
}

// parseDuration parses a positive Go duration.
func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (like 5s, 2500ms, 1m30s)", s)
	}
	if v <= 0 {
		return 0, fmt.Errorf("%q must be positive", s)
	}
	return v, nil
}

// formatDuration renders d without the zero units time.Duration.String
// adds: "5m" rather than "5m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

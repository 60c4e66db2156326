package config

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1048576", 1048576, false},
		{"64MiB", 64 << 20, false},
		{"64mib", 64 << 20, false},
		{"20MB", 20_000_000, false},
		{"20 MB", 20_000_000, false},
		{"512KiB", 512 << 10, false},
		{"2kb", 2000, false},
		{"1GiB", 1 << 30, false},
		{"1GB", 1_000_000_000, false},
		{"10b", 10, false},
		{"-1", -1, false},
		{"none", -1, false},
		{"NONE", -1, false},
		{" 8MiB ", 8 << 20, false},
		{"0", 0, false}, // rejected later by checkSize
		{"", 0, true},
		{"MiB", 0, true},
		{"-", 0, true},
		{"1.5MiB", 0, true},
		{"20 potatoes", 0, true},
		{"64M", 0, true},
		{"0x10", 0, true},
		{"9223372036854775807", 9223372036854775807, false},
		{"9223372036854775808", 0, true},
		{"8589934592GiB", 0, true},
		{"-8589934593GiB", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{-1, "none"},
		{0, "0"},
		{1000, "1000"},
		{1024, "1KiB"},
		{64 << 20, "64MiB"},
		{3 << 30, "3GiB"},
		{20_000_000, "20000000"},
		{1536 << 10, "1536KiB"},
	}
	for _, tt := range tests {
		if got := formatSize(tt.in); got != tt.want {
			t.Errorf("formatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.in != 0 {
			if back, err := parseSize(tt.want); err != nil || back != tt.in {
				t.Errorf("parseSize(formatSize(%d)) = %d, %v", tt.in, back, err)
			}
		}
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"5s", 5 * time.Second, false},
		{"2500ms", 2500 * time.Millisecond, false},
		{"1m30s", 90 * time.Second, false},
		{"0s", 0, true},
		{"-1s", 0, true},
		{"5", 0, true},
		{"5 seconds", 0, true},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	for d, want := range map[time.Duration]string{
		5 * time.Minute:         "5m",
		time.Hour:               "1h",
		90 * time.Second:        "1m30s",
		2500 * time.Millisecond: "2.5s",
		61 * time.Minute:        "1h1m",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

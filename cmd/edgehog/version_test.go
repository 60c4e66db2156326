package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	r := runBinary(t, nil, "version")
	want := "edgehog " + testVersion + " (commit " + testCommit + ", built " + testDate + ", " + runtime.Version() + ")\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("edgehog version = exit %d, %q; want 0, %q", r.code, r.stdout, want)
	}
}

func TestVersionLine(t *testing.T) {
	stamped := &debug.BuildInfo{
		Main: debug.Module{Version: "v0.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"},
			{Key: "vcs.time", Value: "2026-05-06T07:08:09Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	gv := runtime.Version()
	tests := []struct {
		name    string
		v, c, d string
		bi      *debug.BuildInfo
		want    string
	}{
		{"ldflags win", "v1", "c1", "d1", stamped, "edgehog v1 (commit c1, built d1, " + gv + ")"},
		{"build info fills in", "", "", "", stamped, "edgehog v0.4.0 (commit 0123456789ab-dirty, built 2026-05-06T07:08:09Z, " + gv + ")"},
		{"nothing known", "", "", "", nil, "edgehog (devel) (commit unknown, built unknown, " + gv + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionLine(tt.v, tt.c, tt.d, tt.bi); got != tt.want {
				t.Errorf("versionLine() = %q, want %q", got, tt.want)
			}
		})
	}
}

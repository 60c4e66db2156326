package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck runs edgehog check on each testdata/check file (and some
// overrides) and compares exit code, stdout and stderr with a golden file.
func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
	}{
		{"good", nil, []string{"--config", "testdata/check/good.yaml"}},
		{"overrides", []string{"EDGEHOG_API=http://127.0.0.1:9000", "EDGEHOG_PREFIX=/env", "EDGEHOG_LOG_LEVEL=debug"},
			[]string{"--config", "testdata/check/good.yaml", "--prefix", "/flag", "--listen", "127.0.0.1:9999"}},
		{"defaults", nil, nil},
		{"config-from-env", []string{"EDGEHOG_CONFIG=testdata/check/trust-all.yaml"}, nil},
		{"bad-key", nil, []string{"--config", "testdata/check/bad-key.yaml"}},
		{"bad-probe", nil, []string{"--config", "testdata/check/bad-probe.yaml"}},
		{"bad-env", []string{"EDGEHOG_ACCESS_LOG=maybe"}, []string{"--config", "testdata/check/good.yaml"}},
		{"bad-flag", nil, []string{"--config", "testdata/check/good.yaml", "--api", "eu.i.posthog.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBinary(t, tt.env, append([]string{"check"}, tt.args...)...)
			command := strings.Join(append(append(tt.env, "edgehog", "check"), tt.args...), " ")
			got := fmt.Sprintf("$ %s\nexit %d\n--- stdout\n%s--- stderr\n%s", command, r.code, r.stdout, r.stderr)
			golden(t, filepath.Join("testdata", "check", tt.name+".golden"), got)
			wantCode := 0
			if strings.HasPrefix(tt.name, "bad") {
				wantCode = 2
			}
			if r.code != wantCode {
				t.Errorf("exit %d, want %d", r.code, wantCode)
			}
		})
	}
}

package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// binary is the edgehog binary TestMain builds once for every test.
var binary string

// The version stamp the test binary is built with.
const (
	testVersion = "v1.2.3-test"
	testCommit  = "abc123def456"
	testDate    = "2026-01-02T03:04:05Z"
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "edgehog-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "edgehog")
	args := []string{"build", "-o", binary,
		"-ldflags", "-X main.version=" + testVersion + " -X main.commit=" + testCommit + " -X main.date=" + testDate}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building edgehog:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary produced.
type result struct {
	code           int
	stdout, stderr string
}

// runBinary runs edgehog with args and a clean environment plus env
// ("KEY=value"), and waits for it.
func runBinary(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running edgehog %s: %v", strings.Join(args, " "), err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// cleanEnv is the environment without EDGEHOG_* variables, so that the
// developer's own settings do not leak into tests.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EDGEHOG_") {
			env = append(env, kv)
		}
	}
	return env
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s mismatch (run go test -update to accept)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"help", []string{"help"}, 2, "Usage:"},
		{"help serve", []string{"help", "serve"}, 2, "-listen address"},
		{"unknown command", []string{"bogus"}, 2, `unknown command "bogus"`},
		{"unknown flag", []string{"serve", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"unknown flag without serve", []string{"--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"positional argument", []string{"check", "extra"}, 2, `unexpected argument "extra"`},
		{"flag help", []string{"serve", "-h"}, 0, "Usage: edgehog [serve]"},
		{"missing config file", []string{"check", "--config", "testdata/missing.yaml"}, 2, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBinary(t, nil, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("edgehog %s = exit %d, stderr:\n%s\nwant exit %d and %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}
}

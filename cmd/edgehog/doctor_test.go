package main

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/config"
	"github.com/edgehog/edgehog/internal/fakehog"
)

func parseFile(t *testing.T, y string) config.File {
	t.Helper()
	f, err := config.Parse(strings.NewReader(y), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDoctor(t *testing.T) {
	fake, err := fakehog.Start(fakehog.Options{Quiet: true, Tokens: []string{"phc_us"}})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	p, err := edgehog.New(edgehog.Config{API: fake.APIURL(), Assets: fake.AssetsURL(), Prefix: "/ph"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	site := httptest.NewServer(p)
	defer site.Close()

	tests := []struct {
		name     string
		token    string
		wantCode int
		want     string
	}{
		{"good", "phc_us", exitOK, "ok    project token"},
		{"token of another region", "phc_eu", exitRuntime, "FAIL  project token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), []string{"doctor", "--api", fake.APIURL(), "--assets", fake.AssetsURL(), "--prefix", "/ph",
				"--url", site.URL + "/ph", "--token", tt.token, "--origin", "https://www.example.com"},
				func(string) string { return "" }, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.want) {
				t.Errorf("edgehog doctor = %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, tt.want, stdout.String(), stderr.String())
			}
		})
	}
}

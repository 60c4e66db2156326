package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgehog/edgehog/internal/config"
	"gopkg.in/yaml.v3"
)

// repoFile reads a file from the repository root.
func repoFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDockerfileBuild builds edgehog the way the Dockerfile does (no
// container engine runs here) and checks the result is a static binary
// that reports the version it was stamped with.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	df := string(repoFile(t, "Dockerfile"))
	for _, want := range []string{"CGO_ENABLED=0", "go build -trimpath", `-ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}"`, "USER 65532:65532", "./cmd/edgehog"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	out := filepath.Join(t.TempDir(), "edgehog")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=v9.8.7 -X main.commit=0123456789ab -X main.date=2026-11-22T00:00:00Z", "-o", out, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %s program header: not static", p.Type)
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("binary keeps its symbol table despite -s")
	}
	v, err := exec.Command(out, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^edgehog v9\.8\.7 \(commit 0123456789ab, built 2026-11-22T00:00:00Z, go`).Match(v) {
		t.Errorf("version = %q", v)
	}
}

// TestGoreleaserLdflags: the release build sets the same variables.
func TestGoreleaserLdflags(t *testing.T) {
	var gr struct {
		Builds []struct {
			Main    string
			Env     []string
			Flags   []string
			Ldflags []string
		}
	}
	if err := yaml.Unmarshal(repoFile(t, ".goreleaser.yaml"), &gr); err != nil {
		t.Fatal(err)
	}
	if len(gr.Builds) != 1 {
		t.Fatalf("%d builds, want 1", len(gr.Builds))
	}
	b := gr.Builds[0]
	all := strings.Join(b.Ldflags, " ")
	for _, v := range []string{"main.version=", "main.commit=", "main.date="} {
		if !strings.Contains(all, "-X "+v) {
			t.Errorf("ldflags %q lack -X %s", all, v)
		}
	}
	if b.Main != "./cmd/edgehog" || !strings.Contains(strings.Join(b.Env, " "), "CGO_ENABLED=0") || !strings.Contains(strings.Join(b.Flags, " "), "-trimpath") {
		t.Errorf("build = %+v, want ./cmd/edgehog, CGO_ENABLED=0, -trimpath", b)
	}
}

// TestKubernetesExample: the ConfigMap's configuration is valid, and the
// probes ask the paths edgehog answers.
func TestKubernetesExample(t *testing.T) {
	var cm struct {
		Data map[string]string
	}
	if err := yaml.Unmarshal(repoFile(t, "deploy/kubernetes/configmap.yaml"), &cm); err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse(strings.NewReader(cm.Data["edgehog.yaml"]), "configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("ConfigMap configuration: %v", err)
	}
	dep := string(repoFile(t, "deploy/kubernetes/deployment.yaml"))
	for _, want := range []string{"path: " + f.Server.ReadyPath, "path: " + f.Server.HealthPath, "containerPort: 8080"} {
		if !strings.Contains(dep, want) {
			t.Errorf("deployment.yaml lacks %q", want)
		}
	}
	if f.Server.Listen != ":8080" {
		t.Errorf("ConfigMap listen = %q, want :8080 (the containerPort)", f.Server.Listen)
	}
}

// TestSystemdUnit: the unit runs the serve and check commands that exist,
// reloads with SIGHUP and keeps its hardening.
func TestSystemdUnit(t *testing.T) {
	unit := string(repoFile(t, "deploy/systemd/edgehog.service"))
	for _, want := range []string{
		"ExecStart=/usr/local/bin/edgehog serve --config /etc/edgehog/edgehog.yaml",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "StateDirectory=edgehog",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("edgehog.service lacks %q", want)
		}
	}
}

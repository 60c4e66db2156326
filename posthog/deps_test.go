package posthog

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the SDK free of edgehog's server side: a Go service that
// imports the SDK must not pull in the proxy, its config loader, metrics or
// YAML (architecture.md, "imports no server code").
func TestDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const mod = "github.com/edgehog/edgehog"
	forbidden := []string{
		mod + "/internal/forward",
		mod + "/internal/route",
		mod + "/internal/config",
		mod + "/internal/server",
		mod + "/internal/guard",
		mod + "/internal/cache",
		mod + "/internal/metrics",
		"gopkg.in/yaml.v3",
		"github.com/prometheus/",
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed %d packages, want the full list", len(deps))
	}
	for _, dep := range deps {
		if dep == mod {
			t.Errorf("the SDK imports the edgehog root package")
		}
		for _, bad := range forbidden {
			if dep == bad || strings.HasPrefix(dep, bad+"/") || (strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad)) {
				t.Errorf("the SDK imports %s", dep)
			}
		}
	}
}

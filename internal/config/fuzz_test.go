package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, and that whatever it accepts
// renders (Redacted) to YAML it accepts again as the same effective
// configuration. (Comments may differ: a derived upstream becomes explicit.)
func FuzzParse(f *testing.F) {
	// Every test file is a seed: the full configuration and one file per
	// error shape.
	files, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/errors/*.yaml")
	for _, path := range append(files, more...) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("")                                        // empty document: the defaults
	f.Add("a: &a [*a]\n")                            // a self-referencing anchor
	f.Add("hosts: &h [{host: a}]\naliases: *h\n")    // an alias of the wrong shape
	f.Add("limits: {events: 9223372036854775807}\n") // the largest size
	f.Add("listen: \"\\u0000:1\"\n")                 // a NUL in a string
	f.Fuzz(func(t *testing.T, in string) {
		cfg, err := Parse(strings.NewReader(in), "fuzz.yaml")
		if err != nil {
			return
		}
		out := cfg.Redacted()
		back, err := Parse(strings.NewReader(out), "redacted.yaml")
		if err != nil {
			t.Fatalf("Parse(Redacted()) = %v\ninput:\n%s\nrendered:\n%s", err, in, out)
		}
		if got, want := back.render(false), cfg.render(false); got != want {
			t.Fatalf("Redacted() changed on a round trip:\n%s\nthen\n%s", want, got)
		}
		_ = cfg.Validate() // must not panic either
		_, _ = RouteTable(cfg)
	})
}

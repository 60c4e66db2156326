package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at build time with -ldflags "-X main.version=v1.2.3 -X main.commit=…
// -X main.date=…"; the linker can only set package variables. When empty,
// the module build information stands in.
var (
	version string
	commit  string
	date    string
)

// versionCommand prints the version.
type versionCommand struct {
	stdout, stderr io.Writer
}

func (c *versionCommand) flags(w io.Writer) *flag.FlagSet {
	return newFlagSet("edgehog version", "edgehog version", w)
}

// Run prints "edgehog <version> (commit <c>, built <date>, <go version>)".
func (c *versionCommand) Run(_ context.Context, args []string) error {
	if err := parse(c.flags(c.stderr), args); err != nil {
		return err
	}
	bi, _ := debug.ReadBuildInfo()
	_, err := fmt.Fprintln(c.stdout, versionLine(version, commit, date, bi))
	return err
}

// versionOf returns the version alone, for the startup log line.
func versionOf() string {
	bi, _ := debug.ReadBuildInfo()
	v, _, _ := buildVersion(version, commit, date, bi)
	return v
}

// versionLine renders the version line from the linker-set values, filled
// in from bi (which may be nil).
func versionLine(v, c, d string, bi *debug.BuildInfo) string {
	v, c, d = buildVersion(v, c, d, bi)
	return fmt.Sprintf("edgehog %s (commit %s, built %s, %s)", v, c, d, runtime.Version())
}

// buildVersion fills empty version, commit and date from the module build
// information: the module version and the VCS stamp of `go build`.
func buildVersion(v, c, d string, bi *debug.BuildInfo) (string, string, string) {
	var modVersion, revision, modified, vcsTime string
	if bi != nil {
		modVersion = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value
			case "vcs.time":
				vcsTime = s.Value
			}
		}
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if revision != "" && modified == "true" {
		revision += "-dirty"
	}
	return cmp.Or(v, modVersion, "(devel)"), cmp.Or(c, revision, "unknown"), cmp.Or(d, vcsTime, "unknown")
}

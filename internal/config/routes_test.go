package config

import (
	"errors"
	"testing"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/route"
)

func TestRouteTable(t *testing.T) {
	f := Default()
	f.Proxy.Prefix = "/ph/"
	f.Proxy.Region = "eu"
	f.Proxy.Aliases = []edgehog.Alias{{From: "/k/", To: "/e/"}, {From: "/cdn/*", To: "/static/*"}}
	rows, err := RouteTable(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(canonicalPatterns()) + 2; len(rows) != n {
		t.Fatalf("RouteTable() has %d rows, want %d", len(rows), n)
	}
	if rows[0].Path != "/ph/e/" || rows[len(rows)-1].Path != "/ph/cdn/*" {
		t.Errorf("rows run %s … %s, want /ph/e/ … /ph/cdn/*", rows[0].Path, rows[len(rows)-1].Path)
	}
	find := func(path string) RouteRow {
		for _, r := range rows {
			if r.Path == path {
				return r
			}
		}
		t.Fatalf("no row for %s in %+v", path, rows)
		return RouteRow{}
	}
	tests := []RouteRow{
		{Host: "*", Path: "/ph/e/", Kind: route.KindCapture, Upstream: "https://eu.i.posthog.com/e/", Exposed: true},
		{Host: "*", Path: "/ph/s/", Kind: route.KindReplay, Upstream: "https://eu.i.posthog.com/s/", Exposed: true},
		{Host: "*", Path: "/ph/i/v0/ai/*", Kind: route.KindAI, Upstream: "https://eu.i.posthog.com/i/v0/ai/*", Exposed: true},
		{Host: "*", Path: "/ph/flags/definitions", Kind: route.KindDefinitions, Upstream: "https://eu.i.posthog.com/flags/definitions", Exposed: true},
		{Host: "*", Path: "/ph/static/*", Kind: route.KindAssets, Upstream: "https://eu-assets.i.posthog.com/static/*", Exposed: true},
		{Host: "*", Path: "/ph/array/*", Kind: route.KindConfig, Upstream: "https://eu-assets.i.posthog.com/array/*", Exposed: true},
		{Host: "*", Path: "/ph/*", Kind: route.KindOther, Upstream: "https://eu.i.posthog.com/*", Exposed: false},
		{Host: "*", Path: "/ph/api/*", Kind: route.KindAPI, Upstream: "https://eu.i.posthog.com/api/*", Exposed: false},
		{Host: "*", Path: "/ph/api/surveys/*", Kind: route.KindAPI, Upstream: "https://eu.i.posthog.com/api/surveys/*", Exposed: true},
		{Host: "*", Path: "/ph/k/", Alias: "/e/", Kind: route.KindCapture, Upstream: "https://eu.i.posthog.com/e/", Exposed: true},
		{Host: "*", Path: "/ph/cdn/*", Alias: "/static/*", Kind: route.KindAssets, Upstream: "https://eu-assets.i.posthog.com/static/*", Exposed: true},
	}
	for _, want := range tests {
		if got := find(want.Path); got != want {
			t.Errorf("row %s = %+v, want %+v", want.Path, got, want)
		}
	}
}

func TestRouteTableHosts(t *testing.T) {
	f := Default()
	f.Proxy.API = "http://127.0.0.1:9/base/"
	f.Proxy.Hosts = []edgehog.Host{{Name: "ph.example.com"}, {Name: "*.example.org", Prefix: "/t"}}
	rows, err := RouteTable(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := 2 * len(canonicalPatterns()); len(rows) != n {
		t.Fatalf("RouteTable() has %d rows, want %d", len(rows), n)
	}
	want := RouteRow{Host: "*.example.org", Path: "/t/batch/", Kind: route.KindBatch, Upstream: "http://127.0.0.1:9/base/batch/", Exposed: true}
	found := false
	for _, r := range rows {
		found = found || r == want
	}
	if !found {
		t.Errorf("no row %+v in %+v", want, rows)
	}
}

// TestRouteTableExposeAll checks that exposure "all" forwards every path.
func TestRouteTableExposeAll(t *testing.T) {
	f := Default()
	f.Proxy.Exposure = "all"
	rows, err := RouteTable(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !r.Exposed {
			t.Errorf("row %s not exposed under exposure all", r.Path)
		}
	}
}

func TestRouteTableInvalid(t *testing.T) {
	f := Default()
	f.Proxy.Aliases = []edgehog.Alias{{From: "/cdn/*", To: "/static/"}}
	if _, err := RouteTable(f); !errors.Is(err, ErrInvalid) {
		t.Errorf("RouteTable(bad alias) = %v, want ErrInvalid", err)
	}
	f = Default()
	f.Proxy.Region = "mars"
	if _, err := RouteTable(f); !errors.Is(err, ErrInvalid) {
		t.Errorf("RouteTable(bad region) = %v, want ErrInvalid", err)
	}
}

package edgehog_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/edgehog/edgehog"
)

// Mount edgehog under /ph inside an existing site, the way PostHog's Node
// recipe mounts its middleware: /ph/... goes to PostHog, everything else to
// the site.
func ExampleProxy_Middleware() {
	// A stand-in for PostHog; a real deployment sets Region or API instead.
	posthog := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "posthog got %s %s", r.Method, r.URL.Path)
	}))
	defer posthog.Close()

	p, err := edgehog.New(edgehog.Config{API: posthog.URL, Prefix: "/ph"})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	site := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "site page %s", r.URL.Path)
	})
	srv := httptest.NewServer(p.Middleware(site))
	defer srv.Close()

	for _, path := range []string{"/pricing", "/ph/e/"} {
		res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(`{}`))
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// site page /pricing
	// posthog got POST /e/
}

// Serve PostHog Cloud EU at the root of a dedicated host name.
func ExampleNew() {
	p, err := edgehog.New(edgehog.Config{
		Region: "eu",
		Hosts:  []edgehog.Host{{Name: "e.example.com"}},
		Aliases: []edgehog.Alias{
			{From: "/k/", To: "/e/"},             // capture
			{From: "/assets/*", To: "/static/*"}, // the SDK and its bundles
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	fmt.Println("ready")
	// Output: ready
}

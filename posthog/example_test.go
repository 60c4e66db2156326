package posthog_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/edgehog/edgehog/posthog"
)

// fakePostHog stands in for PostHog (or an edgehog in front of it) so that
// the examples run offline: it prints every event it receives and answers
// /flags with a fixed set of flags.
func fakePostHog() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/batch/":
			body := io.Reader(r.Body)
			if r.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(r.Body)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				body = zr
			}
			var batch struct {
				Batch []struct {
					Event      string         `json:"event"`
					DistinctID string         `json:"distinct_id"`
					Properties map[string]any `json:"properties"`
				} `json:"batch"`
			}
			if err := json.NewDecoder(body).Decode(&batch); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for _, e := range batch.Batch {
				fmt.Printf("received %q from %s\n", e.Event, e.DistinctID)
			}
			io.WriteString(w, `{"status":"Ok"}`)
		case "/flags/":
			io.WriteString(w, `{"flags": {
				"new-checkout": {"key": "new-checkout", "enabled": true, "variant": null,
					"metadata": {"id": 1, "version": 1, "payload": "{\"discount\":10}"}},
				"pricing-test": {"key": "pricing-test", "enabled": true, "variant": "annual-first",
					"metadata": {"id": 2, "version": 3, "payload": null}}
			}, "errorsWhileComputingFlags": false, "requestId": "example"}`)
		default:
			http.NotFound(w, r)
		}
	}))
}

// Capture events, then deliver everything before the program exits.
func Example() {
	srv := fakePostHog()
	defer srv.Close()

	client, err := posthog.New("phc_project_key", posthog.Options{Host: srv.URL})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = client.Identify(posthog.IdentifyMessage{DistinctID: "user-42", Set: posthog.Properties{"plan": "pro"}})
	_ = client.Capture(posthog.Event{
		DistinctID: "user-42",
		Event:      "order placed",
		Properties: posthog.Properties{"amount": 99.5},
		Groups:     map[string]string{"company": "acme"},
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Shutdown(ctx); err != nil {
		fmt.Println("shutdown:", err)
	}
	// Output:
	// received "$identify" from user-42
	// received "order placed" from user-42
}

// A serverless function flushes before it returns: nothing may be left in
// the background of a frozen process.
func Example_serverless() {
	srv := fakePostHog()
	defer srv.Close()

	client, err := posthog.New("phc_project_key", posthog.Options{Host: srv.URL, Serverless: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	handler := func(ctx context.Context, user string) error {
		if err := client.Capture(posthog.Event{DistinctID: user, Event: "function invoked"}); err != nil {
			return err
		}
		return client.Flush(ctx)
	}
	if err := handler(context.Background(), "user-7"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// received "function invoked" from user-7
}

// Page views are captures of "$pageview" with the page's URL.
func ExampleClient_Capture_pageview() {
	srv := fakePostHog()
	defer srv.Close()
	client, _ := posthog.New("phc_project_key", posthog.Options{Host: srv.URL})

	_ = client.Capture(posthog.Event{
		DistinctID: "user-42",
		Event:      "$pageview",
		Properties: posthog.Properties{"$current_url": "https://example.com/pricing"},
	})
	_ = client.Close()
	// Output:
	// received "$pageview" from user-42
}

func ExampleClient_IsFeatureEnabled() {
	srv := fakePostHog()
	defer srv.Close()
	client, _ := posthog.New("phc_project_key", posthog.Options{
		Host:                 srv.URL,
		SendFeatureFlagEvent: new(false), // keep the example's output short
	})
	defer client.Close()

	on, err := client.IsFeatureEnabled(context.Background(), "new-checkout", "user-42")
	if err != nil {
		// Never a guess: the flag could not be evaluated.
		fmt.Println("flag unavailable:", err)
		return
	}
	fmt.Println("new-checkout:", on)
	// Output:
	// new-checkout: true
}

func ExampleClient_GetFeatureFlag() {
	srv := fakePostHog()
	defer srv.Close()
	client, _ := posthog.New("phc_project_key", posthog.Options{Host: srv.URL, SendFeatureFlagEvent: new(false)})
	defer client.Close()

	v, err := client.GetFeatureFlag(context.Background(), "pricing-test", "user-42",
		posthog.WithPersonProperties(posthog.Properties{"country": "FR"}))
	if err != nil {
		fmt.Println(err)
		return
	}
	switch v.Variant() {
	case "annual-first":
		fmt.Println("show annual plans first")
	default:
		fmt.Println("control")
	}
	// Output:
	// show annual plans first
}

func ExampleClient_GetFeatureFlagPayload() {
	srv := fakePostHog()
	defer srv.Close()
	client, _ := posthog.New("phc_project_key", posthog.Options{Host: srv.URL})
	defer client.Close()

	payload, err := client.GetFeatureFlagPayload(context.Background(), "new-checkout", "user-42")
	if err != nil {
		fmt.Println(err)
		return
	}
	var cfg struct{ Discount int }
	_ = json.Unmarshal(payload, &cfg)
	fmt.Println("discount:", cfg.Discount)
	// Output:
	// discount: 10
}

func ExampleClient_GetAllFlags() {
	srv := fakePostHog()
	defer srv.Close()
	client, _ := posthog.New("phc_project_key", posthog.Options{Host: srv.URL})
	defer client.Close()

	all, err := client.GetAllFlags(context.Background(), "user-42")
	if err != nil {
		fmt.Println(err)
		return
	}
	var lines []string
	for key, v := range all {
		lines = append(lines, fmt.Sprintf("%s=%v", key, v))
	}
	// Map order is random; sort for a stable output.
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, " "))
	// Output:
	// new-checkout=true pricing-test=annual-first
}

package flags_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/edgehog/edgehog/internal/flags"
)

func Example() {
	defs, err := flags.Parse([]byte(`{
		"flags": [{
			"id": 7, "key": "new-checkout", "active": true,
			"filters": {
				"groups": [{"properties": [{"key": "plan", "operator": "exact", "value": ["pro", "team"], "type": "person"}],
				            "rollout_percentage": 100, "variant": "blue"}],
				"multivariate": {"variants": [{"key": "blue", "rollout_percentage": 50}, {"key": "green", "rollout_percentage": 50}]},
				"payloads": {"blue": "{\"color\": \"#00f\"}"}
			}
		}]
	}`))
	if err != nil {
		panic(err)
	}
	now := time.Now()

	r, err := defs.Evaluate("new-checkout", flags.Input{
		DistinctID:       "user-1",
		PersonProperties: map[string]any{"plan": "Pro"},
	}, now)
	fmt.Println(r.Value(), string(r.Payload), err)

	// Without the plan the flag cannot be decided locally: ask PostHog.
	_, err = defs.Evaluate("new-checkout", flags.Input{DistinctID: "user-2"}, now)
	var ie *flags.InconclusiveError
	fmt.Println(errors.Is(err, flags.ErrInconclusive), errors.As(err, &ie) && ie.Reason == flags.ReasonMissingContext)
	// Output:
	// blue {"color": "#00f"} <nil>
	// true true
}

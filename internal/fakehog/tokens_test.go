package fakehog

import (
	"net/http"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	f, err := Start(Options{Quiet: true, Tokens: []string{"phc_good"}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name, body string
		want       int
	}{
		{"known api_key", `{"api_key":"phc_good","distinct_id":"d"}`, 200},
		{"known token", `{"token":"phc_good","distinct_id":"d"}`, 200},
		{"unknown", `{"api_key":"phc_other","distinct_id":"d"}`, 401},
		{"missing", `{"distinct_id":"d"}`, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(f.APIURL()+"/flags/?v=2", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("POST /flags/ %s = %d, want %d", tt.body, resp.StatusCode, tt.want)
			}
		})
	}
}

package edgehog_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/fakehog"
)

// errorBody is edgehog's own JSON error shape, capture's.
type errorBody struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Error  string `json:"error"`
}

func decodeError(t *testing.T, res *http.Response, body []byte) errorBody {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("answer %d body %q is not JSON: %v", res.StatusCode, body, err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if eb.Status != res.StatusCode {
		t.Errorf("body status %d differs from HTTP status %d", eb.Status, res.StatusCode)
	}
	return eb
}

func TestBodyLimits(t *testing.T) {
	e := newEnv(t, edgehog.Config{Limits: edgehog.Limits{Events: 1000, Recordings: 5000, Batch: -1}})
	tests := []struct {
		name    string
		path    string
		size    int
		chunked bool
		status  int
	}{
		{"event under", "/e/", 1000, false, 200},
		{"event over", "/e/", 1001, false, 413},
		{"event over chunked", "/i/v0/e/", 4000, true, 413},
		{"replay under", "/s/", 5000, false, 200},
		{"replay over", "/s/", 5001, false, 413},
		{"batch unlimited", "/batch/", 100000, false, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.Reset()
			head, tail := `{"event":"x","api_key":"phc_x","properties":{"distinct_id":"d","pad":"`, `"}}`
			body := head + strings.Repeat("a", tt.size-len(head)-len(tail)) + tail
			var r io.Reader = strings.NewReader(body)
			if tt.chunked {
				r = io.MultiReader(r) // hides the length: sent chunked
			}
			req := e.newRequest(t, "POST", tt.path, r)
			res, b := e.do(t, req)
			if res.StatusCode != tt.status {
				t.Fatalf("POST %s with %d bytes = %d %q, want %d", tt.path, tt.size, res.StatusCode, b, tt.status)
			}
			if tt.status == 413 {
				if eb := decodeError(t, res, b); eb.Code != "payload_too_large" {
					t.Errorf("code = %q, want payload_too_large", eb.Code)
				}
				if !tt.chunked && len(e.fake.Requests()) != 0 {
					t.Errorf("a body refused by its Content-Length reached upstream")
				}
				for _, r := range e.fake.Requests() {
					if r.BodyLen > int64(tt.size) {
						t.Errorf("upstream got %d bytes", r.BodyLen)
					}
				}
			}
		})
	}
	if !strings.Contains(e.logs.String(), `"outcome":"payload_too_large"`) {
		t.Errorf("413s are not in the access log:\n%s", e.logs.String())
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	e := newEnv(t, edgehog.Config{API: dead, Assets: dead})
	for _, p := range []string{"/e/", "/flags/?v=2", "/static/array.js"} {
		res, b := e.do(t, e.newRequest(t, "POST", p, strings.NewReader("{}")))
		if res.StatusCode != http.StatusBadGateway {
			t.Errorf("POST %s = %d, want 502", p, res.StatusCode)
			continue
		}
		if eb := decodeError(t, res, b); eb.Code != "upstream_unreachable" {
			t.Errorf("POST %s code = %q, want upstream_unreachable", p, eb.Code)
		}
	}
}

func TestUpstreamTimeouts(t *testing.T) {
	e := newEnv(t, edgehog.Config{Upstream: edgehog.UpstreamOptions{
		ResponseHeaderTimeout: 200 * time.Millisecond,
		FlagsTimeout:          300 * time.Millisecond,
	}})
	e.fake.SetFault("/", fakehog.Fault{Delay: 3 * time.Second, Status: 200})
	for _, p := range []string{"/e/", "/flags/?v=2", "/decide/?v=4"} {
		res, b := e.do(t, e.newRequest(t, "POST", p, strings.NewReader("{}")))
		if res.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("POST %s = %d %q, want 504", p, res.StatusCode, b)
			continue
		}
		if eb := decodeError(t, res, b); eb.Code != "upstream_timeout" {
			t.Errorf("POST %s code = %q, want upstream_timeout", p, eb.Code)
		}
	}
}

func TestFlagsTimeoutBelowSDKs(t *testing.T) {
	// The default flags timeout leaves the SDKs (3 s) time to see the 504
	// and retry once; other kinds keep the longer response header timeout.
	def := edgehog.DefaultConfig().Upstream
	if def.FlagsTimeout <= 0 || def.FlagsTimeout >= 3*time.Second || def.ResponseHeaderTimeout <= def.FlagsTimeout {
		t.Fatalf("default flags timeout %v (response header timeout %v), want below the SDKs' 3s and below the others",
			def.FlagsTimeout, def.ResponseHeaderTimeout)
	}
	// With the defaults, a flags request to a stalled upstream ends in 504
	// (which the SDKs retry) and a capture request to the same upstream
	// is still waiting when the flags answer comes.
	e := newEnv(t, edgehog.Config{})
	e.fake.SetFault("/", fakehog.Fault{Delay: 10 * time.Second, Status: 200})
	capture := make(chan int, 1)
	go func() {
		res, err := e.front.Client().Post(e.front.URL+"/e/", "application/json", strings.NewReader("{}"))
		if err != nil {
			capture <- 0
			return
		}
		res.Body.Close()
		capture <- res.StatusCode
	}()
	res, _ := e.do(t, e.newRequest(t, "POST", "/flags/?v=2", strings.NewReader("{}")))
	if res.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("flags status %d, want 504", res.StatusCode)
	}
	select {
	case code := <-capture:
		t.Errorf("capture answered %d before the flags timeout, want it still waiting on upstream", code)
	default:
	}
	e.fake.Close() // cuts the capture request's delay short
	<-capture
}

func TestUpstreamRedirectNotFollowed(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	e.fake.SetFault("/e", fakehog.Fault{Status: 301, Header: http.Header{"Location": {"https://us.posthog.com/e/"}}})
	res, b := e.do(t, e.newRequest(t, "POST", "/e/", strings.NewReader("{}")))
	if res.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", res.StatusCode)
	}
	if eb := decodeError(t, res, b); eb.Code != "upstream_redirect" {
		t.Errorf("code = %q, want upstream_redirect", eb.Code)
	}
	if res.Header.Get("Location") != "" {
		t.Errorf("Location %q relayed to the client", res.Header.Get("Location"))
	}
	if n := len(e.fake.Requests()); n != 1 {
		t.Errorf("upstream saw %d requests, want 1 (no redirect following)", n)
	}
}

func TestUpstreamStatusRelayed(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	for _, status := range []int{400, 401, 413, 429, 500, 503} {
		e.fake.SetFault("/e", fakehog.Fault{Status: status, Body: `{"upstream":true}`, Header: http.Header{"Retry-After": {"7"}}})
		res, b := e.do(t, e.newRequest(t, "POST", "/e/", strings.NewReader("{}")))
		if res.StatusCode != status || string(b) != `{"upstream":true}` || res.Header.Get("Retry-After") != "7" {
			t.Errorf("upstream %d relayed as %d %q Retry-After=%q", status, res.StatusCode, b, res.Header.Get("Retry-After"))
		}
	}
}

func TestUpstreamReset(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	e.fake.SetFault("/e", fakehog.Fault{Reset: true})
	res, b := e.do(t, e.newRequest(t, "POST", "/e/", strings.NewReader("{}")))
	if res.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", res.StatusCode)
	}
	decodeError(t, res, b)
}

func TestClientGoneIsNotUpstreamError(t *testing.T) {
	e := newEnv(t, edgehog.Config{})
	e.fake.SetFault("/e", fakehog.Fault{Delay: 5 * time.Second, Status: 200})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req := e.newRequest(t, "POST", "/e/", strings.NewReader("{}")).WithContext(ctx)
	if res, err := e.front.Client().Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("request succeeded (%d), want the client to give up", res.StatusCode)
	}
	waitFor(t, "the access log line", func() bool { return strings.Contains(e.logs.String(), `"outcome":"client_gone"`) })
	logs := e.logs.String()
	if strings.Contains(logs, `"level":"WARN"`) || strings.Contains(logs, "upstream_") {
		t.Errorf("a client going away was logged as an upstream problem:\n%s", logs)
	}
}

package edgehog_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/fakehog"
)

func captureBody(uuid string) string {
	return `{"api_key":"phc_x","batch":[{"uuid":"` + uuid + `","event":"e","properties":{"distinct_id":"d"},"timestamp":"2026-03-01T12:00:00.000Z"}],"sent_at":"2026-03-01T12:00:01.000Z"}`
}

func postCapture(t *testing.T, e *env, path, uuid string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.front.URL+path, strings.NewReader(captureBody(uuid)))
	req.Header.Set("Content-Type", "text/plain")
	return e.do(t, req)
}

// acceptedUUIDs counts events by uuid over the requests the fake answered
// 200: what PostHog would have ingested.
func acceptedUUIDs(fake *fakehog.Fake) map[string]int {
	n := map[string]int{}
	for _, r := range fake.Requests() {
		if r.Status >= 200 && r.Status < 300 {
			for _, ev := range r.Events {
				n[ev.UUID]++
			}
		}
	}
	return n
}

func waitUUIDs(t *testing.T, fake *fakehog.Fake, uuids ...string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for seen := 1; ; seen++ {
		got := acceptedUUIDs(fake)
		all := true
		for _, u := range uuids {
			all = all && got[u] > 0
		}
		if all {
			return got
		}
		if err := fake.WaitRequests(ctx, seen); err != nil {
			t.Fatalf("accepted %v, want all of %v: %v", got, uuids, err)
		}
	}
}

func TestSpoolFallbackStoresOnUpstreamFailure(t *testing.T) {
	tests := []struct {
		name   string
		fault  fakehog.Fault
		query  string
		status int
	}{
		{"503", fakehog.Fault{Status: 503, Times: 1}, "", 200},
		{"429", fakehog.Fault{Status: 429, Times: 1}, "", 200},
		{"connection reset", fakehog.Fault{Reset: true, Times: 1}, "", 200},
		{"beacon", fakehog.Fault{Status: 502, Times: 1}, "?beacon=1", 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, edgehog.Config{Spool: edgehog.SpoolOptions{Mode: "fallback", Dir: t.TempDir()}})
			e.fake.SetFault("/e", tt.fault)
			res, body := postCapture(t, e, "/e/"+tt.query, "u-"+tt.name)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d (%s), want %d", res.StatusCode, body, tt.status)
			}
			if tt.status == 200 && (string(body) != `{"status":"Ok"}` || res.Header.Get("Content-Type") != "application/json") {
				t.Errorf("answer = %q %q, want PostHog's {\"status\":\"Ok\"} as JSON", body, res.Header.Get("Content-Type"))
			}
			if tt.status == 204 && len(body) != 0 {
				t.Errorf("beacon answer body = %q, want empty", body)
			}
			got := waitUUIDs(t, e.fake, "u-"+tt.name)
			if got["u-"+tt.name] != 1 {
				t.Errorf("event accepted %d times, want once", got["u-"+tt.name])
			}
			st, ok := e.proxy.SpoolStatus()
			if !ok || st.Stored != 1 || st.Answered != 1 {
				t.Errorf("SpoolStatus = %+v, %v; want 1 stored and answered", st, ok)
			}
		})
	}
}

func TestSpoolFallbackPassesAnswersThrough(t *testing.T) {
	e := newEnv(t, edgehog.Config{Spool: edgehog.SpoolOptions{Mode: "fallback", Dir: t.TempDir()}})
	e.fake.SetFault("/e", fakehog.Fault{Status: 400, Body: `{"code":"bad"}`, Header: http.Header{"X-Up": {"1"}}, Times: 1})
	res, body := postCapture(t, e, "/e/", "bad")
	if res.StatusCode != 400 || !strings.Contains(string(body), "bad") || res.Header.Get("X-Up") != "1" {
		t.Errorf("answer = %d %q (X-Up %q), want upstream's 400 as is", res.StatusCode, body, res.Header.Get("X-Up"))
	}
	res, _ = postCapture(t, e, "/e/", "ok")
	if res.StatusCode != 200 {
		t.Errorf("status = %d, want 200", res.StatusCode)
	}
	if st, _ := e.proxy.SpoolStatus(); st.Stored != 0 {
		t.Errorf("stored %d requests, want none when upstream answered", st.Stored)
	}
	// Only POSTs are stored: a legacy GET capture goes to PostHog as is.
	e.fake.SetFault("/e", fakehog.Fault{Status: 503, Times: 1})
	req, _ := http.NewRequest("GET", e.front.URL+"/e/?data=e30", nil)
	if res, _ := e.do(t, req); res.StatusCode != 503 {
		t.Errorf("GET capture status = %d, want upstream's 503", res.StatusCode)
	}
	// Non-capture kinds never touch the spool.
	e.fake.SetFault("/flags", fakehog.Fault{Status: 503, Times: 1})
	req, _ = http.NewRequest("POST", e.front.URL+"/flags/?v=2", strings.NewReader(`{"token":"phc_x","distinct_id":"d"}`))
	if res, _ := e.do(t, req); res.StatusCode != 503 {
		t.Errorf("flags status = %d, want upstream's 503", res.StatusCode)
	}
}

func TestSpoolAlwaysAnswersThenDelivers(t *testing.T) {
	e := newEnv(t, edgehog.Config{Spool: edgehog.SpoolOptions{Mode: "always", Dir: t.TempDir()}})
	e.fake.SetFault("/batch", fakehog.Fault{Status: 500, Times: 2})
	var ids []string
	for i := range 5 {
		id := fmt.Sprintf("a%d", i)
		ids = append(ids, id)
		if res, body := postCapture(t, e, "/batch/", id); res.StatusCode != 200 || string(body) != `{"status":"Ok"}` {
			t.Fatalf("status = %d %q, want 200 Ok", res.StatusCode, body)
		}
	}
	got := waitUUIDs(t, e.fake, ids...)
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("event %s accepted %d times, want once", id, got[id])
		}
	}
	for _, r := range e.fake.Requests() {
		if ip := r.Header.Get("X-Forwarded-For"); ip != "127.0.0.1" {
			t.Errorf("delivered X-Forwarded-For = %q, want the client's 127.0.0.1", ip)
		}
	}
}

func TestSpoolFull(t *testing.T) {
	// PostHog is down and the spool is at its smallest: once it is full,
	// always mode answers 503 itself (and is not ready), fallback mode
	// passes PostHog's 503 through.
	big := `{"api_key":"phc_x","event":"big","properties":{"distinct_id":"d","pad":"` + strings.Repeat("x", 512<<10) + `"}}`
	for _, mode := range []string{"always", "fallback"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, edgehog.Config{Spool: edgehog.SpoolOptions{Mode: mode, Dir: t.TempDir(), MaxBytes: 4 << 20}})
			e.fake.SetFault("/e", fakehog.Fault{Status: 503})
			stored, status := 0, 0
			for i := 0; i < 60; i++ {
				res, _ := e.do(t, e.newRequest(t, "POST", "/e/", strings.NewReader(big)))
				if status = res.StatusCode; status != 200 {
					break
				}
				stored++
			}
			if status != 503 || stored == 0 {
				t.Fatalf("stored %d requests, then status %d; want some stored, then 503", stored, status)
			}
			st, _ := e.proxy.SpoolStatus()
			if !st.Full || st.PassedThrough == 0 || st.Stored != uint64(stored) {
				t.Errorf("SpoolStatus = %+v, want full, passed through > 0, %d stored", st, stored)
			}
			if err := e.proxy.SpoolReady(); (err != nil) != (mode == "always") {
				t.Errorf("SpoolReady = %v in %s mode", err, mode)
			}
		})
	}
}

func TestSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, edgehog.Config{Spool: edgehog.SpoolOptions{Mode: "always", Dir: dir}})
	e.fake.SetFault("/batch", fakehog.Fault{Status: 503}) // down until cleared
	for i := range 3 {
		postCapture(t, e, "/batch/", fmt.Sprintf("r%d", i))
	}
	e.proxy.Close()
	e.fake.ClearFaults()
	p, err := edgehog.New(edgehog.Config{API: e.fake.APIURL(), Assets: e.fake.AssetsURL(), Spool: edgehog.SpoolOptions{Mode: "always", Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := waitUUIDs(t, e.fake, "r0", "r1", "r2")
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s accepted %d times, want once", id, n)
		}
	}
}

func TestSpoolConfigErrors(t *testing.T) {
	for _, cfg := range []edgehog.SpoolOptions{
		{Mode: "sometimes", Dir: "x"},
		{Mode: "always"},
	} {
		if _, err := edgehog.New(edgehog.Config{Spool: cfg}); err == nil {
			t.Errorf("New(%+v) succeeded, want a configuration error", cfg)
		}
	}
}

func TestSpoolLargeReplayByteIdentical(t *testing.T) {
	e := newEnv(t, edgehog.Config{Spool: edgehog.SpoolOptions{Mode: "always", Dir: t.TempDir()}})
	// A 25 MiB recording batch whose events all carry a timestamp and no
	// sent_at: nothing to shift, so PostHog gets the very same bytes.
	var b strings.Builder
	b.WriteString(`[`)
	for i := 0; b.Len() < 25<<20; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"uuid":"r-%d","event":"$snapshot","timestamp":"2026-03-01T12:00:00.000Z","properties":{"distinct_id":"d","$session_id":"s","$window_id":"w","$snapshot_data":[{"type":3,"data":%q}]}}`, i, strings.Repeat("x", 4000))
	}
	b.WriteString(`]`)
	body := b.String()
	req, _ := http.NewRequest("POST", e.front.URL+"/s/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if res, got := e.do(t, req); res.StatusCode != 200 {
		t.Fatalf("status = %d %q, want 200", res.StatusCode, got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := e.fake.WaitRequests(ctx, 1); err != nil {
		t.Fatal(err)
	}
	r := e.fake.Requests()[0]
	sum := sha256.Sum256([]byte(body))
	if r.BodyLen != int64(len(body)) || r.BodySHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("delivered %d bytes (sha256 %s), want the %d stored bytes unchanged", r.BodyLen, r.BodySHA256, len(body))
	}
}

func TestSpoolOptionsValidate(t *testing.T) {
	tests := []struct {
		o    edgehog.SpoolOptions
		want string // "" means valid
	}{
		{edgehog.SpoolOptions{}, ""},
		{edgehog.SpoolOptions{Mode: "off", MaxBytes: 1}, ""},
		{edgehog.SpoolOptions{Mode: "always", Dir: "/d"}, ""},
		{edgehog.SpoolOptions{Mode: "fallback", NATSURL: "nats://a"}, ""},
		{edgehog.SpoolOptions{Mode: "sometimes", Dir: "/d"}, "spool.mode"},
		{edgehog.SpoolOptions{Mode: "always"}, "spool.dir"},
		{edgehog.SpoolOptions{Mode: "always", Dir: "/d", MaxBytes: 16 << 10}, "spool.max_bytes"},
		{edgehog.SpoolOptions{Mode: "always", Dir: "/d", Concurrency: -1}, "negative"},
	}
	for _, tt := range tests {
		err := tt.o.Validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v.Validate() = %v, want an error naming %q", tt.o, err, tt.want)
		}
	}
}

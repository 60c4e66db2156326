package fakehog

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFaultStatus(t *testing.T) {
	tests := []struct {
		name       string
		prefix     string
		fault      Fault
		path       string
		wantStatus int
		wantBody   string
		wantCT     string
		wantHeader string // Retry-After
	}{
		{"json body", "/e", Fault{Status: 503, Body: `{"status":503}`}, "/e/", 503, `{"status":503}`, "application/json", ""},
		{"text body", "/batch", Fault{Status: 500, Body: "boom"}, "/batch/", 500, "boom", "text/plain; charset=utf-8", ""},
		{"no body", "/flags", Fault{Status: 502}, "/flags/?v=2", 502, "", "", ""},
		{"retry-after", "", Fault{Status: 429, Header: http.Header{"Retry-After": {"7"}}}, "/s/", 429, "", "", "7"},
		{"header only keeps the answer", "/e", Fault{Header: http.Header{"Retry-After": {"1"}}}, "/e/", 200, `{"status":"Ok"}`, "application/json", "1"},
		{"quota limited body", "/s", Fault{Status: 200, Body: `{"status":"Ok","quota_limited":["recordings"]}`}, "/s/", 200,
			`{"status":"Ok","quota_limited":["recordings"]}`, "application/json", ""},
		{"static fault drops gzip", "/static/", Fault{Status: 503}, "/static/array.js", 503, "", "", ""},
		{"other prefix untouched", "/flags", Fault{Status: 500}, "/e/", 200, `{"status":"Ok"}`, "application/json", ""},
	}
	f := startFake(t, Options{})
	c := rawClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.ClearFaults()
			f.SetFault(tt.prefix, tt.fault)
			base := f.APIURL()
			if strings.HasPrefix(tt.path, "/static/") {
				base = f.AssetsURL()
			}
			resp, body := send(t, c, "POST", base+tt.path, []byte(arrayEvents), "Accept-Encoding", "gzip")
			if strings.HasPrefix(tt.path, "/static/") {
				resp, body = send(t, c, "GET", base+tt.path, nil, "Accept-Encoding", "gzip")
			}
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantCT {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantCT)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantHeader {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantHeader)
			}
			if got := resp.Header.Get("Content-Encoding"); got != "" {
				t.Errorf("Content-Encoding = %q on a faulted answer, want none", got)
			}
			rec := lastRequest(t, f)
			wantFaulted := tt.name != "other prefix untouched"
			if rec.Status != tt.wantStatus || rec.Faulted != wantFaulted {
				t.Errorf("recorded status %d faulted %v, want %d %v", rec.Status, rec.Faulted, tt.wantStatus, wantFaulted)
			}
		})
	}
}

func TestFaultDecodesFaultedRequests(t *testing.T) {
	f := startFake(t, Options{})
	f.SetFault("/e", Fault{Status: 503})
	send(t, rawClient(t), "POST", f.APIURL()+"/e/", []byte(arrayEvents), "Content-Type", "application/json")
	if got, want := eventSummary(lastRequest(t, f).Events), "a/u1,b/42"; got != want {
		t.Errorf("events of a faulted request = %q, want %q", got, want)
	}
}

func TestFaultSelection(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)
	f.SetFault("", Fault{Status: 500})
	f.SetFault("/flags", Fault{Status: 504})
	f.SetFault("/flags", Fault{Status: 502}) // last set wins for a prefix
	f.SetFault("/e", Fault{Status: 503, Times: 2})

	tests := []struct {
		path       string
		wantStatus int
	}{
		{"/flags/?v=2", 502}, // longest prefix
		{"/decide/", 500},
		{"/e/", 503},
		{"/e/", 503},
		{"/e/", 500}, // Times used up: the "" fault applies
		{"/flags/definitions", 502},
	}
	for _, tt := range tests {
		resp, _ := send(t, c, "POST", f.APIURL()+tt.path, []byte(arrayEvents))
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("POST %s: status = %d, want %d", tt.path, resp.StatusCode, tt.wantStatus)
		}
	}
	f.ClearFaults()
	if resp, _ := send(t, c, "POST", f.APIURL()+"/e/", []byte(arrayEvents)); resp.StatusCode != 200 {
		t.Errorf("after ClearFaults: status = %d, want 200", resp.StatusCode)
	}
}

func TestFaultDelay(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)
	const delay = 150 * time.Millisecond
	f.SetFault("/flags", Fault{Delay: delay, Times: 1})
	start := time.Now()
	resp, _ := send(t, c, "POST", f.APIURL()+"/flags/?v=2", []byte(flagsBody))
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("answer after %v, want at least %v", elapsed, delay)
	}
	if resp.StatusCode != 200 {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
}

func TestFaultDelayClientGoesAway(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)
	f.SetFault("/flags", Fault{Delay: time.Minute})

	// Like posthog-js's 3 s flags timeout, only shorter.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", f.APIURL()+"/flags/?v=2", strings.NewReader(flagsBody))
	if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("client error = %v, want DeadlineExceeded", err)
	}
	wctx, wcancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer wcancel()
	if err := f.WaitRequests(wctx, 1); err != nil {
		t.Fatalf("the delayed handler did not end when the client left: %v", err)
	}
	if rec := lastRequest(t, f); rec.Status != 0 || !rec.Faulted || string(rec.Decoded) != flagsBody {
		t.Errorf("recorded status %d faulted %v decoded %q, want 0, true, the body", rec.Status, rec.Faulted, rec.Decoded)
	}
}

func TestFaultDelayEndsOnClose(t *testing.T) {
	opts := Options{Quiet: true}
	f, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() }) // for early failures; Close is idempotent
	f.SetFault("", Fault{Delay: time.Minute})
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Post(f.APIURL()+"/e/", "application/json", strings.NewReader(arrayEvents))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// The request is recorded only when it ends, so wait for the handler
	// to be inside its delay by polling the in-flight count instead.
	for f.inflightCount() == 0 {
		if ctx.Err() != nil {
			t.Fatal("request never reached the handler")
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Close took %v, want it to cut the delay short", elapsed)
	}
	if err := <-errc; err == nil {
		t.Errorf("client got an answer, want a transport error")
	}
}

func TestFaultReset(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)
	f.SetFault("/batch", Fault{Reset: true, Times: 1})
	_, err := c.Post(f.APIURL()+"/batch/", "application/json", strings.NewReader(batchEvents))
	if err == nil {
		t.Fatal("POST answered, want a connection error")
	}
	rec := lastRequest(t, f)
	if rec.Status != 0 || !rec.Faulted || len(rec.Events) != 2 {
		t.Errorf("recorded status %d faulted %v events %d, want 0, true, 2", rec.Status, rec.Faulted, len(rec.Events))
	}
	// Times: 1, so the next request is answered.
	resp, _ := send(t, c, "POST", f.APIURL()+"/batch/", []byte(batchEvents))
	if resp.StatusCode != 200 {
		t.Errorf("after the reset: status = %d, want 200", resp.StatusCode)
	}
}

func TestSetFaultPanics(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
	}{
		{"status below 200", Fault{Status: 42}},
		{"status above 599", Fault{Status: 600}},
		{"negative times", Fault{Times: -1}},
	}
	f := startFake(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("SetFault(%+v) did not panic", tt.fault)
				}
			}()
			f.SetFault("/", tt.fault)
		})
	}
}

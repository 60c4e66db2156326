package fakehog

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	singleEvent = `{"event":"$pageview","distinct_id":"u1","properties":{"$lib":"web"},"timestamp":"2026-01-01T00:00:00Z","uuid":"0190-a"}`
	arrayEvents = `[{"event":"a","properties":{"distinct_id":"u1"}},{"event":"b","properties":{"distinct_id":42}}]`
	batchEvents = `{"api_key":"phc_test","batch":[{"event":"x","properties":{"distinct_id":"d1"}},{"event":"y","distinct_id":"d2"}],"sent_at":"2026-01-01T00:00:00Z"}`
)

// base64WithPlus returns a JSON payload whose base64 contains '+', to test
// that form decoding's '+' → ' ' is undone.
func base64WithPlus(t *testing.T) (string, string) {
	t.Helper()
	for i := range 1000 {
		js := fmt.Sprintf(`[{"event":"beacon","properties":{"distinct_id":"u%d","x":">>>???~~~"}}]`, i)
		b64 := base64.StdEncoding.EncodeToString([]byte(js))
		if strings.Contains(b64, "+") {
			return js, b64
		}
	}
	t.Fatal("no base64 with '+' found")
	return "", ""
}

// plusID is the distinct_id inside a base64WithPlus payload.
func plusID(js string) string {
	_, rest, _ := strings.Cut(js, `"distinct_id":"`)
	id, _, _ := strings.Cut(rest, `"`)
	return id
}

func TestCaptureDecoding(t *testing.T) {
	plusJSON, plusB64 := base64WithPlus(t)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

	tests := []struct {
		name        string
		method      string
		path        string // with query
		headers     []string
		body        []byte
		wantStatus  int
		wantEvents  string // eventSummary
		wantDecoded string // "" = nil
		wantErr     string // substring of DecodeErr; "" = none
		wantCode    string // capture error code in a 400 body
	}{
		{
			name: "plain JSON single event", method: "POST", path: "/i/v0/e/",
			headers: []string{"Content-Type", "application/json"}, body: []byte(singleEvent),
			wantStatus: 200, wantEvents: "$pageview/u1", wantDecoded: singleEvent,
		},
		{
			name: "array of events", method: "POST", path: "/e/",
			headers: []string{"Content-Type", "application/json"}, body: []byte(arrayEvents),
			wantStatus: 200, wantEvents: "a/u1,b/42", wantDecoded: arrayEvents,
		},
		{
			name: "batch object", method: "POST", path: "/batch/",
			headers: []string{"Content-Type", "application/json"}, body: []byte(batchEvents),
			wantStatus: 200, wantEvents: "x/d1,y/d2", wantDecoded: batchEvents,
		},
		{
			// posthog-js ≥1.398.2: gzip, text/plain, nothing else says so.
			name: "gzip magic with text/plain", method: "POST", path: "/i/v0/e/",
			headers: []string{"Content-Type", "text/plain"}, body: gzipped(t, []byte(batchEvents)),
			wantStatus: 200, wantEvents: "x/d1,y/d2", wantDecoded: batchEvents,
		},
		{
			name: "compression=gzip-js query", method: "POST", path: "/e/?compression=gzip-js&ver=1.200.0&_=1700000000000",
			headers: []string{"Content-Type", "text/plain"}, body: gzipped(t, []byte(arrayEvents)),
			wantStatus: 200, wantEvents: "a/u1,b/42", wantDecoded: arrayEvents,
		},
		{
			// posthog-node: Content-Encoding gzip.
			name: "Content-Encoding gzip", method: "POST", path: "/batch/",
			headers: []string{"Content-Type", "application/json", "Content-Encoding", "gzip"}, body: gzipped(t, []byte(batchEvents)),
			wantStatus: 200, wantEvents: "x/d1,y/d2", wantDecoded: batchEvents,
		},
		{
			// sendBeacon without compression: base64 form, '+' sent raw.
			name: "base64 form data with raw plus", method: "POST", path: "/i/v0/e/?compression=base64",
			headers: []string{"Content-Type", formMIME}, body: []byte("data=" + plusB64),
			wantStatus: 200, wantEvents: "beacon/" + plusID(plusJSON), wantDecoded: plusJSON,
		},
		{
			name: "base64 form data url-encoded", method: "POST", path: "/e/",
			headers:    []string{"Content-Type", formMIME},
			body:       []byte(url.Values{"data": {b64(arrayEvents)}, "compression": {"base64"}}.Encode()),
			wantStatus: 200, wantEvents: "a/u1,b/42", wantDecoded: arrayEvents,
		},
		{
			name: "form data gzip", method: "POST", path: "/e/",
			headers:    []string{"Content-Type", formMIME},
			body:       []byte(url.Values{"data": {string(gzipped(t, []byte(arrayEvents)))}, "compression": {"gzip"}}.Encode()),
			wantStatus: 200, wantEvents: "a/u1,b/42", wantDecoded: arrayEvents,
		},
		{
			name: "strict base64 body", method: "POST", path: "/capture/",
			headers: []string{"Content-Type", "text/plain"}, body: []byte(b64(singleEvent)),
			wantStatus: 200, wantEvents: "$pageview/u1", wantDecoded: singleEvent,
		},
		{
			name: "legacy GET data query", method: "GET", path: "/e/?data=" + url.QueryEscape(b64(arrayEvents)),
			wantStatus: 200, wantEvents: "a/u1,b/42", wantDecoded: arrayEvents,
		},
		{
			name: "legacy GET data query with raw plus", method: "GET", path: "/e/?data=" + plusB64,
			wantStatus: 200, wantEvents: eventSummary([]Event{{Event: "beacon", DistinctID: plusID(plusJSON)}}), wantDecoded: plusJSON,
		},
		{
			name: "engage without event name", method: "POST", path: "/engage/",
			headers: []string{"Content-Type", "application/json"}, body: []byte(`{"$set":{"a":1},"distinct_id":"p1"}`),
			wantStatus: 200, wantEvents: "$identify/p1", wantDecoded: `{"$set":{"a":1},"distinct_id":"p1"}`,
		},
		{
			name: "AI batch path", method: "POST", path: "/i/v0/ai/batch/",
			headers: []string{"Content-Type", "application/json", "Content-Encoding", "gzip"}, body: gzipped(t, []byte(batchEvents)),
			wantStatus: 200, wantEvents: "x/d1,y/d2", wantDecoded: batchEvents,
		},
		{
			name: "multipart is not decoded", method: "POST", path: "/i/v0/ai",
			headers: []string{"Content-Type", "multipart/form-data; boundary=x"}, body: []byte("--x--\r\n"),
			wantStatus: 200, wantErr: "multipart",
		},
		{
			name: "lz64 is answered but not decoded", method: "POST", path: "/e/?compression=lz64",
			headers: []string{"Content-Type", formMIME}, body: []byte("data=N4Ig"),
			wantStatus: 200, wantErr: "lz64",
		},
		{
			// Capture compares the Content-Type exactly (protocol.md §3.1).
			name: "form with charset is not a form", method: "POST", path: "/e/",
			headers: []string{"Content-Type", formMIME + "; charset=utf-8"}, body: []byte("data=" + b64(arrayEvents)),
			wantStatus: 400, wantErr: "failed to parse request", wantCode: "request_parsing_error",
		},
		{
			name: "form content type without form body", method: "POST", path: "/e/",
			headers: []string{"Content-Type", formMIME}, body: []byte(arrayEvents),
			wantStatus: 400, wantErr: "expected form data", wantCode: "request_decoding_error",
		},
		{
			name: "gzip hint on garbage", method: "POST", path: "/batch/",
			headers: []string{"Content-Encoding", "gzip"}, body: []byte(`{"batch":[]}`),
			wantStatus: 400, wantErr: "invalid GZIP data", wantCode: "request_decoding_error",
		},
		{
			name: "empty body", method: "POST", path: "/e/",
			wantStatus: 400, wantErr: "missing data payload", wantCode: "empty_payload",
		},
		{
			name: "empty batch", method: "POST", path: "/batch/",
			headers: []string{"Content-Type", "application/json"}, body: []byte(`{"api_key":"k","batch":[]}`),
			wantStatus: 400, wantErr: "no event", wantCode: "empty_batch", wantDecoded: `{"api_key":"k","batch":[]}`,
		},
		{
			name: "not JSON", method: "POST", path: "/e/",
			headers: []string{"Content-Type", "text/plain"}, body: []byte("hello"),
			wantStatus: 400, wantErr: "failed to parse request", wantCode: "request_parsing_error",
		},
	}
	f := startFake(t, Options{})
	c := rawClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Reset()
			resp, body := send(t, c, tt.method, f.APIURL()+tt.path, tt.body, tt.headers...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 200 {
				if got, want := string(body), `{"status":"Ok"}`; got != want {
					t.Errorf("body = %s, want %s", got, want)
				}
				if got, want := resp.Header.Get("Content-Type"), "application/json"; got != want {
					t.Errorf("Content-Type = %q, want %q", got, want)
				}
			}
			if tt.wantCode != "" {
				var eb struct {
					Status int    `json:"status"`
					Code   string `json:"code"`
					Error  string `json:"error"`
				}
				if err := json.Unmarshal(body, &eb); err != nil {
					t.Fatalf("error body %s: %v", body, err)
				}
				if eb.Code != tt.wantCode || eb.Status != tt.wantStatus || eb.Error == "" {
					t.Errorf("error body = %+v, want code %q status %d", eb, tt.wantCode, tt.wantStatus)
				}
			}
			rec := lastRequest(t, f)
			if got := eventSummary(rec.Events); got != tt.wantEvents {
				t.Errorf("events = %q, want %q", got, tt.wantEvents)
			}
			if got := string(rec.Decoded); got != tt.wantDecoded {
				t.Errorf("Decoded = %q, want %q", got, tt.wantDecoded)
			}
			if tt.wantErr == "" && rec.DecodeErr != "" || !strings.Contains(rec.DecodeErr, tt.wantErr) {
				t.Errorf("DecodeErr = %q, want it to contain %q", rec.DecodeErr, tt.wantErr)
			}
			if got, want := string(rec.Body), string(tt.body); got != want {
				t.Errorf("recorded Body = %q, want the raw bytes %q", got, want)
			}
			if rec.Status != tt.wantStatus {
				t.Errorf("recorded Status = %d, want %d", rec.Status, tt.wantStatus)
			}
		})
	}
}

func TestCaptureEventFields(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)
	send(t, c, "POST", f.APIURL()+"/i/v0/e/", []byte(singleEvent), "Content-Type", "application/json")
	evs := f.Events()
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1", len(evs))
	}
	ev := evs[0]
	if ev.UUID != "0190-a" || ev.Event != "$pageview" || ev.DistinctID != "u1" ||
		ev.Timestamp != "2026-01-01T00:00:00Z" || ev.Path != "/i/v0/e/" {
		t.Errorf("event = %+v, want uuid 0190-a, $pageview, u1, timestamp, path /i/v0/e/", ev)
	}
	if got, want := ev.Properties["$lib"], any("web"); got != want {
		t.Errorf("properties[$lib] = %v, want %v", got, want)
	}
	if got, want := string(ev.Raw), singleEvent; got != want {
		t.Errorf("Raw = %s, want %s", got, want)
	}
}

func TestCaptureBeacon(t *testing.T) {
	tests := []struct {
		name       string
		query      string
		body       string
		wantStatus int
		wantBody   string
	}{
		{"beacon=1 answers 204", "?beacon=1", arrayEvents, 204, ""},
		{"beacon=0 answers 200", "?beacon=0", arrayEvents, 200, `{"status":"Ok"}`},
		{"bad payload is still 400", "?beacon=1", "nope", 400, ""},
	}
	f := startFake(t, Options{})
	c := rawClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := send(t, c, "POST", f.APIURL()+"/e/"+tt.query, []byte(tt.body), "Content-Type", "text/plain")
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus != 400 && string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func TestCapturePaths(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)
	for _, p := range []string{"/e", "/i/v0/e", "/batch", "/capture", "/track", "/engage", "/s", "/i/v0/ai", "/i/v0/ai/otel"} {
		for _, path := range []string{p, p + "/"} {
			t.Run(path, func(t *testing.T) {
				resp, _ := send(t, c, "POST", f.APIURL()+path, []byte(arrayEvents), "Content-Type", "application/json")
				if resp.StatusCode != http.StatusOK {
					t.Errorf("api %s: status = %d, want 200", path, resp.StatusCode)
				}
				resp, _ = send(t, c, "POST", f.AssetsURL()+path, []byte(arrayEvents), "Content-Type", "application/json")
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("assets %s: status = %d, want 404", path, resp.StatusCode)
				}
			})
		}
	}
}

package fakehog

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
)

// startFake starts a quiet Fake closed at the end of the test.
func startFake(t *testing.T, opts Options) *Fake {
	t.Helper()
	opts.Quiet = true
	f, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

// rawClient shows responses as sent: no transparent gunzip, no redirects.
func rawClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// send does method url with body and headers (name, value pairs) and
// returns the response with its body read.
func send(t *testing.T, c *http.Client, method, url string, body []byte, headers ...string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s %s: %v", method, url, err)
	}
	return resp, b
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return buf.Bytes()
}

func gunzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// lastRequest returns the most recent recorded request.
func lastRequest(t *testing.T, f *Fake) Request {
	t.Helper()
	reqs := f.Requests()
	if len(reqs) == 0 {
		t.Fatalf("no request recorded")
	}
	return reqs[len(reqs)-1]
}

// eventSummary renders events as "name/distinct_id" for comparisons.
func eventSummary(evs []Event) string {
	parts := make([]string, len(evs))
	for i, ev := range evs {
		parts[i] = ev.Event + "/" + ev.DistinctID
	}
	return strings.Join(parts, ",")
}

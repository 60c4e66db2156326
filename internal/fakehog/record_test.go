package fakehog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// patternReader yields n deterministic bytes without holding them.
type patternReader struct{ off, n int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		p[i] = byte((r.off + int64(i)) % 251)
	}
	r.off += int64(len(p))
	return len(p), nil
}

func TestLargeBodyStreaming(t *testing.T) {
	const keep = 4096
	size := int64(64 << 20) // PostHog's advice: support 64 MB bodies
	if testing.Short() {
		size = 8 << 20
	}
	want := sha256.New()
	if _, err := io.Copy(want, &patternReader{n: size}); err != nil {
		t.Fatal(err)
	}
	prefix, _ := io.ReadAll(&patternReader{n: keep})

	tests := []struct {
		name          string
		contentLength int64 // -1: chunked
	}{
		{"chunked", -1},
		{"content-length", size},
	}
	f := startFake(t, Options{MaxRecordBody: keep})
	c := rawClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Reset()
			req, err := http.NewRequest("POST", f.APIURL()+"/s/", &patternReader{n: size})
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tt.contentLength
			req.Header.Set("Content-Type", "text/plain")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status = %d, want 200", resp.StatusCode)
			}
			rec := lastRequest(t, f)
			if rec.BodyLen != size {
				t.Errorf("BodyLen = %d, want %d", rec.BodyLen, size)
			}
			if got, want := rec.BodySHA256, hex.EncodeToString(want.Sum(nil)); got != want {
				t.Errorf("BodySHA256 = %s, want %s", got, want)
			}
			if !bytes.Equal(rec.Body, prefix) {
				t.Errorf("Body = %d bytes, want the first %d bytes", len(rec.Body), keep)
			}
			if cap(rec.Body) > keep {
				t.Errorf("cap(Body) = %d, want at most %d", cap(rec.Body), keep)
			}
			if got, want := rec.DecodeErr, "body too large to decode"; got != want {
				t.Errorf("DecodeErr = %q, want %q", got, want)
			}
		})
	}
}

func TestReadBody(t *testing.T) {
	tests := []struct {
		name     string
		n        int64
		keep     int64
		hint     int64
		complete bool
	}{
		{"empty", 0, 10, -1, true},
		{"under", 5, 10, 5, true},
		{"exact", 10, 10, -1, true},
		{"over", 100_000, 10, 100_000, false},
		{"growth stays capped", 100_000, 50_000, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := readBody(&patternReader{n: tt.n}, tt.keep, tt.hint, make([]byte, 1000))
			if err != nil {
				t.Fatalf("readBody: %v", err)
			}
			wantLen := min(tt.n, tt.keep)
			if in.n != tt.n || int64(len(in.data)) != wantLen || int64(cap(in.data)) > tt.keep || in.complete != tt.complete {
				t.Errorf("got n=%d len=%d cap=%d complete=%v, want n=%d len=%d cap<=%d complete=%v",
					in.n, len(in.data), cap(in.data), in.complete, tt.n, wantLen, tt.keep, tt.complete)
			}
		})
	}
}

func TestRecordFields(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)
	req, _ := http.NewRequest("POST", f.APIURL()+"/batch/?compression=gzip", bytes.NewReader(gzipped(t, []byte(batchEvents))))
	req.Host = "us.i.posthog.com"
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	rec := lastRequest(t, f)
	got := fmt.Sprintf("%s %s %s %s %s %s xff=%s status=%d faulted=%v",
		rec.Upstream, rec.Method, rec.Path, rec.RawQuery, rec.Host, rec.Proto,
		rec.Header.Get("X-Forwarded-For"), rec.Status, rec.Faulted)
	want := "api POST /batch/ compression=gzip us.i.posthog.com HTTP/1.1 xff=203.0.113.7 status=200 faulted=false"
	if got != want {
		t.Errorf("record = %q, want %q", got, want)
	}
	if !strings.HasPrefix(rec.RemoteAddr, "127.0.0.1:") || rec.Time.IsZero() {
		t.Errorf("RemoteAddr %q, Time %v; want loopback and a time", rec.RemoteAddr, rec.Time)
	}

	// Callers get their own Header.
	rec.Header.Set("X-Forwarded-For", "mutated")
	if got := lastRequest(t, f).Header.Get("X-Forwarded-For"); got != "203.0.113.7" {
		t.Errorf("after mutating a copy, recorded XFF = %q, want 203.0.113.7", got)
	}
}

func TestWaitRequestsAndReset(t *testing.T) {
	f := startFake(t, Options{})
	c := rawClient(t)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := f.WaitRequests(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitRequests on an idle fake = %v, want DeadlineExceeded", err)
	}

	go func() {
		for range 3 {
			resp, err := c.Post(f.APIURL()+"/e/", "application/json", strings.NewReader(arrayEvents))
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := f.WaitRequests(ctx, 3); err != nil {
		t.Fatalf("WaitRequests(3) = %v, want nil", err)
	}
	if got, want := len(f.Events()), 6; got != want {
		t.Errorf("got %d events, want %d", got, want)
	}
	f.Reset()
	if got := len(f.Requests()); got != 0 {
		t.Errorf("after Reset, %d requests, want 0", got)
	}
	if got := len(f.Events()); got != 0 {
		t.Errorf("after Reset, %d events, want 0", got)
	}
}

func TestConcurrentRequests(t *testing.T) {
	const n = 64
	f := startFake(t, Options{})
	c := rawClient(t)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"api_key":"k","batch":[{"event":"e%d","distinct_id":"u"}]}`, i)
			resp, err := c.Post(f.APIURL()+"/batch/", "application/json", strings.NewReader(body))
			if err != nil {
				t.Errorf("POST %d: %v", i, err)
				return
			}
			resp.Body.Close()
		})
		wg.Go(func() { _ = f.Requests(); _ = f.Events() })
	}
	wg.Wait()
	if got := len(f.Requests()); got != n {
		t.Errorf("got %d requests, want %d", got, n)
	}
	if got := len(f.Events()); got != n {
		t.Errorf("got %d events, want %d", got, n)
	}
}

func TestBenchMode(t *testing.T) {
	f := startFake(t, Options{Bench: true})
	c := rawClient(t)
	tests := []struct {
		base, method, path string
		body               []byte
		wantStatus         int
	}{
		{f.APIURL(), "POST", "/e/", []byte("not even json"), 200},
		{f.APIURL(), "POST", "/e/?beacon=1", []byte("x"), 204},
		{f.APIURL(), "POST", "/flags/?v=2", []byte("x"), 200},
		{f.AssetsURL(), "GET", "/static/array.js", nil, 200},
		{f.APIURL(), "GET", "/nope", nil, 404},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp, _ := send(t, c, tt.method, tt.base+tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
	if got := len(f.Requests()); got != 0 {
		t.Errorf("bench mode recorded %d requests, want 0", got)
	}
}

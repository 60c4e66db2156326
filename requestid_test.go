package edgehog_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/edgehog/edgehog"
)

// TestRequestID checks X-Request-Id: believed from a trusted hop, replaced
// from anyone else, sent upstream, returned to the client in place of
// upstream's own, and logged.
func TestRequestID(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen = append(seen, strings.Join(r.Header.Values("X-Request-Id"), ","))
		mu.Unlock()
		w.Header().Set("X-Request-Id", "upstream-own-id")
		io.WriteString(w, `{"status":"Ok"}`)
	}))
	defer up.Close()
	var logs bytes.Buffer
	p, err := edgehog.New(edgehog.Config{
		API:       up.URL,
		ClientIP:  edgehog.ClientIPOptions{TrustedProxies: []string{"192.0.2.1"}},
		AccessLog: true,
		Logger:    slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	tests := []struct {
		name   string
		peer   string
		header string
		keep   bool
	}{
		{"trusted hop's id", "192.0.2.1:4000", "lb-7f3a9", true},
		{"client's id", "203.0.113.9:4000", "forged-by-client", false},
		{"trusted hop's invalid id", "192.0.2.1:4000", "bad id\twith tab", false},
		{"no id", "203.0.113.9:4000", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			logs.Reset()
			req := httptest.NewRequest("POST", "/e/", strings.NewReader("{}"))
			req.RemoteAddr = tt.peer
			if tt.header != "" {
				req.Header.Set("X-Request-Id", tt.header)
			}
			w := httptest.NewRecorder()
			p.ServeHTTP(w, req)
			got := w.Result().Header.Values("X-Request-Id")
			if len(got) != 1 {
				t.Fatalf("answer X-Request-Id = %q, want exactly one value", got)
			}
			id := got[0]
			if tt.keep && id != tt.header {
				t.Errorf("answer X-Request-Id = %q, want the trusted hop's %q", id, tt.header)
			}
			if !tt.keep && (id == tt.header || len(id) != 32) {
				t.Errorf("answer X-Request-Id = %q, want a generated 32-digit ID", id)
			}
			mu.Lock()
			upstreamSaw := seen
			mu.Unlock()
			if len(upstreamSaw) != 1 || upstreamSaw[0] != id {
				t.Errorf("upstream saw X-Request-Id %q, want [%q]", upstreamSaw, id)
			}
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("access log %q: %v", logs.String(), err)
			}
			if line["request_id"] != id {
				t.Errorf("access log request_id = %v, want %q", line["request_id"], id)
			}
		})
	}
}

// TestRequestIDOnRefusal checks edgehog's own answers carry an ID too.
func TestRequestIDOnRefusal(t *testing.T) {
	p, err := edgehog.New(edgehog.Config{API: "http://127.0.0.1:1", Limits: edgehog.Limits{Events: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	w := httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest("POST", "/e/", strings.NewReader("too large")))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", w.Code)
	}
	if id := w.Header().Get("X-Request-Id"); len(id) != 32 {
		t.Errorf("413 answer X-Request-Id = %q, want a generated ID", id)
	}
}

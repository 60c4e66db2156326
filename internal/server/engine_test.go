package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestEngines checks that server.engine picks the HTTP/1.x server: Go's
// sniffs a Content-Type for an answer that has none, edgehog's relays the
// answer as it is. Keep-alive works with both.
func TestEngines(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Handlers that abort answers with http.ErrAbortHandler look
		// for a server first (internal/forward, httputil.ReverseProxy).
		if _, ok := r.Context().Value(http.ServerContextKey).(*http.Server); !ok {
			w.WriteHeader(http.StatusTeapot)
		}
		io.WriteString(w, "<html>"+r.URL.Path)
	})
	for _, tt := range []struct {
		engine, wantType string
	}{
		{EngineEdgehog, ""},
		{EngineGo, "text/html; charset=utf-8"},
		{"", ""}, // the default is edgehog's
	} {
		t.Run(tt.engine, func(t *testing.T) {
			sv := start(t, New(Options{Engine: tt.engine}, h, quiet()))
			c, err := net.Dial("tcp", strings.TrimPrefix(sv.base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for _, path := range []string{"/a", "/b"} {
				io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				b, _ := io.ReadAll(res.Body)
				if res.StatusCode != http.StatusOK {
					t.Errorf("%s: status %d, want 200 (no http.ServerContextKey in the context?)", path, res.StatusCode)
				}
				if string(b) != "<html>"+path {
					t.Errorf("%s: body %q, want %q", path, b, "<html>"+path)
				}
				if got := res.Header.Get("Content-Type"); got != tt.wantType {
					t.Errorf("%s: Content-Type %q, want %q", path, got, tt.wantType)
				}
				if res.Close {
					t.Errorf("%s: connection not kept alive", path)
				}
			}
		})
	}
}

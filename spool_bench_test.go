package edgehog_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgehog/edgehog"
)

// BenchmarkSpoolAlways measures a capture request acknowledged durably in
// always mode, from many goroutines (the store's group commit needs
// concurrency), next to the same request passed through.
func BenchmarkSpoolAlways(b *testing.B) {
	body := []byte(captureBody("0190d5a2-0000-7000-8000-000000000001"))
	for _, bc := range []struct {
		name  string
		spool edgehog.SpoolOptions
	}{
		{"pass-through", edgehog.SpoolOptions{}},
		{"fsync", edgehog.SpoolOptions{Mode: "always", Dir: b.TempDir()}},
		{"interval1s", edgehog.SpoolOptions{Mode: "always", Dir: b.TempDir(), SyncInterval: time.Second}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := edgehog.New(edgehog.Config{
				API:       "http://127.0.0.1:1",
				Transport: staticTransport{body: []byte(`{"status":"Ok"}`)},
				Spool:     bc.spool,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			b.ReportAllocs()
			b.SetParallelism(128)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/i/v0/e/", bytes.NewReader(body))
					req.RemoteAddr = "203.0.113.9:52000"
					req.Header.Set("Content-Type", "text/plain")
					w := &discardWriter{h: http.Header{}}
					p.ServeHTTP(w, req)
				}
			})
		})
	}
}

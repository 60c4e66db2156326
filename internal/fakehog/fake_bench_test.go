package fakehog

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// BenchmarkServe measures a request through the fake over loopback, in
// recording mode and in Bench mode (the "direct upstream" of edgehog's
// benchmarks), so the fake's own cost is known when reading those numbers.
func BenchmarkServe(b *testing.B) {
	body := gzipped(b, []byte(batchEvents))
	tests := []struct {
		name  string
		bench bool
		path  string
	}{
		{"record/capture", false, "/i/v0/e/"},
		{"bench/capture", true, "/i/v0/e/"},
		{"bench/flags", true, "/flags/?v=2"},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			f, err := Start(Options{Quiet: true, Bench: tt.bench, MaxRecordBody: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			url := f.APIURL() + tt.path
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			n := 0
			for b.Loop() {
				resp, err := c.Post(url, "text/plain", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if n++; n%10_000 == 0 {
					f.Reset() // keep memory flat over long runs
				}
			}
		})
	}
}

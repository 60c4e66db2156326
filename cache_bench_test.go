package edgehog_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/fakehog"
)

// BenchmarkCacheHit measures GET /static/array.js (gzip, 180 KB bundle)
// answered from the cache: inside the handler only ("handler"), and over
// loopback HTTP through edgehog ("http") next to the same request sent
// straight to the fake PostHog ("direct-upstream") and through edgehog
// with the cache off ("uncached").
func BenchmarkCacheHit(b *testing.B) {
	fake, err := fakehog.Start(fakehog.Options{Quiet: true, Bench: true})
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	newProxy := func(b *testing.B, cache edgehog.CacheOptions) *edgehog.Proxy {
		p, err := edgehog.New(edgehog.Config{API: fake.APIURL(), Assets: fake.AssetsURL(), Cache: cache})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close() })
		return p
	}
	newReq := func(url string) *http.Request {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
		req.Header.Set("Origin", "https://www.example.com")
		return req
	}

	b.Run("handler", func(b *testing.B) {
		p := newProxy(b, edgehog.CacheOptions{})
		serve := func() *discardWriter {
			req := httptest.NewRequest("GET", "/static/array.js", nil)
			req.RemoteAddr = "203.0.113.9:52000"
			req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
			req.Header.Set("Origin", "https://www.example.com")
			w := &discardWriter{h: http.Header{}}
			p.ServeHTTP(w, req)
			return w
		}
		if w := serve(); w.h.Get("X-Edgehog-Cache") != "MISS" {
			b.Fatalf("warm-up answer %v, want a MISS", w.h)
		}
		if w := serve(); w.h.Get("X-Edgehog-Cache") != "HIT" {
			b.Fatalf("answer %v, want a HIT", w.h)
		}
		b.ReportAllocs()
		for b.Loop() {
			serve()
		}
	})

	client := func(b *testing.B, url string) {
		c := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}}
		defer c.CloseIdleConnections()
		get := func() {
			res, err := c.Do(newReq(url))
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || n == 0 {
				b.Fatalf("GET %s = %d with %d bytes", url, res.StatusCode, n)
			}
			b.SetBytes(n)
		}
		get() // warm the cache and the connection
		b.ReportAllocs()
		for b.Loop() {
			get()
		}
	}
	b.Run("http", func(b *testing.B) {
		front := httptest.NewServer(newProxy(b, edgehog.CacheOptions{}))
		defer front.Close()
		client(b, front.URL+"/static/array.js")
	})
	b.Run("direct-upstream", func(b *testing.B) {
		client(b, fake.AssetsURL()+"/static/array.js")
	})
	b.Run("uncached", func(b *testing.B) {
		front := httptest.NewServer(newProxy(b, edgehog.CacheOptions{Disabled: true}))
		defer front.Close()
		client(b, front.URL+"/static/array.js")
	})
}

package forward

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/route"
)

// benchUpstream is a keep-alive upstream on loopback that answers every
// request with okAnswer. It parses only what it must (the head's end and
// Content-Length) and allocates nothing per request, so that allocs/op
// counts edgehog's own.
func benchUpstream(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, nc)
			go serveBench(nc)
		}
	}()
	b.Cleanup(func() {
		ln.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

func serveBench(nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 16<<10)
	resp := []byte(okAnswer)
	cl := []byte("content-length:")
	for {
		n := 0
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break // the empty line ending the head
			}
			if len(line) > len(cl) && bytes.EqualFold(line[:len(cl)], cl) {
				for _, c := range bytes.TrimSpace(line[len(cl):]) {
					n = n*10 + int(c-'0')
				}
			}
		}
		if _, err := br.Discard(n); err != nil {
			return
		}
		if _, err := nc.Write(resp); err != nil {
			return
		}
	}
}

// benchWriter is a ResponseWriter reused across requests.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(status int)      { w.status = status }
func (w *benchWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// benchBody is a request body reused across requests.
type benchBody struct{ bytes.Reader }

func (*benchBody) Close() error { return nil }

// BenchmarkForwardH1 measures a 2 KB capture POST carried by edgehog's own
// HTTP/1.1 client over a kept-alive loopback connection.
func BenchmarkForwardH1(b *testing.B) {
	up := benchUpstream(b)
	f, err := New(Options{
		API: mustURL(up), Assets: mustURL(up),
		Conn: TransportOptions{
			DialTimeout: 5 * time.Second, ResponseHeaderTimeout: 30 * time.Second,
			IdleConnTimeout: time.Minute, ConnMaxAge: time.Hour, MaxIdleConnsPerHost: 4,
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer f.CloseIdleConnections()
	payload := []byte(`{"api_key":"phc_test","event":"$pageview","properties":{"$current_url":"https://site.example/","pad":"` +
		strings.Repeat("x", 2048-110) + `"}}`)
	body := &benchBody{}
	r, err := http.NewRequest("POST", "http://site.example/e/?ver=1.240.0&compression=gzip-js", nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")
	r.Header.Set("Origin", "https://site.example")
	w := &benchWriter{h: http.Header{}}
	var st State
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(payload)
		r.Body, r.ContentLength = body, int64(len(payload))
		clear(w.h)
		w.status, w.n = 0, 0
		st = State{Match: route.Match{Kind: route.KindCapture, Path: "/e/"}}
		f.Forward(w, r, &st)
		if w.status != 200 || w.n != 15 {
			b.Fatalf("got %d with %d body bytes, want 200 with 15", w.status, w.n)
		}
	}
}

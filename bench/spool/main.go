// Command spool measures edgehog's store-and-forward spool: requests per
// second acknowledged durably in always mode and the acknowledgement
// latency (p50, p99), beside pass-through, on this machine.
//
// From the repository root:
//
//	go run ./bench/spool                         # embedded engine, fsync per write, and pass-through
//	go run ./bench/spool -nats nats://127.0.0.1:4222,... -replicas 3   # a cluster
//
// Everything runs on loopback in one process: fakehog (the fake PostHog),
// the edgehog handler behind a real http.Server, and the load generator,
// so the figures include the load generator's own CPU. Delivery to the
// fake runs during the measurement, as it would in production.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/fakehog"
)

type result struct {
	name          string
	acked, failed int64
	secs          float64
	p50, p99, max time.Duration
}

func main() {
	dur := flag.Duration("d", 10*time.Second, "measured `time` per case")
	conns := flag.Int("c", 64, "concurrent clients")
	natsURL := flag.String("nats", "", "NATS cluster `URLs`; adds a clustered case")
	replicas := flag.Int("replicas", 3, "stream replicas on the cluster")
	flag.Parse()

	fake, err := fakehog.Start(fakehog.Options{Quiet: true})
	if err != nil {
		fail(err)
	}
	defer fake.Close()
	cases := []struct {
		name  string
		spool edgehog.SpoolOptions
	}{
		{"pass-through (spool off)", edgehog.SpoolOptions{}},
		{"always, embedded, fsync every write", edgehog.SpoolOptions{Mode: "always"}},
		{"always, embedded, sync_interval 1s", edgehog.SpoolOptions{Mode: "always", SyncInterval: time.Second}},
	}
	if *natsURL != "" {
		cases = append(cases, struct {
			name  string
			spool edgehog.SpoolOptions
		}{fmt.Sprintf("always, NATS cluster R%d", *replicas), edgehog.SpoolOptions{Mode: "always", NATSURL: *natsURL, Replicas: *replicas, Stream: fmt.Sprintf("BENCH_%d", time.Now().Unix())}})
	}
	body := sampleBody()
	var results []result
	for _, c := range cases {
		if c.spool.Mode != "" && c.spool.NATSURL == "" {
			dir, err := os.MkdirTemp("", "edgehog-bench-spool-")
			if err != nil {
				fail(err)
			}
			defer os.RemoveAll(dir)
			c.spool.Dir = dir
		}
		r, err := run(c.name, fake, c.spool, body, *conns, *dur)
		if err != nil {
			fail(fmt.Errorf("%s: %w", c.name, err))
		}
		results = append(results, r)
	}
	fmt.Printf("\n%d clients, %v per case, %d-byte gzip capture body (posthog-js /i/v0/e/)\n\n", *conns, *dur, len(body))
	fmt.Println("| case | acknowledged req/s | failed | p50 | p99 | max |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, r := range results {
		fmt.Printf("| %s | %.0f | %d | %v | %v | %v |\n", r.name, float64(r.acked)/r.secs, r.failed,
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.max.Round(time.Microsecond))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/spool:", err)
	os.Exit(1)
}

// sampleBody is a typical posthog-js batch: one $pageview, gzip.
func sampleBody() []byte {
	js := `{"api_key":"phc_bench","batch":[{"uuid":"0190d5a2-0000-7000-8000-000000000001","event":"$pageview","properties":{"token":"phc_bench","distinct_id":"0190d5a2-aaaa","$session_id":"0190d5a2-bbbb","$window_id":"0190d5a2-cccc","$lib":"web","$lib_version":"1.449.2","$current_url":"https://www.example.com/pricing?utm_source=bench","$host":"www.example.com","$pathname":"/pricing","$browser":"Chrome","$os":"Mac OS X","$device_type":"Desktop","$screen_height":1117,"$screen_width":1728,"$referrer":"$direct"},"timestamp":"2026-03-01T12:00:00.000Z"}],"sent_at":"2026-03-01T12:00:00.100Z"}`
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, js)
	zw.Close()
	return b.Bytes()
}

func run(name string, fake *fakehog.Fake, so edgehog.SpoolOptions, body []byte, conns int, dur time.Duration) (result, error) {
	p, err := edgehog.New(edgehog.Config{API: fake.APIURL(), Assets: fake.AssetsURL(), Spool: so})
	if err != nil {
		return result{}, err
	}
	defer p.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/i/v0/e/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}}

	var acked, failed atomic.Int64
	lat := make([][]time.Duration, conns)
	ctx, cancel := context.WithTimeout(context.Background(), dur+2*time.Second)
	defer cancel()
	start := time.Now()
	warm := start.Add(2 * time.Second)
	end := warm.Add(dur)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "text/plain")
				res, err := client.Do(req)
				ok := err == nil && res.StatusCode == 200
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				if t0.Before(warm) {
					continue
				}
				switch {
				case ok:
					acked.Add(1)
					lat[i] = append(lat[i], time.Since(t0))
				case ctx.Err() == nil:
					// Not a request cut short by the end of the run.
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := result{name: name, acked: acked.Load(), failed: failed.Load(), secs: dur.Seconds()}
	if n := len(all); n > 0 {
		r.p50, r.p99, r.max = all[n/2], all[n*99/100], all[n-1]
	}
	fmt.Fprintf(os.Stderr, "%s: %d acknowledged\n", name, r.acked)
	return r, nil
}

package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
	"github.com/posthog/posthog-go"
)

// spoolConfig writes an edgehog configuration with the spool on.
func spoolConfig(t *testing.T, mode, dir string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "edgehog.yaml")
	conf := fmt.Sprintf("spool:\n  mode: %s\n  dir: %s\n  max_backoff: 200ms\n", mode, dir)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startUnmanaged runs edgehog like startEdgehogRaw but without the
// SIGTERM cleanup: the test kills it.
func startUnmanaged(t *testing.T, args ...string) *edgehogProc {
	t.Helper()
	log := &logTail{max: 200, addr: make(chan string, 1)}
	cmd := exec.Command(edgehogBin, args...)
	cmd.Env = append(os.Environ(), "EDGEHOG_ACCESS_LOG=false")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &edgehogProc{cmd: cmd, log: log, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	select {
	case addr := <-log.addr:
		p.url = "http://" + addr
	case <-p.done:
		t.Fatalf("edgehog exited before listening: %v\n%s", p.err, log)
	case <-time.After(startupTimeout):
		t.Fatalf("edgehog did not listen within %v\n%s", startupTimeout, log)
	}
	return p
}

// captureLoad sends batches of events the way the SDKs do (posthog-node:
// gzip with Content-Encoding on /batch/; posthog-js: gzip text/plain on
// /i/v0/e/; posthog-go: plain JSON on /batch/), retrying each request until
// edgehog acknowledges it, and records the acknowledged uuids.
type captureLoad struct {
	url    string
	client *http.Client
	mu     sync.Mutex
	acked  map[string]bool
	window map[string][2]time.Time // uuid → first send, acknowledgement
	sent   atomic.Int64
}

func (l *captureLoad) send(ctx context.Context, worker, n int) error {
	for i := range n {
		var uuids []string
		var events []string
		for k := range 5 {
			u := fmt.Sprintf("%08d-0000-4000-8000-%012d", worker, i*5+k)
			uuids = append(uuids, u)
			events = append(events, fmt.Sprintf(`{"uuid":%q,"event":"load","properties":{"distinct_id":"w%d","$lib":"load"},"timestamp":%q}`,
				u, worker, time.Now().UTC().Format("2006-01-02T15:04:05.000Z")))
		}
		body := []byte(`{"api_key":"phc_e2e","batch":[` + strings.Join(events, ",") + `],"sent_at":"` + time.Now().UTC().Format("2006-01-02T15:04:05.000Z") + `"}`)
		path, ctype, cenc := "/batch/", "application/json", ""
		switch i % 3 {
		case 0: // posthog-node
			body, cenc = gzipBody(body), "gzip"
		case 1: // posthog-js
			body, path, ctype = gzipBody(body), "/i/v0/e/", "text/plain"
		}
		first := time.Now()
		for attempt := 0; ; attempt++ {
			if attempt == 600 {
				return fmt.Errorf("request %d of worker %d never acknowledged", i, worker)
			}
			req, _ := http.NewRequestWithContext(ctx, "POST", l.url+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", ctype)
			if cenc != "" {
				req.Header.Set("Content-Encoding", cenc)
			}
			res, err := l.client.Do(req)
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			time.Sleep(50 * time.Millisecond)
		}
		l.sent.Add(1)
		ack := time.Now()
		l.mu.Lock()
		for _, u := range uuids {
			l.acked[u] = true
			l.window[u] = [2]time.Time{first, ack}
		}
		l.mu.Unlock()
	}
	return nil
}

func gzipBody(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Upstream is down during a load; edgehog is killed with SIGKILL in the
// middle of it and restarted on the same data directory. Once upstream is
// back, every acknowledged event arrives, with a true timestamp; by uuid
// (what PostHog de-duplicates on) exactly once.
func TestSpoolKill9LosesNothing(t *testing.T) {
	fake, err := fakehog.Start(fakehog.Options{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	fake.SetFault("/", fakehog.Fault{Status: 503}) // down until cleared

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := spoolConfig(t, "always", t.TempDir())
	args := []string{"serve", "--listen", addr, "--api", fake.APIURL(), "--assets", fake.AssetsURL(), "--config", conf}
	first := startUnmanaged(t, args...)

	load := &captureLoad{url: "http://" + addr, client: &http.Client{Timeout: 10 * time.Second}, acked: map[string]bool{}, window: map[string][2]time.Time{}}
	const workers, perWorker = 8, 60 // 480 requests, 2 400 events
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() { errs <- load.send(ctx, w, perWorker) })
	}
	for load.sent.Load() < workers*perWorker/2 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	first.cmd.Process.Kill() // kill -9 mid-load
	<-first.done
	startEdgehogRaw(t, edgehogBin, args...)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(load.acked) != workers*perWorker*5 {
		t.Fatalf("%d events acknowledged, want %d", len(load.acked), workers*perWorker*5)
	}

	// Upstream stays down a while longer, so that every event is
	// delivered seconds late and a wrong timestamp cannot hide in the
	// slack below.
	time.Sleep(4 * time.Second)
	fake.ClearFaults()
	var got map[string]int
	for seen := 1; ; seen++ {
		got = map[string]int{}
		for _, r := range fake.Requests() {
			if r.Status == http.StatusOK {
				for _, e := range r.Events {
					got[e.UUID]++
				}
			}
		}
		if len(got) >= len(load.acked) {
			break
		}
		if err := fake.WaitRequests(ctx, seen); err != nil {
			t.Fatalf("%d of %d acknowledged events arrived: %v", len(got), len(load.acked), err)
		}
	}
	// Nothing acknowledged is lost. A request stored just before the kill
	// but not yet answered is sent again by its client and stored twice:
	// at most the requests in flight at that moment, one per worker, are
	// duplicated, and PostHog keeps one copy of each uuid.
	dup := 0
	for u := range load.acked {
		switch n := got[u]; {
		case n == 0:
			t.Errorf("acknowledged event %s never arrived", u)
		case n > 1:
			dup += n - 1
		}
	}
	if dup > workers*5 {
		t.Errorf("%d duplicate events, want at most %d (the requests in flight at the kill)", dup, workers*5)
	}
	t.Logf("%d events acknowledged and delivered, %d duplicates (PostHog de-duplicates by uuid)", len(load.acked), dup)

	// Timestamps stay true: the time PostHog computes for each event,
	// delivery moment + (timestamp - sent_at), falls between the moment
	// the SDK built it and the moment edgehog acknowledged it, although
	// it was delivered at least 4 s later (1 s of slack for ms precision
	// and the hop from edgehog to the fake on a busy machine).
	const slack = time.Second
	wrong := 0
	for _, r := range fake.Requests() {
		if r.Status != http.StatusOK {
			continue
		}
		var body struct {
			SentAt time.Time `json:"sent_at"`
		}
		if err := json.Unmarshal(r.Decoded, &body); err != nil {
			t.Fatalf("delivered body: %v", err)
		}
		for _, e := range r.Events {
			ts, err := time.Parse(time.RFC3339Nano, e.Timestamp)
			if err != nil {
				t.Fatalf("event timestamp %q: %v", e.Timestamp, err)
			}
			computed := r.Time.Add(ts.Sub(body.SentAt))
			w := load.window[e.UUID]
			if computed.Before(w[0].Add(-slack)) || computed.After(w[1].Add(slack)) {
				if wrong++; wrong <= 5 {
					t.Errorf("event %s: PostHog computes %v, want within [%v, %v] (delivered %v)", e.UUID, computed, w[0], w[1], r.Time)
				}
			}
		}
	}
}

// posthog-go sends through edgehog in fallback mode while PostHog is down:
// the SDK sees every batch accepted, and once PostHog is back every event
// arrives exactly once, gzip batches included.
func TestSpoolPosthogGoOutage(t *testing.T) {
	for _, compression := range []posthog.CompressionMode{posthog.CompressionNone, posthog.CompressionGzip} {
		t.Run(fmt.Sprint("compression=", compression), func(t *testing.T) {
			fake, err := fakehog.Start(fakehog.Options{Quiet: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fake.Close() })
			fake.SetFault("/batch", fakehog.Fault{Status: 503}) // down until cleared
			p := startEdgehog(t, edgehogBin, fake, "--config", spoolConfig(t, "fallback", t.TempDir()))

			cb := &sdkCallback{}
			client, err := posthog.NewWithConfig(testKey, posthog.Config{
				Endpoint: p.url, Interval: 50 * time.Millisecond, BatchSize: 50,
				Callback: cb, Logger: &sdkLogger{}, Compression: compression,
				RetryAfter: func(int) time.Duration { return 50 * time.Millisecond },
			})
			if err != nil {
				t.Fatal(err)
			}
			const n = 1000
			want := map[string]bool{}
			for i := range n {
				u := newUUID()
				want[u] = true
				if err := client.Enqueue(posthog.Capture{Uuid: u, DistinctId: "spool-go", Event: "outage", Properties: posthog.Properties{"i": i}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := client.Close(); err != nil {
				t.Fatal(err)
			}
			if f := cb.failures(); len(f) > 0 {
				t.Fatalf("posthog-go saw %d failures during the outage, want none: %v", len(f), f[0])
			}
			if len(cb.successes()) != n {
				t.Fatalf("posthog-go saw %d successes, want %d", len(cb.successes()), n)
			}
			fake.ClearFaults()
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			var got map[string]int
			for seen := 1; ; seen++ {
				got = map[string]int{}
				for _, r := range fake.Requests() {
					if r.Status == http.StatusOK {
						for _, e := range r.Events {
							got[e.UUID]++
						}
					}
				}
				if len(got) >= n {
					break
				}
				if err := fake.WaitRequests(ctx, seen); err != nil {
					t.Fatalf("%d of %d events arrived: %v", len(got), n, err)
				}
			}
			for u := range want {
				if got[u] != 1 {
					t.Errorf("event %s arrived %d times, want exactly once", u, got[u])
				}
			}
		})
	}
}

// posthog-node sends through edgehog in fallback mode while PostHog's
// /batch is down: posthog-node sees no error, and once PostHog is back
// every captured event arrives exactly once.
func TestSpoolPosthogNodeOutage(t *testing.T) {
	node := requireNode(t)
	s := newStack(t, edgehogBin, fakehog.Options{MaxRecordBody: 64 << 20, Flags: testFlags},
		"--config", spoolConfig(t, "fallback", t.TempDir()))
	s.fake.SetFault("/batch", fakehog.Fault{Status: 503}) // down until cleared
	sum := runNode(t, node, s, nodeEnv("e2e-spool-node-"+newUUID(), "spool node event", 200, map[string]string{
		"E2E_FLUSH_AT":       "20",
		"E2E_MAX_BATCH":      "20",
		"E2E_FLUSH_INTERVAL": "200",
	}))
	for _, e := range sum.Errors {
		t.Errorf("posthog-node emitted error during the outage: %s", e)
	}
	want := sum.captureUUIDs()
	if len(want) != 200 || len(sum.flushedUUIDs()) != 200 {
		t.Fatalf("posthog-node captured %d and flushed %d events, want 200 each", len(want), len(sum.flushedUUIDs()))
	}
	s.fake.ClearFaults()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var got map[string]int
	for seen := 1; ; seen++ {
		got = map[string]int{}
		for _, r := range s.fake.Requests() {
			if r.Status == http.StatusOK {
				for _, e := range r.Events {
					got[e.UUID]++
				}
			}
		}
		all := true
		for _, u := range want {
			all = all && got[u] > 0
		}
		if all {
			break
		}
		if err := s.fake.WaitRequests(ctx, seen); err != nil {
			t.Fatalf("%d of %d events arrived: %v", len(got), len(want), err)
		}
	}
	for _, u := range want {
		if got[u] != 1 {
			t.Errorf("event %s arrived %d times, want exactly once", u, got[u])
		}
	}
}

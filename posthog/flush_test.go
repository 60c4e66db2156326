package posthog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// batchSizes returns the number of events in each /batch/ request.
func batchSizes(t *testing.T, fake *fakehog.Fake) []int {
	t.Helper()
	var sizes []int
	for _, r := range batchRequests(fake) {
		sizes = append(sizes, len(decodePayload(t, r).Batch))
	}
	return sizes
}

// checkExactlyOnce fails unless every id arrived exactly once.
func checkExactlyOnce(t *testing.T, fake *fakehog.Fake, ids []string) {
	t.Helper()
	counts := uuidCounts(delivered(fake))
	for _, id := range ids {
		if counts[id] != 1 {
			t.Errorf("event %s arrived %d times, want 1", id, counts[id])
		}
	}
	if len(counts) != len(ids) {
		t.Errorf("got %d distinct events, want %d", len(counts), len(ids))
	}
}

func TestFlushAtStartsBackgroundFlush(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{FlushAt: 5})
	// Each time the queue reaches FlushAt a flush starts on its own.
	ids := captureN(t, c, 5)
	waitEvents(t, fake, 5)
	waitQueued(t, c, 0) // the batch is settled after its answer arrives
	ids = append(ids, captureN(t, c, 5)...)
	waitEvents(t, fake, 10)
	waitQueued(t, c, 0)
	// Below FlushAt and without a timer, the last two wait for Flush.
	ids = append(ids, captureN(t, c, 2)...)
	if err := c.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	sizes := batchSizes(t, fake)
	if fmt.Sprint(sizes) != "[5 5 2]" {
		t.Errorf("batch sizes = %v, want [5 5 2]", sizes)
	}
	checkExactlyOnce(t, fake, ids)
}

func TestFlushIntervalStartsFlush(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{FlushAt: 100, FlushInterval: 20 * time.Millisecond})
	ids := captureN(t, c, 3)
	waitEvents(t, fake, 3)
	if sizes := batchSizes(t, fake); fmt.Sprint(sizes) != "[3]" {
		t.Errorf("batch sizes = %v, want [3]", sizes)
	}
	// The timer is armed again by the next event.
	more := captureN(t, c, 2)
	waitEvents(t, fake, 5)
	checkExactlyOnce(t, fake, append(ids, more...))
}

func TestMaxBatchSizeSplitsFlush(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{FlushAt: 10, MaxBatchSize: 10})
	c.sem <- struct{}{} // hold back the background flusher
	ids := captureN(t, c, 25)
	<-c.sem
	if err := c.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	for _, n := range batchSizes(t, fake) {
		if n > 10 {
			t.Errorf("a batch of %d events, want at most 10", n)
		}
	}
	checkExactlyOnce(t, fake, ids)
}

func TestQueueBoundDropsOldest(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, errs := newTestClient(t, fake, Options{FlushAt: 5, MaxQueueSize: 5})
	c.sem <- struct{}{} // no flush may run while the queue overflows
	ids := captureN(t, c, 8)
	<-c.sem
	if got := len(errs.all()); got != 3 {
		t.Errorf("OnError called %d times, want 3 (one per dropped event)", got)
	}
	for _, err := range errs.all() {
		if !errors.Is(err, ErrQueueFull) {
			t.Errorf("OnError(%v), want ErrQueueFull", err)
		}
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	waitEvents(t, fake, 5)
	checkExactlyOnce(t, fake, ids[3:])
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		fault    fakehog.Fault
		requests int  // /batch/ requests expected
		ok       bool // Flush succeeds
		queued   int  // events left queued after the flush
		status   int  // APIError status, if not ok and not a network error
	}{
		{"500 twice then ok", fakehog.Fault{Status: 500, Times: 2}, 3, true, 0, 0},
		{"408 once", fakehog.Fault{Status: 408, Times: 1}, 2, true, 0, 0},
		{"429 three times", fakehog.Fault{Status: 429, Times: 3}, 4, true, 0, 0},
		{"502 always", fakehog.Fault{Status: 502}, 4, false, 0, 502},
		{"503 always", fakehog.Fault{Status: 503}, 4, false, 0, 503},
		{"reset once", fakehog.Fault{Reset: true, Times: 1}, 2, true, 0, 0},
		{"reset always", fakehog.Fault{Reset: true}, 4, false, 3, 0},
		{"400 not retried", fakehog.Fault{Status: 400}, 1, false, 0, 400},
		{"401 not retried", fakehog.Fault{Status: 401}, 1, false, 0, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t, fakehog.Options{})
			c, _ := newTestClient(t, fake, Options{})
			fake.SetFault("/batch/", tt.fault)
			ids := captureN(t, c, 3)
			err := c.Flush(t.Context())
			if got := len(batchRequests(fake)); got != tt.requests {
				t.Errorf("%d /batch/ requests, want %d", got, tt.requests)
			}
			if got := c.Queued(); got != tt.queued {
				t.Errorf("Queued() = %d, want %d", got, tt.queued)
			}
			if tt.ok {
				if err != nil {
					t.Fatalf("Flush = %v, want nil", err)
				}
				checkExactlyOnce(t, fake, ids)
				return
			}
			var ae *APIError
			var ne *NetworkError
			switch {
			case tt.status != 0:
				if !errors.As(err, &ae) || ae.Status != tt.status || ae.Events != 3 {
					t.Errorf("Flush = %v, want an APIError %d for 3 events", err, tt.status)
				}
			case !errors.As(err, &ne) || ne.Events != 3:
				t.Errorf("Flush = %v, want a NetworkError for 3 events", err)
			}
		})
	}
}

func TestNetworkFailureKeepsEventsForNextFlush(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{FetchRetryCount: -1})
	fake.SetFault("/batch/", fakehog.Fault{Reset: true, Times: 1})
	ids := captureN(t, c, 4)
	var ne *NetworkError
	if err := c.Flush(t.Context()); !errors.As(err, &ne) {
		t.Fatalf("first Flush = %v, want a NetworkError", err)
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatalf("second Flush = %v, want nil", err)
	}
	checkExactlyOnce(t, fake, ids)
}

func TestPayloadTooLargeHalvesBatch(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{FlushAt: 20, MaxBatchSize: 20})
	fake.SetFault("/batch/", fakehog.Fault{Status: 413, Times: 2})
	ids := captureN(t, c, 19)
	if err := c.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	// 19 refused (size becomes 9), 9 refused (size becomes 4), then the
	// rest at 4.
	if sizes := batchSizes(t, fake); fmt.Sprint(sizes) != "[19 9 4 4 4 4 3]" {
		t.Errorf("batch sizes = %v, want [19 9 4 4 4 4 3]", sizes)
	}
	checkExactlyOnce(t, fake, ids)
	// The halved size sticks, as in posthog-node.
	fake.Reset()
	more := captureN(t, c, 19)
	if err := c.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if sizes := batchSizes(t, fake); fmt.Sprint(sizes) != "[4 4 4 4 3]" {
		t.Errorf("later batch sizes = %v, want [4 4 4 4 3]", sizes)
	}
	checkExactlyOnce(t, fake, more)
}

func TestPayloadTooLargeSingleEventDropped(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{})
	fake.SetFault("/batch/", fakehog.Fault{Status: 413})
	captureN(t, c, 2)
	err := c.Flush(t.Context())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 413 {
		t.Fatalf("Flush = %v, want APIError 413", err)
	}
	if sizes := batchSizes(t, fake); fmt.Sprint(sizes) != "[2 1 1]" {
		t.Errorf("batch sizes = %v, want [2 1 1]", sizes)
	}
	if n := c.Queued(); n != 0 {
		t.Errorf("Queued() = %d, want 0: a single refused event is dropped", n)
	}
}

func TestShutdownDeliversEverything(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, errs := newTestClient(t, fake, Options{FlushAt: 20, FlushInterval: time.Hour})
	ids := captureN(t, c, 57)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	checkExactlyOnce(t, fake, ids)
	if e := errs.all(); len(e) != 0 {
		t.Errorf("OnError got %v, want nothing", e)
	}
}

func TestShutdownRespectsDeadline(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{})
	// PostHog hangs; fake.Close (at cleanup) ends the delay.
	fake.SetFault("/batch/", fakehog.Fault{Delay: time.Hour})
	captureN(t, c, 3)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := c.Shutdown(ctx)
	fake.ClearFaults()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if n := c.Queued(); n != 3 {
		t.Errorf("Queued() = %d, want 3 undelivered", n)
	}
}

func TestShutdownWaitsForBackgroundFlush(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{FlushAt: 1})
	// The first attempt is slow, so Shutdown finds the flush in progress.
	fake.SetFault("/batch/", fakehog.Fault{Delay: 50 * time.Millisecond, Times: 1})
	ids := captureN(t, c, 1)
	// Wait (boundedly) until the background flush holds the flush slot.
	for i := 0; len(c.sem) == 0 && i < 5000; i++ {
		time.Sleep(time.Millisecond)
	}
	if len(c.sem) == 0 {
		t.Fatal("the background flush never started")
	}
	more := captureN(t, c, 4)
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	checkExactlyOnce(t, fake, append(ids, more...))
}

func TestConcurrentCapture(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, errs := newTestClient(t, fake, Options{FlushAt: 20, FlushInterval: time.Millisecond})
	const workers, each = 16, 100
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := newUUIDv7(time.Now())
				if err := c.Capture(Event{DistinctID: fmt.Sprint("w", w), Event: "concurrent", UUID: id, Properties: Properties{"i": i}}); err != nil {
					t.Errorf("Capture: %v", err)
					return
				}
				ids[w] = append(ids[w], id)
				if i%25 == 0 {
					if err := c.Flush(t.Context()); err != nil {
						t.Errorf("Flush: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	var all []string
	for _, w := range ids {
		all = append(all, w...)
	}
	checkExactlyOnce(t, fake, all)
	if e := errs.all(); len(e) != 0 {
		t.Errorf("OnError got %v, want nothing", e)
	}
}

func TestBackgroundErrorsReported(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, errs := newTestClient(t, fake, Options{FlushAt: 1})
	fake.SetFault("/batch/", fakehog.Fault{Status: 400, Body: `{"error":"bad"}`})
	captureN(t, c, 1)
	if err := fake.WaitRequests(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	// The report follows the answer; Shutdown waits for the flush.
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	var ae *APIError
	if e := errs.all(); len(e) != 1 || !errors.As(e[0], &ae) || ae.Status != 400 || ae.Body != `{"error":"bad"}` {
		t.Errorf("OnError got %v, want one APIError 400 with the body", e)
	}
}

// TestRetryDelayHonoured: the fixed FetchRetryDelay separates attempts, so
// a flush whose context ends during the delay makes exactly one request and
// keeps the events.
func TestRetryDelayHonoured(t *testing.T) {
	fake := startFake(t, fakehog.Options{})
	c, _ := newTestClient(t, fake, Options{FetchRetryDelay: time.Hour})
	fake.SetFault("/batch/", fakehog.Fault{Status: 503, Times: 1})
	captureN(t, c, 2)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := c.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush = %v, want DeadlineExceeded while waiting to retry", err)
	}
	if n := len(batchRequests(fake)); n != 1 {
		t.Errorf("%d /batch/ requests, want 1: the retry must wait FetchRetryDelay", n)
	}
	if n := c.Queued(); n != 2 {
		t.Errorf("Queued() = %d, want 2 kept for later", n)
	}
	// The fault is used up: the next flush delivers.
	if err := c.Flush(t.Context()); err != nil {
		t.Fatalf("second Flush: %v", err)
	}
}

// waitQueued waits (boundedly) until c has n events queued.
func waitQueued(t *testing.T, c *Client, n int) {
	t.Helper()
	for range 10000 {
		if c.Queued() == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("Queued() = %d, want %d", c.Queued(), n)
}

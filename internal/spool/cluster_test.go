package spool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/spool/spooltest"
)

// openCluster opens a replica's queue, retrying while the cluster elects
// its JetStream leader.
func openCluster(t *testing.T, o Options) *Queue {
	t.Helper()
	var err error
	for range 60 {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		var q *Queue
		q, err = Open(ctx, o)
		cancel()
		if err == nil {
			t.Cleanup(func() { q.Close() })
			return q
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("opening the spool on the cluster: %v", err)
	return nil
}

func TestClusterRefusesSmallMaxPayload(t *testing.T) {
	urls := spooltest.Start(t, "1MB").URLs
	var err error
	for range 60 {
		_, err = Open(t.Context(), Options{URL: urls, Replicas: 3, MaxRecord: 8 << 20})
		if err != nil && strings.Contains(err.Error(), "max_payload") {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("Open with records above max_payload = %v, want a max_payload error", err)
}

// Three edgehog replicas share one R3 stream; one NATS node is killed in
// the middle of the load. Every request Put acknowledged is read back.
func TestClusterNodeLossLosesNothing(t *testing.T) {
	cl := spooltest.Start(t, "8MB")
	o := Options{URL: cl.URLs, Replicas: 3, MaxRecord: 4 << 20, MaxBytes: 256 << 20, AckWait: 5 * time.Second}
	replicas := []*Queue{openCluster(t, o), openCluster(t, o), openCluster(t, o)}

	const perReplica = 300
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for i, q := range replicas {
		for w := range 4 {
			wg.Go(func() {
				for k := range perReplica / 4 {
					if i == 0 && w == 0 && k == perReplica/8 {
						// Mid-load: kill the first node, hard.
						cl.Nodes[0].Kill()
					}
					r := sampleRecord()
					id := fmt.Sprintf("r%d-w%d-%d", i, w, k)
					r.Body = []byte(id)
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					err := q.Put(ctx, &r)
					cancel()
					if err == nil {
						mu.Lock()
						acked[id] = true
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	if len(acked) < perReplica {
		t.Fatalf("only %d of %d requests acknowledged", len(acked), 3*perReplica)
	}

	// All three replicas deliver together.
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	seen := map[string]int{}
	var rwg sync.WaitGroup
	for _, q := range replicas {
		rd, err := q.Reader(16)
		if err != nil {
			t.Fatal(err)
		}
		rwg.Go(func() {
			defer rd.Stop()
			for {
				f, err := rd.Next(ctx)
				if err != nil {
					if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
						continue
					}
					return
				}
				mu.Lock()
				for _, r := range f.Records {
					seen[string(r.Body)]++
				}
				done := true
				for id := range acked {
					done = done && seen[id] > 0
				}
				mu.Unlock()
				f.Done(ctx)
				if done {
					cancel()
				}
			}
		})
	}
	rwg.Wait()
	missing := 0
	for id := range acked {
		if seen[id] == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged requests never read back", missing, len(acked))
	}
	t.Logf("%d acknowledged, %d read (duplicates are allowed: at-least-once)", len(acked), len(seen))
}

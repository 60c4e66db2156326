package edgehog_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/fakehog"
	"github.com/edgehog/edgehog/internal/spool/spooltest"
)

// Three edgehog replicas share one R3 stream on a three-node NATS cluster
// while PostHog is down; one NATS node is killed in the middle of the
// load. Once PostHog is back, every acknowledged event arrives.
func TestSpoolClusterReplicas(t *testing.T) {
	cl := spooltest.Start(t, "8MB")
	fake, err := fakehog.Start(fakehog.Options{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	fake.SetFault("/", fakehog.Fault{Status: 503}) // down until cleared

	cfg := edgehog.Config{
		API: fake.APIURL(), Assets: fake.AssetsURL(),
		// Bodies must fit the cluster's max_payload (checked at start).
		Limits: edgehog.Limits{Events: 4 << 20, Batch: 4 << 20, Recordings: 4 << 20, AI: 4 << 20},
		Spool:  edgehog.SpoolOptions{Mode: "always", NATSURL: cl.URLs, Replicas: 3, MaxBytes: 256 << 20, MaxBackoff: 200 * time.Millisecond},
	}
	var fronts []*httptest.Server
	for range 3 {
		var p *edgehog.Proxy
		for range 60 { // the cluster elects its JetStream leader first
			if p, err = edgehog.New(cfg); err == nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("edgehog.New on the cluster: %v", err)
		}
		t.Cleanup(func() { p.Close() })
		front := httptest.NewServer(p)
		t.Cleanup(front.Close)
		fronts = append(fronts, front)
	}

	const workers, perWorker = 6, 40
	var mu sync.Mutex
	acked := map[string]bool{}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if w == 0 && i == perWorker/2 {
					cl.Nodes[0].Kill() // mid-load
				}
				id := fmt.Sprintf("c%d-%d", w, i)
				// The replica behind the load balancer changes per request.
				for attempt := 0; attempt < 200 && ctx.Err() == nil; attempt++ {
					front := fronts[(w+i+attempt)%len(fronts)]
					req, _ := http.NewRequestWithContext(ctx, "POST", front.URL+"/batch/", strings.NewReader(captureBody(id)))
					req.Header.Set("Content-Type", "application/json")
					res, err := front.Client().Do(req)
					if err == nil {
						res.Body.Close()
						if res.StatusCode == http.StatusOK {
							mu.Lock()
							acked[id] = true
							mu.Unlock()
							break
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	if len(acked) != workers*perWorker {
		t.Fatalf("%d of %d requests acknowledged", len(acked), workers*perWorker)
	}
	fake.ClearFaults()
	var got map[string]int
	for seen := 1; ; seen++ {
		got = acceptedUUIDs(fake)
		missing := 0
		for id := range acked {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if err := fake.WaitRequests(ctx, seen); err != nil {
			t.Fatalf("%d acknowledged events never arrived: %v", missing, err)
		}
	}
	dup := 0
	for _, n := range got {
		dup += n - 1
	}
	t.Logf("%d events acknowledged by three replicas and delivered; %d duplicates (PostHog de-duplicates by uuid)", len(acked), dup)
}

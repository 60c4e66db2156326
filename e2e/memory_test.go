package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// TestMemoryFlatBinary proves that edgehog streams request bodies: a
// 64 MiB session-replay upload, with 64 small captures going on alongside
// it, must leave the binary's peak resident set (VmHWM) below the size of
// the upload, and the fake must receive every byte.
func TestMemoryFlatBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the 64 MiB upload through the binary in -short mode")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads VmHWM from /proc/PID/status, which only Linux has")
	}
	const (
		size     = 64 << 20 // the body; PostHog asks proxies to admit 64 MB
		maxPeak  = 64 << 20 // VmHWM bound: less than the body itself
		smallReq = 64
	)
	// The plain binary: the race detector would multiply the footprint.
	s := newStack(t, edgehogPlainBin, fakehog.Options{})
	pid := s.edgehog.pid()
	start := procMemory(t, pid)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	body := newGeneratedBody(ctx, size, size/2)
	req, err := http.NewRequestWithContext(ctx, "POST", s.URL()+"/s/", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "text/plain")
	type result struct {
		status int
		body   string
		err    error
	}
	bigDone := make(chan result, 1)
	go func() {
		res, err := client.Do(req)
		if err != nil {
			bigDone <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		bigDone <- result{status: res.StatusCode, body: string(b), err: err}
	}()

	select {
	case <-body.paused:
	case r := <-bigDone:
		t.Fatalf("the upload ended before reaching half way: status %d, %v, %q", r.status, r.err, r.body)
	case <-ctx.Done():
		t.Fatalf("the upload did not reach half way: %v", ctx.Err())
	}

	// Half the body is through edgehog (or stuck in it, if it buffers);
	// the small requests must not wait for the rest.
	smallIDs := make([]string, smallReq)
	errs := make([]error, smallReq)
	var wg sync.WaitGroup
	for i := range smallReq {
		smallIDs[i] = newUUID()
		wg.Go(func() { errs[i] = postSmallBatch(ctx, client, s.URL(), smallIDs[i], i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Errorf("small requests during the upload: %v", err)
	}
	close(body.resume)

	var r result
	select {
	case r = <-bigDone:
	case <-ctx.Done():
		t.Fatalf("the 64 MiB upload did not finish: %v", ctx.Err())
	}
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("64 MiB POST /s/: got status %d, error %v, body %q; want 200", r.status, r.err, r.body)
	}
	select {
	case <-body.eof:
	case <-ctx.Done():
		t.Fatalf("the upload body was never read to the end: %v", ctx.Err())
	}
	peak := procMemory(t, pid)
	t.Logf("edgehog pid %d: VmHWM %d KiB at start, %d KiB after the upload (VmRSS %d KiB)",
		pid, start.hwm>>10, peak.hwm>>10, peak.rss>>10)
	if peak.hwm >= maxPeak {
		t.Errorf("edgehog peak RSS (VmHWM) = %d KiB after a %d MiB upload, want < %d KiB: the body was buffered, not streamed",
			peak.hwm>>10, size>>20, maxPeak>>10)
	}

	reqs := s.fake.Requests()
	var uploads []fakehog.Request
	for _, fr := range reqs {
		if fr.Path == "/s/" {
			uploads = append(uploads, fr)
		}
	}
	if len(uploads) != 1 {
		t.Fatalf("fake saw %d POST /s/ requests, want 1", len(uploads))
	}
	if got, want := uploads[0].BodyLen, int64(size); got != want {
		t.Errorf("fake received a body of %d bytes, want %d", got, want)
	}
	if got, want := uploads[0].BodySHA256, body.sum(); got != want {
		t.Errorf("fake received body sha256 %s, want %s", got, want)
	}
	if got := uploads[0].Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("upload X-Forwarded-For = %q, want exactly [\"127.0.0.1\"]", got)
	}
	checkExactlyOnce(t, delivered(reqs), smallIDs)
}

// postSmallBatch sends one small /batch/ with a single event.
func postSmallBatch(ctx context.Context, client *http.Client, base, uuid string, i int) error {
	payload := fmt.Sprintf(`{"api_key":%q,"batch":[{"event":"small while big","uuid":%q,"distinct_id":"e2e-memory","properties":{"i":%d}}]}`,
		testKey, uuid, i)
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/batch/", strings.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("small request %d: %w", i, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("small request %d: got status %d %q, want 200", i, res.StatusCode, b)
	}
	return nil
}

// generatedBody is a request body of n pseudo-random bytes made as it is
// read, so the test never holds it. It stops once, at pauseAt bytes,
// closing paused and waiting for resume; it hashes what it produces and
// closes eof when it has produced everything.
type generatedBody struct {
	ctx     context.Context
	rng     *rand.ChaCha8
	left    int64
	pauseAt int64 // bytes left when the pause happens; < 0 once done
	h       hash.Hash

	paused chan struct{}
	resume chan struct{}
	eof    chan struct{}
}

func newGeneratedBody(ctx context.Context, n, pauseAfter int64) *generatedBody {
	return &generatedBody{
		ctx:     ctx,
		rng:     rand.NewChaCha8([32]byte{'e', 'd', 'g', 'e', 'h', 'o', 'g'}),
		left:    n,
		pauseAt: n - pauseAfter,
		h:       sha256.New(),
		paused:  make(chan struct{}),
		resume:  make(chan struct{}),
		eof:     make(chan struct{}),
	}
}

func (g *generatedBody) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if g.left == g.pauseAt {
		g.pauseAt = -1
		close(g.paused)
		select {
		case <-g.resume:
		case <-g.ctx.Done():
			return 0, g.ctx.Err()
		}
	}
	n := int64(len(p))
	n = min(n, g.left)
	if g.pauseAt > 0 && g.left-n < g.pauseAt {
		n = g.left - g.pauseAt
	}
	_, _ = g.rng.Read(p[:n]) // ChaCha8.Read never fails
	g.h.Write(p[:n])
	g.left -= n
	if g.left == 0 {
		close(g.eof)
	}
	return int(n), nil
}

// sum is the hex SHA-256 of the whole body; call it after eof is closed.
func (g *generatedBody) sum() string {
	return hex.EncodeToString(g.h.Sum(nil))
}

// memory is a process's resident set, current and peak, in bytes.
type memory struct {
	rss, hwm int64
}

// procMemory reads VmRSS and VmHWM from /proc/PID/status.
func procMemory(t *testing.T, pid int) memory {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("reading edgehog's memory: %v", err)
	}
	var m memory
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &m.rss
		case "VmHWM":
			dst = &m.hwm
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 10, 64)
		if err != nil {
			t.Fatalf("/proc/%d/status: %s: %v", pid, sc.Text(), err)
		}
		*dst = kb << 10
	}
	if m.hwm == 0 {
		t.Fatalf("/proc/%d/status has no VmHWM:\n%s", pid, b)
	}
	return m
}

package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func openTest(t testing.TB, o Options) *Queue {
	t.Helper()
	if o.Dir == "" && o.URL == "" {
		o.Dir = t.TempDir()
	}
	q, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// drain reads frames until n records arrived, acknowledging each frame.
func drain(t *testing.T, q *Queue, n int) []Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rd, err := q.Reader(16)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Stop()
	var out []Record
	for len(out) < n {
		f, err := rd.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(out), err)
		}
		for _, r := range f.Records {
			r.Body = bytes.Clone(r.Body)
			out = append(out, r)
		}
		if err := f.Done(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestQueuePutConcurrentThenRead(t *testing.T) {
	q := openTest(t, Options{})
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := sampleRecord()
			r.Body = fmt.Appendf(nil, `{"n":%d}`, i)
			if err := q.Put(t.Context(), &r); err != nil {
				t.Errorf("Put %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got := drain(t, q, n)
	seen := map[string]bool{}
	for _, r := range got {
		seen[string(r.Body)] = true
	}
	if len(got) != n || len(seen) != n {
		t.Errorf("read %d records, %d distinct; want %d", len(got), len(seen), n)
	}
	if s := q.State(); s.Stored != n {
		t.Errorf("State().Stored = %d, want %d", s.Stored, n)
	}
}

func TestQueueSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(t.Context(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	big := sampleRecord()
	big.Body = bytes.Repeat([]byte("0123456789abcdef"), 25<<20/16) // a 25 MiB replay body
	small := sampleRecord()
	for _, r := range []*Record{&small, &big} {
		if err := q.Put(t.Context(), r); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	// A second process may not open the same directory meanwhile.
	if _, err := Open(t.Context(), Options{Dir: dir}); err == nil {
		t.Errorf("second Open of a directory in use succeeded")
	}
	q.Close()

	q = openTest(t, Options{Dir: dir})
	got := drain(t, q, 2)
	if !bytes.Equal(got[0].Body, small.Body) || !bytes.Equal(got[1].Body, big.Body) {
		t.Errorf("bodies after reopen differ (lengths %d, %d)", len(got[0].Body), len(got[1].Body))
	}
}

func TestQueueFullRefuses(t *testing.T) {
	q := openTest(t, Options{MaxBytes: MinMaxBytes, MaxRecord: 1 << 20})
	r := sampleRecord()
	r.Body = bytes.Repeat([]byte("x"), 700<<10)
	var err error
	for i := 0; i < 40 && err == nil; i++ {
		err = q.Put(t.Context(), &r)
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Put on a full queue = %v, want ErrFull", err)
	}
	if !q.Full() {
		t.Errorf("Full() = false after ErrFull")
	}
	if s := q.State(); s.Refused == 0 {
		t.Errorf("State().Refused = 0, want > 0")
	}
}

func TestQueueMaxBytesMinimum(t *testing.T) {
	// Below a few frames the queue would count as full from the start.
	if _, err := Open(t.Context(), Options{Dir: t.TempDir(), MaxBytes: MinMaxBytes - 1}); err == nil {
		t.Error("Open accepted a MaxBytes below MinMaxBytes")
	}
}

func TestQueueMaxRecordChecked(t *testing.T) {
	// The embedded engine sizes itself; this checks the refusal path
	// through a queue whose server allows less than asked.
	q := openTest(t, Options{MaxRecord: 1 << 20})
	if err := q.setupCheck(8 << 20); err == nil {
		t.Errorf("setup accepted records larger than the server's max_payload")
	}
}

func TestDeadLetters(t *testing.T) {
	q := openTest(t, Options{})
	r := sampleRecord()
	if err := q.DeadLetter(t.Context(), &r, 400, "bad payload"); err != nil {
		t.Fatal(err)
	}
	ds, err := q.DeadLetters(t.Context(), 0, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("DeadLetters = %d, %v; want 1", len(ds), err)
	}
	if d := ds[0]; d.Status != 400 || d.Reason != "bad payload" || d.Record.Path != r.Path || d.Corrupt != nil {
		t.Errorf("dead letter = %+v", d)
	}
	n, err := q.Replay(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("Replay = %d, %v; want 1", n, err)
	}
	got := drain(t, q, 1)
	if !bytes.Equal(got[0].Body, r.Body) {
		t.Errorf("replayed body = %q, want %q", got[0].Body, r.Body)
	}
	if ds, _ := q.DeadLetters(t.Context(), 0, 10); len(ds) != 0 {
		t.Errorf("%d dead letters left after replay, want 0", len(ds))
	}
}

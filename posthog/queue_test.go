package posthog

import (
	"fmt"
	"testing"
)

func queueContents(q *queue) string {
	var out []string
	for _, it := range q.items[q.head:] {
		out = append(out, string(it.data))
	}
	return fmt.Sprint(out)
}

// TestQueueOverflowDuringFlight: events dropped while their batch is in
// flight must not make settling the batch remove newer events.
func TestQueueOverflowDuringFlight(t *testing.T) {
	q := newQueue(5)
	for i := range 5 {
		if q.push(fmt.Appendf(nil, "e%d", i)) {
			t.Fatalf("push %d dropped an event below the limit", i)
		}
	}
	batch, last := q.peek(3, q.lastSeq())
	if len(batch) != 3 || string(batch[0]) != "e0" {
		t.Fatalf("peek = %q, want e0..e2", batch)
	}
	// Two more arrive while the batch is in flight: e0 and e1 are dropped.
	for i := 5; i < 7; i++ {
		if !q.push(fmt.Appendf(nil, "e%d", i)) {
			t.Errorf("push %d did not report a drop at the limit", i)
		}
	}
	if n := q.removeThrough(last); n != 1 {
		t.Errorf("removeThrough removed %d events, want 1 (only e2 was left of the batch)", n)
	}
	if got, want := queueContents(&q), "[e3 e4 e5 e6]"; got != want {
		t.Errorf("queue = %s, want %s", got, want)
	}
}

// TestQueueCompacts keeps memory bounded under a steady push/pop flow.
func TestQueueCompacts(t *testing.T) {
	q := newQueue(1000)
	for i := range 10000 {
		q.push([]byte{byte(i)})
		if q.len() > 10 {
			_, last := q.peek(5, q.lastSeq())
			q.removeThrough(last)
		}
	}
	if q.len() > 10 || cap(q.items) > 256 {
		t.Errorf("len %d, cap %d after a steady flow: want ≤10 and ≤256", q.len(), cap(q.items))
	}
	_, last := q.peek(100, q.lastSeq())
	q.removeThrough(last)
	if q.len() != 0 || q.head != 0 || len(q.items) != 0 {
		t.Errorf("emptied queue: len %d, head %d, items %d; want all 0", q.len(), q.head, len(q.items))
	}
}

package posthog

// queue is the bounded FIFO of encoded events waiting to be sent. It is not
// safe for concurrent use; Client.mu guards it.
//
// Events stay in the queue while their batch is in flight and are removed
// only once the batch is settled (delivered, or refused by PostHog), as in
// posthog-node's _flushRoute: a network failure leaves them queued for the
// next flush. Every event gets a sequence number so that a batch can be
// removed even if the queue overflowed, and dropped some of it, while the
// request was in flight.
type queue struct {
	items   []queued // items[head:] are live
	head    int
	nextSeq uint64 // sequence number of the next push
	limit   int
}

// queued is one encoded event and its sequence number.
type queued struct {
	seq  uint64
	data []byte
}

func newQueue(limit int) queue {
	return queue{limit: limit, nextSeq: 1}
}

// len is the number of events queued.
func (q *queue) len() int { return len(q.items) - q.head }

// push appends data and reports whether the oldest event had to be dropped
// to make room (posthog-node: "Queue is full, the oldest event is dropped").
func (q *queue) push(data []byte) (dropped bool) {
	if q.len() >= q.limit {
		q.popFront()
		dropped = true
	}
	q.items = append(q.items, queued{seq: q.nextSeq, data: data})
	q.nextSeq++
	return dropped
}

// popFront removes the oldest event.
func (q *queue) popFront() {
	q.items[q.head] = queued{} // let the bytes be collected
	q.head++
	q.compact()
}

// compact moves the live events to the front once the dead prefix is as
// long as they are, keeping pushes and pops amortised O(1).
func (q *queue) compact() {
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
		return
	}
	if q.head >= 64 && q.head >= q.len() {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
}

// lastSeq is the sequence number of the newest event, or 0 when empty.
func (q *queue) lastSeq() uint64 { return q.nextSeq - 1 }

// peek returns up to n of the oldest events whose sequence numbers are at
// most upTo, and the sequence number of the last one returned.
func (q *queue) peek(n int, upTo uint64) (batch [][]byte, last uint64) {
	for _, it := range q.items[q.head:] {
		if len(batch) == n || it.seq > upTo {
			break
		}
		batch = append(batch, it.data)
		last = it.seq
	}
	return batch, last
}

// removeThrough removes the events with sequence numbers up to seq that are
// still queued, and returns how many it removed.
func (q *queue) removeThrough(seq uint64) int {
	n := 0
	for q.len() > 0 && q.items[q.head].seq <= seq {
		q.items[q.head] = queued{}
		q.head++
		n++
	}
	q.compact()
	return n
}

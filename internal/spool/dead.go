package spool

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers of a dead letter.
const (
	hdrReason = "Edgehog-Reason"
	hdrStatus = "Edgehog-Status"
	hdrFailed = "Edgehog-Failed-At"
)

// Dead is one dead letter: a stored request PostHog refused for good.
type Dead struct {
	Seq    uint64
	Record Record
	// Reason says why delivery gave up; Status is PostHog's answer (0 when
	// there was none).
	Reason string
	Status int
	// Failed is when delivery gave up.
	Failed time.Time
	// Corrupt is set when the stored bytes are unreadable.
	Corrupt error
}

// DeadLetter stores rec among the dead letters with the reason delivery
// gave up. It fails (and the caller keeps the request queued) when the
// dead-letter store is full: nothing is dropped silently.
func (q *Queue) DeadLetter(ctx context.Context, rec *Record, status int, reason string) error {
	msg := &nats.Msg{
		Subject: q.deadSubj,
		Data:    AppendRecord(nil, rec),
		Header: nats.Header{
			hdrReason: []string{reason},
			hdrStatus: []string{strconv.Itoa(status)},
			hdrFailed: []string{time.Now().UTC().Format(time.RFC3339Nano)},
		},
	}
	if _, err := q.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("storing a dead letter: %w", err)
	}
	q.counts.deadLettered.Add(1)
	return nil
}

// DeadLetters returns up to n dead letters from sequence from on (0: the
// first), in order.
func (q *Queue) DeadLetters(ctx context.Context, from uint64, n int) ([]Dead, error) {
	info, err := q.dead.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the dead letters: %w", err)
	}
	var out []Dead
	for seq := max(from, info.State.FirstSeq); seq <= info.State.LastSeq && len(out) < n; seq++ {
		m, err := q.dead.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("reading dead letter %d: %w", seq, err)
		}
		d := Dead{Seq: seq, Reason: m.Header.Get(hdrReason)}
		d.Status, _ = strconv.Atoi(m.Header.Get(hdrStatus))
		d.Failed, _ = time.Parse(time.RFC3339Nano, m.Header.Get(hdrFailed))
		d.Record, _, d.Corrupt = ReadRecord(m.Data)
		out = append(out, d)
	}
	return out, nil
}

// Replay moves dead letters back into the queue, to be delivered again
// (after the cause was fixed), and returns how many moved. seqs selects
// them; none means all.
func (q *Queue) Replay(ctx context.Context, seqs ...uint64) (int, error) {
	if len(seqs) == 0 {
		info, err := q.dead.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("reading the dead letters: %w", err)
		}
		for s := info.State.FirstSeq; s <= info.State.LastSeq && info.State.Msgs > 0; s++ {
			seqs = append(seqs, s)
		}
	}
	moved := 0
	for _, seq := range seqs {
		m, err := q.dead.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return moved, fmt.Errorf("reading dead letter %d: %w", seq, err)
		}
		if _, _, err := ReadRecord(m.Data); err != nil {
			return moved, fmt.Errorf("dead letter %d: %w", seq, err)
		}
		msg := &nats.Msg{Subject: q.subject, Data: m.Data, Header: nats.Header{hdrRecords: []string{"1"}}}
		if _, err := q.js.PublishMsg(ctx, msg); err != nil {
			if isFull(err) {
				return moved, ErrFull
			}
			return moved, fmt.Errorf("requeueing dead letter %d: %w", seq, err)
		}
		if err := q.dead.DeleteMsg(ctx, seq); err != nil {
			return moved, fmt.Errorf("removing dead letter %d: %w", seq, err)
		}
		moved++
	}
	return moved, nil
}

// PurgeDead deletes every dead letter and returns how many there were.
func (q *Queue) PurgeDead(ctx context.Context) (uint64, error) {
	info, err := q.dead.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the dead letters: %w", err)
	}
	if err := q.dead.Purge(ctx); err != nil {
		return 0, fmt.Errorf("purging the dead letters: %w", err)
	}
	return info.State.Msgs, nil
}

// PurgeQueue deletes every undelivered request and returns how many frames
// there were. It is for operators who decided to give the data up.
func (q *Queue) PurgeQueue(ctx context.Context) (uint64, error) {
	info, err := q.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the queue: %w", err)
	}
	if err := q.stream.Purge(ctx); err != nil {
		return 0, fmt.Errorf("purging the queue: %w", err)
	}
	return info.State.Msgs, nil
}

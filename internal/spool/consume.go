package spool

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Frame is one stored message handed out for delivery. Exactly one of
// Done, Retry or (implicitly, by AckWait passing) nothing ends it; while it
// is held, call Progress at least once per AckWait.
type Frame struct {
	// Records are the readable records, in stored order.
	Records []Record
	// Corrupt, when not nil, says that the frame (or its tail) could not
	// be read; the records after the damage are lost. It wraps ErrCorrupt.
	Corrupt error
	// Seq is the frame's sequence number in the stream.
	Seq uint64
	// Attempt counts how many times the frame was handed out, 1 first.
	Attempt uint64

	msg jetstream.Msg
}

// Done removes the frame from the queue, waiting for the server to confirm
// so that a crash just after cannot deliver it again.
func (f *Frame) Done(ctx context.Context) error {
	if err := f.msg.DoubleAck(ctx); err != nil {
		return fmt.Errorf("acknowledging frame %d: %w", f.Seq, err)
	}
	return nil
}

// Retry hands the frame back to be delivered again after delay, by this or
// another replica.
func (f *Frame) Retry(delay time.Duration) error {
	if err := f.msg.NakWithDelay(delay); err != nil {
		return fmt.Errorf("returning frame %d: %w", f.Seq, err)
	}
	return nil
}

// Progress tells the server the frame is still being worked on, so that it
// is not handed to another replica after AckWait.
func (f *Frame) Progress() error {
	if err := f.msg.InProgress(); err != nil {
		return fmt.Errorf("extending frame %d: %w", f.Seq, err)
	}
	return nil
}

// Reader hands out stored frames in order. It is not safe for concurrent
// use: one goroutine reads and hands frames to workers.
type Reader struct {
	q  *Queue
	it jetstream.MessagesContext
}

// Reader starts reading the queue; prefetch bounds the frames buffered
// ahead of the caller.
func (q *Queue) Reader(prefetch int) (*Reader, error) {
	it, err := q.cons.Messages(jetstream.PullMaxMessages(max(prefetch, 1)))
	if err != nil {
		return nil, fmt.Errorf("reading the spool: %w", err)
	}
	return &Reader{q: q, it: it}, nil
}

// Next waits for the next frame. A frame that cannot be read whole is
// returned with Corrupt set (and counted); the caller delivers what it can
// and then calls Done.
func (r *Reader) Next(ctx context.Context) (*Frame, error) {
	msg, err := r.it.Next(jetstream.NextContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		select {
		case <-r.q.closing:
			return nil, ErrClosed
		default:
		}
		// The iterator may have ended on a lost connection: the caller
		// starts a new Reader.
		return nil, fmt.Errorf("reading the spool: %w", err)
	}
	f := &Frame{msg: msg}
	if md, err := msg.Metadata(); err == nil {
		f.Seq, f.Attempt = md.Sequence.Stream, md.NumDelivered
	}
	f.Records, f.Corrupt = ReadFrame(msg.Data())
	if f.Corrupt != nil {
		r.q.counts.corrupt.Add(1)
		r.q.log.Error("skipping unreadable stored requests", "seq", f.Seq, "readable", len(f.Records), "err", f.Corrupt)
	}
	return f, nil
}

// Stop ends the reader. Frames fetched ahead and not handed out go back
// to the queue at once; frames handed out and not ended return after
// AckWait.
func (r *Reader) Stop() {
	r.it.Drain()
	for range 4096 { // bounded by the prefetch, far below this
		msg, err := r.it.Next(jetstream.NextMaxWait(time.Second))
		if err != nil {
			return
		}
		msg.Nak()
	}
}

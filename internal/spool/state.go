package spool

import (
	"context"
	"sync/atomic"
	"time"
)

// counters are the Queue's running totals since Open.
type counters struct {
	stored, storedBytes, refused, failed atomic.Uint64
	deadLettered, corrupt, engine        atomic.Uint64
}

// State is a snapshot of the queue for metrics, readiness and the spool
// command.
type State struct {
	// Frames and Bytes are the stored messages (each holds one or more
	// requests) and their size on disk, not yet delivered.
	Frames, Bytes uint64
	// Oldest is when the oldest undelivered frame was stored; zero when
	// the queue is empty.
	Oldest time.Time
	// DeadFrames and DeadBytes are the dead letters kept.
	DeadFrames, DeadBytes uint64
	// Full is whether Put refuses new requests.
	Full bool

	// Totals since Open.
	Stored, StoredBytes uint64 // requests stored and their encoded bytes
	Refused             uint64 // requests refused because the queue was full
	Failed              uint64 // requests whose write failed
	DeadLettered        uint64 // requests moved to the dead letters
	Corrupt             uint64 // stored frames skipped as unreadable
	EngineProblems      uint64 // warnings and errors of the embedded engine (damaged store files among them)
}

// State returns the latest snapshot, refreshed about once a second.
func (q *Queue) State() State {
	q.stateMu.Lock()
	s := q.state
	q.stateMu.Unlock()
	s.Full = q.full.Load()
	s.Stored = q.counts.stored.Load()
	s.StoredBytes = q.counts.storedBytes.Load()
	s.Refused = q.counts.refused.Load()
	s.Failed = q.counts.failed.Load()
	s.DeadLettered = q.counts.deadLettered.Load()
	s.Corrupt = q.counts.corrupt.Load()
	s.EngineProblems = q.counts.engine.Load()
	return s
}

// monitorInterval is how often the queue's size and age are read back.
const monitorInterval = time.Second

func (q *Queue) monitor() {
	defer q.wg.Done()
	t := time.NewTicker(monitorInterval)
	defer t.Stop()
	for {
		select {
		case <-q.closing:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			q.refresh(ctx)
			cancel()
		}
	}
}

// refresh reads the streams' state and decides whether the queue is full:
// within one frame of MaxBytes, or holding a request older than MaxAge.
func (q *Queue) refresh(ctx context.Context) {
	si, err := q.stream.Info(ctx)
	if err != nil {
		q.log.Warn("reading spool state", "err", err)
		return
	}
	var s State
	s.Frames, s.Bytes = si.State.Msgs, si.State.Bytes
	if s.Frames > 0 {
		s.Oldest = si.State.FirstTime
	}
	if di, err := q.dead.Info(ctx); err == nil {
		s.DeadFrames, s.DeadBytes = di.State.Msgs, di.State.Bytes
	}
	full := int64(s.Bytes)+int64(q.frameMax) > q.o.MaxBytes ||
		(!s.Oldest.IsZero() && time.Since(s.Oldest) > q.o.MaxAge)
	if was := q.full.Swap(full); was != full {
		if full {
			q.log.Warn("spool is full: new capture requests pass through", "bytes", s.Bytes, "max_bytes", q.o.MaxBytes, "oldest", s.Oldest)
		} else {
			q.log.Info("spool accepts requests again", "bytes", s.Bytes)
		}
	}
	q.stateMu.Lock()
	q.state = s
	q.stateMu.Unlock()
}

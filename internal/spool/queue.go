package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors Put returns besides those of the context.
var (
	// ErrFull means the queue is at its byte or age bound: the caller
	// passes the request through (or refuses it) instead of storing it.
	ErrFull = errors.New("spool is full")
	// ErrClosed means the Queue is closed.
	ErrClosed = errors.New("spool is closed")
)

// hdrRecords is the message header holding the number of records in a
// frame, so that counts need not decode the frame.
const hdrRecords = "Edgehog-Records"

// Queue is the durable queue of capture requests. Build it with Open; it is
// safe for concurrent use.
type Queue struct {
	o        Options
	log      *slog.Logger
	srv      *server.Server // nil on an external cluster
	nc       *nats.Conn
	js       jetstream.JetStream
	stream   jetstream.Stream
	dead     jetstream.Stream
	cons     jetstream.Consumer
	subject  string
	deadSubj string
	frameMax int
	unlock   func()

	puts    chan *putReq
	closing chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	full    atomic.Bool
	counts  counters
	stateMu sync.Mutex
	state   State
}

type putReq struct {
	rec  *Record
	done chan error
}

// publishTimeout bounds the wait for a frame's acknowledgement. Clients
// are waiting: when a cluster node dies mid-write, they get an error after
// this (and retry) rather than hang while the client reconnects. The write
// may still have happened; a retried request is then stored twice, which
// at-least-once delivery allows (PostHog de-duplicates by uuid).
const publishTimeout = 5 * time.Second

// consumerName is the durable consumer every replica delivers through.
const consumerName = "deliver"

// committers is the number of frames written at once. Two let one frame
// be encoded and queued while the previous one is being fsynced.
const committers = 2

// Open starts the embedded engine (or connects to the cluster), creates or
// updates the streams and the delivery consumer, and checks that the
// largest record fits in one message.
func Open(ctx context.Context, o Options) (*Queue, error) {
	o = o.withDefaults()
	if o.MaxBytes < MinMaxBytes {
		// The queue counts as full within one frame of MaxBytes: a smaller
		// bound would refuse every request from the start.
		return nil, fmt.Errorf("max_bytes: %d bytes is below the minimum of %d (4 MiB)", o.MaxBytes, MinMaxBytes)
	}
	q := &Queue{
		o:        o,
		log:      o.Logger.With("component", "spool"),
		subject:  strings.ToLower("edgehog.spool." + o.Stream + ".q"),
		deadSubj: strings.ToLower("edgehog.spool." + o.Stream + ".dead"),
		puts:     make(chan *putReq, 1024),
		closing:  make(chan struct{}),
	}
	if err := q.connect(); err != nil {
		q.shutdown()
		return nil, err
	}
	if err := q.setup(ctx); err != nil {
		q.shutdown()
		return nil, err
	}
	q.refresh(ctx)
	for range committers {
		q.wg.Add(1)
		go q.commit()
	}
	q.wg.Add(1)
	go q.monitor()
	return q, nil
}

func (q *Queue) connect() error {
	o := q.o
	if o.URL != "" {
		opts := []nats.Option{
			nats.Name("edgehog-spool"),
			nats.MaxReconnects(-1),
			nats.RetryOnFailedConnect(false),
		}
		if o.Credentials != "" {
			opts = append(opts, nats.UserCredentials(o.Credentials))
		}
		nc, err := nats.Connect(o.URL, opts...)
		if err != nil {
			return fmt.Errorf("connecting to nats: %w", err)
		}
		q.nc = nc
		return nil
	}
	if o.Dir == "" {
		return fmt.Errorf("spool: a data directory is required for the embedded engine")
	}
	unlock, err := lockDir(o.Dir)
	if err != nil {
		return err
	}
	q.unlock = unlock
	sopts := &server.Options{
		ServerName: "edgehog-spool",
		// No listener: the only client is in this process.
		DontListen: true,
		JetStream:  true,
		StoreDir:   o.Dir,
		// One message must hold the largest record; the server's default
		// is 1 MiB.
		MaxPayload: int32(min(o.MaxRecord+4096, 1<<31-1)),
		MaxPending: int64(2*o.MaxRecord) + 64<<20,
		NoSigs:     true,
	}
	if o.SyncInterval > 0 {
		sopts.SyncInterval = o.SyncInterval
	} else {
		// fsync every write before the publish is acknowledged.
		sopts.SyncAlways = true
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return fmt.Errorf("starting the embedded nats server: %w", err)
	}
	srv.SetLoggerV2(serverLog{log: q.log.With("engine", "nats"), problems: &q.counts.engine}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("starting the embedded nats server: not ready after 30s")
	}
	q.srv = srv
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name("edgehog-spool"))
	if err != nil {
		return fmt.Errorf("connecting to the embedded nats server: %w", err)
	}
	q.nc = nc
	return nil
}

func (q *Queue) setup(ctx context.Context) error {
	o := q.o
	if err := q.setupCheck(o.MaxRecord); err != nil {
		return err
	}
	q.frameMax = min(frameTarget, int(q.nc.MaxPayload())-1024)
	js, err := jetstream.New(q.nc)
	if err != nil {
		return fmt.Errorf("opening jetstream: %w", err)
	}
	q.js = js
	q.stream, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        o.Stream,
		Description: "edgehog store-and-forward queue of capture requests",
		Subjects:    []string{q.subject},
		Storage:     jetstream.FileStorage,
		// Each stored request is delivered once by one replica, then
		// removed.
		Retention: jetstream.WorkQueuePolicy,
		// Full means refuse, never drop the oldest.
		Discard:    jetstream.DiscardNew,
		MaxBytes:   o.MaxBytes,
		Replicas:   o.Replicas,
		Duplicates: time.Minute,
	})
	if err != nil {
		return fmt.Errorf("creating stream %s: %w", o.Stream, err)
	}
	q.dead, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        o.Stream + "_DEAD",
		Description: "edgehog dead letters: stored requests PostHog refused",
		Subjects:    []string{q.deadSubj},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    o.DeadMaxBytes,
		Replicas:    o.Replicas,
	})
	if err != nil {
		return fmt.Errorf("creating stream %s_DEAD: %w", o.Stream, err)
	}
	if q.srv != nil {
		// The embedded engine is this process's alone (the directory is
		// locked): what the previous process held unacknowledged when it
		// stopped or was killed is delivered again at once, not after
		// AckWait. On a work queue a new consumer starts at the first
		// request not yet acknowledged, so nothing is skipped.
		if err := q.stream.DeleteConsumer(ctx, consumerName); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("resetting the delivery consumer: %w", err)
		}
	}
	q.cons, err = q.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       consumerName,
		Description:   "edgehog delivery to PostHog",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 4096,
	})
	if err != nil {
		return fmt.Errorf("creating the delivery consumer: %w", err)
	}
	return nil
}

// Put stores r durably: when it returns nil, r survives a kill -9 of the
// process and (with the default fsync setting, or a replicated cluster) a
// machine crash. Concurrent Puts share one write. It returns ErrFull when
// the queue is at its bound. r must not change until Put returns.
func (q *Queue) Put(ctx context.Context, r *Record) error {
	if q.full.Load() {
		q.counts.refused.Add(1)
		return ErrFull
	}
	req := &putReq{rec: r, done: make(chan error, 1)}
	select {
	case q.puts <- req:
	case <-q.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The record may still be stored: at-least-once.
		return ctx.Err()
	}
}

// commit writes frames until the Queue closes: it takes one request, adds
// whatever else is waiting, and stores them all with one publish.
func (q *Queue) commit() {
	defer q.wg.Done()
	var buf []byte
	batch := make([]*putReq, 0, frameMaxRecords)
	for {
		var first *putReq
		select {
		case first = <-q.puts:
		case <-q.closing:
			return
		}
		batch = append(batch[:0], first)
		buf = AppendRecord(buf[:0], first.rec)
	fill:
		for len(batch) < frameMaxRecords && len(buf) < q.frameMax {
			select {
			case r := <-q.puts:
				if len(buf)+EncodedLen(r.rec) > q.frameMax {
					// Too big to join: it goes first in the next frame.
					err := q.publish(buf, len(batch))
					reply(batch, err)
					batch = append(batch[:0], r)
					buf = AppendRecord(buf[:0], r.rec)
					continue
				}
				batch = append(batch, r)
				buf = AppendRecord(buf, r.rec)
			default:
				break fill
			}
		}
		reply(batch, q.publish(buf, len(batch)))
		if cap(buf) > 4*frameTarget {
			buf = nil // do not keep a huge body's buffer
		}
	}
}

func reply(batch []*putReq, err error) {
	for _, r := range batch {
		r.done <- err
	}
}

// publish stores one frame and waits for JetStream's acknowledgement,
// which comes after the write (and fsync, or replication) is done.
func (q *Queue) publish(frame []byte, n int) error {
	// Large bodies get a second more per 8 MiB (a slow disk or link).
	wait := publishTimeout + time.Duration(len(frame)>>23)*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	msg := &nats.Msg{Subject: q.subject, Data: frame, Header: nats.Header{hdrRecords: []string{strconv.Itoa(n)}}}
	_, err := q.js.PublishMsg(ctx, msg)
	if err != nil {
		if isFull(err) {
			q.full.Store(true)
			q.counts.refused.Add(uint64(n))
			return ErrFull
		}
		q.counts.failed.Add(uint64(n))
		return fmt.Errorf("storing %d requests: %w", n, err)
	}
	q.counts.stored.Add(uint64(n))
	q.counts.storedBytes.Add(uint64(len(frame)))
	return nil
}

// isFull reports whether a publish failed on the stream's byte limit.
func isFull(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return strings.Contains(api.Description, "maximum bytes") || strings.Contains(api.Description, "maximum messages") || strings.Contains(api.Description, "insufficient resources")
	}
	return false
}

// Full reports whether the queue is at its byte or age bound; readiness
// reflects it.
func (q *Queue) Full() bool { return q.full.Load() }

// Close stops accepting, waits for the frames being written, and shuts the
// engine down. Requests not yet delivered stay on disk.
func (q *Queue) Close() error {
	q.once.Do(func() {
		close(q.closing)
		q.wg.Wait()
		// Requests queued but not written get an error (their clients
		// were not answered as stored).
		for {
			select {
			case r := <-q.puts:
				r.done <- ErrClosed
				continue
			default:
			}
			break
		}
		q.shutdown()
	})
	return nil
}

func (q *Queue) shutdown() {
	if q.nc != nil {
		// Acknowledgements and naks are sent asynchronously: let them out.
		q.nc.FlushTimeout(5 * time.Second)
		q.nc.Close()
	}
	if q.srv != nil {
		q.srv.Shutdown()
		q.srv.WaitForShutdown()
	}
	if q.unlock != nil {
		q.unlock()
	}
}

// setupCheck refuses a maximum record larger than the connection allows.
func (q *Queue) setupCheck(maxRecord int) error {
	if mp := int(q.nc.MaxPayload()); mp < maxRecord {
		return fmt.Errorf("spool: the nats server's max_payload is %d bytes but a stored request may take %d: raise max_payload or lower the body limits of the capture kinds", mp, maxRecord)
	}
	return nil
}

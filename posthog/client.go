package posthog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Library identity sent with every event ($lib, $lib_version) and request
// (User-Agent).
const (
	// Lib is the "$lib" property of every event.
	Lib = "edgehog-go"
	// Version is the "$lib_version" property of every event.
	Version = "0.1.0"

	userAgent = Lib + "/" + Version
)

// Client sends events to PostHog and evaluates feature flags. It is safe for
// concurrent use. Create it with New and end it with Shutdown (or Close):
// the client owns one background goroutine that flushes the queue, and,
// with a PersonalAPIKey, one that polls flag definitions; Shutdown stops
// both.
type Client struct {
	projectKey string
	cfg        settings
	log        *slog.Logger

	mu           sync.Mutex
	q            queue
	maxBatchSize int  // halved by 413 answers
	closed       bool // set by Shutdown: enqueues fail
	timerArmed   bool

	timer *time.Timer   // FlushInterval timer; nil when off
	kick  chan struct{} // wakes run; buffered 1
	sem   chan struct{} // one flush at a time; buffered 1

	quit     chan struct{} // closed by Shutdown: run returns
	quitOnce sync.Once
	cancelBG context.CancelFunc // cancels background flushes
	runDone  chan struct{}      // closed when run returns

	gzips sync.Pool // *gzip.Writer

	flags *flagState // nil until the flags side is set up
}

// New returns a client for the project key ("phc_…") configured by opts,
// and starts its background flusher.
func New(projectKey string, opts Options) (*Client, error) {
	cfg, err := opts.resolve(projectKey)
	if err != nil {
		return nil, fmt.Errorf("posthog: %w", err)
	}
	c := &Client{
		projectKey:   projectKey,
		cfg:          cfg,
		log:          cfg.log.With("component", "posthog"),
		q:            newQueue(cfg.maxQueueSize),
		maxBatchSize: cfg.maxBatchSize,
		kick:         make(chan struct{}, 1),
		sem:          make(chan struct{}, 1),
		quit:         make(chan struct{}),
		runDone:      make(chan struct{}),
	}
	if cfg.flushInterval > 0 {
		c.timer = time.AfterFunc(time.Hour, c.onTimer)
		c.timer.Stop()
	}
	c.flags, err = newFlagState(c)
	if err != nil {
		return nil, fmt.Errorf("posthog: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancelBG = cancel
	go c.run(ctx)
	c.flags.start(ctx)
	return c, nil
}

// Capture queues an event. It returns an error only for invalid input
// (empty event name, invalid UUID, properties encoding/json cannot encode)
// or after Shutdown; delivery problems go to Options.OnError.
func (c *Client) Capture(e Event) error {
	data, err := c.encode(e.DistinctID, e.Event, e.Properties, captureExtras(&e), e.Timestamp, e.UUID, e.DisableGeoip)
	if err != nil {
		return fmt.Errorf("posthog: capture: %w", err)
	}
	return c.enqueue(data)
}

// Identify queues an "$identify" event setting person properties.
func (c *Client) Identify(m IdentifyMessage) error {
	if m.DistinctID == "" {
		return fmt.Errorf("posthog: identify: %w", errEmptyDistinctID)
	}
	props := []prop{{"$set", orEmpty(m.Set)}, {"$set_once", orEmpty(m.SetOnce)}}
	if m.AnonDistinctID != "" {
		props = append(props, prop{"$anon_distinct_id", m.AnonDistinctID})
	}
	data, err := c.encode(m.DistinctID, "$identify", nil, props, m.Timestamp, m.UUID, m.DisableGeoip)
	if err != nil {
		return fmt.Errorf("posthog: identify: %w", err)
	}
	return c.enqueue(data)
}

// Alias queues a "$create_alias" event linking m.Alias to m.DistinctID.
func (c *Client) Alias(m AliasMessage) error {
	if m.DistinctID == "" || m.Alias == "" {
		return fmt.Errorf("posthog: alias: distinct id and alias must not be empty")
	}
	props := []prop{{"distinct_id", m.DistinctID}, {"alias", m.Alias}}
	data, err := c.encode(m.DistinctID, "$create_alias", nil, props, m.Timestamp, m.UUID, m.DisableGeoip)
	if err != nil {
		return fmt.Errorf("posthog: alias: %w", err)
	}
	return c.enqueue(data)
}

// GroupIdentify queues a "$groupidentify" event setting group properties.
func (c *Client) GroupIdentify(m GroupIdentifyMessage) error {
	if m.GroupType == "" || m.GroupKey == "" {
		return fmt.Errorf("posthog: group identify: group type and key must not be empty")
	}
	distinctID := m.DistinctID
	if distinctID == "" {
		distinctID = "$" + m.GroupType + "_" + m.GroupKey
	}
	props := []prop{
		{"$group_type", m.GroupType},
		{"$group_key", m.GroupKey},
		{"$group_set", orEmpty(m.Properties)},
	}
	data, err := c.encode(distinctID, "$groupidentify", nil, props, m.Timestamp, m.UUID, m.DisableGeoip)
	if err != nil {
		return fmt.Errorf("posthog: group identify: %w", err)
	}
	return c.enqueue(data)
}

// enqueue adds an encoded event, starts the interval timer and wakes the
// flusher at FlushAt (posthog-core enqueue).
func (c *Client) enqueue(data []byte) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	dropped := c.q.push(data)
	n := c.q.len()
	if c.timer != nil && !c.timerArmed {
		c.timerArmed = true
		c.timer.Reset(c.cfg.flushInterval)
	}
	c.mu.Unlock()
	if dropped {
		c.report(fmt.Errorf("%w: the oldest event was dropped (max queue size %d)", ErrQueueFull, c.cfg.maxQueueSize))
	}
	if n >= c.cfg.flushAt {
		c.wake()
	}
	return nil
}

// report hands an error that has no caller to Options.OnError and the log.
func (c *Client) report(err error) {
	c.log.Warn("posthog error", "error", err)
	if c.cfg.onError != nil {
		c.cfg.onError(err)
	}
}

// wake asks the flusher for a flush; a pending request is enough.
func (c *Client) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// onTimer runs on the interval timer's own goroutine.
func (c *Client) onTimer() {
	c.mu.Lock()
	c.timerArmed = false
	c.mu.Unlock()
	c.wake()
}

// stopTimer disarms the interval timer; every flush does (posthog-core
// _flush clears it), the next enqueue arms it again.
func (c *Client) stopTimer() {
	if c.timer == nil {
		return
	}
	c.mu.Lock()
	c.timer.Stop()
	c.timerArmed = false
	c.mu.Unlock()
}

// run is the background flusher: one flush per wake-up until Shutdown.
func (c *Client) run(ctx context.Context) {
	defer close(c.runDone)
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		}
		select {
		case c.sem <- struct{}{}:
		case <-c.quit:
			return
		}
		sent, err := c.drain(ctx)
		// Decided before the slot is released: once it is, Shutdown may
		// cancel ctx, and this flush's own failure must still be reported.
		aborted := ctx.Err() != nil
		<-c.sem
		if err != nil && !aborted {
			c.report(err)
		}
		c.mu.Lock()
		left := c.q.len()
		// Events that stayed queued after a network failure are tried
		// again after FlushInterval (posthog-node waits for the next
		// capture instead). Events queued during the flush start the next
		// one at once if they reached FlushAt, but only when this flush
		// made progress, so a dead upstream is not hammered.
		if left > 0 && c.timer != nil && !c.timerArmed && !c.closed {
			c.timerArmed = true
			c.timer.Reset(c.cfg.flushInterval)
		}
		c.mu.Unlock()
		if sent > 0 && left >= c.cfg.flushAt {
			c.wake()
		}
	}
}

// Flush sends every event queued when it is called, waiting for a flush
// already in progress first. It returns when they are settled or ctx ends.
// Events refused by PostHog (an *APIError) are dropped and the flush goes
// on with the next batch; on a network failure (a *NetworkError, after
// retries) or when ctx ends, the events not yet sent stay queued. The
// error joins every failure.
func (c *Client) Flush(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("posthog: flush: waiting for the flush in progress: %w", ctx.Err())
	}
	defer func() { <-c.sem }()
	_, err := c.drain(ctx)
	return err
}

// drain sends the events queued now, batch by batch, and returns how many
// were settled. The caller holds sem.
func (c *Client) drain(ctx context.Context) (settled int, err error) {
	c.stopTimer()
	c.mu.Lock()
	upTo := c.q.lastSeq()
	c.mu.Unlock()
	var errs []error
	for {
		c.mu.Lock()
		batch, last := c.q.peek(c.maxBatchSize, upTo)
		c.mu.Unlock()
		if len(batch) == 0 {
			break
		}
		err := c.sendBatch(ctx, batch)
		if err == nil {
			c.settle(last)
			settled += len(batch)
			continue
		}
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("posthog: flush: %w", ctx.Err()))
			break
		}
		var ae *APIError
		if errors.As(err, &ae) {
			if ae.Status == 413 && len(batch) > 1 {
				// posthog-core _flushRoute: halve the batch size for
				// good and send the same events again.
				c.mu.Lock()
				c.maxBatchSize = max(1, len(batch)/2)
				size := c.maxBatchSize
				c.mu.Unlock()
				c.log.WarnContext(ctx, "batch too large, halving batch size", "events", len(batch), "max_batch_size", size)
				continue
			}
			// Refused: PostHog will not take these events, drop them.
			c.settle(last)
			settled += len(batch)
			errs = append(errs, err)
			continue
		}
		// Network error after retries: keep the events for later.
		errs = append(errs, err)
		break
	}
	if len(errs) == 0 {
		return settled, nil
	}
	if len(errs) == 1 {
		return settled, errs[0]
	}
	return settled, errors.Join(errs...)
}

// settle removes a sent (or refused) batch from the queue.
func (c *Client) settle(last uint64) {
	c.mu.Lock()
	c.q.removeThrough(last)
	c.mu.Unlock()
}

// Shutdown stops the client: later captures fail with ErrClosed, the flag
// poller and the background flusher stop, and every queued event is sent.
// It waits for a flush in progress and returns when all events are
// settled or ctx ends; in the latter case the error wraps ctx's error and
// says how many events were not delivered. Calling it again flushes what
// is left, if anything.
func (c *Client) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
		c.timerArmed = false
	}
	c.mu.Unlock()
	c.quitOnce.Do(func() { close(c.quit) })
	c.flags.stop()

	var err error
	select {
	case c.sem <- struct{}{}:
		_, err = c.drain(ctx)
		<-c.sem
	case <-ctx.Done():
		err = fmt.Errorf("posthog: shutdown: waiting for the flush in progress: %w", ctx.Err())
	}
	// Whatever is still running in the background (a flush delayed by
	// retries, when ctx ended first) is abandoned now.
	c.cancelBG()
	<-c.runDone
	c.flags.wait()

	c.mu.Lock()
	left := c.q.len()
	c.mu.Unlock()
	if left > 0 {
		if err == nil {
			err = fmt.Errorf("posthog: shutdown: %d events not delivered", left)
		} else {
			err = fmt.Errorf("%w (%d events not delivered)", err, left)
		}
	}
	return err
}

// Close is Shutdown with DefaultShutdownTimeout (30 s, as posthog-node), for
// use with defer and io.Closer.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownTimeout)
	defer cancel()
	return c.Shutdown(ctx)
}

// Queued returns the number of events waiting to be sent.
func (c *Client) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.q.len()
}

// Package deliver drains edgehog's spool to PostHog: in stored order, with
// bounded concurrency, retrying with backoff and jitter what may succeed
// later and moving what PostHog refuses for good to the dead letters.
// Delivery is at least once; PostHog de-duplicates events by uuid.
package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgehog/edgehog/internal/spool"
)

// Options configure a Deliverer. Zero values mean the defaults given on
// each field.
type Options struct {
	// Queue is the spool to drain. Required.
	Queue *spool.Queue
	// API is PostHog's API origin; a path in it is prepended to each
	// stored path. Required.
	API *url.URL
	// Transport carries the requests; nil means a transport with the
	// timeouts below.
	Transport http.RoundTripper
	// Concurrency is the number of stored frames delivered at once;
	// default 4. With 1, requests reach PostHog strictly in stored order.
	Concurrency int
	// Timeout bounds one delivery attempt; default 30s.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts; defaults
	// 500ms and 5m. A Retry-After from PostHog is honoured up to 1h.
	MinBackoff, MaxBackoff time.Duration
	// ProgressEvery is how often a frame held for retries is reported as
	// in progress, so that no other replica takes it; default 10s (below
	// the spool's AckWait).
	ProgressEvery time.Duration
	// Now returns the current time; nil means time.Now. Tests move it to
	// simulate late delivery.
	Now func() time.Time
	// Logger receives delivery reports; nil discards.
	Logger *slog.Logger
}

// Deliverer drains a spool. Build it with New and run it with Run.
type Deliverer struct {
	o      Options
	client *http.Client
	log    *slog.Logger
	stats  counters
}

type counters struct {
	delivered, retried, deadLettered, unshifted, attempts atomic.Uint64
	inFlight                                              atomic.Int64
}

// Stats are the Deliverer's totals since New.
type Stats struct {
	Delivered    uint64 // requests PostHog accepted
	Retried      uint64 // attempts that failed and will be retried
	DeadLettered uint64 // requests PostHog refused for good
	Unshifted    uint64 // requests delivered with their stored body because its encoding could not be rewritten
	Attempts     uint64 // delivery attempts
	InFlight     int64  // frames being delivered now
}

// New checks o and builds a Deliverer.
func New(o Options) (*Deliverer, error) {
	if o.Queue == nil || o.API == nil {
		return nil, fmt.Errorf("deliver: a queue and an API upstream are required")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	rt := o.Transport
	if rt == nil {
		rt = &http.Transport{
			Proxy:                 nil,
			ResponseHeaderTimeout: o.Timeout,
			MaxIdleConnsPerHost:   o.Concurrency,
			ForceAttemptHTTP2:     true,
			DisableCompression:    true,
		}
	}
	return &Deliverer{
		o: o,
		// Redirects are answers to record, not to follow.
		client: &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		log:    o.Logger.With("component", "deliver"),
	}, nil
}

// Stats returns the totals since New.
func (d *Deliverer) Stats() Stats {
	return Stats{
		Delivered:    d.stats.delivered.Load(),
		Retried:      d.stats.retried.Load(),
		DeadLettered: d.stats.deadLettered.Load(),
		Unshifted:    d.stats.unshifted.Load(),
		Attempts:     d.stats.attempts.Load(),
		InFlight:     d.stats.inFlight.Load(),
	}
}

// Run delivers until ctx is done or the queue closes, then returns once
// every worker stopped. Frames being delivered when ctx ends go back to the
// queue.
func (d *Deliverer) Run(ctx context.Context) error {
	frames := make(chan *spool.Frame)
	var wg sync.WaitGroup
	for range d.o.Concurrency {
		wg.Go(func() {
			for f := range frames {
				d.frame(ctx, f)
			}
		})
	}
	defer wg.Wait()
	defer close(frames)
	for attempt := 0; ; attempt++ {
		rd, err := d.o.Queue.Reader(d.o.Concurrency)
		if err == nil {
			err = d.read(ctx, rd, frames)
			rd.Stop()
			if err == nil {
				return nil
			}
		}
		if errors.Is(err, spool.ErrClosed) || ctx.Err() != nil {
			return nil
		}
		// A lost connection to the cluster ends the reader: start again.
		d.log.Warn("reading the spool; starting again", "err", err)
		if !sleep(ctx, backoff(min(attempt, 6), d.o.MinBackoff, d.o.MaxBackoff)) {
			return nil
		}
	}
}

// read hands frames to the workers until ctx ends (nil) or rd fails.
func (d *Deliverer) read(ctx context.Context, rd *spool.Reader, frames chan<- *spool.Frame) error {
	for {
		f, err := rd.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case frames <- f:
		case <-ctx.Done():
			f.Retry(0)
			return nil
		}
	}
}

// frame delivers every record of f in order, then removes f.
func (d *Deliverer) frame(ctx context.Context, f *spool.Frame) {
	d.stats.inFlight.Add(1)
	defer d.stats.inFlight.Add(-1)
	for i := range f.Records {
		if !d.record(ctx, f, &f.Records[i]) {
			// Stopping: the frame is delivered again later, from its
			// first record (PostHog drops the duplicates by uuid).
			f.Retry(0)
			return
		}
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := f.Done(dctx); err != nil {
		d.log.Warn("acknowledging a delivered frame; it will be delivered again", "seq", f.Seq, "err", err)
	}
}

// outcome of one attempt.
type outcome int

const (
	delivered outcome = iota
	retry
	refused
)

// record delivers one stored request, retrying until PostHog accepts or
// refuses it for good. It returns false when ctx ended first.
func (d *Deliverer) record(ctx context.Context, f *spool.Frame, rec *spool.Record) bool {
	lastProgress := time.Now()
	for attempt := 0; ; attempt++ {
		res, status, wait, reason := d.attempt(ctx, rec)
		switch res {
		case delivered:
			d.stats.delivered.Add(1)
			return true
		case refused:
			for {
				err := d.o.Queue.DeadLetter(ctx, rec, status, reason)
				if err == nil {
					d.stats.deadLettered.Add(1)
					d.log.Error("PostHog refused a stored request; moved to the dead letters",
						"path", rec.Path, "status", status, "reason", reason, "received", rec.Received)
					return true
				}
				d.log.Error("storing a dead letter; the request stays queued", "err", err)
				if !d.wait(ctx, f, d.o.MaxBackoff, &lastProgress) {
					return false
				}
			}
		}
		if ctx.Err() != nil {
			return false
		}
		d.stats.retried.Add(1)
		if wait <= 0 {
			wait = backoff(attempt, d.o.MinBackoff, d.o.MaxBackoff)
		}
		d.log.Warn("delivery failed; retrying", "path", rec.Path, "status", status, "reason", reason, "attempt", attempt+1, "retry_in", wait)
		if !d.wait(ctx, f, wait, &lastProgress) {
			return false
		}
	}
}

// wait sleeps for dur, telling the queue the frame is in progress on the
// way, and reports whether ctx is still live.
func (d *Deliverer) wait(ctx context.Context, f *spool.Frame, dur time.Duration, last *time.Time) bool {
	for dur > 0 {
		step := min(dur, d.o.ProgressEvery)
		if !sleep(ctx, step) {
			return false
		}
		dur -= step
		if time.Since(*last) >= d.o.ProgressEvery/2 {
			if err := f.Progress(); err != nil {
				d.log.Warn("extending a frame being retried", "err", err)
			}
			*last = time.Now()
		}
	}
	return true
}

// attempt sends rec once and classifies the answer: 2xx delivered; a
// network error, 408, 429 or 5xx retry (with PostHog's Retry-After when it
// gave one); any other answer refused.
func (d *Deliverer) attempt(ctx context.Context, rec *spool.Record) (outcome, int, time.Duration, string) {
	d.stats.attempts.Add(1)
	rw := Shift(rec.Body, rec.RawQuery, rec.Header.Get("Content-Type"), rec.Header.Get("Content-Encoding"), rec.Received, d.o.Now())
	if rw.Kept != nil {
		d.stats.unshifted.Add(1)
	}
	u := *d.o.API
	u.Path = strings.TrimSuffix(u.Path, "/") + rec.Path
	u.RawPath = ""
	u.RawQuery = rw.RawQuery
	actx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, rec.Method, u.String(), bytes.NewReader(rw.Body))
	if err != nil {
		return refused, 0, 0, "building the request: " + err.Error()
	}
	for k, vs := range rec.Header {
		req.Header[k] = vs
	}
	if rec.ClientIP.IsValid() {
		req.Header.Set("X-Forwarded-For", rec.ClientIP.String())
	}
	if len(rw.Body) == 0 {
		req.Body = http.NoBody
	}
	res, err := d.client.Do(req)
	if err != nil {
		return retry, 0, 0, err.Error()
	}
	// Read (a bounded part of) the answer so the connection is reused.
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch s := res.StatusCode; {
	case s >= 200 && s < 300:
		return delivered, s, 0, ""
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return retry, s, retryAfter(res.Header.Get("Retry-After"), d.o.Now()), res.Status
	default:
		return refused, s, 0, strings.TrimSpace(res.Status + " " + string(msg))
	}
}

// maxRetryAfter caps PostHog's Retry-After.
const maxRetryAfter = time.Hour

// retryAfter parses a Retry-After header: delay seconds or an HTTP date
// (RFC 9110 §10.2.3). Zero means absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}

// backoff is the wait before retry number attempt+1: exponential from lo,
// capped at hi, with "equal jitter" (half fixed, half random) so that many
// replicas coming back together do not retry in step.
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for range min(attempt, 40) {
		d *= 2
		if d >= hi {
			d = hi
			break
		}
	}
	half := d / 2
	return half + rand.N(half+1)
}

// sleep waits for d or until ctx is done, and reports whether ctx is live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

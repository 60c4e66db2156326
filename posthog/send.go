package posthog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// batchPath is where posthog-node sends every capture (getBatchEndpointPath).
const batchPath = "/batch/"

// errorBodyLimit is how much of an error answer is kept for APIError.Body.
const errorBodyLimit = 512

// buildBatch is the /batch/ body: {"api_key","batch":[…],"sent_at"} and,
// for imports, "historical_migration": true (posthog-core sendBatch).
func (c *Client) buildBatch(events [][]byte) []byte {
	var buf bytes.Buffer
	size := 64
	for _, e := range events {
		size += len(e) + 1
	}
	buf.Grow(size)
	key, _ := json.Marshal(c.projectKey) // a string: cannot fail
	buf.WriteString(`{"api_key":`)
	buf.Write(key)
	buf.WriteString(`,"batch":[`)
	for i, e := range events {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(e)
	}
	buf.WriteString(`],"sent_at":"`)
	buf.WriteString(isoTime(c.cfg.now()))
	buf.WriteByte('"')
	if c.cfg.historicalMigration {
		buf.WriteString(`,"historical_migration":true`)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// gzipBody compresses body with a pooled writer.
func (c *Client) gzipBody(body []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(body)/4 + 64)
	zw, _ := c.gzips.Get().(*gzip.Writer)
	if zw == nil {
		zw = gzip.NewWriter(&out)
	} else {
		zw.Reset(&out)
	}
	// Writes to a bytes.Buffer cannot fail.
	_, _ = zw.Write(body)
	_ = zw.Close()
	c.gzips.Put(zw)
	return out.Bytes()
}

// sendBatch posts events to /batch/ with posthog-node's retry policy: up to
// retryCount retries, retryDelay apart, after network errors and 408, 429
// and 5xx answers; 413 and other statuses are returned at once. The error
// is an *APIError, a *NetworkError, or ctx's error.
func (c *Client) sendBatch(ctx context.Context, events [][]byte) error {
	body := c.buildBatch(events)
	header := http.Header{"Content-Type": {"application/json"}}
	if c.cfg.compress {
		body = c.gzipBody(body)
		header.Set("Content-Encoding", "gzip")
	}
	var err error
	for attempt := 0; attempt <= c.cfg.retryCount; attempt++ {
		if attempt > 0 {
			c.log.DebugContext(ctx, "retrying batch", "attempt", attempt, "error", err)
			if !sleepCtx(ctx, c.cfg.retryDelay) {
				return ctx.Err()
			}
		}
		err = c.post(ctx, batchPath, header, body, c.cfg.requestTimeout)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retryableCapture(err) {
			break
		}
	}
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Events = len(events)
	}
	var ne *NetworkError
	if errors.As(err, &ne) {
		ne.Events = len(events)
	}
	return err
}

// retryableCapture is posthog-core's isPostHogFetchRetryableError: network
// errors, 408, 429 and 5xx. 413 is not retried: the caller halves the batch.
func retryableCapture(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusRequestTimeout || ae.Status == http.StatusTooManyRequests || ae.Status >= 500
	}
	var ne *NetworkError
	return errors.As(err, &ne)
}

// post sends one POST attempt and reads the answer, which is discarded on
// success.
func (c *Client) post(ctx context.Context, path string, header http.Header, body []byte, timeout time.Duration) error {
	resp, err := c.do(ctx, http.MethodPost, path, header, body, timeout)
	if err != nil {
		return err
	}
	// Read a little of the body so the connection can be reused; PostHog's
	// capture answers are tiny.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	return nil
}

// do sends one request with its own timeout and returns a 2xx response
// whose body the caller must close. Other statuses become *APIError,
// transport failures *NetworkError.
func (c *Client) do(ctx context.Context, method, path string, header http.Header, body []byte, timeout time.Duration) (*http.Response, error) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, c.cfg.host+path, rd)
	if err != nil {
		cancel()
		return nil, &NetworkError{Path: pathOnly(path), Err: err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.cfg.httpClient.Do(req)
	if err != nil {
		cancel()
		return nil, &NetworkError{Path: pathOnly(path), Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
		resp.Body.Close()
		cancel()
		return nil, &APIError{Path: pathOnly(path), Status: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases a request's timeout context with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body and cancels the request context.
func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// pathOnly strips the query from a request path for error messages.
func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// sleepCtx waits d; false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

package posthog

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by calls made after Shutdown.
var ErrClosed = errors.New("posthog: client is shut down")

// ErrQueueFull is wrapped by the error OnError receives when the queue is at
// MaxQueueSize and the oldest event is dropped to make room.
var ErrQueueFull = errors.New("posthog: queue full")

// APIError is an HTTP answer outside 2xx from PostHog (or a proxy in front
// of it), after any retries.
type APIError struct {
	// Path is the request path, for example "/batch/".
	Path string
	// Status is the HTTP status code.
	Status int
	// Body is the start of the answer's body, for diagnostics.
	Body string
	// Events is how many events the refused batch held (0 for flag
	// requests). They are not sent again.
	Events int
}

// Error implements error.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("posthog: %s answered %d", e.Path, e.Status)
	if e.Events > 0 {
		msg += fmt.Sprintf(", %d events dropped", e.Events)
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// NetworkError is a request that got no HTTP answer (connection refused or
// reset, timeout) after any retries. The events of a failed capture batch
// stay queued and are sent again by the next flush.
type NetworkError struct {
	// Path is the request path.
	Path string
	// Events is how many events the batch held (0 for flag requests).
	Events int
	// Err is the transport's error.
	Err error
}

// Error implements error.
func (e *NetworkError) Error() string {
	if e.Events > 0 {
		return fmt.Sprintf("posthog: sending %d events to %s: %v", e.Events, e.Path, e.Err)
	}
	return fmt.Sprintf("posthog: requesting %s: %v", e.Path, e.Err)
}

// Unwrap returns the transport's error.
func (e *NetworkError) Unwrap() error { return e.Err }

package fakehog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Request is one request as the fake received and answered it. Byte slices
// and maps are shared with the fake's own copy: treat them as read-only
// (Header is the exception, it is cloned for every caller).
type Request struct {
	// Upstream is the listener that received the request: UpstreamAPI
	// ("api") or UpstreamAssets ("assets").
	Upstream string

	// Method, Path, RawQuery, Host, RemoteAddr and Proto are taken from
	// the http.Request unchanged.
	Method, Path, RawQuery, Host, RemoteAddr, Proto string

	// Header is the request header as received.
	Header http.Header

	// Body is the first Options.MaxRecordBody raw bytes of the body, as
	// received (not decoded).
	Body []byte

	// BodyLen is the length of the whole body.
	BodyLen int64

	// BodySHA256 is the lowercase hex SHA-256 of the whole raw body.
	BodySHA256 string

	// Decoded is the decoded JSON payload of a capture or flags request
	// when it could be decoded, else nil.
	Decoded []byte

	// DecodeErr says why a capture or flags payload was not decoded.
	DecodeErr string

	// Events are the capture events found in Decoded.
	Events []Event

	// Status is the status the fake answered, or 0 when it did not answer
	// (Fault.Reset, or the client or the fake went away during
	// Fault.Delay).
	Status int

	// Faulted reports whether a Fault applied to this request.
	Faulted bool

	// Time is when the fake started handling the request.
	Time time.Time
}

// Event is one capture event from a decoded payload.
type Event struct {
	// UUID and Event are the event's "uuid" and "event" fields. For these,
	// DistinctID and Timestamp, numbers are kept as their JSON text. On
	// /engage a missing event name reads "$identify", as in capture.
	UUID, Event string

	// DistinctID is the top-level "distinct_id", else
	// properties.distinct_id.
	DistinctID string

	// Properties is the decoded "properties" object, nil if absent.
	Properties map[string]any

	// Timestamp is the event's "timestamp".
	Timestamp string

	// Raw is the event's JSON exactly as it appeared in the payload.
	Raw json.RawMessage

	// Path is the request path the event arrived on.
	Path string
}

// newRequest builds the record of r; Status is set when the answer is known.
func newRequest(upstream string, r *http.Request, in inbound, res decodeResult, faulted bool, start time.Time) *Request {
	return &Request{
		Upstream:   upstream,
		Method:     r.Method,
		Path:       r.URL.Path,
		RawQuery:   r.URL.RawQuery,
		Host:       r.Host,
		RemoteAddr: r.RemoteAddr,
		Proto:      r.Proto,
		Header:     r.Header.Clone(),
		Body:       in.data,
		BodyLen:    in.n,
		BodySHA256: in.sum,
		Decoded:    res.decoded,
		DecodeErr:  res.err,
		Events:     res.events,
		Faulted:    faulted,
		Time:       start,
	}
}

// recorder keeps requests in arrival order.
type recorder struct {
	mu      sync.Mutex
	reqs    []Request
	changed chan struct{} // closed and replaced on every change
}

func newRecorder() recorder {
	return recorder{changed: make(chan struct{})}
}

func (r *recorder) add(req Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	close(r.changed)
	r.changed = make(chan struct{})
}

// Requests returns a copy of everything recorded, in arrival order.
func (f *Fake) Requests() []Request {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	out := make([]Request, len(f.rec.reqs))
	for i, req := range f.rec.reqs {
		req.Header = req.Header.Clone()
		req.Events = slices.Clip(req.Events)
		out[i] = req
	}
	return out
}

// Events returns every decoded capture event across all recorded requests,
// in arrival order.
func (f *Fake) Events() []Event {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	var out []Event
	for _, req := range f.rec.reqs {
		out = append(out, req.Events...)
	}
	return out
}

// Reset forgets every recorded request. Faults stay set.
func (f *Fake) Reset() {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	f.rec.reqs = nil
	close(f.rec.changed)
	f.rec.changed = make(chan struct{})
}

// WaitRequests waits until at least n requests are recorded or ctx ends.
// A request is recorded just before its answer is written, so once a
// client has its response the request is already visible.
func (f *Fake) WaitRequests(ctx context.Context, n int) error {
	for {
		f.rec.mu.Lock()
		got, changed := len(f.rec.reqs), f.rec.changed
		f.rec.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d requests, have %d: %w", n, got, ctx.Err())
		case <-changed:
		}
	}
}

// inbound is a request body as read by readBody.
type inbound struct {
	data     []byte // the first bytes, up to MaxRecordBody
	n        int64  // length of the whole body
	sum      string // hex SHA-256 of the whole body
	complete bool   // data holds the whole body
}

// readBody reads body to the end, keeping at most keep bytes and hashing all
// of them, so a 64 MiB upload costs no more memory than the kept part.
// The kept slice never has a capacity above keep. sizeHint (Content-Length,
// -1 if unknown) only sizes the first allocation; buf is scratch space.
func readBody(body io.Reader, keep, sizeHint int64, buf []byte) (inbound, error) {
	h := sha256.New()
	var data []byte
	if sizeHint > 0 {
		data = make([]byte, 0, min(sizeHint, keep))
	}
	var n int64
	var err error
	for {
		m, rerr := body.Read(buf)
		if m > 0 {
			h.Write(buf[:m])
			n += int64(m)
			if room := keep - int64(len(data)); room > 0 {
				data = appendCapped(data, buf[:min(int64(m), room)], keep)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	return inbound{
		data:     data,
		n:        n,
		sum:      hex.EncodeToString(h.Sum(nil)),
		complete: n <= keep,
	}, err
}

// appendCapped appends p to data, growing it by doubling but never past
// limit bytes of capacity (plain append may overshoot).
func appendCapped(data, p []byte, limit int64) []byte {
	if need := len(data) + len(p); need > cap(data) {
		grown := make([]byte, len(data), min(max(2*cap(data), need, 4096), int(limit)))
		copy(grown, data)
		data = grown
	}
	return append(data, p...)
}

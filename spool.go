package edgehog

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/edgehog/edgehog/internal/deliver"
	"github.com/edgehog/edgehog/internal/forward"
	"github.com/edgehog/edgehog/internal/spool"
)

// SpoolOptions configure store-and-forward of capture requests (/e,
// /i/v0/e, /batch, /capture, /track, /engage, /s, /i/v0/ai*), so that no
// event is lost while PostHog or the network to it is down
// (docs/spool.md). Zero values mean the defaults given on each field.
type SpoolOptions struct {
	// Mode is "off" (the default: pass-through), "fallback" (forward as
	// usual; when upstream fails with a connect error, timeout, 408, 429
	// or 5xx, store the request and answer as PostHog would) or "always"
	// (store durably, answer at once, deliver in the background).
	Mode string
	// Dir is the data directory of the embedded engine. Required unless
	// NATSURL is set.
	Dir string
	// NATSURL, when set, stores the spool on an external NATS JetStream
	// cluster (comma-separated server URLs) instead of the embedded
	// engine; every edgehog replica pointed at it shares one queue.
	NATSURL string
	// NATSCredentials names a NATS credentials file for NATSURL.
	NATSCredentials string
	// Stream is the JetStream stream name; default "EDGEHOG_SPOOL".
	Stream string
	// Replicas is the stream's replication factor on a cluster (3 for
	// R3); default 1.
	Replicas int
	// MaxBytes bounds the queue on disk; default 1 GiB. When it is
	// reached, requests pass through (fallback) or get 503 (always)
	// instead of being stored; nothing stored is dropped.
	MaxBytes int64
	// MaxAge counts the queue as full while its oldest request is older;
	// default 72h. Nothing expires.
	MaxAge time.Duration
	// SyncInterval is how often the embedded engine fsyncs. Zero (the
	// default) fsyncs every write before the client is answered, so that
	// stored requests survive a machine crash; a positive interval keeps
	// them through a kill -9 only.
	SyncInterval time.Duration
	// Concurrency is the number of stored requests delivered at once;
	// default 4. 1 delivers in strict order.
	Concurrency int
	// MaxBackoff caps the wait between delivery attempts; default 5m.
	MaxBackoff time.Duration
}

// The spool modes.
const (
	SpoolOff      = "off"
	SpoolFallback = "fallback"
	SpoolAlways   = "always"
)

// Codes of the answers edgehog gives on the spool's behalf (RequestInfo
// Outcome and the access log).
const (
	codeSpooled   = "spooled"
	codeSpoolFull = "spool_full"
)

// spooler is the Proxy's store-and-forward: the queue, its delivery loop
// and the request-path counters.
type spooler struct {
	always   bool
	q        *spool.Queue
	d        *deliver.Deliverer
	maxBody  int
	cancel   context.CancelFunc
	done     chan struct{}
	passed   atomic.Uint64 // requests not stored: full, too large or failed
	answered atomic.Uint64 // requests answered from the spool
}

// Validate checks the spool settings without opening anything (so that a
// configuration can be checked while a running edgehog holds the spool).
func (o SpoolOptions) Validate() error {
	switch o.Mode {
	case "", SpoolOff:
		return nil
	case SpoolFallback, SpoolAlways:
	default:
		return fmt.Errorf("%w: spool.mode: %q is not off, fallback or always", ErrConfig, o.Mode)
	}
	if o.Dir == "" && o.NATSURL == "" {
		return fmt.Errorf("%w: spool.dir: a data directory (or spool.nats.url) is required when spool.mode is %s", ErrConfig, o.Mode)
	}
	if o.MaxBytes != 0 && o.MaxBytes < spool.MinMaxBytes {
		return fmt.Errorf("%w: spool.max_bytes: %d bytes is below the minimum of %d (4 MiB): the spool would be full from the start", ErrConfig, o.MaxBytes, spool.MinMaxBytes)
	}
	if o.Replicas < 0 || o.Concurrency < 0 || o.MaxAge < 0 || o.SyncInterval < 0 || o.MaxBackoff < 0 {
		return fmt.Errorf("%w: spool: replicas, concurrency and durations must not be negative", ErrConfig)
	}
	return nil
}

// setSpool opens the spool and starts delivery when o.Mode is not off.
func (p *Proxy) setSpool(o SpoolOptions, l Limits, up UpstreamOptions, roots *x509.CertPool) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Mode == "" || o.Mode == SpoolOff {
		return nil
	}
	l = l.withDefaults()
	maxBody := max(l.Events, l.Batch, l.Recordings, l.AI)
	if maxBody < 0 || maxBody > 1<<30 {
		// An unlimited kind: bodies above this pass through unstored.
		maxBody = 64 * mib
	}
	const headroom = 64 << 10 // method, path, query and headers
	q, err := spool.Open(context.Background(), spool.Options{
		Dir:          o.Dir,
		URL:          o.NATSURL,
		Credentials:  o.NATSCredentials,
		Stream:       o.Stream,
		Replicas:     o.Replicas,
		MaxBytes:     o.MaxBytes,
		MaxAge:       o.MaxAge,
		MaxRecord:    int(maxBody) + headroom,
		SyncInterval: o.SyncInterval,
		Logger:       p.log,
	})
	if err != nil {
		return fmt.Errorf("%w: spool: %w", ErrConfig, err)
	}
	rt := p.cfg.Transport
	if rt == nil {
		rt = deliveryTransport(up, roots)
	}
	d, err := deliver.New(deliver.Options{
		Queue:       q,
		API:         p.api,
		Transport:   rt,
		Concurrency: o.Concurrency,
		Timeout:     up.ResponseHeaderTimeout,
		MaxBackoff:  o.MaxBackoff,
		Logger:      p.log,
	})
	if err != nil {
		q.Close()
		return fmt.Errorf("%w: spool: %w", ErrConfig, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &spooler{always: o.Mode == SpoolAlways, q: q, d: d, maxBody: int(maxBody), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		d.Run(ctx)
	}()
	p.spool = s
	return nil
}

// deliveryTransport is the upstream transport of the delivery loop, with
// the same connection settings as the forwarder's.
func deliveryTransport(up UpstreamOptions, roots *x509.CertPool) http.RoundTripper {
	var tlsConf *tls.Config
	if roots != nil {
		tlsConf = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: up.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     !up.DisableHTTP2,
		TLSHandshakeTimeout:   up.TLSHandshakeTimeout,
		ResponseHeaderTimeout: up.ResponseHeaderTimeout,
		IdleConnTimeout:       up.IdleConnTimeout,
		MaxIdleConnsPerHost:   16,
		DisableCompression:    true,
	}
	if up.DisableHTTP2 {
		// A non-nil, empty map turns net/http's HTTP/2 off.
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return t
}

// closeSpool stops delivery (requests being delivered go back to the
// queue) and closes the queue.
func (p *Proxy) closeSpool() {
	s := p.spool
	if s == nil {
		return
	}
	s.cancel()
	<-s.done
	s.q.Close()
}

// SpoolStatus is a snapshot of the store-and-forward spool, for metrics,
// readiness and operators.
type SpoolStatus struct {
	// Mode is fallback or always.
	Mode string
	// Full is whether new requests are refused by the spool (they pass
	// through in fallback mode, get 503 in always mode).
	Full bool
	// Frames and Bytes are what waits for delivery (a frame holds one or
	// more requests stored together); Oldest is when the oldest frame was
	// stored, zero when none waits.
	Frames, Bytes uint64
	Oldest        time.Time
	// DeadFrames and DeadBytes are the dead letters kept.
	DeadFrames, DeadBytes uint64

	// Totals since New.
	Stored        uint64 // requests stored
	StoredBytes   uint64 // their encoded size
	Answered      uint64 // requests edgehog answered because they were stored
	PassedThrough uint64 // requests that could not be stored and went on (or got 503)
	Delivered     uint64 // stored requests PostHog accepted
	Retried       uint64 // failed delivery attempts to be retried
	DeadLettered  uint64 // stored requests PostHog refused for good
	Corrupt       uint64 // stored frames skipped as unreadable
	Unshifted     uint64 // deliveries whose body encoding could not carry the timestamp shift
	// EngineProblems counts the embedded engine's warnings and errors (a
	// damaged store file shows up here); they are in the log too.
	EngineProblems uint64
}

// SpoolStatus returns the spool's state; ok is false when the spool is off.
func (p *Proxy) SpoolStatus() (st SpoolStatus, ok bool) {
	s := p.spool
	if s == nil {
		return st, false
	}
	qs, ds := s.q.State(), s.d.Stats()
	st = SpoolStatus{
		Mode: SpoolFallback, Full: qs.Full,
		Frames: qs.Frames, Bytes: qs.Bytes, Oldest: qs.Oldest,
		DeadFrames: qs.DeadFrames, DeadBytes: qs.DeadBytes,
		Stored: qs.Stored, StoredBytes: qs.StoredBytes,
		Answered: s.answered.Load(), PassedThrough: s.passed.Load(),
		Delivered: ds.Delivered, Retried: ds.Retried, DeadLettered: ds.DeadLettered,
		Corrupt: qs.Corrupt, Unshifted: ds.Unshifted, EngineProblems: qs.EngineProblems,
	}
	if s.always {
		st.Mode = SpoolAlways
	}
	return st, true
}

// SpoolReady returns an error when the spool makes this instance unfit for
// traffic: in always mode, a full spool answers capture requests with 503.
// In fallback mode a full spool only passes requests through.
func (p *Proxy) SpoolReady() error {
	if s := p.spool; s != nil && s.always && s.q.Full() {
		return errors.New("spool is full")
	}
	return nil
}

// serveSpooled handles a capture request when the spool is on.
func (p *Proxy) serveSpooled(w http.ResponseWriter, r *http.Request, st *forward.State) {
	s := p.spool
	if r.Method != http.MethodPost {
		// Preflights (when CORS is left to upstream), HEAD probes and
		// legacy GET captures go to PostHog as they are.
		p.dispatch(w, r, st)
		return
	}
	if r.ContentLength > int64(s.maxBody) {
		s.passed.Add(1)
		p.dispatch(w, r, st)
		return
	}
	received := time.Now()
	body, err := readBody(r, s.maxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			st.Code = forward.CodeTooLarge
			w.Header().Set("Connection", "close")
			forward.WriteError(w, http.StatusRequestEntityTooLarge, forward.CodeTooLarge, "request body exceeds the limit for this endpoint")
		case r.Context().Err() != nil:
			st.Code = forward.CodeClientGone
			if rs, ok := w.(interface{ SetStatus(int) }); ok {
				rs.SetStatus(forward.StatusClientClosed)
			}
		default:
			st.Code = forward.CodeBadRequest
			forward.WriteError(w, http.StatusBadRequest, forward.CodeBadRequest, "reading the request body: "+err.Error())
		}
		return
	}
	if len(body) > s.maxBody {
		// Larger than a stored request may be (a kind without a body
		// limit): it goes to PostHog as it would without a spool.
		s.passed.Add(1)
		setBody(r, body)
		p.dispatch(w, r, st)
		return
	}
	rec := &spool.Record{
		Received: received,
		Method:   r.Method,
		Path:     st.Match.Path,
		RawQuery: r.URL.RawQuery,
		Header:   make(http.Header, 4),
		ClientIP: st.ClientIP,
		Body:     body,
	}
	for k, v := range r.Header {
		if spool.KeepHeader(k) {
			rec.Header[k] = v
		}
	}
	if s.always {
		if err := s.q.Put(r.Context(), rec); err != nil {
			s.passed.Add(1)
			p.spoolRefused(w, st, err)
			return
		}
		s.answered.Add(1)
		st.Code = codeSpooled
		answerCaptured(w, r)
		return
	}
	// Fallback: forward the buffered body; on an upstream failure, store
	// it instead and answer as PostHog would.
	setBody(r, body)
	fw := &fallbackWriter{w: w, h: make(http.Header)}
	p.dispatch(fw, r, st)
	if !fw.failed {
		return
	}
	if err := s.q.Put(r.Context(), rec); err != nil {
		// Not stored: the client gets upstream's failure and retries.
		s.passed.Add(1)
		p.log.Warn("storing a capture request upstream failed", "path", rec.Path, "err", err)
		fw.replay()
		return
	}
	s.answered.Add(1)
	st.Code = codeSpooled
	answerCaptured(w, r)
}

// spoolRefused answers an always-mode request the spool could not take.
// 503 tells SDKs to retry later (posthog-js retries it with backoff); the
// request is not lost, it was never acknowledged.
func (p *Proxy) spoolRefused(w http.ResponseWriter, st *forward.State, err error) {
	st.Code, st.Err = codeSpoolFull, err
	w.Header().Set("Retry-After", "30")
	msg := "spool is full"
	if !errors.Is(err, spool.ErrFull) {
		msg = "storing the request failed"
		p.log.Error("storing a capture request", "err", err)
	}
	forward.WriteError(w, http.StatusServiceUnavailable, codeSpoolFull, msg)
}

// answerCaptured answers exactly as PostHog capture does on success:
// 200 {"status":"Ok"}, or 204 for beacon=1 (protocol.md §4.1).
func answerCaptured(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if r.URL.Query().Get("beacon") == "1" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", "15")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, `{"status":"Ok"}`)
}

// readBody reads the whole request body; limit sizes the first allocation.
func readBody(r *http.Request, limit int) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	n := 512
	if r.ContentLength > 0 && r.ContentLength <= int64(limit) {
		n = int(r.ContentLength) + 1 // +1: the read that sees EOF
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	_, err := buf.ReadFrom(r.Body)
	return buf.Bytes(), err
}

// setBody makes r carry body from the start again.
func setBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	if len(body) == 0 {
		r.Body = http.NoBody
	}
}

// isUpstreamFailure reports whether an answer on the way to the client
// means upstream failed in a way the spool covers: edgehog's own 502/504
// (connect error, timeout), 408, 429 or any 5xx from PostHog.
func isUpstreamFailure(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// fallbackWriter holds back an answer that says upstream failed, so that
// the request can be stored and answered as accepted instead. Any other
// answer passes straight through.
type fallbackWriter struct {
	w      http.ResponseWriter
	h      http.Header
	status int
	failed bool
	held   []byte
}

// maxHeld bounds the failure body kept to replay when storing fails.
const maxHeld = 64 << 10

func (f *fallbackWriter) Header() http.Header { return f.h }

func (f *fallbackWriter) WriteHeader(code int) {
	if f.status != 0 || code < 200 {
		return
	}
	f.status = code
	if isUpstreamFailure(code) {
		f.failed = true
		return
	}
	dst := f.w.Header()
	for k, v := range f.h {
		dst[k] = v
	}
	f.w.WriteHeader(code)
}

func (f *fallbackWriter) Write(b []byte) (int, error) {
	if f.status == 0 {
		f.WriteHeader(http.StatusOK)
	}
	if f.failed {
		if room := maxHeld - len(f.held); room > 0 {
			f.held = append(f.held, b[:min(room, len(b))]...)
		}
		return len(b), nil
	}
	return f.w.Write(b)
}

// FlushError implements the flusher http.ResponseController looks for.
func (f *fallbackWriter) FlushError() error {
	if f.failed || f.status == 0 {
		return nil
	}
	return http.NewResponseController(f.w).Flush()
}

// replay sends the held-back failure to the client after all.
func (f *fallbackWriter) replay() {
	dst := f.w.Header()
	for k, v := range f.h {
		dst[k] = v
	}
	dst.Set("Content-Length", fmt.Sprint(len(f.held)))
	f.w.WriteHeader(f.status)
	f.w.Write(f.held)
}

package forward

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"

	"github.com/edgehog/edgehog/internal/errbody"
)

// Error codes of the JSON bodies edgehog answers itself. The shape follows
// PostHog capture's error body: {"status":413,"code":"payload_too_large",
// "error":"..."} (protocol.md §4.1).
const (
	CodeTooLarge         = "payload_too_large"
	CodeUpstreamDown     = "upstream_unreachable"
	CodeUpstreamTimeout  = "upstream_timeout"
	CodeUpstreamRedirect = "upstream_redirect"
	CodeUpstreamError    = "upstream_error"
	CodeClientGone       = "client_gone"
	CodeNotFound         = "not_found"
	CodeMethod           = "method_not_allowed"
	CodeBadRequest       = "bad_request"
)

// StatusClientClosed is recorded (never sent) when the client went away
// before the answer, after nginx's 499.
const StatusClientClosed = 499

// WriteError answers with status and a JSON error body.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	body := errbody.New(status, code, msg)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errUpstreamRedirect is returned by modifyResponse for a 3xx answer.
var errUpstreamRedirect = errors.New("upstream answered with a redirect")

// classify maps a forwarding error to the status the client gets and the
// error code. clientCtx is the context of the incoming request, before any
// edgehog-imposed deadline: when it is done the client has gone away.
func classify(err error, clientCtx context.Context) (status int, code, msg string) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, CodeTooLarge,
			"request body exceeds the limit of " + strconv.FormatInt(tooBig.Limit, 10) + " bytes for this endpoint"
	case clientCtx.Err() != nil:
		return StatusClientClosed, CodeClientGone, "client went away"
	case errors.Is(err, errUpstreamRedirect):
		return http.StatusBadGateway, CodeUpstreamRedirect, "upstream answered with a redirect; edgehog does not follow redirects: check the upstream URL"
	case isTimeout(err):
		return http.StatusGatewayTimeout, CodeUpstreamTimeout, "upstream did not answer in time"
	case isConnect(err):
		return http.StatusBadGateway, CodeUpstreamDown, "upstream could not be reached"
	}
	return http.StatusBadGateway, CodeUpstreamError, "upstream connection failed"
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isConnect(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

package metrics

// Upstream error causes.
const (
	causeNone     = iota
	causeConnect  // upstream could not be reached (dial, DNS)
	causeTimeout  // no answer in time
	causeStatus5x // upstream answered 5xx
	causeRedirect // upstream answered a redirect, which edgehog refuses
	causeReset    // the connection broke (reset, EOF, TLS)
	numCauses
)

var causeNames = [numCauses]string{"none", "connect", "timeout", "status_5xx", "redirect", "reset"}

// Rejection reasons: requests edgehog answered itself without asking
// upstream.
const (
	reasonNone       = iota
	reasonTooLarge   // body over the kind's limit (413)
	reasonRateLimit  // client over its rate limit (429)
	reasonNotExposed // not an SDK endpoint under exposure "public" (404)
	reasonBadPath    // path that fails the safety check (400, 414)
	reasonCORS       // origin not allowed (403)
	reasonMethod     // CONNECT (405)
	reasonNoRoute    // host or path outside every route: a wrong prefix or host (404)
	reasonBadRequest // a body edgehog had to read and could not (400)
	reasonSpoolFull  // store-and-forward queue full while upstream is down (503)
	reasonOther      // an error answer with a code not listed here
	numReasons
)

var reasonNames = [numReasons]string{"none", "body_too_large", "rate_limited", "not_exposed", "bad_path", "cors", "method", "no_route", "bad_request", "spool_full", "other"}

// outcome is what RequestDone counts besides the request itself.
type outcome struct {
	cause      int
	reason     int
	clientGone bool
}

// classify maps a request's outcome code (edgehog.RequestInfo.Outcome: the
// code of edgehog's own JSON error answer) and status to a cause or a
// reason. This is the one place codes become metric labels: a new code
// that is not listed counts as a "reset" upstream error if the status is
// 502 or 504, as an "other" rejection for any other error status, and as
// nothing for a success; TestClassify lists every known code.
func classify(code string, status int) outcome {
	switch code {
	case "":
		if status >= 500 && status <= 599 {
			// No code of edgehog's own: upstream answered the 5xx.
			return outcome{cause: causeStatus5x}
		}
		return outcome{}
	case "client_gone":
		return outcome{clientGone: true}
	case "upstream_unreachable":
		return outcome{cause: causeConnect}
	case "upstream_timeout":
		return outcome{cause: causeTimeout}
	case "upstream_redirect":
		return outcome{cause: causeRedirect}
	case "upstream_error":
		return outcome{cause: causeReset}
	case "payload_too_large":
		return outcome{reason: reasonTooLarge}
	case "rate_limited":
		return outcome{reason: reasonRateLimit}
	case "not_found":
		return outcome{reason: reasonNotExposed}
	case "bad_path":
		return outcome{reason: reasonBadPath}
	case "cors_rejected":
		return outcome{reason: reasonCORS}
	case "method_not_allowed":
		return outcome{reason: reasonMethod}
	case "no_route":
		return outcome{reason: reasonNoRoute}
	case "bad_request":
		return outcome{reason: reasonBadRequest}
	case "spool_full":
		return outcome{reason: reasonSpoolFull}
	}
	switch {
	case status == 502 || status == 504:
		return outcome{cause: causeReset}
	case status >= 400:
		// An error answer of edgehog's own: counted, never silent.
		return outcome{reason: reasonOther}
	}
	// A success edgehog answered itself ("spooled": stored for delivery).
	return outcome{}
}

package deliver

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PostHog corrects client clock skew with the request's sent_at and the
// moment capture receives the request:
//
//	timestamp = now + (event.timestamp - sent_at)
//
// (protocol.md §3.1; posthog capture's skew correction). A request
// delivered late would move every event by the delay, so delivery moves
// sent_at by exactly the delay instead, and PostHog computes what it would
// have computed on time. Events without a timestamp would get the delivery
// moment; they are given the request's own sent_at (unshifted: the client's
// clock at sending, which the correction maps back to the receive time), or
// the receive time when the request carries no sent_at at all.
//
// Only these bytes change: the value of "sent_at" at the top level of the
// body (and in each element of a top-level array), the "_" and "sent_at"
// query parameters, and a "timestamp" member added to events that lack
// one. Every other byte of the JSON stays as it was; the layers around it
// (gzip, base64, the form's data field) are re-encoded only when the JSON
// changed, and the form's other fields are kept byte for byte.

// maxInflated bounds a decompressed body: larger bodies are delivered
// unchanged rather than expanded without limit.
const maxInflated = 256 << 20

// errUnsupported means the body's encoding cannot be rewritten (lz64, an
// unknown compression, malformed data); it is delivered unchanged.
var errUnsupported = errors.New("body encoding not rewritable")

// Rewrite is the outcome of shifting one stored request.
type Rewrite struct {
	Body     []byte
	RawQuery string
	// Changed is whether Body differs from the stored body.
	Changed bool
	// Kept, when not nil, says why the body was left as stored although it
	// might need shifting (an encoding edgehog cannot rewrite).
	Kept error
}

// Shift returns the body and query to deliver for a request received at
// received and delivered at now. contentType and contentEncoding are the
// request's headers.
func Shift(body []byte, rawQuery, contentType, contentEncoding string, received, now time.Time) Rewrite {
	// Whole milliseconds: PostHog's precision, and what "_" can carry.
	delay := now.Sub(received).Truncate(time.Millisecond)
	if delay < 0 {
		delay = 0
	}
	out := Rewrite{Body: body, RawQuery: rawQuery}
	q, qSentAt, hint := shiftQuery(rawQuery, delay)
	out.RawQuery = q
	stamp := received
	if !qSentAt.IsZero() {
		stamp = qSentAt
	}
	nb, changed, err := shiftBody(body, contentType, contentEncoding, hint, delay, stamp)
	if err != nil {
		out.Kept = err
		return out
	}
	if changed {
		out.Body, out.Changed = nb, true
	}
	return out
}

// shiftQuery moves the "_" and "sent_at" parameters (milliseconds since
// the epoch) by delay, keeping every other byte of the query. It returns
// the original sent_at time and the compression hint.
func shiftQuery(raw string, delay time.Duration) (string, time.Time, string) {
	if raw == "" {
		return raw, time.Time{}, ""
	}
	var b strings.Builder
	var sentAt time.Time
	var hint string
	rest := raw
	for first := true; rest != "" || first; first = false {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if !first {
			b.WriteByte('&')
		}
		k, v, hasV := strings.Cut(pair, "=")
		switch k {
		case "_", "sent_at":
			// PostHog reads milliseconds; it ignores second-precision
			// values, and so does edgehog.
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil && hasV && ms > 1e11 {
				sentAt = time.UnixMilli(ms)
				b.WriteString(k + "=" + strconv.FormatInt(ms+delay.Milliseconds(), 10))
				continue
			}
		case "compression":
			hint, _ = url.QueryUnescape(v)
		}
		b.WriteString(pair)
	}
	return b.String(), sentAt, strings.ToLower(hint)
}

// shiftBody peels the body's layers the way PostHog capture does
// (protocol.md §3.1), shifts the JSON and puts the same layers back.
func shiftBody(body []byte, contentType, contentEncoding, hint string, delay time.Duration, stamp time.Time) ([]byte, bool, error) {
	if len(body) == 0 {
		return body, false, nil
	}
	if contentType == "application/x-www-form-urlencoded" {
		return shiftForm(body, contentEncoding, hint, delay, stamp)
	}
	return shiftPayload(body, contentEncoding, hint, delay, stamp)
}

// shiftForm rewrites only the data field of a form body.
func shiftForm(body []byte, contentEncoding, hint string, delay time.Duration, stamp time.Time) ([]byte, bool, error) {
	pairs := bytes.Split(body, []byte("&"))
	di := -1
	for i, p := range pairs {
		k, v, _ := bytes.Cut(p, []byte("="))
		switch string(k) {
		case "data":
			di = i
		case "compression":
			if hint == "" {
				h, _ := url.QueryUnescape(string(v))
				hint = strings.ToLower(h)
			}
		}
	}
	if di < 0 {
		return nil, false, fmt.Errorf("%w: form without data", errUnsupported)
	}
	_, v, _ := bytes.Cut(pairs[di], []byte("="))
	data, err := url.QueryUnescape(string(v))
	if err != nil {
		return nil, false, fmt.Errorf("%w: form data: %v", errUnsupported, err)
	}
	// QueryUnescape turned base64's '+' into spaces; PostHog puts them back.
	data = strings.ReplaceAll(data, " ", "+")
	nd, changed, err := shiftPayload([]byte(data), contentEncoding, hint, delay, stamp)
	if err != nil || !changed {
		return nil, false, err
	}
	pairs[di] = append([]byte("data="), url.QueryEscape(string(nd))...)
	return bytes.Join(pairs, []byte("&")), true, nil
}

// shiftPayload handles base64 and gzip around the JSON.
func shiftPayload(p []byte, contentEncoding, hint string, delay time.Duration, stamp time.Time) ([]byte, bool, error) {
	switch hint {
	case "", "gzip", "gzip-js", "base64", "b64":
	default:
		return nil, false, fmt.Errorf("%w: compression %q", errUnsupported, hint)
	}
	if isGzip(p) || ((hint == "gzip" || hint == "gzip-js" || isGzipEncoding(contentEncoding)) && !looksJSON(p)) {
		zr, err := gzip.NewReader(bytes.NewReader(p))
		if err != nil {
			return nil, false, fmt.Errorf("%w: gzip: %v", errUnsupported, err)
		}
		plain, err := io.ReadAll(io.LimitReader(zr, maxInflated+1))
		if err != nil || len(plain) > maxInflated {
			return nil, false, fmt.Errorf("%w: gzip body unreadable or over %d bytes", errUnsupported, maxInflated)
		}
		nj, changed, err := shiftJSON(plain, delay, stamp)
		if err != nil || !changed {
			return nil, false, err
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(nj)
		if err := zw.Close(); err != nil {
			return nil, false, err
		}
		return buf.Bytes(), true, nil
	}
	if looksJSON(p) {
		return shiftJSON(p, delay, stamp)
	}
	// Base64, by hint or because it is neither JSON nor gzip (PostHog
	// decodes a payload that looks like base64 first).
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(p)))
	if err != nil || !(isGzip(dec) || looksJSON(dec)) {
		// One base64 layer only, around gzip or JSON.
		return nil, false, fmt.Errorf("%w: neither JSON, gzip nor base64", errUnsupported)
	}
	inner, changed, err := shiftPayload(dec, "", "", delay, stamp)
	if err != nil || !changed {
		return nil, false, err
	}
	return []byte(base64.StdEncoding.EncodeToString(inner)), true, nil
}

func isGzip(p []byte) bool { return len(p) >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 }

func isGzipEncoding(ce string) bool {
	ce = strings.ToLower(strings.TrimSpace(ce))
	return ce == "gzip" || ce == "x-gzip"
}

func looksJSON(p []byte) bool {
	p = bytes.TrimLeft(p, " \t\r\n")
	return len(p) > 0 && (p[0] == '{' || p[0] == '[')
}

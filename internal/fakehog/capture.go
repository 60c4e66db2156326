package fakehog

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// isCapturePath reports whether p is a Rust capture route, with or without
// a trailing slash (protocol.md §1): /e, /i/v0/e, /batch, /capture, /track,
// /engage, /s and everything under /i/v0/ai.
func isCapturePath(p string) bool {
	switch strings.TrimSuffix(p, "/") {
	case "/e", "/i/v0/e", "/batch", "/capture", "/track", "/engage", "/s", "/i/v0/ai":
		return true
	}
	return strings.HasPrefix(p, "/i/v0/ai/")
}

// capture answers a capture request like PostHog (protocol.md §4.1):
// 200 {"status":"Ok"}, 204 for ?beacon=1, a JSON error for a payload it
// cannot decode.
func (f *Fake) capture(r *http.Request, in inbound, decode bool) (reply, decodeResult) {
	q := r.URL.Query()
	var res decodeResult
	if decode {
		mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case strings.HasPrefix(mediaType, "multipart/"):
			// /i/v0/ai takes multipart uploads; PostHog accepts them,
			// fakehog does not look inside.
			res.err = "multipart payloads are not decoded by fakehog"
		case q.Get("data") == "" && !in.complete:
			res.err = "body too large to decode"
		default:
			var err error
			if res.decoded, res.events, err = decodeCaptureEvents(q, r.Header, in.data, r.URL.Path, f.decodeLimit()); err != nil {
				res.err = err.Error()
				var de *decodeError
				if errors.As(err, &de) && de.status != 0 {
					return captureErrorReply(de), res
				}
			}
		}
	}
	if q.Get("beacon") == "1" {
		return newReply(http.StatusNoContent, "", nil), res
	}
	return jsonReply(http.StatusOK, []byte(`{"status":"Ok"}`)), res
}

// decodeCaptureEvents decodes a capture payload and its events. decoded is
// returned whenever it is valid JSON, even if its events are not acceptable.
func decodeCaptureEvents(q url.Values, h http.Header, body []byte, path string, limit int) (decoded []byte, events []Event, err error) {
	payload, err := decodeCapture(q, h, body, limit)
	if err != nil {
		return nil, nil, err
	}
	events, err = parseEvents(payload, path)
	if err != nil {
		if json.Valid(payload) {
			return payload, nil, err
		}
		return nil, nil, err
	}
	return payload, events, nil
}

// captureErrorReply is capture's error body, {"status","code","error"}
// (PH:rust/capture/src/api.rs ErrorBody).
func captureErrorReply(de *decodeError) reply {
	body, _ := json.Marshal(struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
		Error  string `json:"error"`
	}{de.status, de.code, de.msg})
	return jsonReply(de.status, body)
}

// decodeLimit caps decoded payloads (see Options.MaxRecordBody).
func (f *Fake) decodeLimit() int {
	return int(min(f.opts.MaxRecordBody*decodeFactor, 1<<40))
}

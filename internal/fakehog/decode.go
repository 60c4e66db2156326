package fakehog

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// formMIME is compared exactly, as capture does: "…; charset=utf-8" is not a
// form (protocol.md §3.1 step 3).
const formMIME = "application/x-www-form-urlencoded"

// decodeError is a payload the fake refuses. status and code follow
// capture's api.rs (CaptureError::status_code, code); status 0 marks a
// payload PostHog would take but the fake cannot decode (lz64): the client
// gets the normal answer and the record gets the error.
type decodeError struct {
	status int
	code   string
	msg    string
}

func (e *decodeError) Error() string { return e.msg }

func errDecoding(detail string) *decodeError {
	return &decodeError{http.StatusBadRequest, "request_decoding_error", "failed to decode request: " + detail}
}

func errParsing(detail string) *decodeError {
	return &decodeError{http.StatusBadRequest, "request_parsing_error", "failed to parse request: " + detail}
}

func errTooBig(limit int) *decodeError {
	return &decodeError{http.StatusRequestEntityTooLarge, "payload_too_large",
		"maximum event size exceeded: decoded payload over " + strconv.Itoa(limit) + " bytes"}
}

var (
	errEmptyPayload = &decodeError{http.StatusBadRequest, "empty_payload", "request missing data payload"}
	errEmptyBatch   = &decodeError{http.StatusBadRequest, "empty_batch", "request holds no event"}
	errLZ64         = &decodeError{0, "", "lz64 compression is not decoded by fakehog"}
)

// compression is a decoding hint (PH:rust/capture/src/payload/types.rs).
type compression int

const (
	compNone compression = iota
	compGzip
	compLZ64
	compBase64
)

// parseCompression reads a query or form hint; capture lowercases these.
func parseCompression(v string) compression {
	switch strings.ToLower(v) {
	case "gzip", "gzip-js":
		return compGzip
	case "lz64", "lz-string":
		return compLZ64
	case "base64", "b64":
		return compBase64
	}
	return compNone
}

// compressionHint applies capture's precedence: query, then form, then the
// Content-Encoding header, which is compared case-sensitively
// (PH:rust/capture/src/utils.rs extract_compression).
func compressionHint(query, form, contentEncoding string) compression {
	if c := parseCompression(query); c != compNone {
		return c
	}
	if c := parseCompression(form); c != compNone {
		return c
	}
	switch contentEncoding {
	case "gzip", "gzip-js":
		return compGzip
	case "lz64", "lz-string":
		return compLZ64
	case "base64", "b64":
		return compBase64
	}
	return compNone
}

// decodeCapture turns a capture request into its JSON payload the way
// PostHog capture does (protocol.md §3.1; PH:rust/capture/src/payload/
// common.rs extract_payload_bytes and decompression.rs decompress_payload).
// limit caps the decoded size.
//
// One leniency over capture: a payload still base64 after decompression is
// unwrapped on every path, not only the legacy ones (/e, /capture, /track,
// /engage), because posthog-js beacons post base64 forms to /i/v0/e/ and
// production accepts them (protocol.md §2.1).
func decodeCapture(q url.Values, h http.Header, body []byte, limit int) ([]byte, error) {
	raw := body
	if d := q.Get("data"); d != "" {
		// Query values arrive URL-decoded, so base64 '+' became ' '; capture
		// restores them for form data, and fakehog does so here as well.
		if likelyBase64(d, true) {
			d = strings.ReplaceAll(d, " ", "+")
		}
		raw = []byte(d)
	}
	if len(raw) == 0 {
		return nil, errEmptyPayload
	}

	// Step 2: a payload that is entirely strict base64 is decoded first.
	payload := raw
	if !likelyForm(raw) && likelyBase64(raw, false) {
		if dec, err := decodeBase64(raw); err == nil {
			payload = dec
		}
	}

	// Step 3: forms, only for this exact Content-Type.
	var formCompression string
	if h.Get("Content-Type") == formMIME {
		if !likelyForm(payload) {
			return nil, errDecoding("expected form data in POST request payload")
		}
		form, err := url.ParseQuery(string(payload))
		if err != nil {
			return nil, errDecoding("invalid urlencoded form data")
		}
		formCompression = form.Get("compression")
		if form.Has("data") {
			d := form.Get("data")
			// Form decoding turned base64 '+' into ' '.
			if likelyBase64(d, true) {
				d = strings.ReplaceAll(d, " ", "+")
			}
			payload = []byte(d)
		}
	}

	comp := compressionHint(q.Get("compression"), formCompression, h.Get("Content-Encoding"))
	return decompress(payload, comp, limit)
}

// decompress applies the compression hint, sniffing gzip magic bytes
// regardless of it (posthog-js ≥1.398.2 sends none, protocol.md §10.1).
func decompress(b []byte, comp compression, limit int) ([]byte, error) {
	var out []byte
	switch {
	case comp == compGzip || hasGzipMagic(b):
		var err error
		if out, err = gunzip(b, limit); err != nil {
			return nil, err
		}
		if !utf8.Valid(out) {
			return nil, errDecoding("invalid gzip data")
		}
	case comp == compLZ64:
		return nil, errLZ64
	default:
		// compBase64 lands here too: capture does not act on the hint
		// itself, the base64 unwrap below does the work.
		if len(b) > limit {
			return nil, errTooBig(limit)
		}
		if !utf8.Valid(b) {
			return nil, errDecoding("invalid UTF8 in request payload")
		}
		out = b
	}
	if likelyBase64(out, false) {
		if dec, err := decodeBase64(out); err == nil && utf8.Valid(dec) {
			out = dec
		}
	}
	return out, nil
}

// hasGzipMagic reports whether b starts like a gzip member (RFC 1952 §2.3.1).
func hasGzipMagic(b []byte) bool {
	return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b
}

// gunzip decompresses the first gzip member of b (as flate2's GzDecoder
// does), failing once the output would exceed limit.
func gunzip(b []byte, limit int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, errDecoding("invalid GZIP data")
	}
	zr.Multistream(false)
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, errDecoding("invalid GZIP data")
	}
	if len(out) > limit {
		return nil, errTooBig(limit)
	}
	return out, nil
}

// likelyForm mirrors capture's is_likely_urlencoded_form: one of its known
// keys at the start or after '&' within the first 128 bytes.
func likelyForm(b []byte) bool {
	prefix := b[:min(len(b), 128)]
	for _, key := range []string{"data=", "_=", "ip=", "compression="} {
		if bytes.HasPrefix(prefix, []byte(key)) || bytes.Contains(prefix, []byte("&"+key)) {
			return true
		}
	}
	return false
}

// likelyBase64 mirrors capture's is_likely_base64: the first 128 bytes are
// base64 characters (spaces too when loose, for URL-decoded input) and the
// length is a multiple of 4.
func likelyBase64[T string | []byte](s T, loose bool) bool {
	if len(s) == 0 || len(s)%4 != 0 {
		return false
	}
	for i := 0; i < min(len(s), 128); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '+', c == '/', c == '=':
		case loose && c == ' ':
		default:
			return false
		}
	}
	return true
}

// decodeBase64 decodes standard padded base64 without copying b to a string.
func decodeBase64(b []byte) ([]byte, error) {
	dec := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(dec, b)
	return dec[:n], err
}

// parseEvents extracts the events of a decoded capture payload: a single
// event, an array of events, or {"batch": [...], "api_key", "sent_at"}
// (protocol.md §3.1 step 7). On /engage an event without a name is an
// "$identify", as in capture's RawRequest::events.
func parseEvents(payload []byte, path string) ([]Event, error) {
	trimmed := bytes.TrimLeft(payload, " \t\r\n")
	var raws []json.RawMessage
	switch {
	case len(trimmed) == 0:
		return nil, errParsing("no JSON value")
	case trimmed[0] == '[':
		if err := json.Unmarshal(payload, &raws); err != nil {
			return nil, errParsing(err.Error())
		}
	case trimmed[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(payload, &obj); err != nil {
			return nil, errParsing(err.Error())
		}
		if batch, ok := obj["batch"]; ok {
			if err := json.Unmarshal(batch, &raws); err != nil {
				return nil, errParsing("batch: " + err.Error())
			}
		} else {
			raws = []json.RawMessage{bytes.TrimSpace(payload)}
		}
	default:
		return nil, errParsing("expected a JSON object or array")
	}
	if len(raws) == 0 {
		return nil, errEmptyBatch
	}
	engage := strings.HasPrefix(path, "/engage")
	events := make([]Event, 0, len(raws))
	for i, raw := range raws {
		ev, err := parseEvent(raw)
		if err != nil {
			return nil, errParsing("event " + strconv.Itoa(i) + ": " + err.Error())
		}
		if ev.Event == "" && engage {
			ev.Event = "$identify"
		}
		ev.Path = path
		events = append(events, ev)
	}
	return events, nil
}

// wireEvent is the part of a capture event the fake looks at. Scalars are
// raw so that numbers and strings both decode.
type wireEvent struct {
	UUID       json.RawMessage `json:"uuid"`
	Event      json.RawMessage `json:"event"`
	DistinctID json.RawMessage `json:"distinct_id"`
	Properties json.RawMessage `json:"properties"`
	Timestamp  json.RawMessage `json:"timestamp"`
}

func parseEvent(raw json.RawMessage) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(raw, &w); err != nil {
		return Event{}, err
	}
	ev := Event{
		UUID:       scalarText(w.UUID),
		Event:      scalarText(w.Event),
		DistinctID: scalarText(w.DistinctID),
		Timestamp:  scalarText(w.Timestamp),
		Raw:        raw,
	}
	if len(w.Properties) > 0 && w.Properties[0] == '{' {
		if err := json.Unmarshal(w.Properties, &ev.Properties); err != nil {
			return Event{}, err
		}
	}
	if ev.DistinctID == "" && ev.Properties != nil {
		// Read the raw value again so numeric ids keep their exact text.
		var p struct {
			DistinctID json.RawMessage `json:"distinct_id"`
		}
		if json.Unmarshal(w.Properties, &p) == nil {
			ev.DistinctID = scalarText(p.DistinctID)
		}
	}
	return ev, nil
}

// scalarText is a JSON string's value, or the JSON text of any other
// non-null scalar (numbers, booleans); "" for null, objects and arrays.
func scalarText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) || raw[0] == '{' || raw[0] == '[' {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	return string(raw)
}

// decodeFlags decodes a /flags or /decide body the way the feature-flags
// service does (protocol.md §3.2; PH:rust/feature-flags/src/api/
// request_handler.rs decode_body), sniffing gzip magic bytes as production
// must since posthog-js ≥1.398.2. An empty body (GET) decodes to nil.
func decodeFlags(q url.Values, h http.Header, body []byte, limit int) ([]byte, error) {
	if len(body) == 0 {
		return nil, nil
	}
	var comp compression
	switch c := strings.ToLower(q.Get("compression")); c {
	case "":
	case "gzip", "gzip-js":
		comp = compGzip
	case "base64":
		comp = compBase64
	default:
		return nil, errDecoding("Unsupported compression type: " + c)
	}

	b := body
	ct := h.Get("Content-Type")
	mediaType, _, _ := strings.Cut(ct, ";")
	switch strings.ToLower(strings.TrimSpace(mediaType)) {
	case "", "application/json", "text/plain":
		if comp == compBase64 {
			dec, err := decodeBase64(bytes.TrimSpace(b))
			if err != nil {
				return nil, errDecoding("invalid base64 body")
			}
			b = dec
		}
	case formMIME:
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, errDecoding("invalid urlencoded form data")
		}
		d := strings.ReplaceAll(form.Get("data"), " ", "+")
		if d == "" {
			return nil, errDecoding("form has no data field")
		}
		dec, err := base64.StdEncoding.DecodeString(d)
		if err != nil {
			return nil, errDecoding("invalid base64 in form data")
		}
		b = dec
	default:
		return nil, errDecoding("unsupported content type: " + ct)
	}

	if comp == compGzip || hasGzipMagic(b) {
		var err error
		if b, err = gunzip(b, limit); err != nil {
			return nil, err
		}
	} else if len(b) > limit {
		return nil, errTooBig(limit)
	}
	if !json.Valid(b) {
		return nil, errParsing("body is not valid JSON")
	}
	return b, nil
}

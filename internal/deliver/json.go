package deliver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// edit replaces b[at:end] with repl (an insertion when at == end).
type edit struct {
	at, end int
	repl    []byte
}

// jsonShifter finds the spans to change in one JSON body.
type jsonShifter struct {
	b     []byte
	dec   *json.Decoder
	delay time.Duration
	edits []edit
}

// shiftJSON shifts sent_at values and stamps events without a timestamp
// (see Shift). It reports whether anything changed; when nothing did, the
// input is returned as is.
func shiftJSON(b []byte, delay time.Duration, stamp time.Time) ([]byte, bool, error) {
	s := &jsonShifter{b: b, dec: json.NewDecoder(bytes.NewReader(b)), delay: delay}
	tok, err := s.dec.Token()
	if err != nil {
		return nil, false, fmt.Errorf("%w: json: %v", errUnsupported, err)
	}
	switch tok {
	case json.Delim('{'):
		err = s.object(true, stamp)
	case json.Delim('['):
		err = s.array(stamp)
	default:
		return nil, false, fmt.Errorf("%w: json body is neither object nor array", errUnsupported)
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: json: %v", errUnsupported, err)
	}
	if len(s.edits) == 0 {
		return b, false, nil
	}
	n := len(b)
	for _, e := range s.edits {
		n += len(e.repl) - (e.end - e.at)
	}
	out := make([]byte, 0, n)
	last := 0
	for _, e := range s.edits {
		out = append(out, b[last:e.at]...)
		out = append(out, e.repl...)
		last = e.end
	}
	return append(out, b[last:]...), true, nil
}

// raw reads the next value and returns its span in s.b.
func (s *jsonShifter) raw() (int, int, error) {
	var v json.RawMessage
	if err := s.dec.Decode(&v); err != nil {
		return 0, 0, err
	}
	end := int(s.dec.InputOffset())
	start := end - len(v)
	if start < 0 || !bytes.Equal(s.b[start:end], v) {
		return 0, 0, fmt.Errorf("value span not found at offset %d", end)
	}
	return start, end, nil
}

// object scans an object whose '{' was read. top is whether it is the
// body itself: then a "batch" member holds the events and, without one,
// the object is a single event. Events without "timestamp" get one.
// stamp is the time for them unless the object's own sent_at says better.
func (s *jsonShifter) object(top bool, stamp time.Time) error {
	hasTS, hasBatch, keys := false, false, 0
	var sentAtRaw []byte
	var batchEdits []edit
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		keys++
		switch {
		case key == "sent_at":
			start, end, err := s.raw()
			if err != nil {
				return err
			}
			sentAtRaw = s.b[start:end]
			if repl, ok := shiftValue(sentAtRaw, s.delay); ok {
				s.edits = append(s.edits, edit{at: start, end: end, repl: repl})
			}
		case key == "timestamp":
			hasTS = true
			if _, _, err := s.raw(); err != nil {
				return err
			}
		case key == "batch" && top:
			hasBatch = true
			// The batch's events are stamped with the body's sent_at,
			// which may come after the batch: collect their edits apart.
			outer := s.edits
			s.edits = nil
			if err := s.batch(); err != nil {
				return err
			}
			batchEdits, s.edits = s.edits, outer
		default:
			if _, _, err := s.raw(); err != nil {
				return err
			}
		}
	}
	if _, err := s.dec.Token(); err != nil { // '}'
		return err
	}
	closing := int(s.dec.InputOffset()) - 1
	if sentAtRaw != nil && string(sentAtRaw) != "null" {
		// The client's own clock at sending: the correction maps it back
		// to the receive time.
		if t, ok := parseSentAt(sentAtRaw); ok {
			stamp = t
		}
	}
	for _, e := range batchEdits {
		if e.repl == nil { // a placeholder for a missing timestamp
			e.repl = stampMember(stamp, e.at != -1)
			e.at = e.end
		}
		s.insertSorted(e)
	}
	if !hasTS && (!top || !hasBatch) {
		s.insertSorted(edit{at: closing, end: closing, repl: stampMember(stamp, keys > 0)})
	}
	return nil
}

// batch scans the array of events under "batch", recording for each event
// without a timestamp a placeholder edit (repl nil, end = its closing
// brace, at = -1 when the event is empty) that object fills in.
func (s *jsonShifter) batch() error {
	tok, err := s.dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("batch is not an array")
	}
	for s.dec.More() {
		if err := s.event(); err != nil {
			return err
		}
	}
	_, err = s.dec.Token() // ']'
	return err
}

// event scans one element of a batch.
func (s *jsonShifter) event() error {
	tok, err := s.dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		// Not an object (PostHog will refuse it): skip whatever it is.
		if d, ok := tok.(json.Delim); ok && d == '[' {
			for s.dec.More() {
				if _, _, err := s.raw(); err != nil {
					return err
				}
			}
			_, err = s.dec.Token()
		}
		return err
	}
	hasTS, keys := false, 0
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			return err
		}
		keys++
		if k, _ := tok.(string); k == "timestamp" {
			hasTS = true
		}
		if _, _, err := s.raw(); err != nil {
			return err
		}
	}
	if _, err := s.dec.Token(); err != nil {
		return err
	}
	if !hasTS {
		at := 0
		if keys == 0 {
			at = -1
		}
		closing := int(s.dec.InputOffset()) - 1
		s.edits = append(s.edits, edit{at: at, end: closing})
	}
	return nil
}

// array scans a top-level array of events; each may carry its own sent_at.
func (s *jsonShifter) array(stamp time.Time) error {
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			return err
		}
		if tok == json.Delim('{') {
			if err := s.object(false, stamp); err != nil {
				return err
			}
			continue
		}
		if d, ok := tok.(json.Delim); ok && d == '[' {
			for s.dec.More() {
				if _, _, err := s.raw(); err != nil {
					return err
				}
			}
			if _, err := s.dec.Token(); err != nil {
				return err
			}
		}
	}
	_, err := s.dec.Token()
	return err
}

// insertSorted adds e keeping edits ordered by position.
func (s *jsonShifter) insertSorted(e edit) {
	i := len(s.edits)
	for i > 0 && s.edits[i-1].at > e.at {
		i--
	}
	s.edits = append(s.edits, edit{})
	copy(s.edits[i+1:], s.edits[i:])
	s.edits[i] = e
}

// stampMember is the member added to an event without a timestamp.
func stampMember(t time.Time, comma bool) []byte {
	m := `"timestamp":"` + t.UTC().Format("2006-01-02T15:04:05.000Z") + `"`
	if comma {
		m = "," + m
	}
	return []byte(m)
}

// parseSentAt reads a sent_at value: an RFC 3339 string or milliseconds.
func parseSentAt(raw []byte) (time.Time, bool) {
	if len(raw) > 1 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		return t, err == nil
	}
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// shiftValue returns raw moved by delay, in the same notation: an RFC 3339
// string keeps its fraction digits and zone; a number stays milliseconds.
func shiftValue(raw []byte, delay time.Duration) ([]byte, bool) {
	if delay == 0 {
		return nil, false
	}
	if len(raw) > 1 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, false
		}
		t = t.Add(delay)
		return strconv.AppendQuote(nil, t.Format(layoutLike(s, t))), true
	}
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return nil, false
	}
	return strconv.AppendInt(nil, ms+delay.Milliseconds(), 10), true
}

// layoutLike returns a time layout that prints t the way s was written:
// the same number of fraction digits (at least three when t has
// milliseconds the original could not show), "Z" or a numeric offset.
func layoutLike(s string, t time.Time) string {
	layout := fractionLayout(s, t)
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		return layout + "Z07:00"
	}
	return layout + "-07:00"
}

func fractionLayout(s string, t time.Time) string {
	layout := "2006-01-02T15:04:05"
	n := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		for _, c := range s[i+1:] {
			if c < '0' || c > '9' {
				break
			}
			n++
		}
	}
	if n < 3 && t.Nanosecond() != 0 {
		n = 3
	}
	if n > 0 {
		layout += "." + strings.Repeat("0", n)
	}
	return layout
}

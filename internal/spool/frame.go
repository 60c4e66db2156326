package spool

import "fmt"

// A frame is the payload of one stored message: one or more records back
// to back. Concurrent Puts share a frame, so that one write and one fsync
// make all of them durable (group commit).

// ReadFrame decodes every record of a frame. When a record is corrupt it
// returns the records before it and an error wrapping ErrCorrupt: the rest
// of the frame cannot be found again once a length is in doubt.
func ReadFrame(b []byte) ([]Record, error) {
	var out []Record
	for len(b) > 0 {
		r, rest, err := ReadRecord(b)
		if err != nil {
			return out, fmt.Errorf("record %d of frame: %w", len(out), err)
		}
		out = append(out, r)
		b = rest
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty frame", ErrCorrupt)
	}
	return out, nil
}

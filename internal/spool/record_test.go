package spool

import (
	"bytes"
	"errors"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

func sampleRecord() Record {
	return Record{
		Received: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Method:   "POST",
		Path:     "/batch/",
		RawQuery: "compression=gzip&_=1700000000000",
		Header: http.Header{
			"Content-Type":     {"application/json"},
			"Content-Encoding": {"gzip"},
			"Posthog-Attempt":  {"1"},
		},
		ClientIP: netip.MustParseAddr("2001:db8::7"),
		Body:     []byte(`{"api_key":"phc_x","batch":[]}`),
	}
}

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
	}{
		{"full", sampleRecord()},
		{"minimal", Record{Received: time.Unix(0, 1), Method: "GET", Path: "/e/"}},
		{"ipv4 empty body", Record{Received: time.Unix(5, 0), Method: "POST", Path: "/s/", ClientIP: netip.MustParseAddr("192.0.2.1"), Body: []byte{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendRecord([]byte("prefix"), &tt.rec)
			got, rest, err := ReadRecord(b[len("prefix"):])
			if err != nil {
				t.Fatalf("ReadRecord: %v", err)
			}
			if len(rest) != 0 {
				t.Errorf("rest = %d bytes, want 0", len(rest))
			}
			if !got.Received.Equal(tt.rec.Received) || got.Method != tt.rec.Method || got.Path != tt.rec.Path ||
				got.RawQuery != tt.rec.RawQuery || got.ClientIP != tt.rec.ClientIP || !bytes.Equal(got.Body, tt.rec.Body) {
				t.Errorf("ReadRecord = %+v, want %+v", got, tt.rec)
			}
			for k, v := range tt.rec.Header {
				if g := got.Header[k]; len(g) != len(v) || g[0] != v[0] {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
			if n := EncodedLen(&tt.rec); n < len(b)-len("prefix") {
				t.Errorf("EncodedLen = %d, below the real %d", n, len(b)-len("prefix"))
			}
		})
	}
}

func TestReadRecordCorrupt(t *testing.T) {
	r := sampleRecord()
	good := AppendRecord(nil, &r)
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		return b
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"header only", good[:headerLen]},
		{"bad magic", flip(0)},
		{"bad version", flip(3)},
		{"bad length", flip(5)},
		{"flipped body byte", flip(len(good) - crcLen - 2)},
		{"flipped checksum", flip(len(good) - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ReadRecord(tt.b); !errors.Is(err, ErrCorrupt) {
				t.Errorf("ReadRecord = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestReadFrame(t *testing.T) {
	a, b := sampleRecord(), sampleRecord()
	b.Path = "/e/"
	frame := AppendRecord(AppendRecord(nil, &a), &b)
	recs, err := ReadFrame(frame)
	if err != nil || len(recs) != 2 || recs[1].Path != "/e/" {
		t.Fatalf("ReadFrame = %d records, %v; want 2 with /e/ second", len(recs), err)
	}
	recs, err = ReadFrame(frame[:len(frame)-3])
	if !errors.Is(err, ErrCorrupt) || len(recs) != 1 {
		t.Errorf("ReadFrame(truncated) = %d records, %v; want 1 and ErrCorrupt", len(recs), err)
	}
}

func TestKeepHeader(t *testing.T) {
	for name, want := range map[string]bool{
		"Content-Type": true, "Content-Encoding": true, "User-Agent": true, "Authorization": true,
		"Posthog-Request-Id": true, "Cookie": false, "X-Forwarded-For": false, "Origin": false,
	} {
		if got := KeepHeader(name); got != want {
			t.Errorf("KeepHeader(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzReadRecord(f *testing.F) {
	r := sampleRecord()
	good := AppendRecord(nil, &r)
	f.Add(good)                              // a valid record
	f.Add(good[:len(good)/2])                // truncated mid-body
	f.Add([]byte("EHR\x01\xff\xff\xff\xff")) // length beyond the input
	f.Add([]byte{})                          // nothing
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, rest, err := ReadRecord(b)
		if err != nil {
			return
		}
		if len(rest) > len(b) {
			t.Fatalf("rest longer than input")
		}
		// What decodes must encode to something that decodes the same.
		again, _, err := ReadRecord(AppendRecord(nil, &rec))
		if err != nil || again.Path != rec.Path || !bytes.Equal(again.Body, rec.Body) {
			t.Fatalf("re-encoding: %v", err)
		}
	})
}

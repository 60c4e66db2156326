// Package spool is edgehog's durable queue of capture requests: what the
// proxy accepted on behalf of PostHog and still has to deliver. One code
// path, NATS JetStream through nats.go's jetstream API, serves both engines:
// an embedded nats-server writing to a local data directory (the default)
// and an external NATS cluster shared by several edgehog replicas.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Record is one stored capture request: what delivery needs and nothing
// more.
type Record struct {
	// Received is when edgehog received the request. Delivery shifts the
	// request's sent_at by the time elapsed since.
	Received time.Time
	// Method is the request method (POST, or GET for legacy captures).
	Method string
	// Path is the canonical PostHog path, without edgehog's prefix.
	Path string
	// RawQuery is the query string exactly as the client sent it.
	RawQuery string
	// Header holds only the headers delivery sends (see KeepHeader).
	Header http.Header
	// ClientIP is the resolved client address, delivered as
	// X-Forwarded-For so that geolocation stays right. It may be invalid
	// (unknown).
	ClientIP netip.Addr
	// Body is the request body exactly as received.
	Body []byte
}

// KeepHeader reports whether a request header is stored with a Record:
// Content-Type, Content-Encoding, User-Agent, Authorization and PostHog-*.
// name must be in canonical form.
func KeepHeader(name string) bool {
	switch name {
	case "Content-Type", "Content-Encoding", "User-Agent", "Authorization":
		return true
	}
	return strings.HasPrefix(name, "Posthog-")
}

// The stored-record format, version 1. A record is self-delimiting and
// self-describing so that a frame (one stored message) can hold many:
//
//	magic   "EHR"            3 bytes
//	version 1                1 byte
//	length  uint32 BE        bytes from the first field to the checksum
//	fields  tag uvarint, length uvarint, value — repeated, any order
//	crc     uint32 BE        CRC-32C of everything before it
//
// Readers skip fields with tags they do not know, so later versions may add
// fields without a version bump; a version bump means an incompatible
// change.
const (
	recordMagic   = "EHR"
	recordVersion = 1
	headerLen     = len(recordMagic) + 1 + 4
	crcLen        = 4
)

// Field tags of version 1.
const (
	tagReceived = 1 // int64 Unix nanoseconds, varint
	tagMethod   = 2
	tagPath     = 3
	tagQuery    = 4
	tagHeader   = 5 // "Name: value", repeated
	tagClientIP = 6 // netip.Addr binary form
	tagBody     = 7
)

// maxRecordLen bounds one record (and therefore one allocation when a
// record is read back): larger than any body a capture kind admits.
const maxRecordLen = 1 << 30

// ErrCorrupt is wrapped by every error about stored bytes that are not a
// valid record: bad magic, unknown version, truncation, checksum mismatch.
var ErrCorrupt = errors.New("corrupt spool record")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendRecord appends the encoding of r to b.
func AppendRecord(b []byte, r *Record) []byte {
	start := len(b)
	b = append(b, recordMagic...)
	b = append(b, recordVersion, 0, 0, 0, 0)
	fields := len(b)
	b = appendField(b, tagReceived, binary.AppendVarint(nil, r.Received.UnixNano()))
	b = appendStringField(b, tagMethod, r.Method)
	b = appendStringField(b, tagPath, r.Path)
	if r.RawQuery != "" {
		b = appendStringField(b, tagQuery, r.RawQuery)
	}
	for name, vs := range r.Header {
		for _, v := range vs {
			b = appendStringField(b, tagHeader, name+": "+v)
		}
	}
	if r.ClientIP.IsValid() {
		ip, _ := r.ClientIP.MarshalBinary()
		b = appendField(b, tagClientIP, ip)
	}
	b = appendField(b, tagBody, r.Body)
	binary.BigEndian.PutUint32(b[fields-4:], uint32(len(b)-fields+crcLen))
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

func appendField(b []byte, tag uint64, v []byte) []byte {
	b = binary.AppendUvarint(b, tag)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendStringField(b []byte, tag uint64, v string) []byte {
	b = binary.AppendUvarint(b, tag)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// EncodedLen returns the length AppendRecord adds for r, give or take the
// varint sizes (an upper bound).
func EncodedLen(r *Record) int {
	n := headerLen + crcLen + 3*binary.MaxVarintLen64 + len(r.Method) + len(r.Path) + len(r.RawQuery) + len(r.Body) + 16
	for name, vs := range r.Header {
		for _, v := range vs {
			n += 2*binary.MaxVarintLen64 + len(name) + 2 + len(v)
		}
	}
	return n + 6*binary.MaxVarintLen64
}

// ReadRecord decodes the record at the start of b and returns it with the
// bytes that follow it. The Record's Body aliases b. Errors wrap ErrCorrupt.
func ReadRecord(b []byte) (Record, []byte, error) {
	var r Record
	if len(b) < headerLen+crcLen {
		return r, nil, fmt.Errorf("%w: %d bytes is shorter than a record header", ErrCorrupt, len(b))
	}
	if string(b[:3]) != recordMagic {
		return r, nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, b[:3])
	}
	if b[3] != recordVersion {
		return r, nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, b[3])
	}
	n := binary.BigEndian.Uint32(b[4:8])
	if n < crcLen || n > maxRecordLen || uint64(n) > uint64(len(b)-headerLen) {
		return r, nil, fmt.Errorf("%w: length %d does not fit in %d bytes", ErrCorrupt, n, len(b)-headerLen)
	}
	end := headerLen + int(n)
	want := binary.BigEndian.Uint32(b[end-crcLen : end])
	if got := crc32.Checksum(b[:end-crcLen], castagnoli); got != want {
		return r, nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	fields := b[headerLen : end-crcLen]
	seen := false
	for len(fields) > 0 {
		tag, k := binary.Uvarint(fields)
		if k <= 0 {
			return r, nil, fmt.Errorf("%w: bad field tag", ErrCorrupt)
		}
		fields = fields[k:]
		l, k := binary.Uvarint(fields)
		if k <= 0 || l > uint64(len(fields)-k) {
			return r, nil, fmt.Errorf("%w: field %d overruns the record", ErrCorrupt, tag)
		}
		v := fields[k : k+int(l)]
		fields = fields[k+int(l):]
		switch tag {
		case tagReceived:
			ns, k := binary.Varint(v)
			if k <= 0 {
				return r, nil, fmt.Errorf("%w: bad receive time", ErrCorrupt)
			}
			r.Received = time.Unix(0, ns)
			seen = true
		case tagMethod:
			r.Method = string(v)
		case tagPath:
			r.Path = string(v)
		case tagQuery:
			r.RawQuery = string(v)
		case tagHeader:
			name, val, ok := strings.Cut(string(v), ": ")
			if !ok {
				return r, nil, fmt.Errorf("%w: bad header field", ErrCorrupt)
			}
			if r.Header == nil {
				r.Header = make(http.Header)
			}
			r.Header[name] = append(r.Header[name], val)
		case tagClientIP:
			if err := r.ClientIP.UnmarshalBinary(v); err != nil {
				return r, nil, fmt.Errorf("%w: bad client address", ErrCorrupt)
			}
		case tagBody:
			r.Body = v
		}
	}
	if !seen || r.Method == "" || r.Path == "" {
		return r, nil, fmt.Errorf("%w: receive time, method or path missing", ErrCorrupt)
	}
	return r, b[end:], nil
}

package forward

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Limits on what an upstream may send in a response head.
const (
	h1MaxHeaderBytes = 1 << 20
	h1MaxInterim     = 5 // 1xx answers skipped before the final one
)

// errH1Malformed wraps every parse failure of an upstream's answer.
var errH1Malformed = errors.New("malformed HTTP/1.1 response from upstream")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errH1Malformed, fmt.Sprintf(format, a...))
}

// h1Head is the parsed head of an upstream answer. It belongs to its
// connection and is reused by each exchange, so that reading a head costs
// one allocation for all its field values.
type h1Head struct {
	status int
	minor  int
	fields []h1Field

	// How the body is delimited (RFC 9112 §6.3).
	body          h1BodyKind
	contentLength int64 // -1 when not given
	dropLength    bool  // a Content-Length beside chunked, not relayed
	closeAfter    bool  // the connection ends with this answer
	contentType   string
	connTokens    []string // header names listed in Connection
	trailers      []string // names announced in Trailer

	block []byte
	spans []h1Span
	total int
	any   bool // a byte of an answer has come in this exchange
}

type h1Field struct{ name, value string }

type h1Span struct{ name, value [2]int }

type h1BodyKind uint8

const (
	h1NoBody h1BodyKind = iota
	h1Length
	h1Chunked
	h1UntilClose
)

// readHead reads the answer to a request made with method: status line and
// header, skipping interim 1xx answers.
func (c *h1Conn) readHead(method string) error {
	h := &c.head
	for interim := 0; ; interim++ {
		if err := h.read(c.br); err != nil {
			return err
		}
		switch {
		case h.status == http.StatusSwitchingProtocols:
			return malformed("101 Switching Protocols to a request that asked for no upgrade")
		case h.status < 200:
			if interim >= h1MaxInterim {
				return malformed("more than %d interim 1xx answers", h1MaxInterim)
			}
			continue
		}
		return h.frame(method)
	}
}

func (h *h1Head) read(br *bufio.Reader) error {
	h.block, h.spans, h.fields, h.total = h.block[:0], h.spans[:0], h.fields[:0], 0
	if cap(h.block) > 64<<10 {
		h.block = nil
	}
	line, err := h.line(br)
	if err != nil {
		return err
	}
	if err := h.statusLine(h.block[line[0]:line[1]]); err != nil {
		return err
	}
	h.block = h.block[:0]
	for {
		line, err := h.line(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		l := h.block[line[0]:line[1]]
		if len(l) == 0 {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			return malformed("obsolete line folding")
		}
		i := bytes.IndexByte(l, ':')
		if i <= 0 || !validTokenBytes(l[:i]) {
			return malformed("header line %q", l)
		}
		vs, ve := i+1, len(l)
		for vs < ve && (l[vs] == ' ' || l[vs] == '\t') {
			vs++
		}
		for ve > vs && (l[ve-1] == ' ' || l[ve-1] == '\t') {
			ve--
		}
		if !validFieldValueBytes(l[vs:ve]) {
			return malformed("value of header %q", l[:i])
		}
		h.spans = append(h.spans, h1Span{
			name:  [2]int{line[0], line[0] + i},
			value: [2]int{line[0] + vs, line[0] + ve},
		})
	}
	all := string(h.block)
	for _, s := range h.spans {
		h.fields = append(h.fields, h1Field{
			name:  http.CanonicalHeaderKey(all[s.name[0]:s.name[1]]),
			value: all[s.value[0]:s.value[1]],
		})
	}
	return nil
}

// line appends the next line to h.block without its ending (CRLF, or a
// bare LF as RFC 9112 §2.2 lets a recipient accept) and returns where it
// is.
func (h *h1Head) line(br *bufio.Reader) ([2]int, error) {
	start := len(h.block)
	for {
		part, err := br.ReadSlice('\n')
		h.total += len(part)
		h.any = h.any || len(part) > 0
		if h.total > h1MaxHeaderBytes {
			return [2]int{}, malformed("response head over %d bytes", h1MaxHeaderBytes)
		}
		h.block = append(h.block, part...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(h.block) > start {
				err = io.ErrUnexpectedEOF
			}
			return [2]int{}, err
		}
		end := len(h.block) - 1
		if end > start && h.block[end-1] == '\r' {
			end--
		}
		h.block = h.block[:end]
		return [2]int{start, end}, nil
	}
}

// statusLine parses "HTTP/1.1 200 OK".
func (h *h1Head) statusLine(l []byte) error {
	if len(l) < 12 || !bytes.HasPrefix(l, []byte("HTTP/1.")) || l[8] != ' ' || (l[7] != '0' && l[7] != '1') {
		return malformed("status line %q", l)
	}
	code := l[9:12]
	if (len(l) > 12 && l[12] != ' ') || code[0] < '1' || code[0] > '9' ||
		code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
		return malformed("status line %q", l)
	}
	h.minor = int(l[7] - '0')
	h.status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	return nil
}

// frame decides how the body is delimited and whether the connection
// survives the answer.
func (h *h1Head) frame(method string) error {
	h.body, h.contentLength, h.dropLength, h.contentType = h1UntilClose, -1, false, ""
	h.connTokens, h.trailers = h.connTokens[:0], h.trailers[:0]
	closeIt, keepAlive := false, false
	encodings := 0
	for _, f := range h.fields {
		switch f.name {
		case "Content-Length":
			n, err := parseContentLength(f.value)
			if err != nil || (h.contentLength >= 0 && n != h.contentLength) {
				return malformed("Content-Length %q", f.value)
			}
			h.contentLength = n
		case "Transfer-Encoding":
			encodings++
			if encodings > 1 || !strings.EqualFold(strings.TrimSpace(f.value), "chunked") {
				return malformed("unsupported Transfer-Encoding %q", f.value)
			}
		case "Connection":
			for opt := range strings.SplitSeq(f.value, ",") {
				opt = strings.TrimSpace(opt)
				switch {
				case strings.EqualFold(opt, "close"):
					closeIt = true
				case strings.EqualFold(opt, "keep-alive"):
					keepAlive = true
				case opt != "":
					h.connTokens = append(h.connTokens, http.CanonicalHeaderKey(opt))
				}
			}
		case "Trailer":
			for name := range strings.SplitSeq(f.value, ",") {
				if name = strings.TrimSpace(name); name != "" {
					h.trailers = append(h.trailers, http.CanonicalHeaderKey(name))
				}
			}
		case "Content-Type":
			h.contentType = f.value
		}
	}
	h.closeAfter = closeIt || (h.minor == 0 && !keepAlive)
	switch {
	case method == http.MethodHead || h.status == http.StatusNoContent || h.status == http.StatusNotModified:
		h.body = h1NoBody
	case encodings > 0:
		h.body = h1Chunked
		// A Content-Length beside chunked may be a smuggling attempt: it
		// is not relayed, and the connection is not reused (§6.3).
		if h.contentLength >= 0 {
			h.dropLength, h.closeAfter, h.contentLength = true, true, -1
		}
	case h.contentLength >= 0:
		h.body = h1Length
	default:
		h.closeAfter = true
	}
	return nil
}

// parseContentLength accepts digits, or a list of identical values (RFC
// 9110 §8.6).
func parseContentLength(v string) (int64, error) {
	var n int64 = -1
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" || len(part) > 18 {
			return 0, errH1Malformed
		}
		var m int64
		for i := 0; i < len(part); i++ {
			d := part[i]
			if d < '0' || d > '9' {
				return 0, errH1Malformed
			}
			m = m*10 + int64(d-'0')
		}
		if n >= 0 && m != n {
			return 0, errH1Malformed
		}
		n = m
	}
	return n, nil
}

// relayed reports whether an answer's header field goes to the client:
// hop-by-hop fields (RFC 9110 §7.6.1), those the Connection field names,
// and a Content-Length dropped by frame stay behind.
func (h *h1Head) relayed(name string) bool {
	if hopByHop(name) || (name == "Content-Length" && h.dropLength) {
		return false
	}
	for _, t := range h.connTokens {
		if t == name {
			return false
		}
	}
	return true
}

// hopByHop reports the header fields that concern one connection only
// (the list of net/http/httputil's ReverseProxy).
func hopByHop(name string) bool {
	switch name {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// field returns the first value of a header field of the answer.
func (h *h1Head) field(name string) string {
	for _, f := range h.fields {
		if f.name == name {
			return f.value
		}
	}
	return ""
}

// cutField splits and checks a header line.
func cutField(l []byte) (name, value string, ok bool) {
	i := bytes.IndexByte(l, ':')
	if i <= 0 || !validTokenBytes(l[:i]) {
		return "", "", false
	}
	v := bytes.Trim(l[i+1:], " \t")
	if !validFieldValueBytes(v) {
		return "", "", false
	}
	return string(l[:i]), string(v), true
}

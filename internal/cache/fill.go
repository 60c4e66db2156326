package cache

import (
	"errors"
	"net/http"
)

// fillMode is what a fillWriter does with the answer it receives.
type fillMode uint8

const (
	modeNone    fillMode = iota // no status yet
	modeBuffer                  // storable: kept whole to store
	modeHold                    // kept to decide after (errors, 304)
	modeSpill                   // streamed to the leader's own client
	modeDiscard                 // dropped: nobody can use it
)

// holdLimit bounds what an error answer may hold in memory.
const holdLimit = 64 << 10

// errDiscarded stops the copy of an answer nobody will use.
var errDiscarded = errors.New("cache: answer not stored and no client to stream it to")

// fillWriter receives upstream's answer to a fill. It keeps storable
// answers whole, within limit; anything else goes straight to client (the
// leader's own client), or nowhere for background refreshes.
type fillWriter struct {
	header   http.Header
	status   int
	body     []byte
	mode     fillMode
	limit    int64
	client   http.ResponseWriter // nil for background refreshes
	storable func(status int, h http.Header) bool
	hold     func(status int) bool
	// onSpill prepares the client's header just before it is sent.
	onSpill func(h http.Header)
}

func (fw *fillWriter) Header() http.Header { return fw.header }

func (fw *fillWriter) WriteHeader(code int) {
	if code < 200 || fw.status != 0 {
		return // informational answers are not relayed
	}
	fw.status = code
	switch {
	case fw.hold(code):
		fw.mode = modeHold
	case fw.storable(code, fw.header):
		fw.mode = modeBuffer
	default:
		fw.spillOrDiscard()
	}
}

func (fw *fillWriter) Write(p []byte) (int, error) {
	if fw.status == 0 {
		fw.WriteHeader(http.StatusOK)
	}
	switch fw.mode {
	case modeSpill:
		return fw.client.Write(p)
	case modeDiscard:
		return 0, errDiscarded
	}
	limit := fw.limit
	if fw.mode == modeHold {
		limit = min(limit, holdLimit)
	}
	if int64(len(fw.body)+len(p)) > limit {
		// Too big to keep: the leader's client still gets every byte.
		fw.spillOrDiscard()
		if fw.mode == modeDiscard {
			return 0, errDiscarded
		}
		return fw.client.Write(p)
	}
	fw.body = append(fw.body, p...)
	return len(p), nil
}

// Flush implements http.Flusher; only a streamed answer is flushed.
func (fw *fillWriter) Flush() {
	if fw.mode == modeSpill {
		if f, ok := fw.client.(http.Flusher); ok {
			f.Flush()
		}
	}
}

// spillOrDiscard sends what was kept so far to the client, or drops it.
func (fw *fillWriter) spillOrDiscard() {
	if fw.client == nil {
		fw.mode, fw.body = modeDiscard, nil
		return
	}
	fw.mode = modeSpill
	h := fw.client.Header()
	for k, v := range fw.header {
		h[k] = v
	}
	if fw.onSpill != nil {
		fw.onSpill(h)
	}
	fw.client.WriteHeader(fw.status)
	if len(fw.body) > 0 {
		// A write error means the client left; ReverseProxy notices on
		// its next write.
		_, _ = fw.client.Write(fw.body)
	}
	fw.body = nil
}

// spilled reports whether the answer went to the client already.
func (fw *fillWriter) spilled() bool { return fw.mode == modeSpill }

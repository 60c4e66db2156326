package fakehog

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault changes how the fake answers requests whose path starts with a
// prefix (see SetFault). The request is still read and recorded in full.
type Fault struct {
	// Status, if non-zero, replaces the normal answer with this status and
	// Body. It must be between 200 and 599.
	Status int

	// Body is the body sent with Status. Its Content-Type is
	// application/json if Body is valid JSON, else text/plain, unless
	// Header sets one.
	Body string

	// Header is set on the answer, faulted or normal, overriding the
	// fake's own values (for example Retry-After).
	Header http.Header

	// Delay is waited before answering (or resetting). It ends early,
	// without an answer, if the client goes away or the fake is closed.
	Delay time.Duration

	// Reset closes the connection without answering, with a TCP RST.
	Reset bool

	// Times is how many requests the fault applies to before it clears
	// itself; 0 means until ClearFaults or a new SetFault for the prefix.
	Times int
}

// SetFault makes ft apply to requests on either listener whose path starts
// with pathPrefix; "" matches every path, CORS preflights included. When
// several prefixes match, the longest wins; setting a prefix again replaces
// its fault. SetFault panics if ft.Status is neither 0 nor 200–599 or
// ft.Times is negative, as these are mistakes in the test itself.
func (f *Fake) SetFault(pathPrefix string, ft Fault) {
	if ft.Status != 0 && (ft.Status < 200 || ft.Status > 599) {
		panic(fmt.Sprintf("fakehog: fault status %d outside 200-599", ft.Status))
	}
	if ft.Times < 0 {
		panic(fmt.Sprintf("fakehog: fault times %d is negative", ft.Times))
	}
	ft.Header = ft.Header.Clone()
	f.faults.set(pathPrefix, ft)
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.faults.clear()
}

// faultTable holds the faults by path prefix.
type faultTable struct {
	// size mirrors len(byPrefix) so that the common case, no faults, costs
	// an atomic load instead of a lock shared by every request.
	size atomic.Int32

	mu       sync.Mutex
	byPrefix map[string]*faultEntry
}

type faultEntry struct {
	fault Fault
	left  int // applications left; 0 means unlimited
}

func (t *faultTable) set(prefix string, ft Fault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byPrefix == nil {
		t.byPrefix = make(map[string]*faultEntry)
	}
	t.byPrefix[prefix] = &faultEntry{fault: ft, left: ft.Times}
	t.size.Store(int32(len(t.byPrefix)))
}

func (t *faultTable) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byPrefix = nil
	t.size.Store(0)
}

// take returns the fault for path, counting one application of it.
func (t *faultTable) take(path string) (Fault, bool) {
	if t.size.Load() == 0 {
		return Fault{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var best *faultEntry
	bestPrefix := ""
	for prefix, e := range t.byPrefix {
		if strings.HasPrefix(path, prefix) && (best == nil || len(prefix) > len(bestPrefix)) {
			best, bestPrefix = e, prefix
		}
	}
	if best == nil {
		return Fault{}, false
	}
	if best.left > 0 {
		best.left--
		if best.left == 0 {
			delete(t.byPrefix, bestPrefix)
			t.size.Store(int32(len(t.byPrefix)))
		}
	}
	return best.fault, true
}

// faultReply is the answer for a fault with a Status.
func faultReply(ft Fault) reply {
	ct := "text/plain; charset=utf-8"
	if json.Valid([]byte(ft.Body)) {
		ct = "application/json"
	}
	if ft.Body == "" {
		ct = ""
	}
	return newReply(ft.Status, ct, []byte(ft.Body))
}

// resetConn drops the connection under w without an answer. Linger 0 makes
// the kernel send RST, which clients report as "connection reset by peer".
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// Package requestid gives every request an ID that ties its access-log
// line, the upstream request and the client's answer together: the
// X-Request-Id of a trusted hop in front (a load balancer that already
// assigned one), or a new one.
package requestid

import (
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"
)

// Header is the request and response header that carries the ID.
const Header = "X-Request-Id"

// MaxLen bounds an accepted ID; a longer one is replaced.
const MaxLen = 128

// Generator makes request IDs: 32 hex digits, a random 64-bit prefix drawn
// once per Generator followed by a 64-bit counter. IDs are unique within a
// process and, with overwhelming probability, across replicas; they are
// not secrets and not unpredictable. A Generator is safe for concurrent
// use.
type Generator struct {
	prefix [16]byte // hex of 8 random bytes
	n      atomic.Uint64
}

// NewGenerator returns a Generator with a fresh random prefix.
func NewGenerator() *Generator {
	var b [8]byte
	// crypto/rand.Read never fails (it aborts the program instead, Go 1.24+).
	_, _ = rand.Read(b[:])
	g := &Generator{}
	hex.Encode(g.prefix[:], b[:])
	return g
}

// Next returns a new ID.
func (g *Generator) Next() string {
	n := g.n.Add(1)
	var buf [32]byte
	copy(buf[:16], g.prefix[:])
	const digits = "0123456789abcdef"
	for i := 31; i >= 16; i-- {
		buf[i] = digits[n&0xf]
		n >>= 4
	}
	return string(buf[:])
}

// Valid reports whether id may be passed on: 1 to MaxLen bytes of
// letters, digits and "-._:+/=" (UUIDs, hex, base64 and the IDs of common
// load balancers such as AWS's "Root=1-…" trace header style). Anything
// else, from any peer, is replaced: the ID reaches logs and upstream.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == ':' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// Pick returns the ID for a request: the X-Request-Id value it carried if
// the peer is trusted and the value is Valid, else a new one from g.
// trusted is called only when there is a value to trust.
func (g *Generator) Pick(value string, trusted func() bool) string {
	if value != "" && Valid(value) && trusted() {
		return value
	}
	return g.Next()
}

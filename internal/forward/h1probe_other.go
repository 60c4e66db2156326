//go:build !unix

package forward

import "net"

// peekClosed cannot look at a socket on this platform; alive falls back to
// a short read.
func peekClosed(net.Conn) (closed, known bool) { return false, false }

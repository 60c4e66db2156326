//go:build unix

package forward

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// peekClosed looks at an idle connection's socket without blocking and
// without consuming anything: known is false when it cannot tell (not a
// socket it can reach), closed is true when the upstream has closed or
// reset it or sent anything at all (an idle HTTP/1.1 connection carries
// nothing; for TLS, anything is a close_notify or worse).
func peekClosed(nc net.Conn) (closed, known bool) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	var perr error
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, perr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait: the answer is now or never
	})
	if err != nil {
		return true, true
	}
	if errors.Is(perr, syscall.EAGAIN) || errors.Is(perr, syscall.EWOULDBLOCK) {
		return false, true // open, nothing pending
	}
	if errors.Is(perr, syscall.EINTR) {
		return false, false
	}
	// 0 bytes: the upstream closed; bytes: stray data; an error: reset.
	return true, true
}

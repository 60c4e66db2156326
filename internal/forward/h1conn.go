package forward

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// h1Conn is one keep-alive connection to an HTTP/1.1 upstream. It carries
// one exchange at a time; between exchanges it sits in the pool.
//
// Reads go through the connection's own Read, which keeps a watchdog read
// deadline instead of a goroutine or a context callback per request: every
// h1Poll, or sooner when the response header timeout or the request's
// deadline is due, it checks whether the exchange should end (the client
// went away, the flags deadline passed, no head within the response header
// timeout) and otherwise re-arms. A deadline that is still ahead and no
// later than needed is left as it is: on a busy connection the watchdog
// is re-armed about once per h1Poll, not once per request.
type h1Conn struct {
	pool      *h1Pool
	key       string
	nc        net.Conn
	br        *bufio.Reader
	created   time.Time
	idleSince time.Time
	reused    bool
	head      h1Head

	// The exchange in progress.
	ctx     context.Context
	until   time.Time    // the request's own deadline (flags), or zero
	headDue atomic.Int64 // unix ns by which the head must come; 0: not yet due, -1: head in
	armed   atomic.Int64 // unix ns of the read deadline set on nc; 0: none
	wdone   chan error   // result of a streamed body's writer, nil if none

	closeOnce sync.Once
}

// h1Poll is how often a blocked read checks on its exchange.
const h1Poll = time.Second

func newH1Conn(p *h1Pool, key string, nc net.Conn) *h1Conn {
	c := &h1Conn{pool: p, key: key, nc: nc, created: time.Now()}
	c.br = bufio.NewReaderSize(c, 4<<10)
	return c
}

func (c *h1Conn) close() { c.closeOnce.Do(func() { c.nc.Close() }) }

// begin arms the watchdog for an exchange. until is the request's own
// deadline (zero for none); a positive headTimeout bounds the wait for the
// response head from now.
func (c *h1Conn) begin(ctx context.Context, now, until time.Time, headTimeout time.Duration) {
	c.ctx, c.until, c.head.any = ctx, until, false
	if d, ok := ctx.Deadline(); ok && (until.IsZero() || d.Before(until)) {
		c.until = d
	}
	c.headDue.Store(0)
	if headTimeout > 0 {
		c.headDue.Store(now.Add(headTimeout).UnixNano())
	}
	next := c.nextCheck(now)
	if a := c.armed.Load(); a > now.UnixNano() && a <= next.UnixNano() {
		return // fires early enough; the watchdog re-checks then
	}
	c.arm(next)
}

// arm sets the read deadline.
func (c *h1Conn) arm(t time.Time) error {
	c.armed.Store(t.UnixNano())
	return c.nc.SetReadDeadline(t)
}

// nextCheck is when the watchdog looks next.
func (c *h1Conn) nextCheck(now time.Time) time.Time {
	next := now.Add(h1Poll)
	if !c.until.IsZero() && c.until.Before(next) {
		next = c.until
	}
	if due := c.headDue.Load(); due > 0 && due < next.UnixNano() {
		next = time.Unix(0, due)
	}
	return next
}

// errHeadTimeout is the response header timeout passing.
var errHeadTimeout error = &timeoutError{"upstream sent no response head within the response header timeout"}

type timeoutError struct{ msg string }

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// Read implements io.Reader for the connection's bufio.Reader: it reads
// from the network, and when the watchdog deadline passes it ends the
// exchange or re-arms.
func (c *h1Conn) Read(p []byte) (int, error) {
	for {
		n, err := c.nc.Read(p)
		if n > 0 || err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if c.ctx == nil {
			return 0, err // the idle probe
		}
		now := time.Now()
		switch {
		case c.ctx.Err() != nil:
			return 0, c.ctx.Err()
		case !c.until.IsZero() && !now.Before(c.until):
			return 0, context.DeadlineExceeded
		}
		if due := c.headDue.Load(); due > 0 && now.UnixNano() >= due {
			return 0, errHeadTimeout
		}
		if err := c.arm(c.nextCheck(now)); err != nil {
			return 0, err
		}
	}
}

// h1ProbeWait is how long the fallback idle probe waits for an upstream's
// close. The deadline must lie ahead: a read whose deadline has already
// passed fails before it looks at the socket, and would never see the
// close.
const h1ProbeWait = time.Millisecond

// alive reports whether an idle connection still looks usable: nothing
// arrived on it (an upstream close or stray bytes would have). Where the
// socket can be peeked at without blocking (unix), that is all it costs;
// elsewhere it waits h1ProbeWait for a read to fail.
func (c *h1Conn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	// The watchdog's deadline of the last exchange has passed by now;
	// an expired deadline would fail any look at the socket.
	if err := c.arm(time.Time{}); err != nil {
		return false
	}
	if closed, known := peekClosed(c.nc); known {
		return !closed
	}
	c.ctx = nil
	if err := c.arm(time.Now().Add(h1ProbeWait)); err != nil {
		return false
	}
	_, err := c.br.Peek(1)
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// staleCause reports an error that says a reused connection had been
// closed by the upstream before the request reached it.
func staleCause(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// startWriter streams a request body after its head, on a goroutine of its
// own so that an upstream answering early is heard. Once the body is all
// sent, the response header timeout starts: upload time does not count.
func (c *h1Conn) startWriter(w *h1Request, headTimeout time.Duration) {
	c.wdone = make(chan error, 1)
	go func() {
		err := w.writeBody(c.nc)
		if err != nil {
			// The upstream waits for bytes that will not come: end the
			// exchange so that the reader returns.
			c.close()
		} else if headTimeout > 0 {
			now := time.Now()
			if c.headDue.CompareAndSwap(0, now.Add(headTimeout).UnixNano()) {
				c.arm(c.nextCheck(now))
			}
		}
		c.wdone <- err
	}()
}

// h1WriterWait is how long the end of an exchange waits for the writer of
// its streamed request body.
const h1WriterWait = 100 * time.Millisecond

// writerResult waits up to h1WriterWait for a streamed body's writer and
// returns its result; done is false when it is still busy (an upstream that
// answered before reading everything, or a slow client). A busy writer is
// left to end by itself: its connection is closed by then, and the body it
// reads is the client's, which the server closes when the handler returns.
func (c *h1Conn) writerResult() (err error, done bool) {
	if c.wdone == nil {
		return nil, true
	}
	select {
	case err := <-c.wdone:
		c.wdone = nil
		return err, true
	default:
	}
	t := time.NewTimer(h1WriterWait)
	defer t.Stop()
	select {
	case err := <-c.wdone:
		c.wdone = nil
		return err, true
	case <-t.C:
		return nil, false
	}
}

// release ends an exchange at about now: a connection whose answer was read whole,
// whose request body was all sent and that neither side asked to close
// goes back to the pool; any other is closed.
func (c *h1Conn) release(clean bool, now time.Time) {
	c.ctx = nil
	if clean && !c.head.closeAfter && c.br.Buffered() == 0 {
		if err, done := c.writerResult(); done && err == nil {
			c.pool.put(c, now)
			return
		}
	}
	c.close()
}

// headDone stops the response header timeout once the head is in.
func (c *h1Conn) headDone() { c.headDue.Store(-1) }

package h1serve

import (
	"errors"
	"net"
)

// A client that leaves while its request is answered is noticed by reading
// its connection: net/http keeps such a read pending for every request,
// which costs a goroutine and two deadline changes each time. Here the sweep
// (server.go) starts the read only for requests that have run longer than
// sweepEvery and sent their whole body, which are the ones where noticing
// matters: a slow upstream holds them. The read is stopped by a deadline in
// the past when the request ends; a byte it read (a pipelined request) is
// kept for the next request.

// maybeWatch starts the watcher for the request in flight if it may: the
// body is read, nothing is buffered, and no watcher runs. It is called with
// the server's lock held.
func (c *conn) maybeWatch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if (c.state != stateActive && c.state != stateNew) || !c.inRequest || c.watching || !c.bodyDone.Load() || c.br.Buffered() > 0 || c.cr.hasStash {
		return
	}
	c.watching = true
	c.watchDone = make(chan struct{})
	go c.watch()
}

// watch reads one byte. Data is a pipelined request, kept for later; an
// error other than the stop deadline means the client left, and the
// request's context is cancelled.
func (c *conn) watch() {
	defer close(c.watchDone)
	n, err := c.nc.Read(c.cr.stash[:])
	if n == 1 {
		c.cr.hasStash = true
		return
	}
	if err == nil || isTimeout(err) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inRequest && c.cancel != nil {
		c.clientGone = true
		c.cancel()
	}
}

// stopWatch ends the watcher and waits for it. The read deadline is left in
// the past; every later read sets its own.
func (c *conn) stopWatch() {
	c.nc.SetReadDeadline(aLongTimeAgo)
	<-c.watchDone
	c.mu.Lock()
	c.watching = false
	c.mu.Unlock()
}

// isTimeout reports whether err is a deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

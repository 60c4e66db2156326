package h1serve

import (
	"net/http"
	"sync/atomic"
	"time"
)

// dateEntry is the Date header value of one second.
type dateEntry struct {
	sec int64
	b   []byte
}

// dateCache holds the Date value of the current second.
type dateCache struct{ cur atomic.Pointer[dateEntry] }

// append appends now as an HTTP date, formatting it once per second.
func (c *dateCache) append(b []byte, now time.Time) []byte {
	sec := now.Unix()
	if e := c.cur.Load(); e != nil && e.sec == sec {
		return append(b, e.b...)
	}
	d := now.UTC().AppendFormat(make([]byte, 0, len(http.TimeFormat)), http.TimeFormat)
	c.cur.Store(&dateEntry{sec: sec, b: d})
	return append(b, d...)
}

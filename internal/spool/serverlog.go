package spool

import (
	"fmt"
	"log/slog"
	"sync/atomic"
)

// serverLog passes the embedded NATS server's reports to edgehog's logger
// and counts its warnings and errors (a damaged store file shows up as
// one). Notices are the server's start-up chatter and go to Debug.
type serverLog struct {
	log      *slog.Logger
	problems *atomic.Uint64
}

func (l serverLog) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLog) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLog) Tracef(string, ...any)           {}

func (l serverLog) Warnf(format string, v ...any) {
	l.problems.Add(1)
	l.log.Warn(fmt.Sprintf(format, v...))
}

func (l serverLog) Errorf(format string, v ...any) {
	l.problems.Add(1)
	l.log.Error(fmt.Sprintf(format, v...))
}

func (l serverLog) Fatalf(format string, v ...any) {
	l.problems.Add(1)
	l.log.Error(fmt.Sprintf(format, v...))
}

package main

import (
	"io"
	"log/slog"

	"github.com/edgehog/edgehog/internal/config"
)

// Log keys of the command's own lines.
const (
	logKeyAddr    = "addr"
	logKeyAPI     = "api"
	logKeyAssets  = "assets"
	logKeyPrefix  = "prefix"
	logKeyHosts   = "hosts"
	logKeyVersion = "version"
	logKeyGC      = "gc_percent"
	logKeySignal  = "signal"
)

// newLogger builds the process logger from the log options, writing to w.
func newLogger(o config.LogOptions, w io.Writer) *slog.Logger {
	ho := &slog.HandlerOptions{Level: o.SlogLevel()}
	if o.Format == "text" {
		return slog.New(slog.NewTextHandler(w, ho))
	}
	return slog.New(slog.NewJSONHandler(w, ho))
}

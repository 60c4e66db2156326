package spool

import (
	"log/slog"
	"time"
)

// Options configure a Queue. Zero values mean the defaults given on each
// field.
type Options struct {
	// Dir is the data directory of the embedded NATS server. It is used
	// when URL is empty and must then be set.
	Dir string
	// URL, when set, is the external NATS cluster (comma-separated server
	// URLs) that holds the spool; no embedded server runs. Several edgehog
	// replicas pointed at the same cluster share one queue.
	URL string
	// Credentials names a NATS credentials file for URL; empty means none.
	Credentials string
	// Stream names the JetStream streams: <Stream> holds the queue and
	// <Stream>_DEAD the dead letters; default "EDGEHOG_SPOOL".
	Stream string
	// Replicas is the stream replication factor on a cluster (3 for R3);
	// default 1. The embedded engine always uses 1.
	Replicas int
	// MaxBytes bounds the queue on disk; default 1 GiB. When it is
	// reached, Put fails with ErrFull instead of dropping anything.
	MaxBytes int64
	// MaxAge is the age beyond which the queue counts as full: once the
	// oldest stored request is older, Put fails with ErrFull until it is
	// delivered or dead-lettered; default 72h. Nothing expires by age.
	MaxAge time.Duration
	// DeadMaxBytes bounds the dead-letter store; default MaxBytes / 4.
	DeadMaxBytes int64
	// MaxRecord is the largest record Put must accept (the largest body a
	// capture kind admits, plus headers). Open checks the server's maximum
	// message size against it, so that no body is refused at run time;
	// default 64 MiB + 64 KiB.
	MaxRecord int
	// SyncInterval, for the embedded engine, is how often JetStream
	// flushes to disk. Zero (the default) means every write is fsynced
	// before Put returns: stored requests survive a machine crash.
	// A positive interval trades that for throughput: a kill -9 still
	// loses nothing, a power cut may lose the last interval.
	SyncInterval time.Duration
	// AckWait is how long a delivering replica may hold a stored request
	// without progress before another may take it; default 30s.
	AckWait time.Duration
	// Logger receives the engine's reports; nil discards.
	Logger *slog.Logger
}

const (
	defaultStream   = "EDGEHOG_SPOOL"
	defaultMaxBytes = 1 << 30
	defaultMaxAge   = 72 * time.Hour
	defaultRecord   = 64<<20 + 64<<10
	defaultAckWait  = 30 * time.Second
	// frameTarget is the size at which a group commit stops adding
	// records to its frame.
	frameTarget = 1 << 20
	// frameMaxRecords bounds the records of one frame, so that one slow
	// delivery does not hold back too many acknowledgements at once.
	frameMaxRecords = 256
)

func (o Options) withDefaults() Options {
	if o.Stream == "" {
		o.Stream = defaultStream
	}
	if o.Replicas <= 0 || o.URL == "" {
		o.Replicas = 1
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultMaxBytes
	}
	if o.MaxAge <= 0 {
		o.MaxAge = defaultMaxAge
	}
	if o.DeadMaxBytes <= 0 {
		o.DeadMaxBytes = o.MaxBytes / 4
	}
	if o.MaxRecord <= 0 {
		o.MaxRecord = defaultRecord
	}
	if o.AckWait <= 0 {
		o.AckWait = defaultAckWait
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// MinMaxBytes is the smallest MaxBytes accepted: a few frames.
const MinMaxBytes = 4 * frameTarget

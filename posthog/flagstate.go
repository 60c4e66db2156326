package posthog

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/edgehog/edgehog/internal/flags"
	"github.com/edgehog/edgehog/internal/flagsync"
)

// flagState is the client's feature-flag side: the definitions poller (with
// a PersonalAPIKey) and the $feature_flag_called de-duplication.
type flagState struct {
	poller   *flagsync.Poller // nil without a PersonalAPIKey
	called   *calledCache
	loadedAt atomic.Int64 // Unix ms of the last 200/304, 0 if none

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newFlagState(c *Client) (*flagState, error) {
	fs := &flagState{called: newCalledCache(c.cfg.maxCacheSize)}
	if c.cfg.personalAPIKey == "" {
		return fs, nil
	}
	p, err := flagsync.New(flagsync.Options{
		Host:           c.cfg.host,
		ProjectToken:   c.projectKey,
		PersonalAPIKey: c.cfg.personalAPIKey,
		Interval:       c.cfg.pollingInterval,
		Timeout:        c.cfg.requestTimeout,
		HTTPClient:     c.cfg.httpClient,
		Header:         map[string][]string{"User-Agent": {userAgent}},
		Logger:         c.log,
		Observe: func(f flagsync.Fetch) {
			switch f.Outcome {
			case flagsync.OutcomeUpdated, flagsync.OutcomeNotModified:
				fs.loadedAt.Store(c.cfg.now().UnixMilli())
			default:
				if f.Err != nil {
					c.report(f.Err)
				}
			}
		},
	})
	if err != nil {
		return nil, err
	}
	fs.poller = p
	return fs, nil
}

// start runs the poller until stop (or ctx ends).
func (fs *flagState) start(ctx context.Context) {
	if fs.poller == nil {
		return
	}
	ctx, fs.cancel = context.WithCancel(ctx)
	fs.wg.Go(func() { _ = fs.poller.Run(ctx) })
}

// stop ends polling; wait waits for it.
func (fs *flagState) stop() {
	if fs.cancel != nil {
		fs.cancel()
	}
}

func (fs *flagState) wait() { fs.wg.Wait() }

// definitions returns the current definitions, loading them first if no
// load has succeeded yet (posthog-node awaits loadFeatureFlags before each
// evaluation). nil means local evaluation is off or nothing is loaded.
func (fs *flagState) definitions(ctx context.Context) *flags.Definitions {
	if fs.poller == nil {
		return nil
	}
	if !fs.poller.Loaded() {
		// Failures reach OnError through Observe; evaluation goes on
		// without definitions, as in posthog-node.
		_ = fs.poller.Load(ctx)
	}
	return fs.poller.Definitions()
}

package main

import (
	"cmp"
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/server"
)

// serveCommand serves PostHog traffic until SIGINT or SIGTERM, then drains.
type serveCommand struct {
	getenv env
	stderr io.Writer // logs and errors

	cf *configFlags
}

func (c *serveCommand) flags(w io.Writer) *flag.FlagSet {
	fs := newFlagSet("edgehog serve", "edgehog [serve] [--config FILE] [--listen ADDR] [--prefix PATH] [--region us|eu] [--api URL] [--assets URL]", w)
	c.cf = addConfigFlags(fs)
	return fs
}

// Run loads and validates the configuration, then serves. A first signal
// starts the drain; a second one exits at once.
func (c *serveCommand) Run(ctx context.Context, args []string) error {
	f, err := c.cf.parseValid(c.flags(c.stderr), args, c.getenv)
	if err != nil {
		return err
	}
	log := newLogger(f.Log, c.stderr)
	cfg := f.Proxy
	cfg.Logger = log
	cfg.AccessLog = f.Log.Access
	p, err := edgehog.New(cfg)
	if err != nil {
		return usageError{err}
	}
	defer p.Close()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	defer close(done)
	go escalate(ctx, stop, done, log)

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", f.Server.Listen)
	if err != nil {
		return err
	}
	api, assets := f.Upstreams()
	attrs := []any{
		logKeyAddr, ln.Addr().String(),
		logKeyAPI, api,
		logKeyAssets, assets,
		logKeyPrefix, cmp.Or(f.Proxy.Prefix, "/"),
		logKeyVersion, versionOf(),
	}
	if len(f.Proxy.Hosts) > 0 {
		names := make([]string, len(f.Proxy.Hosts))
		for i, h := range f.Proxy.Hosts {
			names[i] = h.Name
		}
		attrs = append(attrs, logKeyHosts, strings.Join(names, ","))
	}
	log.Info("edgehog serving", attrs...)
	for _, w := range f.Warnings() {
		log.Warn(w)
	}
	if err := server.New(f.Server, p, log).Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("edgehog stopped")
	return nil
}

// escalate waits for the first signal (ctx done), then makes a second
// SIGINT or SIGTERM exit the process at once, without draining. It returns
// when done closes.
func escalate(ctx context.Context, stop context.CancelFunc, done <-chan struct{}, log *slog.Logger) {
	select {
	case <-ctx.Done():
	case <-done:
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	stop() // our channel catches the next signal now
	select {
	case s := <-sig:
		log.Warn("second signal: exiting without draining", logKeySignal, s.String())
		os.Exit(exitRuntime)
	case <-done:
	}
}

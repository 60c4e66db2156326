package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/config"
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
	gcPercent := tuneGC(os.LookupEnv)
	var handler *server.Swappable // set below, before anything is served
	obs, err := newObservability(f, log, func() *edgehog.Proxy {
		p, _ := handler.Handler().(*edgehog.Proxy)
		return p
	})
	if err != nil {
		return err
	}
	f.Proxy.Observer = obs.metrics
	p, err := newProxy(f, log, nil)
	if err != nil {
		return usageError{err}
	}
	handler = server.NewSwappable(p)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP re-reads the configuration (reload.go); the proxy serving at
	// exit is closed by stopReload.
	stopReload := (&reloader{
		load: func() (config.File, error) {
			next, err := c.cf.parseValid(c.flags(io.Discard), args, c.getenv)
			next.Proxy.Observer = obs.metrics
			return next, err
		},
		log: log, swap: handler, grace: f.Server.ShutdownTimeout, cur: f, prox: p,
		applied: obs.applied,
	}).start(ctx)
	defer stopReload()
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
		logKeyGC, gcPercent,
	}
	if len(f.Proxy.Hosts) > 0 {
		names := make([]string, len(f.Proxy.Hosts))
		for i, h := range f.Proxy.Hosts {
			names[i] = h.Name
		}
		attrs = append(attrs, logKeyHosts, strings.Join(names, ","))
	}
	// Written before the startup line, so that whoever waits for that
	// line can reload at once.
	if f.Server.PidFile != "" {
		remove, err := writePidFile(f.Server.PidFile)
		if err != nil {
			ln.Close()
			return err
		}
		defer remove()
	}
	log.Info("edgehog serving", attrs...)
	for _, w := range f.Warnings() {
		log.Warn(w)
	}
	serveAdmin, err := obs.listen(ctx, f, log)
	if err != nil {
		ln.Close()
		return err
	}
	adminDone := make(chan error, 1)
	go func() { adminDone <- serveAdmin() }()
	so := f.ServerOptions()
	so.Ready = func() error {
		// A full spool in always mode refuses captures: take this
		// replica out of the load balancer until it drains.
		if p, ok := handler.Handler().(*edgehog.Proxy); ok {
			return p.SpoolReady()
		}
		return nil
	}
	err = server.New(so, obs.public(handler, f), log).Serve(ctx, ln)
	// The admin listener drains with the public one (both end with ctx);
	// a failure to serve it ends the public one too.
	stop()
	if aerr := <-adminDone; aerr != nil {
		err = errors.Join(err, aerr)
	}
	if err != nil {
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

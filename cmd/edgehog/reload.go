package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/config"
	"github.com/edgehog/edgehog/internal/server"
)

// reloader re-reads the configuration on SIGHUP and swaps the proxy that
// serves new requests. Settings of the listener itself (listen address,
// TLS, timeouts, probe paths, logging) cannot change under open sockets:
// a reload reports them as needing a restart and keeps the running ones.
type reloader struct {
	load  func() (config.File, error) // reads and validates the configuration again
	log   *slog.Logger
	swap  *server.Swappable
	grace time.Duration // how long an old proxy's requests may run before it is closed

	mu   sync.Mutex // serializes reloads (SIGHUP, and any other trigger) and guards cur and prox
	cur  config.File
	prox *edgehog.Proxy
	// applied, when set, is told of each configuration put in service.
	applied func(config.File)
}

// Log keys of reload lines.
const (
	logKeyChanged = "changed"
	logKeyRestart = "needs_restart"
	logKeyError   = "error"
)

// start reloads on every SIGHUP until ctx is done or the returned stop is
// called; stop then closes the proxy serving last.
func (r *reloader) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	// Registered before start returns: SIGHUP's default action ends the
	// process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer signal.Stop(hup)
		r.run(ctx, hup)
	}()
	return func() {
		cancel()
		<-done
		r.mu.Lock()
		defer r.mu.Unlock()
		r.prox.Close()
	}
}

// run reloads on every signal from hup until ctx is done.
func (r *reloader) run(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = r.reload() // logged; the running configuration stays
		}
	}
}

// reload reads the configuration again and, when it is valid, serves new
// requests with a proxy built from it. An invalid configuration is
// refused, logged and returned; the running one stays. It is safe to call
// from any goroutine (an admin endpoint can trigger it too).
func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next, err := r.load()
	if err != nil {
		r.log.Error("reload refused", logKeyError, err.Error())
		return err
	}
	changed, restart := diffConfig(r.cur, next)
	// Listener-level settings keep their running values.
	next.Server, next.Log.Level, next.Log.Format = r.cur.Server, r.cur.Log.Level, r.cur.Log.Format
	next.Admin = r.cur.Admin // the admin listener is fixed too
	p, err := newProxy(next, r.log, r.prox)
	if err != nil {
		r.log.Error("reload refused", logKeyError, err.Error())
		return err
	}
	_, drained := r.swap.Swap(p)
	old := r.prox
	r.cur, r.prox = next, p
	if r.applied != nil {
		r.applied(next)
	}
	go closeAfter(old, drained, r.grace)
	attrs := []any{logKeyChanged, strings.Join(changed, ",")}
	if len(restart) > 0 {
		attrs = append(attrs, logKeyRestart, strings.Join(restart, ","))
		r.log.Warn("config reloaded; some changes need a restart", attrs...)
		return nil
	}
	r.log.Info("config reloaded", attrs...)
	return nil
}

// closeAfter closes p once its requests are done, or after grace: Close
// only drops idle upstream connections, so a straggler still finishes.
func closeAfter(p *edgehog.Proxy, drained <-chan struct{}, grace time.Duration) {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
	}
	p.Close()
}

// newProxy builds the proxy f configures. prev is the proxy it replaces
// (nil at start): edgehog.NewFrom takes over its edge cache and spool when
// their settings did not change.
func newProxy(f config.File, log *slog.Logger, prev *edgehog.Proxy) (*edgehog.Proxy, error) {
	cfg := f.Proxy
	cfg.Logger = log
	cfg.AccessLog = f.Log.Access
	return edgehog.NewFrom(cfg, prev)
}

// diffConfig names the top-level settings that differ between a and b:
// all of them, and those of the listener that a reload cannot apply.
func diffConfig(a, b config.File) (changed, restart []string) {
	as, bs := sections(a.Redacted()), sections(b.Redacted())
	for _, k := range sectionOrder(a.Redacted(), b.Redacted()) {
		if as[k] != bs[k] {
			changed = append(changed, k)
		}
	}
	as2, bs2 := a.ServerOptions(), b.ServerOptions()
	listener := []struct {
		key  string
		same bool
	}{
		{"listen", as2.Listen == bs2.Listen},
		{"tls", reflect.DeepEqual(as2.TLS, bs2.TLS)},
		{"http_redirect_listen", as2.RedirectListen == bs2.RedirectListen},
		{"server.pid_file", as2.PidFile == bs2.PidFile},
		{"log.level", a.Log.Level == b.Log.Level},
		{"log.format", a.Log.Format == b.Log.Format},
		{"admin", a.Admin == b.Admin},
	}
	for _, l := range listener {
		if !l.same {
			restart = append(restart, l.key)
		}
	}
	// The rest of server (timeouts, probe paths) is fixed on the
	// http.Server too.
	as2.Listen, as2.TLS, as2.RedirectListen, as2.PidFile = "", bs2.TLS, "", ""
	bs2.Listen, bs2.RedirectListen, bs2.PidFile = "", "", ""
	if !reflect.DeepEqual(as2, bs2) {
		restart = append(restart, "server")
	}
	for _, k := range restart {
		top, _, _ := strings.Cut(k, ".")
		if !containsStr(changed, top) {
			changed = append(changed, top)
		}
	}
	return changed, restart
}

// sections splits rendered YAML into its top-level blocks by key.
func sections(y string) map[string]string {
	out := map[string]string{}
	key := ""
	for _, line := range strings.Split(y, "\n") {
		if line != "" && line[0] != ' ' && line[0] != '#' && line[0] != '-' {
			key, _, _ = strings.Cut(line, ":")
		}
		out[key] += line + "\n"
	}
	return out
}

// sectionOrder lists the top-level keys of a then those only in b.
func sectionOrder(a, b string) []string {
	var keys []string
	for _, y := range []string{a, b} {
		for _, line := range strings.Split(y, "\n") {
			if line != "" && line[0] != ' ' && line[0] != '#' && line[0] != '-' {
				k, _, _ := strings.Cut(line, ":")
				if !containsStr(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// writePidFile writes the process ID to path atomically (a reader never
// sees a half-written file) and returns a function that removes it.
func writePidFile(path string) (remove func(), err error) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("writing server.pid_file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("writing server.pid_file: %w", err)
	}
	return func() { os.Remove(path) }, nil
}

// reloadCommand asks a running edgehog to reload its configuration: it
// sends SIGHUP to the process whose ID is in the pid file.
type reloadCommand struct {
	getenv         env
	stdout, stderr io.Writer

	pidFile string
	cf      *configFlags
}

func (c *reloadCommand) flags(w io.Writer) *flag.FlagSet {
	fs := newFlagSet("edgehog reload", "edgehog reload [--pid-file FILE | --config FILE]", w)
	fs.StringVar(&c.pidFile, "pid-file", "", "`file` holding the process ID of the running edgehog (default: server.pid_file of the configuration)")
	c.cf = addConfigFlags(fs)
	return fs
}

// Run sends SIGHUP. The outcome (config reloaded, or reload refused with
// the reason) is in the running edgehog's log.
func (c *reloadCommand) Run(_ context.Context, args []string) error {
	fs := c.flags(c.stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	path := c.pidFile
	if path == "" {
		f, err := c.cf.load(fs, c.getenv)
		if err != nil {
			return err
		}
		if path = f.Server.PidFile; path == "" {
			return usageError{errors.New("no pid file: pass --pid-file or set server.pid_file in the configuration")}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("reading pid file: %s does not hold a process ID", path)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("signalling process %d: %w", pid, err)
	}
	_, err = fmt.Fprintf(c.stdout, "edgehog reload: sent SIGHUP to process %d; its log says whether the configuration was reloaded\n", pid)
	return err
}

// Command fakehogd runs a fakehog fake PostHog on given addresses, for
// benchmarks and manual tests. It prints the two base URLs on stdout,
//
//	api http://127.0.0.1:PORT
//	assets http://127.0.0.1:PORT
//
// and serves until SIGINT or SIGTERM. With -tls-cert and -tls-key both
// origins speak TLS (HTTP/2 and HTTP/1.1 by ALPN) and the URLs are
// https://.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgehog/edgehog/internal/fakehog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "fakehogd:", err)
		os.Exit(1)
	}
}

// run parses args, starts the fake, prints its URLs on stdout and serves
// until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakehogd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		apiAddr    = fs.String("api", "127.0.0.1:0", "listen `address` of the API origin (capture, flags, definitions)")
		assetsAddr = fs.String("assets", "127.0.0.1:0", "listen `address` of the assets origin (/static, /array)")
		staticDir  = fs.String("static", "", "serve /static/* from this `dir` (e.g. posthog-js dist/); default: generated bundles")
		quiet      = fs.Bool("quiet", false, "log nothing")
		bench      = fs.Bool("bench", false, "do not record or decode: drain bodies and answer (benchmark upstream)")
		tlsCert    = fs.String("tls-cert", "", "serve both origins over TLS with this PEM certificate `file` (needs -tls-key)")
		tlsKey     = fs.String("tls-key", "", "PEM private key `file` of -tls-cert")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var tlsConf *tls.Config
	switch {
	case (*tlsCert == "") != (*tlsKey == ""):
		return errors.New("-tls-cert and -tls-key go together: give both or neither")
	case *tlsCert != "":
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("loading -tls-cert and -tls-key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}}
	}

	fake, err := fakehog.Start(fakehog.Options{
		APIAddr:    *apiAddr,
		AssetsAddr: *assetsAddr,
		StaticDir:  *staticDir,
		Quiet:      *quiet,
		Bench:      *bench,
		TLS:        tlsConf,
		Logger:     slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if err != nil {
		return fmt.Errorf("starting fake: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "api %s\nassets %s\n", fake.APIURL(), fake.AssetsURL()); err != nil {
		fake.Close()
		return fmt.Errorf("printing urls: %w", err)
	}
	<-ctx.Done()
	return fake.Close()
}

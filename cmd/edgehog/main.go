// Command edgehog serves a first-party PostHog proxy.
//
// Usage:
//
//	edgehog [serve] [flags]   serve PostHog traffic (the default)
//	edgehog check [flags]     validate the configuration and print it with the route table
//	edgehog doctor [flags]    check a deployment end to end
//	edgehog reload [flags]    make a running edgehog re-read its configuration
//	edgehog spool ACTION      look after the store-and-forward spool
//	edgehog version           print the version
//	edgehog help [command]    print usage
//
// Exit codes: 0 success, 1 runtime error (or a failed doctor check), 2
// usage or configuration error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// usageError marks an error of the command line or the configuration: the
// process exits 2. A nil err means the message was already printed (the
// flag package prints its own).
type usageError struct{ err error }

func (e usageError) Error() string {
	if e.err == nil {
		return "usage error"
	}
	return e.err.Error()
}

func (e usageError) Unwrap() error { return e.err }

// env looks up an environment variable.
type env func(string) string

// run dispatches to a subcommand and maps its error to an exit code.
func run(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) int {
	name, rest := "serve", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, rest = args[0], args[1:]
	}
	var err error
	switch name {
	case "serve":
		err = (&serveCommand{getenv: getenv, stderr: stderr}).Run(ctx, rest)
	case "check":
		err = (&checkCommand{getenv: getenv, stdout: stdout, stderr: stderr}).Run(ctx, rest)
	case "version":
		err = (&versionCommand{stdout: stdout, stderr: stderr}).Run(ctx, rest)
	case "reload":
		err = (&reloadCommand{getenv: getenv, stdout: stdout, stderr: stderr}).Run(ctx, rest)
	case "doctor":
		err = (&doctorCommand{getenv: getenv, stdout: stdout, stderr: stderr}).Run(ctx, rest)
	case "spool":
		err = (&spoolCommand{getenv: getenv, stdout: stdout, stderr: stderr}).Run(ctx, rest)
	case "help":
		help(stderr, rest)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "edgehog: unknown command %q\n\n", name)
		usage(stderr)
		return exitUsage
	}
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		if ue.err != nil {
			fmt.Fprintf(stderr, "edgehog %s: %v\n", name, ue.err)
		}
		return exitUsage
	}
	fmt.Fprintf(stderr, "edgehog %s: %v\n", name, err)
	return exitRuntime
}

func usage(w io.Writer) {
	fmt.Fprint(w, `edgehog is a first-party proxy for PostHog analytics.

Usage:

	edgehog [serve] [flags]   serve PostHog traffic (the default)
	edgehog check [flags]     validate the configuration, print it and the route table
	edgehog doctor [flags]    check a deployment end to end, each finding with its fix
	edgehog reload [flags]    make a running edgehog re-read its configuration (SIGHUP)
	edgehog spool ACTION      status, inspect, replay or purge the spool
	edgehog version           print the version
	edgehog help [command]    print a command's usage

Settings come from the defaults, then the --config file, then EDGEHOG_*
environment variables, then flags. Run "edgehog help serve" for the flags.
`)
}

// help prints the usage of the command named in args, or the overview.
func help(w io.Writer, args []string) {
	if len(args) == 0 {
		usage(w)
		return
	}
	switch args[0] {
	case "serve":
		(&serveCommand{}).flags(w).Usage()
	case "check":
		(&checkCommand{}).flags(w).Usage()
	case "version":
		(&versionCommand{}).flags(w).Usage()
	case "reload":
		(&reloadCommand{}).flags(w).Usage()
	case "doctor":
		(&doctorCommand{}).flags(w).Usage()
	case "spool":
		(&spoolCommand{}).flags(w).Usage()
	default:
		fmt.Fprintf(w, "edgehog: unknown command %q\n\n", args[0])
		usage(w)
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/edgehog/edgehog/internal/spool"
)

// spoolCommand looks after the store-and-forward spool: what waits for
// delivery and the dead letters PostHog refused (docs/spool.md).
type spoolCommand struct {
	getenv         env
	stdout, stderr io.Writer

	cf      *configFlags
	dir     string
	natsURL string
	n       int
	from    uint64
	dead    bool
	queue   bool
	yes     bool
}

const spoolSynopsis = `edgehog spool status|inspect|replay|purge [flags] [SEQ...]

  status              what waits for delivery, the dead letters, the totals
  inspect             list dead letters (--from SEQ, -n COUNT)
  replay [SEQ...]     move dead letters (all, or those given) back to the queue
  purge --dead|--queue --yes
                      delete every dead letter, or every undelivered request

The embedded engine's directory is locked while edgehog runs: stop it first,
or use a NATS cluster, which any number of processes may open.`

func (c *spoolCommand) flags(w io.Writer) *flag.FlagSet {
	fs := newFlagSet("edgehog spool", spoolSynopsis, w)
	c.cf = addConfigFlags(fs)
	fs.StringVar(&c.dir, "dir", "", "spool data `directory` (default: spool.dir of the configuration)")
	fs.StringVar(&c.natsURL, "nats-url", "", "NATS cluster `URL`s (default: spool.nats.url of the configuration)")
	fs.IntVar(&c.n, "n", 20, "inspect: at most this many dead letters")
	fs.Uint64Var(&c.from, "from", 0, "inspect: start at this dead-letter sequence")
	fs.BoolVar(&c.dead, "dead", false, "purge: the dead letters")
	fs.BoolVar(&c.queue, "queue", false, "purge: the undelivered requests (they are lost)")
	fs.BoolVar(&c.yes, "yes", false, "purge: really delete")
	return fs
}

// Run runs one spool action.
func (c *spoolCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		c.flags(c.stderr).Usage()
		if len(args) == 0 {
			return usageError{errors.New("an action is required: status, inspect, replay or purge")}
		}
		return flag.ErrHelp
	}
	action := args[0]
	fs := c.flags(c.stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{}
	}
	var seqs []uint64
	for _, a := range fs.Args() {
		s, err := strconv.ParseUint(a, 10, 64)
		if err != nil || action != "replay" {
			return usageError{fmt.Errorf("unexpected argument %q", a)}
		}
		seqs = append(seqs, s)
	}
	switch action {
	case "status", "inspect", "replay":
	case "purge":
		if c.dead == c.queue {
			return usageError{errors.New("purge needs exactly one of --dead and --queue")}
		}
		if !c.yes {
			return usageError{errors.New("purge deletes data for good: add --yes")}
		}
	default:
		return usageError{fmt.Errorf("unknown action %q: want status, inspect, replay or purge", action)}
	}
	f, err := c.cf.load(fs, c.getenv)
	if err != nil {
		return err
	}
	so := f.Proxy.Spool
	o := spool.Options{Dir: so.Dir, URL: so.NATSURL, Credentials: so.NATSCredentials, Stream: so.Stream, Replicas: so.Replicas, MaxBytes: so.MaxBytes, MaxAge: so.MaxAge,
		// Only stored records are moved: no size check against the server.
		MaxRecord: 1 << 20}
	if c.dir != "" {
		o.Dir, o.URL = c.dir, ""
	}
	if c.natsURL != "" {
		o.URL = c.natsURL
	}
	if o.Dir == "" && o.URL == "" {
		return usageError{errors.New("no spool: set spool.dir or spool.nats.url in the configuration, or --dir / --nats-url")}
	}
	q, err := spool.Open(ctx, o)
	if err != nil {
		return err
	}
	defer q.Close()
	switch action {
	case "status":
		return c.status(q)
	case "inspect":
		return c.inspect(ctx, q)
	case "replay":
		n, err := q.Replay(ctx, seqs...)
		fmt.Fprintf(c.stdout, "%d dead letters moved back to the queue\n", n)
		return err
	default:
		var n uint64
		what := "dead letters"
		if c.dead {
			n, err = q.PurgeDead(ctx)
		} else {
			n, err = q.PurgeQueue(ctx)
			what = "undelivered frames"
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%d %s deleted\n", n, what)
		return nil
	}
}

func (c *spoolCommand) status(q *spool.Queue) error {
	s := q.State()
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "queued frames\t%d\n", s.Frames)
	fmt.Fprintf(tw, "queued bytes\t%d\n", s.Bytes)
	oldest := "-"
	if !s.Oldest.IsZero() {
		oldest = s.Oldest.UTC().Format(time.RFC3339) + " (" + time.Since(s.Oldest).Round(time.Second).String() + " ago)"
	}
	fmt.Fprintf(tw, "oldest\t%s\n", oldest)
	fmt.Fprintf(tw, "full\t%v\n", s.Full)
	fmt.Fprintf(tw, "dead letters\t%d\n", s.DeadFrames)
	fmt.Fprintf(tw, "dead bytes\t%d\n", s.DeadBytes)
	return tw.Flush()
}

func (c *spoolCommand) inspect(ctx context.Context, q *spool.Queue) error {
	ds, err := q.DeadLetters(ctx, c.from, c.n)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tFAILED\tSTATUS\tMETHOD\tPATH\tRECEIVED\tBYTES\tREASON")
	for _, d := range ds {
		if d.Corrupt != nil {
			fmt.Fprintf(tw, "%d\t%s\t%d\t-\t-\t-\t-\tunreadable: %v\n", d.Seq, d.Failed.UTC().Format(time.RFC3339), d.Status, d.Corrupt)
			continue
		}
		r := d.Record
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%d\t%s\n", d.Seq, d.Failed.UTC().Format(time.RFC3339), d.Status,
			r.Method, r.Path, r.Received.UTC().Format(time.RFC3339), len(r.Body), d.Reason)
	}
	return tw.Flush()
}

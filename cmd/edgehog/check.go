package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/edgehog/edgehog/internal/config"
)

// checkCommand validates the configuration and prints the effective
// configuration and the route table.
type checkCommand struct {
	getenv         env
	stdout, stderr io.Writer

	cf *configFlags
}

func (c *checkCommand) flags(w io.Writer) *flag.FlagSet {
	fs := newFlagSet("edgehog check", "edgehog check [--config FILE] [--listen ADDR] [--prefix PATH] [--region us|eu] [--api URL] [--assets URL]", w)
	c.cf = addConfigFlags(fs)
	return fs
}

// Run prints the effective configuration as YAML, with the route table in
// comments, so that the output is itself a valid configuration file.
func (c *checkCommand) Run(_ context.Context, args []string) error {
	f, err := c.cf.parseValid(c.flags(c.stderr), args, c.getenv)
	if err != nil {
		return err
	}
	rows, err := config.RouteTable(f)
	if err != nil {
		return usageError{err}
	}
	for _, w := range f.Warnings() {
		fmt.Fprintf(c.stderr, "edgehog check: warning: %s\n", w)
	}
	var b bytes.Buffer
	fmt.Fprintln(&b, "# edgehog check: the configuration is valid.")
	fmt.Fprintln(&b, "# Effective configuration:")
	b.WriteString(f.Redacted())
	writeRoutes(&b, rows)
	_, err = c.stdout.Write(b.Bytes())
	return err
}

// writeRoutes prints the route table as YAML comments: canonical paths,
// then aliases.
func writeRoutes(w io.Writer, rows []config.RouteRow) {
	var canon, alias bytes.Buffer
	ct := tabwriter.NewWriter(&canon, 0, 4, 2, ' ', 0)
	at := tabwriter.NewWriter(&alias, 0, 4, 2, ' ', 0)
	fmt.Fprintln(ct, "HOST\tPATH\tKIND\tUPSTREAM")
	fmt.Fprintln(at, "HOST\tPATH\tTO\tKIND\tUPSTREAM")
	aliases := 0
	for _, r := range rows {
		up := r.Upstream
		if !r.Exposed {
			up = "404 (not exposed)"
		}
		if r.Alias == "" {
			fmt.Fprintf(ct, "%s\t%s\t%s\t%s\n", r.Host, r.Path, r.Kind, up)
			continue
		}
		aliases++
		fmt.Fprintf(at, "%s\t%s\t%s\t%s\t%s\n", r.Host, r.Path, r.Alias, r.Kind, up)
	}
	ct.Flush()
	at.Flush()
	fmt.Fprintln(w, "\n# Routes (a * covers any path segments; \"404 (not exposed)\": edgehog answers")
	fmt.Fprintln(w, "# 404 itself under exposure: public):")
	comment(w, &canon)
	if aliases > 0 {
		fmt.Fprintln(w, "#\n# Aliases:")
		comment(w, &alias)
	}
}

// comment copies r to w with every line commented.
func comment(w io.Writer, r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fmt.Fprintln(w, strings.TrimRight("#   "+sc.Text(), " "))
	}
}

package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/edgehog/edgehog/internal/config"
)

// configFlags are the flags serve and check share: --config and the
// overrides config.Overrides lists.
type configFlags struct {
	path   string
	byFlag map[string]config.Override
}

// newFlagSet returns a flag set that reports to w and prints usage headed
// by synopsis.
func newFlagSet(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func addConfigFlags(fs *flag.FlagSet) *configFlags {
	c := &configFlags{byFlag: map[string]config.Override{}}
	fs.StringVar(&c.path, "config", "", "YAML configuration `file` (env EDGEHOG_CONFIG); without one, defaults, EDGEHOG_* variables and flags only")
	for _, o := range config.Overrides() {
		if o.Flag == "" {
			continue
		}
		c.byFlag[o.Flag] = o
		fs.String(o.Flag, "", o.Usage+" (env "+o.Env+")")
	}
	return c
}

// parse parses args into fs, refusing positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{} // the flag package printed it
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", strings.Join(fs.Args(), " "))}
	}
	return nil
}

// load reads the configuration: the file (--config, else EDGEHOG_CONFIG),
// then the environment, then the flags set on the command line. Its errors
// are usage errors.
func (c *configFlags) load(fs *flag.FlagSet, getenv env) (config.File, error) {
	path := c.path
	if path == "" {
		path = getenv("EDGEHOG_CONFIG")
	}
	f, err := config.Load(path, getenv)
	if err != nil {
		return config.File{}, usageError{err}
	}
	fs.Visit(func(fl *flag.Flag) {
		if o, ok := c.byFlag[fl.Name]; ok && err == nil {
			err = f.Set("--"+fl.Name, o.Key, fl.Value.String())
		}
	})
	if err != nil {
		return config.File{}, usageError{err}
	}
	return f, nil
}

// parseValid parses args into fs, loads the configuration and validates
// it: what serve and check both do first.
func (c *configFlags) parseValid(fs *flag.FlagSet, args []string, getenv env) (config.File, error) {
	if err := parse(fs, args); err != nil {
		return config.File{}, err
	}
	f, err := c.load(fs, getenv)
	if err != nil {
		return config.File{}, err
	}
	if err := f.Validate(); err != nil {
		return config.File{}, usageError{err}
	}
	return f, nil
}

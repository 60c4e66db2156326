package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxFileSize bounds a configuration file; real ones are a few KiB.
const maxFileSize = 1 << 20

// Parse reads a YAML configuration from r on top of Default. name is used
// in error messages (usually the file's path). An empty document yields
// the defaults. Parse checks each value's type and shape but not the
// configuration as a whole: see Validate.
func Parse(r io.Reader, name string) (File, error) {
	f := Default()
	b, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return File{}, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(b) > maxFileSize {
		return File{}, &Error{File: name, Msg: "larger than 1 MiB"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		return File{}, syntaxError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return File{}, syntaxError(name, err)
		}
		return File{}, &Error{File: name, Line: extra.Line, Msg: "more than one YAML document"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	d := &decoder{name: name}
	if err := d.file(&f)(root, ""); err != nil {
		return File{}, err
	}
	return f, nil
}

// syntaxError turns a yaml.v3 error ("yaml: line 3: did not find expected
// key") into an *Error with the line.
func syntaxError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if v, err := strconv.Atoi(n); err == nil {
				line, msg = v, after
			}
		}
	}
	return &Error{File: name, Line: line, Msg: msg}
}

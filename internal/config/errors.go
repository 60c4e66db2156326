package config

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every configuration error: a bad file, a bad
// environment variable or flag, and what Validate finds.
var ErrInvalid = errors.New("invalid configuration")

// Error is a configuration error at one field. It wraps ErrInvalid.
type Error struct {
	// File is the configuration file's name; empty for environment
	// variables, flags and validation.
	File string
	// Line is the 1-based line in File; 0 when unknown.
	Line int
	// Field is the YAML path ("upstream.dial_timeout", "hosts[1].host"),
	// or the environment variable or flag the value came from.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error renders "file:line: field: msg", leaving out the parts unknown.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// invalidError marks an error from elsewhere (edgehog.New) as ErrInvalid
// without repeating its text.
type invalidError struct{ err error }

func (e invalidError) Error() string   { return e.err.Error() }
func (e invalidError) Unwrap() []error { return []error{ErrInvalid, e.err} }

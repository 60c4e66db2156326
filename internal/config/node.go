package config

import (
	"fmt"
	"math"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree into a File, so that every error can name
// the field path and line (yaml.v3's KnownFields errors name neither).
type decoder struct {
	name string // file name for errors
}

// decodeFunc decodes the value node n found at path.
type decodeFunc func(n *yaml.Node, path string) error

// field is one known key of a mapping.
type field struct {
	key      string
	decode   decodeFunc
	required bool
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) error {
	return &Error{File: d.name, Line: n.Line, Field: path, Msg: fmt.Sprintf(format, args...)}
}

// maxAliasDepth bounds alias chains; yaml.v3 already refuses cycles.
const maxAliasDepth = 32

// resolve follows aliases (*name) to the anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxAliasDepth; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "want X, got Y" errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!str":
			return fmt.Sprintf("the string %q", v)
		case "!!int", "!!float":
			return "the number " + v
		case "!!bool":
			return "the boolean " + v
		default:
			return fmt.Sprintf("%s %q", n.ShortTag(), v)
		}
	}
	return "an alias"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mapping decodes a mapping with the given known keys. A null value is an
// empty mapping.
func (d *decoder) mapping(fields ...field) decodeFunc {
	return func(n *yaml.Node, path string) error {
		n = resolve(n)
		if isNull(n) {
			return d.missing(n, path, fields)
		}
		if n.Kind != yaml.MappingNode {
			return d.errorf(n, path, "want a mapping, got %s", describe(n))
		}
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := resolve(n.Content[i]), n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return d.errorf(k, path, "want a key name, got %s", describe(k))
			}
			p := join(path, k.Value)
			if line, dup := seen[k.Value]; dup {
				return d.errorf(k, p, "duplicate key (first at line %d)", line)
			}
			seen[k.Value] = k.Line
			f := findField(fields, k.Value)
			if f == nil {
				return d.errorf(k, p, "unknown key (known: %s)", fieldNames(fields))
			}
			if err := f.decode(v, p); err != nil {
				return err
			}
		}
		for _, f := range fields {
			if _, ok := seen[f.key]; !ok && f.required {
				return d.errorf(n, join(path, f.key), "missing (required)")
			}
		}
		return nil
	}
}

func (d *decoder) missing(n *yaml.Node, path string, fields []field) error {
	for _, f := range fields {
		if f.required {
			return d.errorf(n, join(path, f.key), "missing (required)")
		}
	}
	return nil
}

func findField(fields []field, key string) *field {
	for i := range fields {
		if fields[i].key == key {
			return &fields[i]
		}
	}
	return nil
}

func fieldNames(fields []field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.key
	}
	return strings.Join(names, ", ")
}

// list decodes a sequence, each element with each. A null value is an
// empty list.
func (d *decoder) list(each func(i int, n *yaml.Node, path string) error) decodeFunc {
	return func(n *yaml.Node, path string) error {
		n = resolve(n)
		if isNull(n) {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return d.errorf(n, path, "want a list, got %s", describe(n))
		}
		for i, e := range n.Content {
			if err := each(i, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
}

// scalar returns n resolved if it is a scalar with the tag want.
func (d *decoder) scalar(n *yaml.Node, path, tag, what string) (*yaml.Node, error) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != tag {
		return nil, d.errorf(n, path, "want %s, got %s", what, describe(n))
	}
	return n, nil
}

// str decodes a string; check, when set, vets the value.
func (d *decoder) str(dst *string, check func(string) error) decodeFunc {
	return func(n *yaml.Node, path string) error {
		n, err := d.scalar(n, path, "!!str", "a string")
		if err != nil {
			return err
		}
		if err := checkPrintable(n.Value); err != nil {
			return d.errorf(n, path, "%v", err)
		}
		if check != nil {
			if err := check(n.Value); err != nil {
				return d.errorf(n, path, "%v", err)
			}
		}
		*dst = n.Value
		return nil
	}
}

// strs decodes a list of strings; check vets each.
func (d *decoder) strs(dst *[]string, check func(string) error) decodeFunc {
	return func(n *yaml.Node, path string) error {
		var out []string
		err := d.list(func(_ int, e *yaml.Node, p string) error {
			var s string
			if err := d.str(&s, check)(e, p); err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})(n, path)
		if err != nil {
			return err
		}
		*dst = out
		return nil
	}
}

// duration decodes a positive Go duration such as 5s or 2500ms.
func (d *decoder) duration(dst *time.Duration) decodeFunc {
	return func(n *yaml.Node, path string) error {
		n, err := d.scalar(n, path, "!!str", "a duration like 5s or 2500ms")
		if err != nil {
			return err
		}
		v, err := parseDuration(n.Value)
		if err != nil {
			return d.errorf(n, path, "%v", err)
		}
		*dst = v
		return nil
	}
}

// count decodes a positive integer.
func (d *decoder) count(dst *int) decodeFunc {
	return func(n *yaml.Node, path string) error {
		n, err := d.scalar(n, path, "!!int", "a whole number")
		if err != nil {
			return err
		}
		var v int64
		if err := n.Decode(&v); err != nil || v > math.MaxInt32 {
			return d.errorf(n, path, "%s is out of range", n.Value)
		}
		if v <= 0 {
			return d.errorf(n, path, "%s must be positive", n.Value)
		}
		*dst = int(v)
		return nil
	}
}

// size decodes a byte size: a whole number of bytes or a string with a
// unit. With unlimited, -1 and "none" mean no limit (stored as -1).
func (d *decoder) size(dst *int64, unlimited bool) decodeFunc {
	return func(n *yaml.Node, path string) error {
		n = resolve(n)
		var v int64
		switch {
		case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int":
			if err := n.Decode(&v); err != nil {
				return d.errorf(n, path, "%s is out of range", n.Value)
			}
		case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str":
			var err error
			if v, err = parseSize(n.Value); err != nil {
				return d.errorf(n, path, "%v", err)
			}
		default:
			return d.errorf(n, path, "want a size like 64MiB, got %s", describe(n))
		}
		if err := checkSize(v, n.Value, unlimited); err != nil {
			return d.errorf(n, path, "%v", err)
		}
		*dst = v
		return nil
	}
}

// boolean decodes true or false.
func (d *decoder) boolean(dst *bool) decodeFunc {
	return func(n *yaml.Node, path string) error {
		n, err := d.scalar(n, path, "!!bool", "true or false")
		if err != nil {
			return err
		}
		if err := n.Decode(dst); err != nil {
			return d.errorf(n, path, "want true or false, got %s", describe(n))
		}
		return nil
	}
}

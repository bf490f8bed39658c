// Package yamlfile holds what the engine's strict YAML readers share:
// decoding that cannot crash, errors that name file:line:col, and finding a
// field's position for validation errors.
package yamlfile

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// Decode decodes data into v strictly (an unknown field is an error). A
// panic inside goccy/go-yaml (v1.19.2 dereferences nil on some tagged
// scalars where a sequence is expected, found by FuzzParsePolicy) becomes
// an error: a bad file must never crash the process.
func Decode(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml decoder failed on malformed input: %v", r)
		}
	}()
	return yaml.UnmarshalWithOptions(data, v, yaml.Strict())
}

// Unjoin splits an errors.Join result into its errors.
func Unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Error renders a goccy/go-yaml error as "file:line:col: message".
func Error(filename string, err error) error {
	if ye, ok := errors.AsType[yaml.Error](err); ok {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return fmt.Errorf("%s:%d:%d: %s", filename, tk.Position.Line, tk.Position.Column, ye.GetMessage())
		}
		return fmt.Errorf("%s: %s", filename, ye.GetMessage())
	}
	return fmt.Errorf("%s: %w", filename, err)
}

// Empty reports whether file holds no document or only null ones; decoding
// it would zero the defaults.
func Empty(file *ast.File) bool {
	for _, d := range file.Docs {
		if d.Body == nil {
			continue
		}
		if _, null := d.Body.(*ast.NullNode); !null {
			return false
		}
	}
	return true
}

// Position finds the node for field ("rules[2].ttl") in file, or for its
// closest present ancestor (an omitted ttl points at its rule); 1:1 when
// nothing is found.
func Position(file *ast.File, field string) (line, col int) {
	if file == nil {
		return 1, 1
	}
	for field != "" {
		if n := Lookup(file, field); n != nil {
			if tk := n.GetToken(); tk != nil && tk.Position != nil {
				return tk.Position.Line, tk.Position.Column
			}
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return 1, 1
}

// Lookup finds the node at a dotted field path, nil when absent.
func Lookup(file *ast.File, field string) ast.Node {
	p, err := yaml.PathString("$." + field)
	if err != nil {
		return nil
	}
	n, err := p.FilterFile(file)
	if err != nil {
		return nil
	}
	return n
}

package decide

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Parse decodes a standalone policy file (the contents of a `policy:`
// section at its root) strictly over Defaults and validates it. Every error
// starts with filename:line:col.
func Parse(data []byte, filename string) (Config, error) {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return Config{}, yamlError(filename, err)
	}
	cfg := Defaults()
	if empty(file) {
		return cfg, nil
	}
	// goccy/go-yaml reports a bad duration without its position.
	if err := checkDurations(file, filename); err != nil {
		return Config{}, err
	}
	if err := decode(data, &cfg); err != nil {
		return Config{}, yamlError(filename, err)
	}
	if err = cfg.Validate(); err == nil {
		return cfg, nil
	}
	var errs []error
	for _, e := range unjoin(err) {
		fe, ok := errors.AsType[*FieldError](e)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %w", filename, e))
			continue
		}
		field := strings.TrimPrefix(fe.Field, "policy.")
		line, col := position(file, field)
		errs = append(errs, fmt.Errorf("%s:%d:%d: %s: %s", filename, line, col, field, fe.Msg))
	}
	return Config{}, errors.Join(errs...)
}

// decode turns a panic inside goccy/go-yaml (v1.19.2 dereferences nil on
// some tagged scalars where a sequence is expected, found by
// FuzzParsePolicy) into an error: a bad file must never crash the process.
func decode(data []byte, cfg *Config) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml decoder failed on malformed input: %v", r)
		}
	}()
	return yaml.UnmarshalWithOptions(data, cfg, yaml.Strict())
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func yamlError(filename string, err error) error {
	if ye, ok := errors.AsType[yaml.Error](err); ok {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return fmt.Errorf("%s:%d:%d: %s", filename, tk.Position.Line, tk.Position.Column, ye.GetMessage())
		}
		return fmt.Errorf("%s: %s", filename, ye.GetMessage())
	}
	return fmt.Errorf("%s: %w", filename, err)
}

// position finds the node for field ("rules[2].ttl") in file, or for its
// closest present ancestor (an omitted ttl points at its rule); 1:1 when
// nothing is found.
func position(file *ast.File, field string) (line, col int) {
	if file == nil {
		return 1, 1
	}
	for field != "" {
		if n := lookup(file, field); n != nil {
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

// empty reports whether file holds no document or only null ones; decoding
// it would zero the defaults.
func empty(file *ast.File) bool {
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

// checkDurations reports every duration field whose text time.ParseDuration
// rejects, with its position.
func checkDurations(file *ast.File, filename string) error {
	fields := []string{"default.ttl", "escalation.max_ttl", "escalation.forget_after"}
	if n := lookup(file, "rules"); n != nil {
		if seq, ok := n.(*ast.SequenceNode); ok {
			for i := range seq.Values {
				fields = append(fields, fmt.Sprintf("rules[%d].ttl", i))
			}
		}
	}
	var errs []error
	for _, f := range fields {
		n := lookup(file, f)
		if n == nil {
			continue
		}
		s, ok := n.(*ast.StringNode)
		if !ok {
			continue // other node types get a positioned type error from the decoder
		}
		if _, err := time.ParseDuration(s.Value); err != nil {
			tk := s.GetToken()
			errs = append(errs, fmt.Errorf("%s:%d:%d: %s: invalid duration %q (use h, m, s: 24h, 90m)",
				filename, tk.Position.Line, tk.Position.Column, f, s.Value))
		}
	}
	return errors.Join(errs...)
}

func lookup(file *ast.File, field string) ast.Node {
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

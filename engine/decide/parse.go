package decide

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/phantomsoc/phantomsoc/engine/internal/yamlfile"
)

// Parse decodes a standalone policy file (the contents of a `policy:`
// section at its root) strictly over Defaults and validates it. Every error
// starts with filename:line:col.
func Parse(data []byte, filename string) (Config, error) {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return Config{}, yamlfile.Error(filename, err)
	}
	cfg := Defaults()
	if yamlfile.Empty(file) {
		return cfg, nil
	}
	// goccy/go-yaml reports a bad duration without its position.
	if err := checkDurations(file, filename); err != nil {
		return Config{}, err
	}
	if err := yamlfile.Decode(data, &cfg); err != nil {
		return Config{}, yamlfile.Error(filename, err)
	}
	if err = cfg.Validate(); err == nil {
		return cfg, nil
	}
	var errs []error
	for _, e := range yamlfile.Unjoin(err) {
		fe, ok := errors.AsType[*FieldError](e)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %w", filename, e))
			continue
		}
		field := strings.TrimPrefix(fe.Field, "policy.")
		line, col := yamlfile.Position(file, field)
		errs = append(errs, fmt.Errorf("%s:%d:%d: %s: %s", filename, line, col, field, fe.Msg))
	}
	return Config{}, errors.Join(errs...)
}

// checkDurations reports every duration field whose text time.ParseDuration
// rejects, with its position.
func checkDurations(file *ast.File, filename string) error {
	fields := []string{"default.ttl", "escalation.max_ttl", "escalation.forget_after"}
	if n := yamlfile.Lookup(file, "rules"); n != nil {
		if seq, ok := n.(*ast.SequenceNode); ok {
			for i := range seq.Values {
				fields = append(fields, fmt.Sprintf("rules[%d].ttl", i))
			}
		}
	}
	var errs []error
	for _, f := range fields {
		n := yamlfile.Lookup(file, f)
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

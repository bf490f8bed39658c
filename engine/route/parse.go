package route

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/phantomsoc/phantomsoc/engine/internal/yamlfile"
)

// Parse decodes a routing file (route, receivers, time_intervals,
// inhibit_rules at its root) strictly over Defaults and validates it. Every
// error starts with filename:line:col and names the field:
//
//	routes.yaml:14:17: route.routes[2].receiver: unknown receiver "ops"
func Parse(data []byte, filename string) (Config, error) {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return Config{}, yamlfile.Error(filename, err)
	}
	cfg := Defaults()
	if yamlfile.Empty(file) {
		return cfg, fmt.Errorf("%s:1:1: route: required", filename)
	}
	// A bad duration fails inside Duration.UnmarshalYAML, where the decoder
	// no longer knows the position: check them all first.
	if err := checkDurations(file, filename); err != nil {
		return Config{}, err
	}
	if err := yamlfile.Decode(data, &cfg); err != nil {
		return Config{}, yamlfile.Error(filename, err)
	}
	if err = cfg.Validate(); err == nil {
		return cfg, nil
	}
	return Config{}, PositionErrors(file, filename, err)
}

// PositionErrors prefixes each *FieldError joined in err with
// filename:line:col of its field in file (or of the closest ancestor
// present: an omitted field points at its parent).
func PositionErrors(file *ast.File, filename string, err error) error {
	type placed struct {
		line, col int
		err       error
	}
	var ps []placed
	for _, e := range yamlfile.Unjoin(err) {
		fe, ok := errors.AsType[*FieldError](e)
		if !ok {
			ps = append(ps, placed{err: fmt.Errorf("%s: %w", filename, e)})
			continue
		}
		line, col := yamlfile.Position(file, fe.Field)
		ps = append(ps, placed{line, col, fmt.Errorf("%s:%d:%d: %s: %s", filename, line, col, fe.Field, fe.Msg)})
	}
	slices.SortStableFunc(ps, func(a, b placed) int { return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.col, b.col)) })
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p.err
	}
	return errors.Join(errs...)
}

var durationKeys = map[string]bool{"group_wait": true, "group_interval": true, "repeat_interval": true, "after": true, "resolve_timeout": true}

// checkDurations reports every duration value that parseDuration rejects,
// wherever it is in the tree, with its position and field path.
func checkDurations(file *ast.File, filename string) error {
	var errs []error
	var walk func(n ast.Node, path string)
	walk = func(n ast.Node, path string) {
		switch n := n.(type) {
		case *ast.MappingNode:
			for _, v := range n.Values {
				walk(v, path)
			}
		case *ast.MappingValueNode:
			key := n.Key.GetToken().Value
			f := key
			if path != "" {
				f = path + "." + key
			}
			if durationKeys[key] {
				if s, ok := scalar(n.Value); ok {
					if _, err := parseDuration(s); err != nil {
						tk := n.Value.GetToken()
						errs = append(errs, fmt.Errorf("%s:%d:%d: %s: %v", filename, tk.Position.Line, tk.Position.Column, f, err))
					}
					return
				}
			}
			walk(n.Value, f)
		case *ast.SequenceNode:
			for i, v := range n.Values {
				walk(v, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	for _, d := range file.Docs {
		if d.Body != nil {
			walk(d.Body, "")
		}
	}
	return errors.Join(errs...)
}

func scalar(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.IntegerNode, *ast.FloatNode:
		return n.GetToken().Value, true
	}
	return "", false
}

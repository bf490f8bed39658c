package route

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Parse decodes a routing file (route, receivers, time_intervals,
// inhibit_rules at its root) strictly over Defaults and validates it. Every
// error starts with filename:line:col and names the field:
//
//	routes.yaml:14:17: route.routes[2].receiver: unknown receiver "ops"
func Parse(data []byte, filename string) (Config, error) {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return Config{}, yamlError(filename, err)
	}
	cfg := Defaults()
	if empty(file) {
		return cfg, fmt.Errorf("%s:1:1: route: required", filename)
	}
	// A bad duration fails inside Duration.UnmarshalYAML, where the decoder
	// no longer knows the position: check them all first.
	if err := checkDurations(file, filename); err != nil {
		return Config{}, err
	}
	if err := decode(data, &cfg); err != nil {
		return Config{}, yamlError(filename, err)
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
	for _, e := range unjoin(err) {
		fe, ok := errors.AsType[*FieldError](e)
		if !ok {
			ps = append(ps, placed{err: fmt.Errorf("%s: %w", filename, e)})
			continue
		}
		line, col := position(file, fe.Field)
		ps = append(ps, placed{line, col, fmt.Errorf("%s:%d:%d: %s: %s", filename, line, col, fe.Field, fe.Msg)})
	}
	slices.SortStableFunc(ps, func(a, b placed) int { return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.col, b.col)) })
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p.err
	}
	return errors.Join(errs...)
}

// decode turns a panic inside goccy/go-yaml (seen on malformed tagged
// scalars, see engine/decide) into an error.
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

var durationKeys = map[string]bool{"group_wait": true, "group_interval": true, "repeat_interval": true, "after": true}

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

// position finds the node for field ("route.routes[2].receiver") in file,
// or for its closest present ancestor; 1:1 when nothing is found.
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

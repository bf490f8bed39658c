package detect

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Parse decodes the scenarios of one file: one scenario per YAML document
// (documents separated by "---"; empty documents are skipped). filename
// only names the file in errors and in Scenario.File. Every problem found is
// reported, each as an *Error placed at its line and column, joined with
// errors.Join. Defaults are applied to the scenarios returned.
func Parse(data []byte, filename string) ([]Scenario, error) {
	var out []Scenario
	var errs []*Error
	for _, chunk := range splitDocuments(data) {
		f, err := parseBytes(chunk)
		if err != nil {
			errs = append(errs, yamlError(filename, err))
			continue
		}
		for _, doc := range f.Docs {
			s, derrs := parseDocument(doc, filename)
			errs = append(errs, derrs...)
			if s != nil {
				out = append(out, *s)
			}
		}
	}
	if len(errs) > 0 {
		sortErrors(errs)
		all := make([]error, len(errs))
		for i, e := range errs {
			all[i] = e
		}
		return nil, errors.Join(all...)
	}
	return out, nil
}

// splitDocuments cuts data at document markers ("---" at the start of a
// line, which YAML never allows as content) and parses each document on
// its own: go-yaml drops the documents that follow an empty one. Each
// piece keeps its lines and columns: earlier lines become empty and the
// marker becomes spaces.
func splitDocuments(data []byte) [][]byte {
	var out [][]byte
	var cur []byte
	line := 0
	for len(data) > 0 {
		l := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l = data[:i+1]
		}
		data = data[len(l):]
		if bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\n' || l[3] == '\r') {
			out = append(out, cur)
			cur = append(bytes.Repeat([]byte("\n"), line), "   "...)
			cur = append(cur, l[3:]...)
		} else {
			cur = append(cur, l...)
		}
		line++
	}
	return append(out, cur)
}

// parseDocument decodes and validates one scenario; nil for an empty
// document or one with errors.
func parseDocument(doc *ast.DocumentNode, filename string) (*Scenario, []*Error) {
	body := doc.Body
	switch body.(type) {
	case nil, *ast.CommentNode, *ast.NullNode:
		return nil, nil
	}
	m := mappingOf(body)
	if m == nil {
		return nil, []*Error{placed(filename, body.GetToken(), "", "want a mapping: one scenario per YAML document (separate several with ---)")}
	}
	if pre := precheck(filename, body, m); len(pre) > 0 {
		return nil, pre
	}
	var s Scenario
	if err := decode(body, &s); err != nil {
		return nil, []*Error{yamlError(filename, err)}
	}
	s.File = filename
	applyDefaults(&s)
	var errs []*Error
	for _, p := range validate(&s) {
		errs = append(errs, place(filename, body, p))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &s, nil
}

func parseBytes(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("cannot parse YAML: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

// decode runs the strict decoder. A panic inside go-yaml on hostile input
// becomes an error instead of taking the process down.
func decode(body ast.Node, s *Scenario) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot decode scenario: %v", r)
		}
	}()
	return yaml.NodeToValue(body, s, yaml.Strict())
}

// yamlError places a go-yaml error at its token.
func yamlError(filename string, err error) *Error {
	if ye, ok := errors.AsType[yaml.Error](err); ok {
		return placed(filename, ye.GetToken(), "", ye.GetMessage())
	}
	return &Error{File: filename, Msg: err.Error()}
}

func placed(filename string, tk *token.Token, field, msg string) *Error {
	e := &Error{File: filename, Field: field, Msg: msg}
	if tk != nil && tk.Position != nil {
		e.Line, e.Col = tk.Position.Line, tk.Position.Column
	}
	return e
}

func mappingOf(n ast.Node) *ast.MappingNode {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v
	case *ast.MappingValueNode:
		return &ast.MappingNode{BaseNode: v.BaseNode, Values: []*ast.MappingValueNode{v}}
	case *ast.TagNode:
		return mappingOf(v.Value)
	case *ast.AnchorNode:
		return mappingOf(v.Value)
	}
	return nil
}

// yamlFields lists the yaml keys of a struct type.
func yamlFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

var (
	scenarioFields = yamlFields(reflect.TypeFor[Scenario]())
	stepFields     = yamlFields(reflect.TypeFor[Step]())
)

// durationFields are decoded with time.ParseDuration, whose errors carry
// no position.
var durationFields = map[string]bool{"leak": true, "window": true, "within": true, "blackhole": true}

// precheck reports every unknown key (the strict decoder stops at the
// first) and every malformed duration, each at its place.
func precheck(filename string, body ast.Node, m *ast.MappingNode) []*Error {
	var errs []*Error
	// Scenarios have no use for explicit tags, and go-yaml's decoder has
	// crashed on odd ones.
	for _, n := range ast.Filter(ast.TagType, body) {
		errs = append(errs, placed(filename, n.GetToken(), "", "YAML tags are not supported in scenarios"))
	}
	for _, mv := range m.Values {
		k := keyString(mv.Key)
		if !durationFields[k] {
			continue
		}
		if sn, ok := mv.Value.(*ast.StringNode); ok {
			if _, err := time.ParseDuration(sn.Value); err != nil {
				errs = append(errs, placed(filename, mv.Key.GetToken(), k, fmt.Sprintf("%q: want a duration like 90s, 10m or 12h", sn.Value)))
			}
		}
	}
	check := func(m *ast.MappingNode, known map[string]bool, prefix string) {
		for _, mv := range m.Values {
			k := keyString(mv.Key)
			if !known[k] {
				errs = append(errs, placed(filename, mv.Key.GetToken(), prefix+k, "unknown field"))
			}
		}
	}
	check(m, scenarioFields, "")
	for _, mv := range m.Values {
		if keyString(mv.Key) != "steps" {
			continue
		}
		seq, ok := mv.Value.(*ast.SequenceNode)
		if !ok {
			continue
		}
		for i, n := range seq.Values {
			if sm := mappingOf(n); sm != nil {
				check(sm, stepFields, fmt.Sprintf("steps[%d].", i))
			}
		}
	}
	return errs
}

func keyString(k ast.MapKeyNode) string {
	if k == nil {
		return ""
	}
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// place turns a problem into an *Error at the field's key (or, for a missing
// field, at the scenario's first key). A condition error is placed inside
// the condition when its value sits on one line.
func place(filename string, body ast.Node, p problem) *Error {
	e := &Error{File: filename, Field: p.field(), Msg: p.msg}
	keyTk, val := lookup(body, p.path)
	if keyTk == nil {
		keyTk = body.GetToken()
		if m := mappingOf(body); m != nil && len(m.Values) > 0 {
			keyTk = m.Values[0].Key.GetToken()
		}
	}
	if keyTk != nil && keyTk.Position != nil {
		e.Line, e.Col = keyTk.Position.Line, keyTk.Position.Column
	}
	if p.line > 0 && val != nil {
		if tk := val.GetToken(); tk != nil && tk.Position != nil {
			switch tk.Type {
			case token.StringType, token.DoubleQuoteType, token.SingleQuoteType:
				// A flow scalar: the expression starts at the value (after a
				// quote) and expr counts columns from 0.
				off := 0
				if tk.Type != token.StringType {
					off = 1
				}
				e.Line = tk.Position.Line + p.line - 1
				if p.line == 1 {
					e.Col = tk.Position.Column + off + p.col
				} else {
					e.Col = p.col + 1
				}
			default:
				// A block scalar starts on the line after its indicator.
				e.Line = tk.Position.Line + p.line
				e.Col = p.col + 1
			}
		}
	}
	return e
}

// lookup finds the key token and value node at path under n.
func lookup(n ast.Node, path []any) (*token.Token, ast.Node) {
	var keyTk *token.Token
	for _, el := range path {
		switch v := el.(type) {
		case string:
			m := mappingOf(n)
			if m == nil {
				return keyTk, nil
			}
			var found ast.Node
			for _, mv := range m.Values {
				if keyString(mv.Key) == v {
					keyTk, found = mv.Key.GetToken(), mv.Value
					break
				}
			}
			if found == nil {
				return keyTk, nil
			}
			n = found
		case int:
			seq, ok := n.(*ast.SequenceNode)
			if !ok || v < 0 || v >= len(seq.Values) {
				return keyTk, nil
			}
			n = seq.Values[v]
			keyTk = n.GetToken()
		}
	}
	return keyTk, n
}

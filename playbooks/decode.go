package playbooks

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Parse decodes and compiles the playbooks in one file (several YAML
// documents make several playbooks). It walks goccy/go-yaml's AST instead
// of decoding with Strict(): Strict stops at the first unknown field, and a
// playbook author wants every problem in the file, each with its
// line:column and field path. The playbooks returned are only those without
// errors.
func Parse(file string, data []byte) ([]*Playbook, error) {
	valid, _, errs := parse(file, data)
	return valid, errs.err()
}

// parse returns the playbooks without errors and, separately, every
// playbook decoded, broken ones included, so lint can still check the
// names a broken playbook refers to.
func parse(file string, data []byte) (valid, all []*Playbook, errs ErrorList) {
	d := &decoder{file: file}
	f, err := parseYAML(data)
	if err != nil {
		var se *yaml.SyntaxError
		if errors.As(err, &se) && se.Token != nil && se.Token.Position != nil {
			d.add(Pos{se.Token.Position.Line, se.Token.Position.Column}, "", "%s", se.Message)
		} else {
			d.add(Pos{}, "", "%v", err)
		}
		return nil, nil, d.errs
	}
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue // a trailing "---" or a comment-only document
		}
		if _, ok := doc.Body.(*ast.CommentGroupNode); ok {
			continue
		}
		before := len(d.errs)
		pb := d.playbook(doc.Body)
		if pb == nil {
			continue
		}
		pb.File = file
		all = append(all, pb)
		if len(d.errs) == before {
			valid = append(valid, pb)
		}
	}
	if len(all) == 0 && len(d.errs) == 0 {
		d.add(Pos{}, "", "no playbook in the file")
	}
	return valid, all, d.errs.sorted()
}

// parseYAML parses data; goccy/go-yaml has panicked on some malformed
// input, which is bad input here, not a crash.
func parseYAML(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML: %v", r)
		}
	}()
	// Duplicate keys are reported by the decoder, with their field path,
	// instead of ending the parse of the whole file.
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
}

// decoder collects every error in a file while it walks the AST.
type decoder struct {
	file string
	errs ErrorList
}

func (d *decoder) add(p Pos, field, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: p.Line, Column: p.Column, Field: field, Message: fmt.Sprintf(format, args...)})
}

// entry is one key of a mapping.
type entry struct {
	keyPos Pos
	val    ast.Node
}

func nodePos(n ast.Node) Pos {
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		// A block mapping's own token is not where a reader looks; its
		// first key is.
		return nodePos(m.Values[0].Key)
	}
	if n == nil {
		return Pos{}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{}
	}
	return Pos{tk.Position.Line, tk.Position.Column}
}

// unwrap looks through anchors and tags. Aliases are refused: resolving
// them invites reference cycles, and a playbook is short enough to repeat a
// value.
func (d *decoder) unwrap(n ast.Node, field string) (ast.Node, bool) {
	for i := 0; i < 16; i++ {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.TagNode:
			n = t.Value
		case *ast.AliasNode:
			d.add(nodePos(t), field, "aliases (*name) are not supported in playbooks; repeat the value")
			return nil, false
		default:
			return n, true
		}
	}
	d.add(nodePos(n), field, "too many nested anchors or tags")
	return nil, false
}

func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := n.(*ast.NullNode)
	return ok
}

func kindName(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case nil, *ast.NullNode:
		return "nothing"
	}
	return "a scalar"
}

// fields reads a mapping, reporting every unknown and duplicate key. what
// names the mapping in the unknown-field message.
func (d *decoder) fields(n ast.Node, field string, known []string) (map[string]entry, bool) {
	n, ok := d.unwrap(n, field)
	if !ok {
		return nil, false
	}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.add(nodePos(n), field, "want a mapping, got %s", kindName(n))
		return nil, false
	}
	out := make(map[string]entry, len(m.Values))
	for _, mv := range m.Values {
		kp := nodePos(mv.Key)
		if mv.Key.IsMergeKey() {
			d.add(kp, field, "merge keys (<<) are not supported in playbooks")
			continue
		}
		key, ok := scalar(mv.Key)
		if !ok {
			d.add(kp, field, "a key must be a plain string")
			continue
		}
		f := join(field, key)
		if !slices.Contains(known, key) {
			d.add(kp, f, "unknown field %q (want one of %s)", key, strings.Join(known, ", "))
			continue
		}
		if _, dup := out[key]; dup {
			d.add(kp, f, "duplicate field %q", key)
			continue
		}
		out[key] = entry{keyPos: kp, val: mv.Value}
	}
	return out, true
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

// scalar returns the text of a scalar node, as written for numbers and
// booleans (a label value 5 is the string "5").
func scalar(n ast.Node) (string, bool) {
	switch t := n.(type) {
	case *ast.StringNode:
		return t.Value, true
	case *ast.LiteralNode:
		return t.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	}
	return "", false
}

// str reads a string; an absent or null value is "".
func (d *decoder) str(n ast.Node, field string) string {
	if isNull(n) {
		return ""
	}
	n, ok := d.unwrap(n, field)
	if !ok {
		return ""
	}
	s, ok := scalar(n)
	if !ok {
		d.add(nodePos(n), field, "want a string, got %s", kindName(n))
		return ""
	}
	return s
}

// oneOf reads a string that must be one of want.
func (d *decoder) oneOf(n ast.Node, field string, want []string) string {
	s := d.str(n, field)
	if s != "" && !slices.Contains(want, s) {
		d.add(nodePos(n), field, "%q is not one of %s", s, strings.Join(want, ", "))
		return ""
	}
	return s
}

// duration reads a positive Go duration ("30s", "4h").
func (d *decoder) duration(n ast.Node, field string) time.Duration {
	s := d.str(n, field)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.add(nodePos(n), field, "bad duration %q: want e.g. 30s, 5m or 4h", s)
		return 0
	}
	if v <= 0 {
		d.add(nodePos(n), field, "duration %q must be positive", s)
		return 0
	}
	return v
}

// number reads a number in [lo, hi].
func (d *decoder) number(n ast.Node, field string, lo, hi float64) float64 {
	if isNull(n) {
		return 0
	}
	n, ok := d.unwrap(n, field)
	if !ok {
		return 0
	}
	var v float64
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.GetToken().Value, "_", ""), 64)
		if err != nil {
			d.add(nodePos(n), field, "bad number %q", n.GetToken().Value)
			return 0
		}
		v = f
	default:
		d.add(nodePos(n), field, "want a number, got %s", kindName(n))
		return 0
	}
	if v < lo || v > hi {
		d.add(nodePos(n), field, "%v is out of range [%v, %v]", v, lo, hi)
		return 0
	}
	return v
}

// list reads a list of strings; a single string counts as a list of one.
func (d *decoder) list(n ast.Node, field string) ([]string, []Pos) {
	if isNull(n) {
		return nil, nil
	}
	n, ok := d.unwrap(n, field)
	if !ok {
		return nil, nil
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		if s := d.str(n, field); s != "" {
			return []string{s}, []Pos{nodePos(n)}
		}
		return nil, nil
	}
	var out []string
	var pos []Pos
	for i, v := range seq.Values {
		f := fmt.Sprintf("%s[%d]", field, i)
		s := d.str(v, f)
		if s == "" {
			d.add(nodePos(v), f, "empty value")
			continue
		}
		out = append(out, s)
		pos = append(pos, nodePos(v))
	}
	return out, pos
}

// seq reads a list of nodes.
func (d *decoder) seq(n ast.Node, field string) []ast.Node {
	n, ok := d.unwrap(n, field)
	if !ok {
		return nil
	}
	s, ok := n.(*ast.SequenceNode)
	if !ok {
		d.add(nodePos(n), field, "want a list, got %s", kindName(n))
		return nil
	}
	return s.Values
}

// exprPos places an error found at (line, col) inside an expression: exact
// for a one-line scalar, the scalar's start for a block scalar.
func exprPos(n ast.Node, line, col int) Pos {
	p := nodePos(n)
	tk := n.GetToken()
	if _, block := n.(*ast.LiteralNode); block || tk == nil || line > 0 {
		return p
	}
	if tk.Type == token.SingleQuoteType || tk.Type == token.DoubleQuoteType {
		col++ // the opening quote
	}
	return Pos{p.Line, p.Column + col}
}

// expr compiles an expression; asBool requires a boolean result.
func (d *decoder) expr(n ast.Node, field string, asBool bool) *Expr {
	s := d.str(n, field)
	if strings.TrimSpace(s) == "" {
		if !isNull(n) {
			d.add(nodePos(n), field, "empty expression")
		}
		return nil
	}
	n, _ = d.unwrap(n, field)
	e, line, col, err := compileExpr(s, asBool)
	if err != nil {
		d.add(exprPos(n, line, col), field, "expression %q: %v", s, err)
		return nil
	}
	return e
}

// text compiles a string with {{ expression }} placeholders.
func (d *decoder) text(n ast.Node, field string) *Text {
	s := d.str(n, field)
	if s == "" {
		return nil
	}
	n, _ = d.unwrap(n, field)
	t, off, err := compileText(s)
	if err != nil {
		line := strings.Count(s[:off], "\n")
		col := off - (strings.LastIndexByte(s[:off], '\n') + 1)
		d.add(exprPos(n, line, col), field, "%v", err)
		return nil
	}
	return t
}

// namePattern keeps names usable as file names, CLI arguments and labels.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func (d *decoder) name(n ast.Node, field string) string {
	s := d.str(n, field)
	if s != "" && !namePattern.MatchString(s) {
		d.add(nodePos(n), field, "name %q: use lowercase letters, digits, '.', '_' and '-'", s)
	}
	return s
}

// playbook decodes one document.
func (d *decoder) playbook(body ast.Node) *Playbook {
	fs, ok := d.fields(body, "", []string{"name", "description", "triggers", "failure_receiver", "steps"})
	if !ok {
		return nil
	}
	pb := &Playbook{Pos: nodePos(body)}
	if e, ok := fs["name"]; ok {
		pb.Name = d.name(e.val, "name")
	}
	if pb.Name == "" && !hasErrorAt(d.errs, "name") {
		d.add(pb.Pos, "name", "required")
	}
	pb.Description = d.str(fs["description"].val, "description")
	if e, ok := fs["failure_receiver"]; ok {
		pb.FailureReceiver = d.str(e.val, "failure_receiver")
		if pb.FailureReceiver != "" {
			pb.refs = append(pb.refs, ref{kind: "receiver", name: pb.FailureReceiver, field: "failure_receiver", pos: nodePos(e.val)})
		}
	}
	if e, ok := fs["triggers"]; ok {
		for i, tn := range d.seq(e.val, "triggers") {
			if t, ok := d.trigger(tn, fmt.Sprintf("triggers[%d]", i)); ok {
				pb.Triggers = append(pb.Triggers, t)
			}
		}
		if len(pb.Triggers) == 0 && isEmptySeq(e.val) {
			d.add(nodePos(e.val), "triggers", "at least one trigger is required")
		}
	} else {
		d.add(pb.Pos, "triggers", "required")
	}
	if e, ok := fs["steps"]; ok {
		nodes := d.seq(e.val, "steps")
		if len(nodes) == 0 && isEmptySeq(e.val) {
			d.add(nodePos(e.val), "steps", "at least one step is required")
		}
		names := map[string]bool{}
		for i, sn := range nodes {
			st, ok := d.step(sn, fmt.Sprintf("steps[%d]", i), i, pb)
			if st.Name != "" && names[st.Name] {
				d.add(st.Pos, fmt.Sprintf("steps[%d].name", i), "duplicate step name %q", st.Name)
			}
			names[st.Name] = true
			if ok {
				pb.Steps = append(pb.Steps, st)
			}
		}
	} else {
		d.add(pb.Pos, "steps", "required")
	}
	return pb
}

func isEmptySeq(n ast.Node) bool {
	if isNull(n) {
		return true
	}
	s, ok := n.(*ast.SequenceNode)
	return ok && len(s.Values) == 0
}

func hasErrorAt(errs ErrorList, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

func (d *decoder) trigger(n ast.Node, field string) (Trigger, bool) {
	fs, ok := d.fields(n, field, []string{"scenario", "labels", "risk", "incident"})
	if !ok {
		return Trigger{}, false
	}
	var t Trigger
	before := len(d.errs)
	if e, ok := fs["scenario"]; ok {
		t.Scenario = d.str(e.val, join(field, "scenario"))
		if _, err := path.Match(t.Scenario, ""); err != nil {
			d.add(nodePos(e.val), join(field, "scenario"), "bad pattern %q: %v", t.Scenario, err)
		}
	}
	if e, ok := fs["labels"]; ok {
		t.Labels = d.labels(e.val, join(field, "labels"))
	}
	if e, ok := fs["risk"]; ok {
		t.MinRisk = d.number(e.val, join(field, "risk"), 0, 10)
	}
	if e, ok := fs["incident"]; ok {
		states, pos := d.list(e.val, join(field, "incident"))
		for i, s := range states {
			if !slices.Contains(IncidentStates(), s) {
				d.add(pos[i], join(field, "incident"), "%q is not one of %s", s, strings.Join(IncidentStates(), ", "))
			}
		}
		t.Incident = states
	}
	if len(fs) == 0 {
		// An empty trigger would fire on every alert; say so explicitly
		// with scenario: "*".
		d.add(nodePos(n), field, "empty trigger; use scenario: \"*\" to fire on every alert")
	}
	return t, len(d.errs) == before
}

// labels reads label matchers: name: value, where value may start with an
// operator (!=, =~, !~; = is the default). Regular expressions are anchored
// like Alertmanager's, so "ssh" never matches "sshd-legacy" by accident.
func (d *decoder) labels(n ast.Node, field string) []LabelMatcher {
	n, ok := d.unwrap(n, field)
	if !ok {
		return nil
	}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.add(nodePos(n), field, "want a mapping of label: matcher, got %s", kindName(n))
		return nil
	}
	var out []LabelMatcher
	seen := map[string]bool{}
	for _, mv := range m.Values {
		name, ok := scalar(mv.Key)
		if !ok || name == "" {
			d.add(nodePos(mv.Key), field, "a label name must be a plain string")
			continue
		}
		f := join(field, name)
		if seen[name] {
			d.add(nodePos(mv.Key), f, "duplicate label %q", name)
			continue
		}
		seen[name] = true
		raw := d.str(mv.Value, f)
		lm := LabelMatcher{Name: name, Op: "=", Value: raw}
		for _, op := range []string{"!=", "=~", "!~", "="} {
			if v, ok := strings.CutPrefix(raw, op); ok {
				lm.Op, lm.Value = op, v
				break
			}
		}
		if lm.Op == "=~" || lm.Op == "!~" {
			re, err := regexp.Compile("^(?:" + lm.Value + ")$")
			if err != nil {
				d.add(nodePos(mv.Value), f, "bad regular expression %q: %v", lm.Value, err)
				continue
			}
			lm.re = re
		}
		out = append(out, lm)
	}
	return out
}

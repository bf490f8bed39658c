package route

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Op is a matcher's comparison.
type Op string

// The operators. Regexps are anchored at both ends, as in Alertmanager;
// the numeric ones compare the label's value as a number (risk>=7) and never
// match a label that is missing or not a number.
const (
	OpEqual      Op = "="
	OpNotEqual   Op = "!="
	OpRegexp     Op = "=~"
	OpNotRegexp  Op = "!~"
	OpGreaterEq  Op = ">="
	OpGreater    Op = ">"
	OpLessEq     Op = "<="
	OpLess       Op = "<"
	maxMatcherLn    = 4096
)

// ops in the order the parser tries them: two-character operators first so
// "risk>=7" is not read as "risk>" "=7".
var ops = []Op{OpRegexp, OpNotRegexp, OpNotEqual, OpGreaterEq, OpLessEq, OpEqual, OpGreater, OpLess}

// Matcher tests one label. Build it with ParseMatcher or NewMatcher; the
// zero value is not usable.
type Matcher struct {
	Name  string
	Op    Op
	Value string
	re    *regexp.Regexp
	num   float64
}

// NewMatcher checks and compiles a matcher.
func NewMatcher(name string, op Op, value string) (Matcher, error) {
	m := Matcher{Name: name, Op: op, Value: value}
	if !validLabelName(name) {
		return Matcher{}, fmt.Errorf("bad label name %q (want letters, digits and _, not starting with a digit)", name)
	}
	switch op {
	case OpEqual, OpNotEqual:
	case OpRegexp, OpNotRegexp:
		// Compiled alone first so an error quotes the user's text, not the
		// anchored wrapper.
		if _, err := regexp.Compile(value); err != nil {
			return Matcher{}, fmt.Errorf("bad regexp: %w", err)
		}
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return Matcher{}, fmt.Errorf("bad regexp: %w", err)
		}
		m.re = re
	case OpGreaterEq, OpGreater, OpLessEq, OpLess:
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || v != v {
			return Matcher{}, fmt.Errorf("%s needs a number, got %q", op, value)
		}
		m.num = v
	default:
		return Matcher{}, fmt.Errorf("unknown operator %q", op)
	}
	return m, nil
}

// ParseMatcher reads `name op value`, for example `scenario=~ssh-.*`,
// `risk>=7`, `role!=lab` or `host="web 1"`. Spaces around the operator are
// allowed; a value in double quotes is unquoted as a Go string.
func ParseMatcher(s string) (Matcher, error) {
	if len(s) > maxMatcherLn {
		return Matcher{}, fmt.Errorf("matcher longer than %d bytes", maxMatcherLn)
	}
	i := strings.IndexAny(s, "=!~<>")
	if i < 0 {
		return Matcher{}, fmt.Errorf("matcher %q has no operator (=, !=, =~, !~, >=, >, <=, <)", s)
	}
	name := strings.TrimSpace(s[:i])
	rest := s[i:]
	var op Op
	for _, o := range ops {
		if strings.HasPrefix(rest, string(o)) {
			op = o
			break
		}
	}
	if op == "" {
		return Matcher{}, fmt.Errorf("matcher %q: bad operator at %q", s, rest[:min(2, len(rest))])
	}
	value := strings.TrimSpace(rest[len(op):])
	if strings.HasPrefix(value, `"`) {
		v, err := strconv.Unquote(value)
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %q: bad quoted value %s", s, value)
		}
		value = v
	}
	m, err := NewMatcher(name, op, value)
	if err != nil {
		return Matcher{}, fmt.Errorf("matcher %q: %w", s, err)
	}
	return m, nil
}

// ParseMatchers parses each string; the first error wins.
func ParseMatchers(ss []string) ([]Matcher, error) {
	out := make([]Matcher, 0, len(ss))
	for _, s := range ss {
		m, err := ParseMatcher(s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Matches reports whether labels satisfy m. A missing label reads as "",
// so `role!=lab` matches an alert without a role.
func (m *Matcher) Matches(labels map[string]string) bool {
	v, ok := labels[m.Name]
	switch m.Op {
	case OpEqual:
		return v == m.Value
	case OpNotEqual:
		return v != m.Value
	case OpRegexp:
		return m.re.MatchString(v)
	case OpNotRegexp:
		return !m.re.MatchString(v)
	}
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return false
	}
	switch m.Op {
	case OpGreaterEq:
		return f >= m.num
	case OpGreater:
		return f > m.num
	case OpLessEq:
		return f <= m.num
	case OpLess:
		return f < m.num
	}
	return false
}

// String renders m so that ParseMatcher reads it back: the value is quoted
// unless it is plain.
func (m Matcher) String() string {
	return m.Name + string(m.Op) + quoteIfNeeded(m.Value)
}

func quoteIfNeeded(v string) string {
	if v == "" || strings.ContainsRune("=~!<>", rune(v[0])) {
		return strconv.Quote(v)
	}
	for _, c := range v {
		if c <= ' ' || c == '"' || c == '\\' || c > '~' {
			return strconv.Quote(v)
		}
	}
	return v
}

// matchAll reports whether every matcher matches.
func matchAll(ms []Matcher, labels map[string]string) bool {
	for i := range ms {
		if !ms[i].Matches(labels) {
			return false
		}
	}
	return true
}

func matchersString(ms []Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, ", ")
}

package tui

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/phantomsoc/phantomsoc/engine"
)

// filterFields are the fields a filter term may name, in the order help
// lists them.
var filterFields = []string{"type", "source", "user", "origin", "program", "host", "indicator"}

// eventFilter is a parsed live-view filter: every term must match. The zero
// value matches everything.
type eventFilter struct {
	// text is the filter as the analyst typed it, normalised to single
	// spaces, for the view's header.
	text  string
	terms []filterTerm
}

// filterTerm is one field:value or bare word. Values are lowered once at
// parse time so matching a busy stream does not allocate per field.
type filterTerm struct {
	field string
	value string
	// source: a prefix (an address is a single-address prefix) or, for a
	// name, the unresolved SourceHost.
	prefix netip.Prefix
	flag   bool
}

// parseFilter reads space-separated terms: field:value with a field from
// filterFields, or a bare word matched anywhere in the raw line. A word
// whose part before the first colon is not a plain name ("12:00:01",
// "2001:db8::1") is a bare word too.
func parseFilter(s string) (eventFilter, error) {
	words := strings.Fields(s)
	f := eventFilter{text: strings.Join(words, " ")}
	var problems []string
	for _, w := range words {
		t, err := parseTerm(w)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		f.terms = append(f.terms, t)
	}
	if len(problems) > 0 {
		// Every bad term at once, on the prompt's one problem line.
		return eventFilter{}, errors.New(strings.Join(problems, "; "))
	}
	return f, nil
}

func parseTerm(w string) (filterTerm, error) {
	name, value, ok := strings.Cut(w, ":")
	if !ok || !isFieldName(name) {
		return filterTerm{value: strings.ToLower(w)}, nil
	}
	field := strings.ToLower(name)
	known := false
	for _, f := range filterFields {
		known = known || f == field
	}
	if !known {
		return filterTerm{}, fmt.Errorf("%s: unknown field %q (%s)", w, name, strings.Join(filterFields, " "))
	}
	if value == "" {
		return filterTerm{}, fmt.Errorf("%s: empty value", w)
	}
	t := filterTerm{field: field, value: strings.ToLower(value)}
	switch field {
	case "source":
		p, err := parseSource(value)
		if err != nil {
			return filterTerm{}, fmt.Errorf("%s: %w", w, err)
		}
		t.prefix = p
	case "indicator":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return filterTerm{}, fmt.Errorf("%s: want true or false", w)
		}
		t.flag = b
	}
	return t, nil
}

// parseSource reads an address or a CIDR prefix; anything that is neither
// and could not be a host name is an error, so a mistyped address does not
// silently match nothing. A host name returns the zero prefix.
func parseSource(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q", v)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(v); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	if strings.Trim(v, "0123456789.") == "" || strings.Contains(v, ":") {
		return netip.Prefix{}, fmt.Errorf("bad address %q", v)
	}
	return netip.Prefix{}, nil
}

// isFieldName reports a plain lowercase-or-not name: letters only.
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// active reports a filter that can hide something.
func (f *eventFilter) active() bool { return len(f.terms) > 0 }

// match reports whether ev satisfies every term. Values compare without
// case; type matches itself or a family ("type:ssh.auth"); origin matches
// a part of the origin; bare words a part of the raw line.
func (f *eventFilter) match(ev *engine.Event) bool {
	for i := range f.terms {
		if !f.terms[i].match(ev) {
			return false
		}
	}
	return true
}

func (t *filterTerm) match(ev *engine.Event) bool {
	switch t.field {
	case "":
		return containsFold(ev.Raw, t.value)
	case "type":
		return strings.EqualFold(ev.Type, t.value) ||
			len(ev.Type) > len(t.value) && ev.Type[len(t.value)] == '.' && strings.EqualFold(ev.Type[:len(t.value)], t.value)
	case "source":
		if !t.prefix.IsValid() {
			return strings.EqualFold(ev.SourceHost, t.value)
		}
		return ev.Source.IsValid() && t.prefix.Contains(ev.Source)
	case "user":
		return strings.EqualFold(ev.User, t.value)
	case "origin":
		return containsFold(ev.Origin, t.value)
	case "program":
		return strings.EqualFold(ev.Program, t.value)
	case "host":
		return strings.EqualFold(ev.Host, t.value)
	case "indicator":
		return ev.Indicator == t.flag
	}
	return false
}

// containsFold reports whether s contains lower, which is already lower
// case, ignoring case; ASCII lines, the common case, do not allocate.
func containsFold(s, lower string) bool {
	if lower == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return strings.Contains(strings.ToLower(s), lower)
		}
	}
	n := len(lower)
	for i := 0; i+n <= len(s); i++ {
		if asciiEqualFold(s[i:i+n], lower) {
			return true
		}
	}
	return false
}

func asciiEqualFold(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

package playbooks

import (
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a playbook file, located so an editor can jump to
// it: the file, the 1-based line and column, and the field path
// ("steps[2].remediate.ttl").
type Error struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error renders "file:line:col: field: message", the form compilers use, so
// terminals and editors make it a link.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ErrorList is every problem found in one load or validation, in file
// order. Lint prints them all: fixing one error per run is slow.
type ErrorList []*Error

// Error renders one problem per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// sorted orders l by file, line and column: checks run in the order the
// code reads fields, an author reads the file top to bottom.
func (l ErrorList) sorted() ErrorList {
	slices.SortStableFunc(l, func(a, b *Error) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return l
}

// err returns l as an error, or nil when it is empty: a nil ErrorList in an
// error interface is not a nil error.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

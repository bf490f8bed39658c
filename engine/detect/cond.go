package detect

import (
	"errors"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/phantomsoc/phantomsoc/engine"
)

// condEvent is the event as a condition sees it: evt.Type, evt.Severity…
// Addresses are strings so that `evt.Source == "192.0.2.1"` and
// `evt.Source startsWith "192.0.2."` read naturally.
type condEvent struct {
	Type        string
	Indicator   bool
	Source      string
	SourceHost  string
	SourcePort  int
	Dest        string
	DestPort    int
	Proto       string
	Host        string
	Program     string
	User        string
	Method      string
	Pattern     string
	Signature   string
	SignatureID int64
	Category    string
	Severity    int
	Count       int
}

// condEnv is the typed environment conditions compile against.
type condEnv struct {
	Evt condEvent `expr:"evt"`
}

// condError is a compile error with its place inside the expression
// (line 1-based, col 0-based, as expr reports them).
type condError struct {
	msg       string
	line, col int
}

// compileCondition compiles src to a boolean program. addrs reports whether
// the condition reads evt.Source or evt.Dest, which cost a formatting each.
func compileCondition(src string) (prog *vm.Program, addrs bool, cerr *condError) {
	p, err := expr.Compile(src, expr.Env(condEnv{}), expr.AsBool())
	if err != nil {
		ce := &condError{msg: err.Error()}
		if fe, ok := errors.AsType[*file.Error](err); ok {
			ce.msg = fe.Message
			ce.line, ce.col = fe.Line, fe.Column
			if ce.line == 0 {
				ce.line = 1
			}
		}
		return nil, false, ce
	}
	return p, strings.Contains(src, "Source") || strings.Contains(src, "Dest"), nil
}

// fill loads ev into e; addrs formats the addresses too.
func (e *condEvent) fill(ev *engine.Event, addrs bool) {
	*e = condEvent{
		Type:        ev.Type,
		Indicator:   ev.Indicator,
		SourceHost:  ev.SourceHost,
		SourcePort:  int(ev.SourcePort),
		DestPort:    int(ev.DestPort),
		Proto:       ev.Proto,
		Host:        ev.Host,
		Program:     ev.Program,
		User:        ev.User,
		Method:      ev.Method,
		Pattern:     ev.Pattern,
		Signature:   ev.Signature,
		SignatureID: ev.SignatureID,
		Category:    ev.Category,
		Severity:    ev.Severity,
		Count:       ev.N(),
	}
	if addrs {
		e.Source = addrString(ev.Source)
		e.Dest = addrString(ev.Dest)
	}
}

package playbooks

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Env is everything a playbook expression can read. It is a typed struct,
// not a map, so a misspelt field (alert.sorce) or a type mismatch
// (alert.risk > "high") fails when the playbook loads, not when an attacker
// shows up.
type Env struct {
	Alert    AlertEnv    `expr:"alert"`
	Incident IncidentEnv `expr:"incident"`
	Playbook string      `expr:"playbook"`
	// Now is the run's clock when the step starts: event time in a replay.
	Now time.Time `expr:"now"`
}

// AlertEnv is the triggering alert as expressions see it: addresses as
// strings, absent ones empty.
type AlertEnv struct {
	ID          string            `expr:"id"`
	Time        time.Time         `expr:"time"`
	Scenario    string            `expr:"scenario"`
	Description string            `expr:"description"`
	Severity    float64           `expr:"severity"`
	Key         string            `expr:"key"`
	Source      string            `expr:"source"`
	Prefixes    []string          `expr:"prefixes"`
	Sources     int               `expr:"sources"`
	Host        string            `expr:"host"`
	Dest        string            `expr:"dest"`
	Users       []string          `expr:"users"`
	Count       int               `expr:"count"`
	Propose     string            `expr:"propose"`
	Labels      map[string]string `expr:"labels"`
	Risk        float64           `expr:"risk"`
	Confidence  float64           `expr:"confidence"`
	Assets      []string          `expr:"assets"`
	Gateways    []string          `expr:"gateways"`
	// Targets is what acting on the alert covers: a campaign's prefixes,
	// else the source. It is the default remediate and collect target.
	Targets []string `expr:"targets"`
}

// IncidentEnv is the alert's incident; State is "none" while there is none.
type IncidentEnv struct {
	ID       string   `expr:"id"`
	State    string   `expr:"state"`
	Severity float64  `expr:"severity"`
	Owner    string   `expr:"owner"`
	Tags     []string `expr:"tags"`
	Alerts   int      `expr:"alerts"`
}

// newAlertEnv flattens an alert for expressions.
func newAlertEnv(a *engine.Alert) AlertEnv {
	e := AlertEnv{
		ID: a.ID, Time: a.Time, Scenario: a.Scenario, Description: a.Description,
		Severity: a.Severity, Key: a.Key, Sources: a.Sources, Host: a.Host,
		Users: a.Users, Count: a.Count, Propose: a.Propose, Labels: a.Labels,
		Risk: a.Risk, Confidence: a.Confidence, Assets: a.Blast.Assets, Gateways: a.Blast.Gateways,
	}
	if a.Source.IsValid() {
		e.Source = a.Source.String()
	}
	if a.Dest.IsValid() {
		e.Dest = a.Dest.String()
	}
	for _, p := range a.Prefixes {
		e.Prefixes = append(e.Prefixes, engine.PrefixString(p))
	}
	switch {
	case len(e.Prefixes) > 0:
		e.Targets = e.Prefixes
	case e.Source != "":
		e.Targets = []string{e.Source}
	}
	if e.Labels == nil {
		// Indexing a nil map is fine in expr, but an empty one keeps
		// `len(alert.labels)` honest.
		e.Labels = map[string]string{}
	}
	return e
}

// newIncidentEnv flattens an incident; nil is the "none" state.
func newIncidentEnv(inc *Incident) IncidentEnv {
	if inc == nil {
		return IncidentEnv{State: "none"}
	}
	return IncidentEnv{ID: inc.ID, State: inc.State, Severity: inc.Severity, Owner: inc.Owner, Tags: inc.Tags, Alerts: inc.Alerts}
}

// Expr is an expr-lang expression compiled against Env.
type Expr struct {
	Source string
	prog   *vm.Program
}

// MarshalText renders the source, so listings show what was written.
func (e *Expr) MarshalText() ([]byte, error) { return []byte(e.Source), nil }

// String returns the source.
func (e *Expr) String() string { return e.Source }

func (e *Expr) eval(env *Env) (any, error) {
	v, err := expr.Run(e.prog, env)
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: %w", e.Source, err)
	}
	return v, nil
}

func (e *Expr) bool(env *Env) (bool, error) {
	v, err := e.eval(env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("evaluate %q: got %T, want bool", e.Source, v)
	}
	return b, nil
}

// prefixes evaluates a target expression: an address, a CIDR, or a list of
// them. Values are parsed, never pasted, so nothing but a real address
// reaches a gateway.
func (e *Expr) prefixes(env *Env) ([]netip.Prefix, error) {
	v, err := e.eval(env)
	if err != nil {
		return nil, err
	}
	var raw []string
	switch t := v.(type) {
	case string:
		if t != "" {
			raw = []string{t}
		}
	case []string:
		raw = t
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("target %q: element %v is %T, want a string", e.Source, x, x)
			}
			raw = append(raw, s)
		}
	case nil:
	default:
		return nil, fmt.Errorf("target %q: got %T, want an address or a list of them", e.Source, v)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("target %q is empty", e.Source)
	}
	out := make([]netip.Prefix, 0, len(raw))
	for _, s := range raw {
		p, err := parseTarget(s)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", e.Source, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// parseTarget accepts "198.51.100.7" or "198.51.100.0/24".
func parseTarget(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// exprOptions are shared by every compile. now() is disabled: it reads the
// wall clock, and a replay must see event time (the env's now).
func exprOptions(asBool bool) []expr.Option {
	opts := []expr.Option{expr.Env(Env{}), expr.DisableBuiltin("now")}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	return opts
}

// compileExpr compiles src; on error it returns the 0-based line and column
// inside src that expr reports, so the caller can add the YAML position.
func compileExpr(src string, asBool bool) (*Expr, int, int, error) {
	prog, err := expr.Compile(src, exprOptions(asBool)...)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			// expr names the Go types; an author knows alert and incident.
			msg := strings.NewReplacer("playbooks.AlertEnv", "alert", "playbooks.IncidentEnv", "incident", "playbooks.Env", "the playbook environment").Replace(fe.Message)
			return nil, fe.Line - 1, fe.Column, errors.New(msg)
		}
		return nil, 0, 0, err
	}
	return &Expr{Source: src, prog: prog}, 0, 0, nil
}

// Text is a string with {{ expression }} placeholders, each compiled
// against Env like any other expression: one language for conditions,
// targets and messages.
type Text struct {
	Source string
	parts  []textPart
}

type textPart struct {
	lit  string
	expr *Expr
}

// MarshalText renders the source.
func (t *Text) MarshalText() ([]byte, error) { return []byte(t.Source), nil }

// String returns the source.
func (t *Text) String() string { return t.Source }

// render fills the placeholders; a nil Text renders as "".
func (t *Text) render(env *Env) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.expr.eval(env)
		if err != nil {
			return "", err
		}
		switch x := v.(type) {
		case string:
			b.WriteString(x)
		case []string:
			b.WriteString(strings.Join(x, ", "))
		case nil:
		default:
			fmt.Fprint(&b, x)
		}
	}
	return b.String(), nil
}

// compileText splits src on {{ }} and compiles each placeholder. On error
// it returns the byte offset in src where the problem starts.
func compileText(src string) (*Text, int, error) {
	t := &Text{Source: src}
	rest, off := src, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, textPart{lit: rest})
			}
			return t, 0, nil
		}
		if i > 0 {
			t.parts = append(t.parts, textPart{lit: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, off + i, errors.New("unclosed {{")
		}
		inner := rest[i+2 : i+2+j]
		if strings.TrimSpace(inner) == "" {
			return nil, off + i, errors.New("empty {{ }}")
		}
		e, _, col, err := compileExpr(inner, false)
		if err != nil {
			return nil, off + i + 2 + col, fmt.Errorf("in {{%s}}: %w", inner, err)
		}
		t.parts = append(t.parts, textPart{expr: e})
		rest = rest[i+2+j+2:]
		off += i + 2 + j + 2
	}
}

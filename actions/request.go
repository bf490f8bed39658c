package actions

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Request is a remediation asked for by a person (CLI, console, playbook),
// as typed: the Enforcer parses and validates it, so a hostile value is
// refused and audited the same way whichever client sent it.
type Request struct {
	// Actor is who asked, e.g. "cli:alice".
	Actor  string `json:"actor"`
	Type   string `json:"type"`
	Target string `json:"target,omitempty"`
	// Port is PROTO/PORT for a firewall rule ("tcp/2222").
	Port  string        `json:"port,omitempty"`
	Iface string        `json:"iface,omitempty"`
	TTL   time.Duration `json:"ttl,omitempty"`
	// Permanent asks for no TTL.
	Permanent bool `json:"permanent,omitempty"`
	// Gateways limits the action; empty or "all" means every gateway.
	Gateways []string `json:"gateways,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	// Force allows a range wider than the guard's limit; it never allows a
	// protected address.
	Force  bool `json:"force,omitempty"`
	DryRun bool `json:"dry_run,omitempty"`
}

// Result is what a request did.
type Result struct {
	Decision     engine.Decision      `json:"decision"`
	Enforcements []engine.Enforcement `json:"enforcements,omitempty"`
	// Script is the nft batch per gateway of a dry run.
	Script string `json:"script,omitempty"`
}

// spec parses r into a validated Spec.
func (r *Request) spec() (Spec, error) {
	s := Spec{Type: r.Type, Iface: r.Iface, TTL: r.TTL, Permanent: r.Permanent}
	var errs []error
	if r.Target != "" && r.Target != "everyone" {
		p, err := ParseTarget(r.Target)
		errs = append(errs, err)
		s.Target = p
	}
	if r.Port != "" {
		proto, port, err := ParsePort(r.Port)
		errs = append(errs, err)
		s.Proto, s.Port = proto, port
	}
	if err := errors.Join(errs...); err != nil {
		return s, err
	}
	return s, s.Validate()
}

// Submit carries out r: it becomes a decision (refused, or active and
// applied on its gateways) recorded with its audit trail. A dry run renders
// the batches and records nothing.
func (e *Enforcer) Submit(ctx context.Context, r Request) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Now()
	if r.Actor == "" {
		return Result{}, errors.New("request: no actor")
	}
	gws, gerr := e.gatewayNames(r.Gateways)
	s, err := r.spec()
	if err == nil {
		err = gerr
	}
	if err == nil {
		err = e.check(s, r.Force)
	}
	if err != nil {
		if !errors.Is(err, ErrRefused) {
			err = fmt.Errorf("%w: %w", ErrRefused, err)
		}
		// The raw request is the evidence: JSON-escaped in the audit
		// record, never interpreted.
		ch := engine.Change{Notes: []engine.AuditNote{{Time: now, Actor: r.Actor, Action: AuditRefused, Subject: r.Type + " " + r.Target,
			Detail: map[string]any{"request": r, "why": err.Error()}}}}
		if rerr := e.journal.Record(ctx, &ch); rerr != nil {
			return Result{}, errors.Join(err, rerr)
		}
		return Result{}, err
	}
	d := engine.Decision{Time: now, Scenario: "manual", Action: s.Type, Target: s.Target, Port: s.Port, Iface: s.Iface,
		TTL: s.TTL, Auto: false, State: engine.StateActive, Offense: 1, Reason: r.Reason, Gateways: gws}
	if s.Proto != 0 {
		d.Proto = ProtoName(s.Proto)
	}
	if !s.Permanent {
		d.Expires = now.Add(s.TTL)
	}
	if d.Reason == "" {
		d.Reason = "asked by " + r.Actor
	}
	if r.DryRun || e.opts.DryRun {
		return e.dryRun(ctx, &d)
	}
	if d.ID, err = e.journal.NewDecisionID(ctx); err != nil {
		return Result{}, err
	}
	ch := engine.Change{Decisions: []engine.Decision{d}, Notes: []engine.AuditNote{{Time: now, Actor: r.Actor, Action: AuditCreated, Subject: d.ID, Detail: &d}}}
	if err := e.journal.Record(ctx, &ch); err != nil {
		return Result{}, err
	}
	e.put(&d)
	perr := e.plan(ctx, []*engine.Decision{&d}, r.Actor)
	return Result{Decision: d, Enforcements: e.states(d.ID)}, perr
}

// dryRun renders d's batches without applying or recording anything.
func (e *Enforcer) dryRun(ctx context.Context, d *engine.Decision) (Result, error) {
	d.ID = "dry-run"
	var sb strings.Builder
	out := e.opts.DryRunOut
	e.opts.DryRunOut = &sb
	dry := e.opts.DryRun
	e.opts.DryRun = true
	e.put(d)
	defer func() {
		e.drop(d.ID)
		e.opts.DryRunOut, e.opts.DryRun = out, dry
		for _, g := range e.gws {
			delete(g.state, d.ID)
		}
	}()
	j := e.journal
	e.journal = nopJournal{}
	err := e.plan(ctx, []*engine.Decision{d}, "dry-run")
	e.journal = j
	if len(e.gws) == 0 {
		sb.WriteString("# no gateway configured; the batch would be:\n")
		s, _ := SpecOf(d)
		sb.WriteString(RenderBatch(Batch{Add: s.Elements()}))
	}
	return Result{Decision: *d, Script: sb.String()}, err
}

type nopJournal struct{}

func (nopJournal) Record(context.Context, *engine.Change) error  { return nil }
func (nopJournal) Live(time.Time) ([]engine.Decision, error)     { return nil, nil }
func (nopJournal) NewDecisionID(context.Context) (string, error) { return "dry-run", nil }

// Rollback removes decision id from every gateway before its TTL: an
// element another live decision still wants is kept, with that decision's
// time left.
func (e *Enforcer) Rollback(ctx context.Context, id, actor string) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.live[id]
	if !ok {
		return Result{}, fmt.Errorf("decision %s: not active or pending (already expired, refused or rolled back?)", id)
	}
	now := e.opts.Now()
	e.drop(id)
	prev := d.State
	d.State = engine.StateRolledBack
	ch := engine.Change{Decisions: []engine.Decision{*d}, Notes: []engine.AuditNote{{Time: now, Actor: actor, Action: AuditRolledBack, Subject: id,
		Detail: map[string]any{"target": d.TargetString(), "action": d.Action, "was": prev}}}}
	if err := e.journal.Record(ctx, &ch); err != nil {
		e.put(d)
		d.State = prev
		return Result{}, err
	}
	var err error
	if prev == engine.StateActive {
		err = e.plan(ctx, []*engine.Decision{d}, actor)
	}
	return Result{Decision: *d, Enforcements: e.states(id)}, err
}

// Unblock rolls back every live block decision whose target is target.
func (e *Enforcer) Unblock(ctx context.Context, target, actor string) ([]Result, error) {
	p, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	var ids []string
	for id, d := range e.live {
		if d.Action == engine.ActionBlock && NormalPrefix(d.Target) == p {
			ids = append(ids, id)
		}
	}
	e.mu.Unlock()
	if len(ids) == 0 {
		return nil, fmt.Errorf("no active block on %s", engine.PrefixString(p))
	}
	slices.Sort(ids)
	var out []Result
	var errs []error
	for _, id := range ids {
		r, err := e.Rollback(ctx, id, actor)
		out = append(out, r)
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// Approve applies a pending decision.
func (e *Enforcer) Approve(ctx context.Context, id, actor string) (Result, error) {
	return e.ApproveEdited(ctx, id, Edit{}, actor)
}

// Edit changes a pending decision as it is approved: a new TTL from now,
// and a narrower set of gateways. Zero fields keep the decision's own.
type Edit struct {
	TTL      time.Duration `json:"ttl,omitempty"`
	Gateways []string      `json:"gateways,omitempty"`
}

// ApproveEdited applies a pending decision after the analyst's edit; the
// audit record holds both what was proposed and what was approved.
func (e *Enforcer) ApproveEdited(ctx context.Context, id string, ed Edit, actor string) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.live[id]
	if !ok || d.State != engine.StatePending {
		return Result{}, fmt.Errorf("decision %s: not pending", id)
	}
	now := e.opts.Now()
	if ed.TTL < 0 || ed.TTL > MaxTTL {
		return Result{}, fmt.Errorf("ttl %s: want more than 0 and at most %s", ed.TTL, MaxTTL)
	}
	gws, err := e.gatewayNames(ed.Gateways)
	if err != nil {
		return Result{}, err
	}
	prev := *d
	if ed.TTL > 0 {
		d.Expires = now.Add(ed.TTL)
		d.TTL = d.Expires.Sub(d.Time)
	}
	if gws != nil {
		d.Gateways = gws
	}
	s, err := SpecOf(d)
	if err == nil {
		err = e.check(s, false)
	}
	if err != nil {
		var ch engine.Change
		e.refuse(&ch, d, actor, err, now)
		return Result{}, errors.Join(err, e.journal.Record(ctx, &ch))
	}
	d.State = engine.StateActive
	detail := map[string]any{"target": d.TargetString(), "action": d.Action}
	if ed.TTL > 0 || gws != nil {
		detail["proposed_expires"], detail["proposed_gateways"] = prev.Expires, prev.Gateways
		detail["expires"], detail["gateways"] = d.Expires, d.Gateways
	}
	ch := engine.Change{Decisions: []engine.Decision{*d}, Notes: []engine.AuditNote{{Time: now, Actor: actor, Action: AuditApproved, Subject: id, Detail: detail}}}
	if err := e.journal.Record(ctx, &ch); err != nil {
		*d = prev
		return Result{}, err
	}
	e.put(d)
	err = e.plan(ctx, []*engine.Decision{d}, actor)
	return Result{Decision: *d, Enforcements: e.states(id)}, err
}

func (e *Enforcer) states(id string) []engine.Enforcement {
	var out []engine.Enforcement
	for _, g := range e.gws {
		if st, ok := g.state[id]; ok {
			en := engine.Enforcement{DecisionID: id, Gateway: g.Name, State: st}
			if g.lastErr != nil && st == engine.EnforcePending {
				en.Error = g.lastErr.Error()
			}
			out = append(out, en)
		}
	}
	return out
}

// gatewayNames checks the names a request gives; nil means every gateway.
func (e *Enforcer) gatewayNames(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		if n == "" || n == "all" {
			return nil, nil
		}
		if !slices.ContainsFunc(e.gws, func(g *gateway) bool { return g.Name == n }) {
			return nil, fmt.Errorf("gateway %q is not configured", n)
		}
		out = append(out, n)
	}
	return out, nil
}

// GatewayStatus is what `gateways list|show` reports.
type GatewayStatus struct {
	Name    string `json:"name"`
	Up      bool   `json:"up"`
	Error   string `json:"error,omitempty"`
	Version string `json:"version,omitempty"`
	// Table reports whether phantomsoc's table is there, Intact whether
	// all of it is.
	Table   bool     `json:"table"`
	Intact  bool     `json:"intact"`
	Missing []string `json:"missing,omitempty"`
	// Elements counts elements per set.
	Elements map[string]int `json:"elements"`
	// Drift counts live decisions' elements missing from the kernel and
	// kernel elements no live decision wants.
	MissingElements int                `json:"elements_missing"`
	Stray           int                `json:"elements_stray"`
	Counters        map[string]Counter `json:"counters,omitempty"`
	// Session is the address the gateway sees phantomsoc come from.
	Session string `json:"session,omitempty"`
}

// Status reads every gateway (or the named one) back and compares it with
// the live decisions.
func (e *Enforcer) Status(ctx context.Context, name string) ([]GatewayStatus, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Now()
	var out []GatewayStatus
	for _, g := range e.gws {
		if name != "" && g.Name != name {
			continue
		}
		gs := GatewayStatus{Name: g.Name, Elements: map[string]int{}}
		if g.Session != nil {
			if a, ok := g.Session(); ok {
				gs.Session = a.String()
			}
		}
		st, err := g.Backend.List(ctx)
		if err != nil {
			gs.Error = err.Error()
			out = append(out, gs)
			continue
		}
		gs.Up, gs.Version, gs.Table, gs.Intact, gs.Missing, gs.Counters = true, st.Version, st.Present, st.Intact, st.Missing, st.Counters
		have := fromState(st, now)
		for _, el := range st.Elements {
			gs.Elements[el.Set]++
		}
		want := e.desired(g.Name, nil)
		for k, w := range want {
			if _, ok := w.element(now); ok {
				if _, ok := have[k]; !ok {
					gs.MissingElements++
				}
			}
		}
		for k := range have {
			if _, ok := want[k]; !ok {
				gs.Stray++
			}
		}
		out = append(out, gs)
	}
	if name != "" && len(out) == 0 {
		return nil, fmt.Errorf("gateway %q is not configured", name)
	}
	return out, nil
}

// Session address helper for wiring: the client side of SSH_CONNECTION.
func SessionFromEnv(sshConnection string) (netip.Addr, bool) {
	f := strings.Fields(sshConnection)
	if len(f) < 1 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(f[0])
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// AuditRejected records an analyst refusing a pending decision.
const AuditRejected = "decision.rejected"

// Reject refuses a pending decision with the analyst's reason; it is kept,
// refused, and never applied.
func (e *Enforcer) Reject(ctx context.Context, id, reason, actor string) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.live[id]
	if !ok || d.State != engine.StatePending {
		return Result{}, fmt.Errorf("decision %s: not pending", id)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Result{}, errors.New("a rejection needs a reason")
	}
	now := e.opts.Now()
	prev := *d
	d.State = engine.StateRefused
	d.Reason = strings.TrimSpace(d.Reason + "; rejected by " + actor + ": " + reason)
	ch := engine.Change{Decisions: []engine.Decision{*d}, Notes: []engine.AuditNote{{Time: now, Actor: actor, Action: AuditRejected, Subject: id,
		Detail: map[string]any{"target": d.TargetString(), "action": d.Action, "reason": reason}}}}
	if err := e.journal.Record(ctx, &ch); err != nil {
		*d = prev
		return Result{}, err
	}
	e.drop(id)
	return Result{Decision: *d}, nil
}

// Preview renders the batch per gateway that approving pending decision id
// would apply, without applying or recording anything.
func (e *Enforcer) Preview(ctx context.Context, id string) (string, error) {
	e.mu.Lock()
	d, ok := e.live[id]
	if !ok {
		e.mu.Unlock()
		return "", fmt.Errorf("decision %s: not live", id)
	}
	c := *d
	e.mu.Unlock()
	c.State = engine.StateActive
	e.mu.Lock()
	defer e.mu.Unlock()
	r, err := e.dryRun(ctx, &c)
	return r.Script, err
}

// Health is a gateway's state as the Enforcer last saw it: no kernel read,
// cheap enough for a console to ask every second.
type Health struct {
	Name     string `json:"name"`
	Up       bool   `json:"up"`
	Elements int    `json:"elements"`
	Error    string `json:"error,omitempty"`
}

// Health reports every gateway from memory.
func (e *Enforcer) Health() []Health {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Health, 0, len(e.gws))
	for _, g := range e.gws {
		h := Health{Name: g.Name, Up: !g.down, Elements: len(g.applied)}
		if g.lastErr != nil {
			h.Error = g.lastErr.Error()
		}
		out = append(out, h)
	}
	return out
}

// AuditExtended records an analyst lengthening an active decision.
const AuditExtended = "decision.extended"

// Extend lengthens an active decision by d from its current expiry (from now
// when that has passed) and refreshes its elements' kernel timeouts.
func (e *Enforcer) Extend(ctx context.Context, id string, by time.Duration, actor string) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.live[id]
	if !ok || d.State != engine.StateActive {
		return Result{}, fmt.Errorf("decision %s: not active", id)
	}
	if d.Expires.IsZero() {
		return Result{}, fmt.Errorf("decision %s is permanent", id)
	}
	if by <= 0 || by > MaxTTL {
		return Result{}, fmt.Errorf("extend by %s: want more than 0 and at most %s", by, MaxTTL)
	}
	now := e.opts.Now()
	prev := *d
	from := d.Expires
	if from.Before(now) {
		from = now
	}
	d.Expires = from.Add(by)
	d.TTL = d.Expires.Sub(d.Time)
	ch := engine.Change{Decisions: []engine.Decision{*d}, Notes: []engine.AuditNote{{Time: now, Actor: actor, Action: AuditExtended, Subject: id,
		Detail: map[string]any{"target": d.TargetString(), "action": d.Action, "by": by.String(), "expires": d.Expires}}}}
	if err := e.journal.Record(ctx, &ch); err != nil {
		*d = prev
		return Result{}, err
	}
	e.put(d)
	err := e.plan(ctx, []*engine.Decision{d}, actor)
	return Result{Decision: *d, Enforcements: e.states(id)}, err
}

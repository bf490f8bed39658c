package actions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Journal is where enforcement reads the truth and records what it did: the
// store. Every decision change comes with its audit notes in one Record.
type Journal interface {
	Record(ctx context.Context, ch *engine.Change) error
	// Live returns the active and pending decisions not yet past their TTL.
	Live(now time.Time) ([]engine.Decision, error)
	NewDecisionID(ctx context.Context) (string, error)
}

// Gateway is one place decisions are enforced.
type Gateway struct {
	Name    string
	Backend Backend
	Shield  Shield
	// Session, when set, reports the address the gateway sees phantomsoc's
	// own session come from; it is never acted on.
	Session func() (netip.Addr, bool)
}

// Approval says when an action type may be applied without an analyst.
type Approval struct {
	// Always requires approval whatever the risk.
	Always bool
	// AutoMinRisk requires approval below this risk.
	AutoMinRisk float64
}

// Options configure an Enforcer.
type Options struct {
	Guard Guard
	// DryRun renders every batch to DryRunOut and applies nothing.
	DryRun    bool
	DryRunOut io.Writer
	// MaxPerMinute caps automatic new actions; the excess waits for
	// approval. 0 means DefaultMaxPerMinute.
	MaxPerMinute int
	// Approval per action type; types missing here follow the policy.
	Approval map[string]Approval
	// ReconcileEvery is how often gateways are compared with the store.
	ReconcileEvery time.Duration
	// ReadBackLimit is the element count above which a reconcile that
	// cannot trust the ruleset generation rewrites the table instead of
	// reading it back: the kernel's dump of a large set costs more than
	// replacing it (2.1 s against 0.9 s at 100,000). 0 means
	// DefaultReadBackLimit.
	ReadBackLimit int
	Now           func() time.Time
	Logger        *slog.Logger
	// Snapshots, when set, records each gateway's ruleset around every
	// batch a plan applies there.
	Snapshots Snapshotter
}

// Snapshotter records a gateway's ruleset before and after an apply, as
// evidence of what the action changed. It runs apply exactly once and
// returns apply's error; its own failures are its to report, never the
// action's.
type Snapshotter interface {
	Bracket(ctx context.Context, gateway, actor string, ds []*engine.Decision, apply func(context.Context) error) error
}

// Defaults.
const (
	DefaultMaxPerMinute   = 60
	DefaultReconcileEvery = 30 * time.Second
	DefaultReadBackLimit  = 20_000
)

// DefaultApproval: isolating or quarantining a host stops a person's work,
// so an analyst always confirms it.
func DefaultApproval() map[string]Approval {
	return map[string]Approval{
		engine.ActionIsolate:    {Always: true},
		engine.ActionQuarantine: {Always: true},
	}
}

// NeedsApproval says why policy makes an action at this risk wait for an
// analyst ("" when it may apply unasked, the rate cap aside). A nil policy
// is DefaultApproval. Playbooks ask it for their approval: policy steps.
func NeedsApproval(policy map[string]Approval, action string, risk float64) string {
	if policy == nil {
		policy = DefaultApproval()
	}
	a, ok := policy[action]
	switch {
	case !ok:
		return ""
	case a.Always:
		return action + " always needs approval"
	case risk < a.AutoMinRisk:
		return fmt.Sprintf("risk %.1f is below %.1f, the automatic minimum for %s", risk, a.AutoMinRisk, action)
	}
	return ""
}

// Actors in enforcement audit records.
const (
	ActorPolicy    = "policy"
	ActorReconcile = "reconcile"
	ActorExpiry    = "expiry"
)

// Audit actions of enforcement.
const (
	AuditApplied    = "enforcement.applied"
	AuditFailed     = "enforcement.failed"
	AuditRolledBack = "enforcement.rolled_back"
	AuditExpired    = "enforcement.expired"
	AuditRefused    = "enforcement.refused"
	AuditCapped     = "enforcement.capped"
	AuditHeld       = "enforcement.held"
	AuditRepaired   = "enforcement.repaired"
	AuditDryRun     = "enforcement.dry_run"
	AuditApproved   = "decision.approved"
	AuditCreated    = "decision.created"
)

// Enforcer turns active decisions into kernel state on every gateway and
// keeps it there. Its in-memory view is rebuilt from the Journal on Run;
// the Journal stays the truth.
type Enforcer struct {
	opts    Options
	gws     []*gateway
	journal Journal
	log     *slog.Logger

	// mu serialises every plan: intake from the engine, requests from the
	// CLI and the reconcile loop.
	mu   sync.Mutex
	live map[string]*engine.Decision // by decision ID
	// els caches each live decision's elements.
	els map[string][]Element
	// loaded is set once Load has read the journal: before that the live
	// view is empty, and a reconcile would take every element for a stray.
	loaded bool
	recent []time.Time // automatic applies in the last minute

	qmu   sync.Mutex
	queue []engine.Decision
	wake  chan struct{}
}

// New checks the options and returns an Enforcer; Run starts it.
func New(opts Options, gws []Gateway, journal Journal) (*Enforcer, error) {
	if journal == nil {
		return nil, errors.New("enforcer: no journal")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxPerMinute == 0 {
		opts.MaxPerMinute = DefaultMaxPerMinute
	}
	if opts.ReconcileEvery == 0 {
		opts.ReconcileEvery = DefaultReconcileEvery
	}
	if opts.ReadBackLimit == 0 {
		opts.ReadBackLimit = DefaultReadBackLimit
	}
	if opts.Approval == nil {
		opts.Approval = DefaultApproval()
	}
	if opts.DryRun && opts.DryRunOut == nil {
		opts.DryRunOut = io.Discard
	}
	e := &Enforcer{opts: opts, journal: journal, log: opts.Logger.With("component", "enforce"), live: map[string]*engine.Decision{}, els: map[string][]Element{}, wake: make(chan struct{}, 1)}
	seen := map[string]bool{}
	for _, g := range gws {
		if g.Name == "" || g.Backend == nil || seen[g.Name] {
			return nil, fmt.Errorf("enforcer: gateway %q: a unique name and a backend are required", g.Name)
		}
		seen[g.Name] = true
		e.gws = append(e.gws, &gateway{Gateway: g, applied: map[elemKey]*want{}, state: map[string]string{}})
	}
	return e, nil
}

// Committed queues a commit's decisions; it never blocks the engine.
func (e *Enforcer) Committed(c *engine.Commit) {
	if len(c.Decisions) == 0 {
		return
	}
	e.qmu.Lock()
	e.queue = append(e.queue, c.Decisions...)
	e.qmu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run loads the live decisions, reconciles every gateway, then applies
// queued decisions as they come, reconciles every interval and records
// expiries, until ctx ends.
func (e *Enforcer) Run(ctx context.Context) error {
	if err := e.Load(ctx); err != nil {
		return err
	}
	e.Reconcile(ctx)
	tick := time.NewTicker(e.opts.ReconcileEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
			e.drain(ctx)
		case <-tick.C:
			e.Reconcile(ctx)
		}
	}
}

// Load replaces the in-memory view with the journal's live decisions.
func (e *Enforcer) Load(ctx context.Context) error {
	ds, err := e.journal.Live(e.opts.Now())
	if err != nil {
		return fmt.Errorf("enforcer: load live decisions: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.live, e.els, e.loaded = map[string]*engine.Decision{}, map[string][]Element{}, true
	for i := range ds {
		if e.enforceable(&ds[i]) {
			e.put(&ds[i])
		}
	}
	return nil
}

// enforceable reports whether d is an action this package carries out.
func (e *Enforcer) enforceable(d *engine.Decision) bool {
	return slices.Contains(Types(), d.Action)
}

func (e *Enforcer) drain(ctx context.Context) {
	e.qmu.Lock()
	q := e.queue
	e.queue = nil
	e.qmu.Unlock()
	if len(q) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var ch engine.Change
	var apply []*engine.Decision
	now := e.opts.Now()
	for i := range q {
		d := q[i]
		if !e.enforceable(&d) || d.State == engine.StateRefused {
			continue
		}
		spec, err := SpecOf(&d)
		if err == nil {
			err = e.check(spec, false)
		}
		if err != nil {
			e.refuse(&ch, &d, ActorPolicy, err, now)
			continue
		}
		if d.State == engine.StateActive {
			if why := e.hold(&d, now); why != "" {
				d.State = engine.StatePending
				d.Auto = false
				ch.Decisions = append(ch.Decisions, d)
				ch.Notes = append(ch.Notes, engine.AuditNote{Time: now, Actor: ActorPolicy, Action: AuditHeld, Subject: d.ID, Detail: map[string]string{"why": why}})
				e.log.Warn("decision held for approval", "decision", d.ID, "target", d.TargetString(), "why", why)
			}
		}
		dd := d
		e.put(&dd)
		if dd.State == engine.StateActive {
			apply = append(apply, &dd)
		}
	}
	if len(ch.Decisions)+len(ch.Notes) > 0 {
		if err := e.journal.Record(ctx, &ch); err != nil {
			e.log.Error("record held or refused decisions", "err", err)
		}
	}
	if len(apply) > 0 {
		_ = e.plan(ctx, apply, ActorPolicy) // failures are recorded as pending; reconcile retries
	}
}

// hold returns why an automatic decision must wait for an analyst: its type
// needs approval, or the cap on automatic actions per minute is reached.
func (e *Enforcer) hold(d *engine.Decision, now time.Time) string {
	if why := NeedsApproval(e.opts.Approval, d.Action, d.Risk); why != "" {
		return why
	}
	cut := now.Add(-time.Minute)
	e.recent = slices.DeleteFunc(e.recent, func(t time.Time) bool { return !t.After(cut) })
	if len(e.recent) >= e.opts.MaxPerMinute {
		return fmt.Sprintf("more than %d automatic actions in a minute", e.opts.MaxPerMinute)
	}
	e.recent = append(e.recent, now)
	return ""
}

// check runs the guard for s against every gateway's shield.
func (e *Enforcer) check(s Spec, force bool) error {
	for _, g := range e.gws {
		sh := g.Shield
		if g.Session != nil {
			if a, ok := g.Session(); ok {
				sh.Protected = append(slices.Clip(sh.Protected), Protected{Prefix: netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), Why: "the session administering gateway " + g.Name})
			}
		}
		if err := e.opts.Guard.Check(s, force, sh); err != nil {
			return fmt.Errorf("gateway %s: %w", g.Name, err)
		}
	}
	if len(e.gws) == 0 {
		return e.opts.Guard.Check(s, force, Shield{})
	}
	return nil
}

func (e *Enforcer) refuse(ch *engine.Change, d *engine.Decision, actor string, why error, now time.Time) {
	d.State = engine.StateRefused
	d.Reason = strings.TrimSpace(d.Reason + "; refused: " + why.Error())
	ch.Decisions = append(ch.Decisions, *d)
	ch.Notes = append(ch.Notes, engine.AuditNote{Time: now, Actor: actor, Action: AuditRefused, Subject: d.ID, Detail: map[string]string{"target": d.TargetString(), "action": d.Action, "why": why.Error()}})
	e.drop(d.ID)
	e.log.Warn("remediation refused", "decision", d.ID, "target", d.TargetString(), "err", why)
}

// SpecOf is the remediation a decision asks for, validated.
func SpecOf(d *engine.Decision) (Spec, error) {
	s := Spec{Type: d.Action, Target: d.Target, Port: d.Port, Iface: d.Iface, TTL: d.TTL, Permanent: d.Expires.IsZero() && d.TTL == 0}
	if d.Proto != "" {
		p, _, err := ParsePort(d.Proto + "/1")
		if err != nil {
			return s, fmt.Errorf("decision %s: protocol %q: want tcp or udp", d.ID, d.Proto)
		}
		s.Proto = p
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("decision %s: %w", d.ID, err)
	}
	return s, nil
}

func targets(d *engine.Decision, gw string) bool {
	return len(d.Gateways) == 0 || slices.Contains(d.Gateways, gw) || slices.Contains(d.Gateways, "all")
}

// element is w as it goes into the kernel at now: the time left as its
// timeout. ok is false when it has already expired.
func (w *want) element(now time.Time) (Element, bool) {
	el := w.el
	el.Timeout = 0
	if !w.expires.IsZero() {
		el.Timeout = w.expires.Sub(now).Truncate(time.Millisecond)
		if el.Timeout < time.Millisecond {
			return el, false
		}
	}
	return el, true
}

// plan brings every gateway the changed decisions target to the live
// state for their elements, all or nothing across the gateways that are up:
// a failure rolls every gateway back to its state before the plan. A gateway
// known down keeps its share pending. Callers hold e.mu and have already
// updated e.live (a rolled-back decision is no longer in it).
func (e *Enforcer) plan(ctx context.Context, changed []*engine.Decision, actor string) error {
	now := e.opts.Now()
	type step struct {
		g        *gateway
		do, undo Batch
		after    map[elemKey]*want
		r        region
		ids      []string
	}
	var steps []step
	var ch engine.Change
	for _, g := range e.gws {
		var ids []string
		r := region{}
		for _, d := range changed {
			if !targets(d, g.Name) {
				continue
			}
			ids = append(ids, d.ID)
			for _, el := range e.elementsOf(d) {
				r[el.group()] = append(r[el.group()], el.Prefix)
			}
		}
		if len(ids) == 0 {
			continue
		}
		if g.down && !e.opts.DryRun {
			for _, id := range ids {
				ch.Enforcements = append(ch.Enforcements, e.enf(g, id, engine.EnforcePending, now, g.lastErr))
			}
			continue
		}
		if !e.opts.DryRun {
			if err := e.know(ctx, g); err != nil {
				for _, id := range ids {
					ch.Enforcements = append(ch.Enforcements, e.enf(g, id, engine.EnforcePending, now, err))
				}
				continue
			}
		}
		after := e.desired(g.Name, r)
		steps = append(steps, step{g: g, r: r, ids: ids, after: after,
			do: diffRegion(r, g.applied, after, now), undo: diffRegion(r, after, g.applied, now)})
	}
	var failed error
	done := 0
	for _, st := range steps {
		if e.opts.DryRun {
			fmt.Fprintf(e.opts.DryRunOut, "# gateway %s: dry run, nothing applied\n%s", st.g.Name, RenderBatch(st.do))
			continue
		}
		if err := e.apply(ctx, st.g, actor, st.ids, changed, st.do); err != nil {
			failed = fmt.Errorf("gateway %s: %w", st.g.Name, err)
			st.g.down, st.g.lastErr, st.g.genOK = true, err, false
			break
		}
		st.g.down, st.g.lastErr = false, nil
		st.g.noteGen(ctx, true)
		done++
	}
	if failed != nil {
		for _, st := range steps[:done] {
			err := st.g.Backend.Apply(ctx, st.undo)
			if err != nil {
				// The reconcile loop repairs what the rollback could not.
				e.log.Error("roll back plan", "gateway", st.g.Name, "err", err)
				st.g.down, st.g.lastErr, st.g.known = true, err, false
			}
			st.g.noteGen(ctx, err == nil)
		}
	} else if !e.opts.DryRun {
		for _, st := range steps {
			for k := range st.g.applied {
				if st.r.has(k) {
					delete(st.g.applied, k)
				}
			}
			for k, w := range st.after {
				st.g.applied[k] = w
			}
		}
	}
	for _, st := range steps {
		for _, id := range st.ids {
			d := e.find(id, changed)
			state, action := engine.EnforceApplied, AuditApplied
			switch {
			case e.opts.DryRun:
				state, action = engine.EnforceDryRun, AuditDryRun
			case failed != nil:
				state, action = engine.EnforcePending, AuditFailed
			case e.live[id] == nil:
				state, action = engine.EnforceRemoved, AuditRolledBack
				if d.State == engine.StateExpired {
					action = AuditExpired
				}
			}
			ch.Enforcements = append(ch.Enforcements, e.enf(st.g, id, state, now, failed))
			detail := map[string]any{"gateway": st.g.Name, "target": d.TargetString(), "action": d.Action,
				"elements_added": len(st.do.Add), "elements_deleted": len(st.do.Delete)}
			if failed != nil {
				detail["error"] = failed.Error()
				detail["rolled_back_gateways"] = done
			}
			ch.Notes = append(ch.Notes, engine.AuditNote{Time: now, Actor: actor, Action: action, Subject: id, Detail: detail})
		}
	}
	if err := e.journal.Record(ctx, &ch); err != nil {
		return errors.Join(failed, fmt.Errorf("record enforcement: %w", err))
	}
	return failed
}

// apply writes b to g, between ruleset snapshots when they are wanted.
func (e *Enforcer) apply(ctx context.Context, g *gateway, actor string, ids []string, changed []*engine.Decision, b Batch) error {
	do := func(ctx context.Context) error { return g.Backend.Apply(ctx, b) }
	if e.opts.Snapshots == nil {
		return do(ctx)
	}
	ds := make([]*engine.Decision, 0, len(ids))
	for _, id := range ids {
		if d := e.find(id, changed); d != nil {
			ds = append(ds, d)
		}
	}
	return e.opts.Snapshots.Bracket(ctx, g.Name, actor, ds, do)
}

// know reads g's elements once, so a plan's undo restores what was there.
func (e *Enforcer) know(ctx context.Context, g *gateway) error {
	if g.known {
		return nil
	}
	st, err := g.Backend.List(ctx)
	if err != nil {
		g.down, g.lastErr = true, err
		return fmt.Errorf("gateway %s: read table: %w", g.Name, err)
	}
	g.down, g.lastErr = false, nil
	g.applied = fromState(st, e.opts.Now())
	g.known = true
	return nil
}

// fromState turns read-back elements into wants with absolute expiries.
func fromState(st *State, now time.Time) map[elemKey]*want {
	out := map[elemKey]*want{}
	for _, el := range st.Elements {
		w := &want{el: el}
		w.el.Expires, w.el.Timeout = 0, 0
		if el.Expires > 0 {
			w.expires = now.Add(el.Expires)
		}
		out[el.key()] = w
	}
	return out
}

func (e *Enforcer) find(id string, set []*engine.Decision) *engine.Decision {
	for _, d := range set {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func (e *Enforcer) enf(g *gateway, id, state string, now time.Time, err error) engine.Enforcement {
	g.state[id] = state
	if state == engine.EnforcePending {
		g.dirty = true
	}
	en := engine.Enforcement{DecisionID: id, Gateway: g.Name, State: state, Updated: now}
	if err != nil {
		en.Error = err.Error()
	}
	return en
}

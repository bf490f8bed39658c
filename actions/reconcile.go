package actions

import (
	"context"
	"errors"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// refreshSlack is how far an element's time left may drift from its
// decision's before reconcile re-adds it: reading back and re-adding takes
// time, and the kernel counts in its own ticks.
const refreshSlack = 2 * time.Second

// Reconcile records decisions whose TTL passed, then makes every gateway's
// table match the live decisions: a table that is missing or damaged is
// rebuilt whole, missing elements are re-added with the time they have
// left, strays are removed. Each repair is audited.
func (e *Enforcer) Reconcile(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded {
		return
	}
	now := e.opts.Now()
	var ch engine.Change
	e.expire(&ch, now)
	if !e.opts.DryRun {
		for _, g := range e.gws {
			e.reconcile(ctx, g, &ch, now)
		}
	}
	if len(ch.Decisions)+len(ch.Enforcements)+len(ch.Notes) == 0 {
		return
	}
	if err := e.journal.Record(ctx, &ch); err != nil {
		e.log.Error("record reconcile", "err", err)
	}
}

// expire moves decisions past their TTL out of the live view. The kernel
// removed their elements itself; reconcile removes any left behind.
func (e *Enforcer) expire(ch *engine.Change, now time.Time) {
	for id, d := range e.live {
		if d.StateAt(now) != engine.StateExpired {
			continue
		}
		e.drop(id)
		d.State = engine.StateExpired
		ch.Decisions = append(ch.Decisions, *d)
		ch.Notes = append(ch.Notes, engine.AuditNote{Time: now, Actor: ActorExpiry, Action: AuditExpired, Subject: id,
			Detail: map[string]any{"target": d.TargetString(), "action": d.Action, "expires": d.Expires}})
		for _, g := range e.gws {
			if st, ok := g.state[id]; ok && st != engine.EnforceRemoved {
				ch.Enforcements = append(ch.Enforcements, e.enf(g, id, engine.EnforceRemoved, now, nil))
			}
			delete(g.state, id)
		}
	}
}

func (e *Enforcer) reconcile(ctx context.Context, g *gateway, ch *engine.Change, now time.Time) {
	if !g.down && g.known && g.unchanged(ctx) {
		// Nobody changed the ruleset since phantomsoc last wrote or read
		// it; expiries are the kernel's own business.
		return
	}
	g.quick = 0
	want := e.desired(g.Name, nil)
	if _, gen := g.Backend.(generationer); gen && len(want) > e.opts.ReadBackLimit {
		e.rewrite(ctx, g, want, ch, now)
		return
	}
	st, err := g.Backend.List(ctx)
	if err == nil && (!st.Present || !st.Intact) {
		var elems []Element
		for _, w := range want {
			if el, ok := w.element(now); ok {
				elems = append(elems, el)
			}
		}
		if err = g.Backend.Rebuild(ctx, elems); err == nil {
			ch.Notes = append(ch.Notes, engine.AuditNote{Time: now, Actor: ActorReconcile, Action: AuditRepaired, Subject: g.Name,
				Detail: map[string]any{"gateway": g.Name, "table_present": st.Present, "missing": st.Missing, "rebuilt_with_elements": len(elems)}})
			e.log.Warn("table rebuilt", "gateway", g.Name, "present", st.Present, "missing", st.Missing, "elements", len(elems))
		}
	} else if err == nil {
		have := fromState(st, now)
		var b Batch
		for k, w := range want {
			el, ok := w.element(now)
			if !ok {
				continue
			}
			h, present := have[k]
			if !present || drifted(h.expires, w.expires) {
				b.Add = append(b.Add, el)
			}
		}
		for k, h := range have {
			if _, ok := want[k]; !ok {
				b.Delete = append(b.Delete, h.el)
			}
		}
		if !b.Empty() {
			err = g.Backend.Apply(ctx, b)
			if err != nil && !errors.Is(err, ErrGatewayDown) {
				// The kernel refused the repair itself: start the table
				// over from the database's truth.
				e.log.Warn("repair refused; rebuilding the table", "gateway", g.Name, "err", err)
				var elems []Element
				for _, w := range want {
					if el, ok := w.element(now); ok {
						elems = append(elems, el)
					}
				}
				err = g.Backend.Rebuild(ctx, elems)
			}
			if err == nil {
				ch.Notes = append(ch.Notes, engine.AuditNote{Time: now, Actor: ActorReconcile, Action: AuditRepaired, Subject: g.Name,
					Detail: map[string]any{"gateway": g.Name, "elements_added": len(b.Add), "elements_removed": len(b.Delete)}})
				e.log.Warn("drift repaired", "gateway", g.Name, "added", len(b.Add), "removed", len(b.Delete))
			}
		}
	}
	e.settle(ctx, g, want, ch, now, err)
}

// rewrite repairs a large table by replacing it whole with what the
// database wants (rule counters carry over), without reading it back.
func (e *Enforcer) rewrite(ctx context.Context, g *gateway, want map[elemKey]*want, ch *engine.Change, now time.Time) {
	var elems []Element
	for _, w := range want {
		if el, ok := w.element(now); ok {
			elems = append(elems, el)
		}
	}
	err := g.Backend.Rebuild(ctx, elems)
	if err == nil {
		ch.Notes = append(ch.Notes, engine.AuditNote{Time: now, Actor: ActorReconcile, Action: AuditRepaired, Subject: g.Name,
			Detail: map[string]any{"gateway": g.Name, "rewritten_with_elements": len(elems),
				"why": "the ruleset changed since phantomsoc last wrote it and the table is too large to read back"}})
	}
	e.settle(ctx, g, want, ch, now, err)
}

// settle records a reconcile's outcome on g: pending everywhere when it
// failed, else the kernel now holds want and every live decision there is
// applied.
func (e *Enforcer) settle(ctx context.Context, g *gateway, want map[elemKey]*want, ch *engine.Change, now time.Time, err error) {
	if err != nil {
		if !g.down {
			e.log.Error("gateway unreachable; its actions stay pending", "gateway", g.Name, "err", err)
		}
		g.down, g.lastErr, g.known, g.genOK = true, err, false, false
		for id, d := range e.live {
			if d.State == engine.StateActive && targets(d, g.Name) && g.state[id] != engine.EnforcePending {
				ch.Enforcements = append(ch.Enforcements, e.enf(g, id, engine.EnforcePending, now, err))
			}
		}
		return
	}
	if g.down {
		e.log.Info("gateway back", "gateway", g.Name)
	}
	g.down, g.lastErr = false, nil
	g.applied, g.known, g.dirty = want, true, false
	g.noteGen(ctx, true)
	for id, d := range e.live {
		if d.State == engine.StateActive && targets(d, g.Name) && g.state[id] != engine.EnforceApplied {
			ch.Enforcements = append(ch.Enforcements, e.enf(g, id, engine.EnforceApplied, now, nil))
			ch.Notes = append(ch.Notes, engine.AuditNote{Time: now, Actor: ActorReconcile, Action: AuditApplied, Subject: id,
				Detail: map[string]any{"gateway": g.Name, "target": d.TargetString(), "action": d.Action}})
		}
	}
}

// drifted reports whether an element's expiry in the kernel is off from the
// decision's by more than the slack (or one is permanent and the other not).
func drifted(have, want time.Time) bool {
	if have.IsZero() || want.IsZero() {
		return have.IsZero() != want.IsZero()
	}
	d := have.Sub(want)
	return d > refreshSlack || d < -refreshSlack
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/incident"
	"github.com/phantomsoc/phantomsoc/notifiers"
	"github.com/phantomsoc/phantomsoc/playbooks"
	"github.com/phantomsoc/phantomsoc/store"
)

var (
	_ playbooks.Remediator = (*liveRemediator)(nil)
	_ playbooks.Notifier   = liveNotifier{}
)

// liveRemediator turns a remediate step into decisions, one per target,
// made the way the engine makes its own: recorded with a decision.created
// audit record by playbook:NAME, then handed to the enforcer and to the
// incident manager as a commit would be. So a playbook's decision is
// enforced, held, refused, approved and rolled back exactly like the
// engine's, and shows in `decisions list`, the console and the incident.
//
// The state follows the step's approval: auto is active; required is
// pending, which is the real approval — an analyst's `a` in the console or
// `decisions approve`; policy is pending when actions.NeedsApproval says
// the enforcement policy would hold the action at the alert's risk, else
// active. An active decision still passes the enforcer's own checks (the
// guard, the types its policy always holds, the cap on automatic actions
// per minute), which may refuse it or hold it pending: a playbook is
// automation, not an analyst. In dry-run the enforcer renders the batch
// and applies nothing.
type liveRemediator struct {
	db        *store.DB
	enf       *enforcement
	incidents *incident.Manager
	policy    map[string]actions.Approval
}

// engineAction is the enforcer's name of a playbook action.
func engineAction(a string) string {
	switch a {
	case "firewall":
		return engine.ActionFirewall
	case "tunnel-peer":
		return engine.ActionTunnel
	}
	return a
}

// Apply records the decisions and returns their IDs, comma-separated.
func (l *liveRemediator) Apply(ctx context.Context, r playbooks.Remediation) (string, error) {
	if len(r.Targets) == 0 {
		return "", errors.New("no target")
	}
	action := engineAction(r.Action)
	actor := "playbook:" + r.Playbook
	var hold string
	switch r.Approval {
	case playbooks.ApprovalAuto:
	case playbooks.ApprovalPolicy:
		hold = actions.NeedsApproval(l.policy, action, r.Risk)
	default: // required, and the safe side of anything else
		hold = "required by the playbook"
	}
	reason := r.Reason
	if reason == "" {
		reason = fmt.Sprintf("playbook %s step %s", r.Playbook, r.Step)
	}
	state := engine.StateActive
	if hold != "" {
		state = engine.StatePending
		reason += "; waiting for approval: " + hold
	}
	ds := make([]engine.Decision, 0, len(r.Targets))
	for _, t := range r.Targets {
		d := engine.Decision{Time: r.Time, AlertID: r.AlertID, Scenario: actor, Action: action, Target: t, Proto: r.Proto,
			Port: uint16(r.Port), TTL: r.TTL, Auto: state == engine.StateActive, State: state, Offense: 1, Risk: r.Risk,
			Reason: reason, Gateways: r.Gateways}
		if r.TTL > 0 {
			d.Expires = r.Time.Add(r.TTL)
		}
		if _, err := actions.SpecOf(&d); err != nil {
			return "", fmt.Errorf("%s %s: %w", action, engine.PrefixString(t), err)
		}
		ds = append(ds, d)
	}
	ch := engine.Change{}
	ids := make([]string, len(ds))
	for i := range ds {
		id, err := l.db.NewDecisionID(ctx)
		if err != nil {
			return "", err
		}
		ds[i].ID, ids[i] = id, id
		ch.Notes = append(ch.Notes, engine.AuditNote{Time: r.Time, Actor: actor, Action: actions.AuditCreated, Subject: id, Detail: &ds[i]})
	}
	ch.Decisions = ds
	if err := l.db.Record(ctx, &ch); err != nil {
		return "", fmt.Errorf("record decisions: %w", err)
	}
	c := &engine.Commit{Decisions: ds}
	// The incident first: the enforcer names it in the ruleset evidence.
	l.incidents.Committed(c)
	l.enf.enf.Committed(c)
	return strings.Join(ids, ","), nil
}

// Revert rolls back the decisions of ref. One the enforcer has not taken
// in yet is waited for (it takes a commit at once, so briefly): rolling it
// back before would leave it to be applied after. One no longer active or
// pending (refused, expired, rolled back by an analyst) is not in force:
// there is nothing to revert.
func (l *liveRemediator) Revert(ctx context.Context, ref string) error {
	var errs []error
	for id := range strings.SplitSeq(ref, ",") {
		errs = append(errs, l.rollback(ctx, id))
	}
	return errors.Join(errs...)
}

func (l *liveRemediator) rollback(ctx context.Context, id string) error {
	d, err := l.db.Decision(id)
	if err != nil {
		return fmt.Errorf("decision %s: %w", id, err)
	}
	for {
		_, err := l.enf.enf.Rollback(ctx, id, d.Scenario)
		if err == nil {
			return nil
		}
		cur, derr := l.db.Decision(id)
		if derr != nil {
			return errors.Join(err, derr)
		}
		if cur.State != engine.StateActive && cur.State != engine.StatePending {
			return nil
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("roll back %s: %w (last: %v)", id, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// liveNotifier queues a playbook's message in the notification outbox for
// the named receiver, durable before it is sent and retried like the
// router's. The message is about the alert, so it lands in the incident's
// timeline. The playbook's text is the message's Text, which every
// channel's default template makes the title and the first line; it also
// travels in the group labels (playbook, step, message, incident), for
// routing and for a webhook's group_labels. An escalation is sent at
// escalation level 2.
type liveNotifier struct {
	n  *notifying
	db *store.DB
}

func (l liveNotifier) Notify(ctx context.Context, pn playbooks.Notification) error {
	if l.n == nil {
		return errors.New("no receivers configured: playbook notifications need a receivers: (and routing:) section")
	}
	m := notifiers.Message{Key: playbookNoteKey(&pn), Status: notifiers.StatusFiring, Receiver: pn.Receiver, Level: 1,
		Text: pn.Message, GroupLabels: map[string]string{"playbook": pn.Playbook, "step": pn.Step, "message": pn.Message}}
	if pn.IncidentID != "" {
		m.GroupLabels["incident"] = pn.IncidentID
	}
	if pn.Escalation {
		m.Level = 2
	}
	if pn.AlertID != "" {
		a, err := l.db.Alert(pn.AlertID)
		if err != nil {
			return fmt.Errorf("alert %s: %w", pn.AlertID, err)
		}
		m.Alerts = []engine.Alert{a}
	}
	return l.n.enqueueDirect(ctx, &m, pn.Time)
}

// playbookNoteKey is the notification's idempotency key: one per
// playbook, step, alert and kind, so a retried step queues it once.
func playbookNoteKey(pn *playbooks.Notification) string {
	kind := "notify"
	if pn.Escalation {
		kind = "escalate"
	}
	k := "playbook:" + pn.Playbook + "/" + pn.Step + "/" + kind + "/" + pn.AlertID
	if len(k) > 200 || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		sum := sha256.Sum256([]byte(k))
		k = "playbook:" + hex.EncodeToString(sum[:])
	}
	return k
}

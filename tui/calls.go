package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/phantomsoc/phantomsoc/engine"
)

// snapshotMsg carries the result of one Snapshot call.
type snapshotMsg struct {
	snap Snapshot
	err  error
}

// eventsMsg carries the result of one Events call: the live events
// numbered above after.
type eventsMsg struct {
	events []LiveEvent
	err    error
}

// pollMsg asks for the next snapshot; seq lets the root drop a poll that an
// immediate refresh has made redundant.
type pollMsg struct{ seq int }

// tickMsg advances the model's clock, once a second, for countdowns.
type tickMsg struct{}

// actionMsg reports an analyst action: done says what happened in words,
// err why it failed.
type actionMsg struct {
	done string
	err  error
}

// incidentsMsg carries one Incidents call's answer.
type incidentsMsg struct {
	open bool
	incs []engine.Incident
	err  error
}

// incidentMsg carries one Incident call's answer.
type incidentMsg struct {
	id     string
	detail IncidentDetail
	err    error
}

// incidentActMsg reports an incident change like actionMsg; id is the
// incident acted on, whose detail is read again to show the change.
type incidentActMsg struct {
	actionMsg
	id string
}

// caller turns Console calls into tea.Cmds. Each call gets its own deadline
// rather than a context stored in the model: a dead daemon then costs a
// "disconnected" line, never a hung goroutine, and quitting does not wait.
type caller struct {
	c       Console
	timeout time.Duration
}

func (k caller) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), k.timeout)
}

func (k caller) snapshot() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := k.ctx()
		defer cancel()
		s, err := k.c.Snapshot(ctx)
		return snapshotMsg{snap: s, err: err}
	}
}

// events asks for the live events numbered above after.
func (k caller) events(after uint64) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := k.ctx()
		defer cancel()
		evs, err := k.c.Events(ctx, after)
		if err != nil {
			return eventsMsg{err: fmt.Errorf("events: %w", err)}
		}
		return eventsMsg{events: evs}
	}
}

// approve approves ids one after the other; label names them for the
// status line.
func (k caller) approve(ids []string, label string) tea.Cmd {
	return func() tea.Msg {
		var errs []error
		done := 0
		for _, id := range ids {
			ctx, cancel := k.ctx()
			err := k.c.Approve(ctx, id)
			cancel()
			if err != nil {
				errs = append(errs, fmt.Errorf("approve %s: %w", id, err))
				continue
			}
			done++
		}
		if len(ids) == 1 {
			if len(errs) > 0 {
				return actionMsg{err: fmt.Errorf("approve %s: %w", label, errors.Unwrap(errs[0]))}
			}
			return actionMsg{done: "approved " + label}
		}
		return actionMsg{done: fmt.Sprintf("approved %d of %d %s", done, len(ids), label), err: errors.Join(errs...)}
	}
}

func (k caller) reject(id, reason, label string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := k.ctx()
		defer cancel()
		if err := k.c.Reject(ctx, id, reason); err != nil {
			return actionMsg{err: fmt.Errorf("reject %s: %w", label, err)}
		}
		return actionMsg{done: "rejected " + label}
	}
}

func (k caller) rollback(id, label string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := k.ctx()
		defer cancel()
		if err := k.c.Rollback(ctx, id); err != nil {
			return actionMsg{err: fmt.Errorf("rollback %s: %w", label, err)}
		}
		return actionMsg{done: "rolled back " + label}
	}
}

// approveEdited approves id with the analyst's TTL (0 keeps the proposed)
// and gateways (nil keeps them).
func (k caller) approveEdited(id string, ttl time.Duration, gateways []string, label string) tea.Cmd {
	gateways = slices.Clone(gateways)
	return func() tea.Msg {
		ctx, cancel := k.ctx()
		defer cancel()
		if err := k.c.ApproveEdited(ctx, id, ttl, gateways); err != nil {
			return actionMsg{err: fmt.Errorf("approve %s: %w", label, err)}
		}
		return actionMsg{done: "approved " + label}
	}
}

func (k caller) extend(id string, by time.Duration, label string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := k.ctx()
		defer cancel()
		if err := k.c.Extend(ctx, id, by); err != nil {
			return actionMsg{err: fmt.Errorf("extend %s by %s: %w", label, shortDur(by), err)}
		}
		return actionMsg{done: "extended " + label + " by " + shortDur(by)}
	}
}

// silence silences matchers for d with comment; label names the alert
// they came from for the status line.
func (k caller) silence(matchers []string, d time.Duration, comment, label string) tea.Cmd {
	matchers = slices.Clone(matchers)
	return func() tea.Msg {
		ctx, cancel := k.ctx()
		defer cancel()
		id, err := k.c.Silence(ctx, matchers, d, comment)
		if err != nil {
			return actionMsg{err: fmt.Errorf("silence %s: %w", label, err)}
		}
		return actionMsg{done: "silenced as " + id + " for " + shortDur(d) + " (" + label + ")"}
	}
}

func (k caller) ack(id, label string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := k.ctx()
		defer cancel()
		if err := k.c.Ack(ctx, id); err != nil {
			return actionMsg{err: fmt.Errorf("ack %s: %w", label, err)}
		}
		return actionMsg{done: "acknowledged " + label}
	}
}

func (k caller) incidents(open bool) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := k.ctx()
		defer cancel()
		incs, err := k.c.Incidents(ctx, open)
		if err != nil {
			err = fmt.Errorf("incidents: %w", err)
		}
		return incidentsMsg{open: open, incs: incs, err: err}
	}
}

func (k caller) incident(id string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := k.ctx()
		defer cancel()
		d, err := k.c.Incident(ctx, id)
		if err != nil {
			err = fmt.Errorf("incident %s: %w", id, err)
		}
		return incidentMsg{id: id, detail: d, err: err}
	}
}

// incidentAct changes an incident; what names the change for an error
// ("close in-00000003"), done words its outcome from the incident as it
// is now.
func (k caller) incidentAct(op IncidentOp, what string, done func(*engine.Incident) string) tea.Cmd {
	op.Add, op.Remove, op.Alerts = slices.Clone(op.Add), slices.Clone(op.Remove), slices.Clone(op.Alerts)
	return func() tea.Msg {
		ctx, cancel := k.ctx()
		defer cancel()
		inc, err := k.c.IncidentAct(ctx, op)
		if err != nil {
			return incidentActMsg{actionMsg: actionMsg{err: fmt.Errorf("%s: %w", what, err)}, id: op.ID}
		}
		return incidentActMsg{actionMsg: actionMsg{done: done(&inc)}, id: op.ID}
	}
}

package tui

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/phantomsoc/phantomsoc/engine"
)

// The changes an analyst makes to incidents. Each asks first (y/n, a
// reason, a choice) and then goes through the Console as one IncidentOp,
// which the engine records in the audit trail with the console's actor.

// incidentLabel names an incident in prompts and the status line.
func incidentLabel(inc *engine.Incident) string {
	if inc.Title == "" {
		return inc.ID
	}
	return inc.ID + " " + printable(inc.Title)
}

// ack asks y/n, then acknowledges inc.
func (v *incidents) ack(inc *engine.Incident) {
	id, label := inc.ID, incidentLabel(inc)
	v.prompt.confirm("acknowledge "+label, func(string) tea.Cmd {
		return v.call.incidentAct(IncidentOp{ID: id, Op: IncidentOpState, State: engine.IncidentAcknowledged}, "acknowledge "+id,
			func(*engine.Incident) string { return "acknowledged " + id })
	})
}

// assign asks y/n, then makes the console's user the owner.
func (v *incidents) assign(inc *engine.Incident) {
	id := inc.ID
	q := "assign " + incidentLabel(inc) + " to you"
	if inc.Owner != "" {
		q += " (owner now " + inc.Owner + ")"
	}
	v.prompt.confirm(q, func(string) tea.Cmd { return v.assignTo(id, "") })
}

func (v *incidents) assignTo(id, owner string) tea.Cmd {
	return v.call.incidentAct(IncidentOp{ID: id, Op: IncidentOpAssign, Owner: owner}, "assign "+id,
		func(inc *engine.Incident) string { return "assigned " + id + " to " + inc.Owner })
}

// laterStates are the states inc may move to short of closed, which
// needs a reason and has its own key.
func laterStates(inc *engine.Incident) []string {
	var out []string
	for _, s := range engine.IncidentStates() {
		if s != engine.IncidentClosed && engine.IncidentStateRank(s) > engine.IncidentStateRank(inc.State) {
			out = append(out, s)
		}
	}
	return out
}

// checkState vets a state typed for inc: forward only, closed by c.
func checkState(inc *engine.Incident, s string) error {
	later := laterStates(inc)
	switch {
	case s == engine.IncidentClosed:
		return errors.New("closing needs a reason: esc, then c")
	case !slices.Contains(later, s):
		return fmt.Errorf("%q: %s can move to %s", s, inc.State, strings.Join(later, ", "))
	}
	return nil
}

// advance asks which state to move inc to, the next one suggested.
func (v *incidents) advance(inc *engine.Incident) tea.Cmd {
	later := laterStates(inc)
	snapshot := *inc
	id := inc.ID
	q := "move " + id + " (" + inc.State + ") to which state? " + strings.Join(later, ", ")
	return v.prompt.prefilled(q, later[0], func(s string) error { return checkState(&snapshot, s) }, func(s string) tea.Cmd {
		return v.stateTo(id, s, "")
	})
}

func (v *incidents) stateTo(id, state, reason string) tea.Cmd {
	return v.call.incidentAct(IncidentOp{ID: id, Op: IncidentOpState, State: state, Reason: reason}, "move "+id+" to "+state,
		func(*engine.Incident) string { return id + " is " + state })
}

// close asks why, then closes inc; an empty reason is refused.
func (v *incidents) close(inc *engine.Incident) tea.Cmd {
	id := inc.ID
	return v.prompt.text("close "+incidentLabel(inc)+": why? a reason is required", func(reason string) tea.Cmd {
		return v.closeWith(id, reason)
	})
}

func (v *incidents) closeWith(id, reason string) tea.Cmd {
	return v.call.incidentAct(IncidentOp{ID: id, Op: IncidentOpState, State: engine.IncidentClosed, Reason: reason}, "close "+id,
		func(*engine.Incident) string { return "closed " + id + ": " + reason })
}

// incidentID reads an incident ID as typed: "in-00000007", "in-7" or "7".
func incidentID(s string) (string, error) {
	digits := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "in-")
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n == 0 {
		return "", fmt.Errorf("%q: want an incident ID like in-00000007 (or 7)", s)
	}
	return fmt.Sprintf("in-%08d", n), nil
}

// checkMerge vets the incident to merge into into.
func (v *incidents) checkMerge(into, s string) (string, error) {
	from, err := incidentID(s)
	if err != nil {
		return "", err
	}
	if from == into {
		return "", fmt.Errorf("%s cannot merge into itself", into)
	}
	if inc := v.find(from); inc != nil && !inc.IsOpen() {
		return "", fmt.Errorf("%s is closed; merge open incidents", from)
	}
	return from, nil
}

// merge asks which incident to fold into inc.
func (v *incidents) merge(inc *engine.Incident) tea.Cmd {
	into := inc.ID
	q := "merge which incident into " + into + "? its ID; it closes as merged"
	return v.prompt.requireValid(q, "an incident ID", func(s string) error { _, err := v.checkMerge(into, s); return err }, func(s string) tea.Cmd {
		from, _ := v.checkMerge(into, s)
		return v.mergeFrom(into, from)
	})
}

func (v *incidents) mergeFrom(into, from string) tea.Cmd {
	return v.call.incidentAct(IncidentOp{ID: into, Op: IncidentOpMerge, From: from}, "merge "+from+" into "+into,
		func(*engine.Incident) string { return "merged " + from + " into " + into })
}

// checkSplit vets the alerts to move out of inc: its own, and not all.
func checkSplit(inc *engine.Incident, ids []string) error {
	if len(ids) == 0 {
		return errors.New("name at least one alert")
	}
	for _, id := range ids {
		if !slices.Contains(inc.Alerts, id) {
			return fmt.Errorf("%s is not one of %s's alerts (%s)", id, inc.ID, strings.Join(inc.Alerts, " "))
		}
	}
	if len(ids) >= len(inc.Alerts) {
		return fmt.Errorf("%s would be left without alerts: keep at least one", inc.ID)
	}
	return nil
}

// split asks which of inc's alerts move to a new incident.
func (v *incidents) split(inc *engine.Incident) tea.Cmd {
	snapshot := *inc
	q := "split which alerts out of " + inc.ID + " into a new incident? of " + strings.Join(inc.Alerts, " ")
	return v.prompt.requireValid(q, "an alert ID", func(s string) error { return checkSplit(&snapshot, strings.Fields(s)) }, func(s string) tea.Cmd {
		return v.splitOut(snapshot.ID, strings.Fields(s))
	})
}

func (v *incidents) splitOut(id string, alerts []string) tea.Cmd {
	return v.call.incidentAct(IncidentOp{ID: id, Op: IncidentOpSplit, Alerts: alerts}, "split "+id,
		func(inc *engine.Incident) string {
			return fmt.Sprintf("split %d alerts of %s into %s", len(alerts), id, inc.ID)
		})
}

// selectID finds incident id (as typed) among those listed and puts the
// table on it, so a palette command shows what it acts on.
func (v *incidents) selectID(s string) (*engine.Incident, error) {
	id, err := incidentID(s)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(v.order, func(j int) bool { return v.rows[j].ID == id })
	if i < 0 {
		if v.all {
			return nil, fmt.Errorf("no incident %s", id)
		}
		return nil, fmt.Errorf("no open incident %s (f in the incidents view lists closed ones)", id)
	}
	if v.detailID != id {
		v.closeDetail()
	}
	v.sel.pos = i
	v.sel.clamp(len(v.order), v.rowsH())
	v.remember()
	return &v.rows[v.order[i]], nil
}

// ackID is K for incident id, from the palette: the same y/n.
func (v *incidents) ackID(id string) error {
	inc, err := v.selectID(id)
	if err != nil {
		return err
	}
	if inc.State != engine.IncidentNew {
		return fmt.Errorf("%s is %s already", inc.ID, inc.State)
	}
	v.ack(inc)
	v.clamp()
	return nil
}

// incidentIDs are the listed incidents' IDs, for completion.
func (v *incidents) incidentIDs() []string {
	out := make([]string, len(v.order))
	for i := range v.order {
		out[i] = v.id(i)
	}
	return out
}

// incidentCommands are the palette's incident commands: the view's keys
// by name, with everything they ask given as arguments.
func incidentCommands() []command {
	ids := func(m *Model, i int) []string {
		if i != 0 {
			return nil
		}
		return m.incidents.incidentIDs()
	}
	// on selects the incident named by args[0], focuses the view on it,
	// then runs fn.
	on := func(usage string, min int, fn func(m *Model, inc *engine.Incident, args []string) (tea.Cmd, error)) func(*Model, []string) (tea.Cmd, error) {
		return func(m *Model, args []string) (tea.Cmd, error) {
			if len(args) < min {
				return nil, errors.New("usage: " + usage)
			}
			inc, err := m.incidents.selectID(args[0])
			if err != nil {
				return nil, err
			}
			m.setFocus(viewIncidents)
			return fn(m, inc, args[1:])
		}
	}
	return []command{
		{name: "incident", args: "ID", help: "show an incident's detail and timeline", complete: ids,
			run: on("incident ID", 1, func(m *Model, inc *engine.Incident, _ []string) (tea.Cmd, error) {
				return m.incidents.open(inc.ID), nil
			})},
		{name: "assign", args: "ID [OWNER]", help: "assign an incident (to you without OWNER)", complete: ids,
			run: on("assign ID [OWNER]", 1, func(m *Model, inc *engine.Incident, args []string) (tea.Cmd, error) {
				if len(args) > 1 {
					return nil, errors.New("usage: assign ID [OWNER]")
				}
				return m.incidents.assignTo(inc.ID, strings.Join(args, "")), nil
			})},
		{name: "state", args: "ID STATE", help: "move an incident forward: contained, eradicated, recovered",
			complete: func(m *Model, i int) []string {
				if i == 1 {
					return []string{engine.IncidentAcknowledged, engine.IncidentContained, engine.IncidentEradicated, engine.IncidentRecovered}
				}
				return ids(m, i)
			},
			run: on("state ID STATE", 2, func(m *Model, inc *engine.Incident, args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, errors.New("usage: state ID STATE")
				}
				if err := checkState(inc, args[0]); err != nil {
					return nil, err
				}
				return m.incidents.stateTo(inc.ID, args[0], ""), nil
			})},
		{name: "close", args: "ID REASON…", help: "close an incident (a reason is required)", complete: ids,
			run: on("close ID REASON… (a reason is required)", 2, func(m *Model, inc *engine.Incident, args []string) (tea.Cmd, error) {
				return m.incidents.closeWith(inc.ID, strings.Join(args, " ")), nil
			})},
		{name: "merge", args: "INTO FROM", help: "merge incident FROM into INTO (FROM closes as merged)",
			complete: func(m *Model, i int) []string {
				if i <= 1 {
					return m.incidents.incidentIDs()
				}
				return nil
			},
			run: on("merge INTO FROM", 2, func(m *Model, inc *engine.Incident, args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, errors.New("usage: merge INTO FROM")
				}
				from, err := m.incidents.checkMerge(inc.ID, args[0])
				if err != nil {
					return nil, err
				}
				return m.incidents.mergeFrom(inc.ID, from), nil
			})},
		{name: "split", args: "ID ALERT…", help: "move alerts out of an incident into a new one",
			complete: ids,
			run: on("split ID ALERT…", 2, func(m *Model, inc *engine.Incident, args []string) (tea.Cmd, error) {
				if err := checkSplit(inc, args); err != nil {
					return nil, err
				}
				return m.incidents.splitOut(inc.ID, args), nil
			})},
	}
}

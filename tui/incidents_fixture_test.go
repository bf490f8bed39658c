package tui

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/incident"
)

// fixtureIncidents are the fixture's incidents, newest first: one per
// alert but the campaign's two, in every kind of state.
func fixtureIncidents() []engine.Incident {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	opened := func(at time.Time, alert, title string) []engine.IncidentEntry {
		return []engine.IncidentEntry{{Time: at, Actor: "engine", Action: "opened", Detail: alert + " " + title, Audit: 20}}
	}
	return []engine.Incident{
		{
			ID: "in-00000004", Title: "ssh-bruteforce from 198.51.100.7", State: engine.IncidentNew, Severity: "high", Risk: 8.2,
			Detected: at(-4), Opened: at(-1), LastSeen: at(-1), Alerts: []string{"A0004"}, Decisions: []string{"D0101"},
			Sources: []string{"198.51.100.7"}, Assets: []string{"web1", "192.0.2.10"},
			History: opened(at(-1), "A0004", "ssh-bruteforce from 198.51.100.7"),
		},
		{
			ID: "in-00000003", Title: "ids-exploit from 2001:db8::bad", State: engine.IncidentAcknowledged, Severity: "critical", Risk: 9.1,
			Owner: "bob", Detected: at(-7), Opened: at(-6), Acknowledged: at(-5), LastSeen: at(-6),
			Alerts: []string{"A0002"}, Decisions: []string{"D0102"}, Sources: []string{"2001:db8::bad"}, Assets: []string{"api1"},
			History: append(opened(at(-6), "A0002", "ids-exploit from 2001:db8::bad"),
				engine.IncidentEntry{Time: at(-5), Actor: "console:bob", Action: "acknowledged", Detail: "new → acknowledged", Audit: 21}),
		},
		{
			ID: "in-00000002", Title: "ssh-campaign from 203.0.113.0/24", State: engine.IncidentContained, Severity: "medium", Risk: 6.5,
			Owner: "alice", Tags: []string{"campaign"}, Detected: at(-30), Opened: at(-28), Acknowledged: at(-20), Contained: at(-15), LastSeen: at(-3),
			Alerts: []string{"A0005", "A0003"}, Decisions: []string{"D0103"}, Sources: []string{"203.0.113.0/24"},
			Campaigns: []string{"ssh-campaign|203.0.113.0/24"},
			History:   opened(at(-28), "A0005", "ssh-campaign from 203.0.113.0/24"),
		},
		{
			ID: "in-00000001", Title: "ssh-user-enum from 192.0.2.55", State: engine.IncidentClosed, Severity: "low", Risk: 3,
			Owner: "alice", Detected: at(-10), Opened: at(-9), Acknowledged: at(-8), Resolved: at(-8), Closed: at(-8),
			CloseReason: "our own inventory scanner", LastSeen: at(-9), Alerts: []string{"A0001"}, Decisions: []string{},
			Sources: []string{"192.0.2.55"},
		},
	}
}

// cloneIncident copies inc deep enough that the fixture and the console
// never share a slice.
func cloneIncident(inc engine.Incident) engine.Incident {
	inc.Tags, inc.Alerts, inc.Decisions = slices.Clone(inc.Tags), slices.Clone(inc.Alerts), slices.Clone(inc.Decisions)
	inc.Sources, inc.Assets, inc.History = slices.Clone(inc.Sources), slices.Clone(inc.Assets), slices.Clone(inc.History)
	return inc
}

// openIncidents are the incidents not closed, copied, as a snapshot
// carries them; nil when the fixture has none to report.
func (f *fixture) openIncidents() []engine.Incident {
	if f.incs == nil {
		return nil
	}
	out := []engine.Incident{}
	for _, inc := range f.incs {
		if inc.IsOpen() {
			out = append(out, cloneIncident(inc))
		}
	}
	return out
}

func (f *fixture) Incidents(_ context.Context, open bool) ([]engine.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if open {
		return f.openIncidents(), nil
	}
	out := make([]engine.Incident, len(f.incs))
	for i, inc := range f.incs {
		out[i] = cloneIncident(inc)
	}
	return out, nil
}

func (f *fixture) incident(id string) (*engine.Incident, error) {
	i := slices.IndexFunc(f.incs, func(inc engine.Incident) bool { return inc.ID == id })
	if i < 0 {
		return nil, fmt.Errorf("incident %s: not found", id)
	}
	return &f.incs[i], nil
}

func (f *fixture) Incident(_ context.Context, id string) (IncidentDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	inc, err := f.incident(id)
	if err != nil {
		return IncidentDetail{}, err
	}
	tl := f.timeline(inc)
	m := incident.MetricsOf(inc, tl)
	return IncidentDetail{Incident: cloneIncident(*inc), Timeline: tl, Metrics: IncidentMetrics{TTD: m.TTD, TTA: m.TTA, TTC: m.TTC, TTR: m.TTR}}, nil
}

// timeline is what the engine would reconstruct for inc from the
// fixture: its alerts' evidence, the alerts, their decisions, and the
// incident's own history.
func (f *fixture) timeline(inc *engine.Incident) []engine.TimelineEntry {
	var out []engine.TimelineEntry
	for _, a := range f.snap.Alerts {
		if !slices.Contains(inc.Alerts, a.ID) {
			continue
		}
		for j, ev := range a.Evidence {
			out = append(out, engine.TimelineEntry{Time: ev.Time, Kind: engine.TimelineEvent, What: ev.Type,
				Summary: ev.Raw, Origin: "/var/log/auth.log", Line: int64(1000 + j)})
		}
		out = append(out, engine.TimelineEntry{Time: a.Time, Kind: engine.TimelineAlert, Subject: a.ID, What: "alert.raised",
			Summary: fmt.Sprintf("%s risk %.1f: %s", a.Scenario, a.Risk, a.Description), Audit: 10})
	}
	for _, p := range f.snap.Pending {
		if d := p.Decision; slices.Contains(inc.Decisions, d.ID) {
			out = append(out, engine.TimelineEntry{Time: d.Time, Kind: engine.TimelineDecision, Subject: d.ID, What: "decision.created",
				Summary: d.Action + " " + d.TargetString() + " pending approval", Gateway: strings.Join(d.Gateways, ","), Audit: 11})
		}
	}
	for _, h := range inc.History {
		out = append(out, engine.TimelineEntry{Time: h.Time, Kind: engine.TimelineAction, Subject: inc.ID, Actor: h.Actor,
			What: "incident." + h.Action, Summary: h.Detail, Audit: h.Audit})
	}
	slices.SortStableFunc(out, func(a, b engine.TimelineEntry) int { return a.Time.Compare(b.Time) })
	return out
}

func (f *fixture) IncidentAct(_ context.Context, op IncidentOp) (engine.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.actionErr != nil {
		return engine.Incident{}, f.actionErr
	}
	inc, err := f.incident(op.ID)
	if err != nil {
		return engine.Incident{}, err
	}
	f.incActs = append(f.incActs, op)
	now, actor := f.snap.Taken, f.snap.Actor
	switch op.Op {
	case IncidentOpState:
		if err := incident.Transition(inc, op.State, now, actor, op.Reason); err != nil {
			return engine.Incident{}, err
		}
	case IncidentOpAssign:
		owner := cmp.Or(op.Owner, actor)
		inc.History = append(inc.History, engine.IncidentEntry{Time: now, Actor: actor, Action: "assigned", Detail: fmt.Sprintf("%q → %q", inc.Owner, owner)})
		inc.Owner = owner
	case IncidentOpMerge:
		from, err := f.incident(op.From)
		if err != nil {
			return engine.Incident{}, err
		}
		inc.Alerts = append(inc.Alerts, from.Alerts...)
		inc.History = append(inc.History, engine.IncidentEntry{Time: now, Actor: actor, Action: "merged", Detail: from.ID + " merged in"})
		from.MergedInto = inc.ID
		if err := incident.Transition(from, engine.IncidentClosed, now, actor, "merged into "+inc.ID); err != nil {
			return engine.Incident{}, err
		}
	case IncidentOpSplit:
		inc.Alerts = slices.DeleteFunc(inc.Alerts, func(a string) bool { return slices.Contains(op.Alerts, a) })
		inc.History = append(inc.History, engine.IncidentEntry{Time: now, Actor: actor, Action: "split"})
		split := engine.Incident{ID: fmt.Sprintf("in-%08d", len(f.incs)+1), State: engine.IncidentNew, Opened: now, Alerts: slices.Clone(op.Alerts)}
		f.incs = append([]engine.Incident{split}, f.incs...)
		f.audit("incident.split", op.ID+" "+strings.Join(op.Alerts, " "))
		return cloneIncident(split), nil
	default:
		return engine.Incident{}, fmt.Errorf("unknown incident operation %q", op.Op)
	}
	last := &inc.History[len(inc.History)-1]
	f.audit("incident."+last.Action, inc.ID+" "+last.Detail)
	last.Audit = f.snap.Audit[0].Seq
	return cloneIncident(*inc), nil
}

// incidentActs returns a copy of what IncidentAct was asked.
func (f *fixture) incidentActs() []IncidentOp {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.incActs)
}

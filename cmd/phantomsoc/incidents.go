package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/incident"
	"github.com/phantomsoc/phantomsoc/playbooks"
	"github.com/phantomsoc/phantomsoc/store"
)

var (
	_ incident.Store      = (*store.DB)(nil)
	_ incident.Records    = (*store.DB)(nil)
	_ engine.Sink         = (*incident.Manager)(nil)
	_ playbooks.Incidents = playbookIncidents{}
)

// buildIncidents is the incident manager over db: the sink that merges
// committed alerts into incidents, and what analysts' commands act on.
func buildIncidents(cfg *Config, db *store.DB, logger *slog.Logger) (*incident.Manager, error) {
	return incident.New(cfg.Incidents, db, db, logger)
}

// incidentCall is one change an analyst asks for.
type incidentCall struct {
	Op     string    `json:"op"` // state, assign, update, merge, split
	ID     string    `json:"id"`
	Actor  string    `json:"actor"`
	Time   time.Time `json:"time"`
	State  string    `json:"state,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Owner  string    `json:"owner,omitempty"`
	Add    []string  `json:"add,omitempty"`
	Remove []string  `json:"remove,omitempty"`
	Note   string    `json:"note,omitempty"`
	From   string    `json:"from,omitempty"`
	Alerts []string  `json:"alerts,omitempty"`
}

// incidentOps is what the incidents commands do: on the manager of the
// process that owns the database, or on the file when none runs.
type incidentOps interface {
	List(ctx context.Context, q store.IncidentQuery) ([]engine.Incident, error)
	Show(ctx context.Context, id string) (incidentView, error)
	Change(ctx context.Context, c incidentCall) (engine.Incident, error)
}

// localIncidents works on a database this process holds.
type localIncidents struct {
	db *store.DB
	// m is nil for a read-only database: listing and showing only.
	m *incident.Manager
}

func (l localIncidents) List(_ context.Context, q store.IncidentQuery) ([]engine.Incident, error) {
	return l.db.Incidents(q)
}

func (l localIncidents) Show(_ context.Context, id string) (incidentView, error) {
	get := l.db.Incident
	if l.m != nil {
		get = l.m.Get
	}
	inc, err := get(id)
	if err != nil {
		return incidentView{}, err
	}
	tl, err := timelineOf(l.db, &inc)
	if err != nil {
		return incidentView{}, err
	}
	return viewOf(&inc, tl), nil
}

func (l localIncidents) Change(ctx context.Context, c incidentCall) (engine.Incident, error) {
	if l.m == nil {
		return engine.Incident{}, errors.New("the database is open read-only")
	}
	op := incident.Op{ID: c.ID, Actor: c.Actor, Time: c.Time}
	if op.Time.IsZero() {
		op.Time = time.Now()
	}
	switch c.Op {
	case "state":
		return l.m.Transition(ctx, op, c.State, c.Reason)
	case "assign":
		return l.m.Assign(ctx, op, c.Owner)
	case "update":
		return l.m.Update(ctx, op, c.Add, c.Remove, 0, c.Note)
	case "merge":
		return l.m.Merge(ctx, op, c.From)
	case "split":
		return l.m.Split(ctx, op, c.Alerts)
	}
	return engine.Incident{}, fmt.Errorf("unknown incident operation %q", c.Op)
}

// serveIncidents exposes the incidents on the control socket.
func serveIncidents(srv *control.Server, db *store.DB, m *incident.Manager) {
	l := localIncidents{db: db, m: m}
	ctx := context.Background()
	notFound := func(err error) error {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %v", control.ErrNotFound, err)
		}
		return err
	}
	srv.Handle("incidents", func(args []byte) (any, error) {
		var q store.IncidentQuery
		if err := json.Unmarshal(args, &q); err != nil {
			return nil, err
		}
		return l.List(ctx, q)
	})
	srv.Handle("incident-show", func(args []byte) (any, error) {
		var id string
		if err := json.Unmarshal(args, &id); err != nil {
			return nil, err
		}
		v, err := l.Show(ctx, id)
		return v, notFound(err)
	})
	srv.Handle("incident-change", func(args []byte) (any, error) {
		var c incidentCall
		if err := json.Unmarshal(args, &c); err != nil {
			return nil, err
		}
		inc, err := l.Change(ctx, c)
		return inc, notFound(err)
	})
}

// remoteIncidents calls the process that owns the database.
type remoteIncidents struct{ r remote }

func (r remoteIncidents) List(ctx context.Context, q store.IncidentQuery) (out []engine.Incident, err error) {
	return out, r.r.callCtx(ctx, "incidents", q, &out)
}
func (r remoteIncidents) Show(ctx context.Context, id string) (out incidentView, err error) {
	return out, r.r.callCtx(ctx, "incident-show", id, &out)
}
func (r remoteIncidents) Change(ctx context.Context, c incidentCall) (out engine.Incident, err error) {
	return out, r.r.callCtx(ctx, "incident-change", c, &out)
}

// withIncidents runs fn against the owning process, else against the
// file: read-only unless write.
func withIncidents(ctx context.Context, g *globals, write bool, fn func(incidentOps) error) error {
	path, c, err := owner(ctx, g)
	if err != nil {
		return err
	}
	if c != nil {
		return fn(remoteIncidents{remote{ctx: ctx, c: c}})
	}
	db, err := openExisting(path, store.Options{ReadOnly: !write})
	if err != nil {
		return err
	}
	defer db.Close()
	if !write {
		return fn(localIncidents{db: db})
	}
	cfg, err := loadConfig(g.config)
	if err != nil {
		return err
	}
	m, err := buildIncidents(&cfg, db, nil)
	if err != nil {
		return err
	}
	return fn(localIncidents{db: db, m: m})
}

// timelineOf reads what inc links to and reconstructs its timeline.
func timelineOf(db *store.DB, inc *engine.Incident) ([]engine.TimelineEntry, error) {
	src := incident.Sources{Incident: inc}
	for _, id := range inc.Alerts {
		a, err := db.Alert(id)
		if errors.Is(err, store.ErrNotFound) {
			continue // pruned by retention
		}
		if err != nil {
			return nil, err
		}
		src.Alerts = append(src.Alerts, a)
	}
	for _, id := range inc.Decisions {
		d, err := db.Decision(id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		src.Decisions = append(src.Decisions, d)
	}
	notes, err := notificationsAbout(db, inc.Alerts)
	if err != nil {
		return nil, err
	}
	subjects := slices.Concat([]string{inc.ID}, inc.Alerts, inc.Decisions)
	receivers := map[string]string{}
	for _, n := range notes {
		subjects = append(subjects, n.Key)
		receivers[n.Key] = n.Receiver
		src.Records = append(src.Records, engine.TimelineEntry{Time: n.Created, Kind: engine.TimelineNotification, Subject: n.Key,
			What: "notification.queued", Summary: fmt.Sprintf("%s to %s (now %s after %d attempts)", n.Status, n.Receiver, n.State, n.Attempts), Receiver: n.Receiver})
	}
	recs, err := db.AuditAbout(subjects)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		e := engine.TimelineEntry{Time: r.Time, Kind: engine.TimelineAudit, Subject: r.Subject, Actor: r.Actor, What: r.Action, Audit: r.Seq, Summary: string(r.Detail)}
		if rcv, ok := receivers[r.Subject]; ok {
			e.Kind, e.Receiver = engine.TimelineNotification, rcv
		}
		var d struct {
			Gateway string `json:"gateway"`
		}
		if json.Unmarshal(r.Detail, &d) == nil {
			e.Gateway = d.Gateway
		}
		if len(e.Summary) > 240 {
			e.Summary = e.Summary[:240] + "…"
		}
		src.Records = append(src.Records, e)
	}
	return incident.Timeline(&src), nil
}

// notificationsAbout returns the outbox's notifications that carry one of
// alertIDs.
func notificationsAbout(db *store.DB, alertIDs []string) ([]store.Notification, error) {
	all, err := db.Notifications()
	if err != nil {
		return nil, err
	}
	var out []store.Notification
	for _, n := range all {
		var p struct {
			Alerts []struct {
				ID string `json:"id"`
			}
		}
		if json.Unmarshal(n.Payload, &p) != nil {
			continue
		}
		if slices.ContainsFunc(p.Alerts, func(a struct {
			ID string `json:"id"`
		}) bool {
			return slices.Contains(alertIDs, a.ID)
		}) {
			out = append(out, n)
		}
	}
	return out, nil
}

// playbookIncidents lets playbooks open, update and read incidents
// through the manager.
type playbookIncidents struct {
	m  *incident.Manager
	db *store.DB
}

func (p playbookIncidents) Get(_ context.Context, id string) (playbooks.Incident, error) {
	b, err := p.m.Brief(id)
	return playbookBrief(b), err
}

func (p playbookIncidents) Change(ctx context.Context, c playbooks.IncidentChange) (playbooks.Incident, error) {
	op := incident.Op{ID: c.ID, Actor: "playbook:" + c.Playbook, Time: c.Time}
	var inc engine.Incident
	var err error
	switch c.Op {
	case "open":
		a, aerr := p.db.Alert(c.AlertID)
		if aerr != nil {
			return playbooks.Incident{}, fmt.Errorf("alert %s: %w", c.AlertID, aerr)
		}
		inc, err = p.m.Open(ctx, op, &a, c.Title)
	case "update":
		if inc, err = p.m.Update(ctx, op, c.Tags, nil, c.Severity, c.Note); err == nil && c.State != "" && c.State != inc.State {
			inc, err = p.m.Transition(ctx, op, c.State, c.Reason)
		}
	case "close":
		inc, err = p.m.Transition(ctx, op, engine.IncidentClosed, c.Reason)
	default:
		err = fmt.Errorf("unknown incident op %q", c.Op)
	}
	return playbookIncident(&inc), err
}

// playbookIncidentOf is the incident alertID is in, as a playbook reads
// it, without copying its lists; nil when it is in none.
func playbookIncidentOf(m *incident.Manager, alertID string) *playbooks.Incident {
	b, ok := m.BriefOf(alertID)
	if !ok {
		return nil
	}
	inc := playbookBrief(b)
	return &inc
}

func playbookBrief(b incident.Brief) playbooks.Incident {
	return playbooks.Incident{ID: b.ID, State: b.State, Severity: b.Risk, Owner: b.Owner, Tags: b.Tags, Alerts: b.Alerts}
}

func playbookIncident(inc *engine.Incident) playbooks.Incident {
	return playbooks.Incident{ID: inc.ID, State: inc.State, Severity: inc.Risk, Owner: inc.Owner, Tags: inc.Tags, Alerts: len(inc.Alerts)}
}

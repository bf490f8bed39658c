package incident

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// ActorEngine signs the changes the merge rules make.
const ActorEngine = "engine"

// Store keeps incidents. A *store.DB implements it.
type Store interface {
	// LoadIncidents returns the incidents that are not closed, and the
	// highest incident sequence ever used.
	LoadIncidents() (open []engine.Incident, lastSeq uint64, err error)
	Incident(id string) (engine.Incident, error)
	// SaveIncidents writes ch in one transaction and fills in the Audit
	// sequence of every History entry it recorded.
	SaveIncidents(ctx context.Context, ch *engine.IncidentChange) error
}

// Records reads back what incidents link to, for split. A *store.DB
// implements it.
type Records interface {
	Alert(id string) (engine.Alert, error)
	Decision(id string) (engine.Decision, error)
}

// ErrNoAlert is what Split wraps when asked to move an alert that is not
// the incident's.
var ErrNoAlert = errors.New("alert not in incident")

// Manager applies the merge rules to committed alerts (it is an
// engine.Sink) and the analysts' changes to incidents, one at a time, each
// in one store transaction.
//
// It keeps the open incidents that new alerts could still join in memory;
// an incident whose window has passed is dropped from memory (not from
// the store) and read back when an analyst acts on it.
type Manager struct {
	cfg Config
	st  Store
	rec Records
	log *slog.Logger

	mu      sync.Mutex
	seq     uint64
	open    map[string]*engine.Incident
	index   map[matchKey][]string
	byAlert map[string]string
	// members caches the open incidents' lists as sets, built when an
	// incident is first folded into and dropped when it is edited by hand,
	// swept or reloaded.
	members map[string]*members
	// pending is what Observe folded in and Flush has not saved yet: the
	// latest copy of each incident, in first-touched order, and the notes.
	pending      map[string]engine.Incident
	pendingOrder []string
	pendingNotes []engine.AuditNote
	// latest is the latest alert time seen: event time, never the clock;
	// swept is latest at the last sweep.
	latest, swept time.Time
	// held reports an active decision that enforcement will hold for an
	// analyst anyway; nil: none is.
	held func(*engine.Decision) bool
}

// WaitsForApproval tells the manager which automatic decisions the
// enforcer holds for an analyst whatever the policy said (an isolate, by
// default): they contain nothing until approved (see Approved). Call it
// before the first commit. A decision held only because the per-minute cap
// was reached cannot be foreseen here: it still counts as containing.
func (m *Manager) WaitsForApproval(held func(*engine.Decision) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held = held
}

// inForce reports whether d takes effect without an analyst.
func (m *Manager) inForce(d *engine.Decision) bool {
	return d.State == engine.StateActive && d.Auto && (m.held == nil || !m.held(d))
}

// New loads the open incidents from st. rec may be nil (Split then
// fails).
func New(cfg Config, st Store, rec Records, logger *slog.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cfg: cfg, st: st, rec: rec, log: logger.With("component", "incidents")}
	if err := m.load(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manager) load() error {
	open, seq, err := m.st.LoadIncidents()
	if err != nil {
		return fmt.Errorf("load incidents: %w", err)
	}
	m.seq = seq
	m.index, m.byAlert, m.members = nil, nil, nil
	m.open = make(map[string]*engine.Incident, len(open))
	for i := range open {
		inc := &open[i]
		m.open[inc.ID] = inc
		if inc.LastSeen.After(m.latest) {
			m.latest = inc.LastSeen
		}
	}
	m.sweep()
	m.reindex()
	return nil
}

// reindex rebuilds the merge index from the open incidents in memory.
func (m *Manager) reindex() {
	m.index = map[matchKey][]string{}
	m.byAlert = map[string]string{}
	ids := make([]string, 0, len(m.open))
	for id := range m.open {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		inc := m.open[id]
		for _, k := range m.cfg.incidentKeys(inc) {
			m.index[k] = append(m.index[k], id)
		}
		for _, a := range inc.Alerts {
			m.byAlert[a] = id
		}
	}
}

// sweep drops from memory the incidents no alert in event-time order can
// join any more.
func (m *Manager) sweep() {
	m.swept = m.latest
	cut := m.latest.Add(-2 * m.cfg.Window)
	for id, inc := range m.open {
		if !inc.LastSeen.Before(cut) {
			continue
		}
		delete(m.open, id)
		delete(m.members, id)
		if m.index == nil {
			continue
		}
		for _, k := range m.cfg.incidentKeys(inc) {
			ids := slices.DeleteFunc(m.index[k], func(x string) bool { return x == id })
			if len(ids) == 0 {
				delete(m.index, k)
			} else {
				m.index[k] = ids
			}
		}
		for _, a := range inc.Alerts {
			delete(m.byAlert, a)
		}
	}
}

// indexAlert makes inc a candidate for a's keys.
func (m *Manager) indexAlert(inc *engine.Incident, a *engine.Alert) {
	for _, k := range m.cfg.alertKeys(a) {
		if ids := m.index[k]; !slices.Contains(ids, inc.ID) {
			m.index[k] = append(ids, inc.ID)
		}
	}
	m.byAlert[a.ID] = inc.ID
}

// match returns the open incident a joins: the first rule with a
// candidate within the window decides, the oldest candidate wins.
func (m *Manager) match(a *engine.Alert) *engine.Incident {
	if id, ok := m.byAlert[a.ID]; ok {
		return m.open[id]
	}
	for _, k := range m.cfg.alertKeys(a) {
		for _, id := range m.index[k] { // oldest first
			if inc := m.open[id]; inc != nil && inc.IsOpen() && m.cfg.within(inc, a.Time) {
				return inc
			}
		}
	}
	return nil
}

// membersOf returns inc's member sets, building them on first use.
func (m *Manager) membersOf(inc *engine.Incident) *members {
	if ms := m.members[inc.ID]; ms != nil {
		return ms
	}
	if m.members == nil {
		m.members = map[string]*members{}
	}
	ms := newMembers(inc)
	m.members[inc.ID] = ms
	return ms
}

func (m *Manager) nextID() string {
	m.seq++
	return fmt.Sprintf("in-%08d", m.seq)
}

// IDSeq returns the sequence of an incident ID ("in-00000042" → 42).
func IDSeq(id string) (uint64, bool) {
	s, ok := strings.CutPrefix(id, "in-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n > 0
}

// joined collects what one commit added to one incident, for its audit
// record.
type joined struct {
	inc       *engine.Incident
	alerts    []string
	decisions []string
}

// Committed applies the merge rules to a durable commit's alerts and
// attaches its decisions, then saves every incident it touched in one
// transaction. It runs on the engine's writer after the commit.
func (m *Manager) Committed(c *engine.Commit) {
	if len(c.Alerts) == 0 && len(c.Decisions) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keep(m.observe(c))
	m.flush(context.Background())
}

// Observe folds c into the incidents in memory, as Committed does, and
// keeps the change for Flush. A replay that runs playbooks folds alert by
// alert, so each playbook sees its alert's incident as it was, and saves
// once per commit.
func (m *Manager) Observe(c *engine.Commit) {
	if len(c.Alerts) == 0 && len(c.Decisions) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keep(m.observe(c))
}

// Flush saves what Observe kept, in one transaction.
func (m *Manager) Flush(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.flush(ctx)
}

func (m *Manager) keep(ch engine.IncidentChange) {
	if m.pending == nil {
		m.pending = map[string]engine.Incident{}
	}
	for _, inc := range ch.Incidents {
		if _, ok := m.pending[inc.ID]; !ok {
			m.pendingOrder = append(m.pendingOrder, inc.ID)
		}
		m.pending[inc.ID] = inc
	}
	m.pendingNotes = append(m.pendingNotes, ch.Notes...)
}

func (m *Manager) flush(ctx context.Context) {
	if len(m.pendingOrder) == 0 {
		return
	}
	ch := engine.IncidentChange{Incidents: make([]engine.Incident, 0, len(m.pendingOrder)), Notes: m.pendingNotes,
		Grown: make(map[string]bool, len(m.pendingOrder))}
	for _, id := range m.pendingOrder {
		ch.Incidents = append(ch.Incidents, m.pending[id])
		ch.Grown[id] = true // folding alerts only appends
	}
	clear(m.pending)
	m.pendingOrder, m.pendingNotes = m.pendingOrder[:0], nil
	if err := m.st.SaveIncidents(ctx, &ch); err != nil {
		m.log.Error("save incidents; the alerts of this commit are in no incident", "err", err, "incidents", len(ch.Incidents))
		if err := m.load(); err != nil {
			m.log.Error("reload incidents", "err", err)
		}
		return
	}
	m.install(ch.Incidents)
}

// observe applies c to the incidents in memory and returns the change to
// save.
func (m *Manager) observe(c *engine.Commit) engine.IncidentChange {
	var order []*joined
	touched := map[string]*joined{}
	touch := func(inc *engine.Incident) *joined {
		j := touched[inc.ID]
		if j == nil {
			j = &joined{inc: inc}
			touched[inc.ID] = j
			order = append(order, j)
		}
		return j
	}
	for i := range c.Alerts {
		a := &c.Alerts[i]
		if a.Time.After(m.latest) {
			m.latest = a.Time
		}
		inc := m.match(a)
		if inc == nil {
			n := newIncident(m.nextID(), a, Op{Actor: ActorEngine, Time: a.Time}, "")
			inc = &n
			m.open[inc.ID] = inc
		}
		addAlert(inc, a, m.membersOf(inc))
		m.indexAlert(inc, a)
		j := touch(inc)
		j.alerts = append(j.alerts, a.ID)
	}
	for i := range c.Decisions {
		d := &c.Decisions[i]
		inc := m.open[m.byAlert[d.AlertID]]
		if inc == nil {
			continue
		}
		addDecision(inc, d, m.membersOf(inc), m.inForce(d))
		j := touch(inc)
		j.decisions = append(j.decisions, d.ID)
	}
	if m.latest.Sub(m.swept) >= m.cfg.Window/4 {
		m.sweep()
	}
	ch := engine.IncidentChange{Incidents: make([]engine.Incident, 0, len(order))}
	for _, j := range order {
		ch.Incidents = append(ch.Incidents, *j.inc)
		detail := map[string][]string{}
		if len(j.alerts) > 0 {
			detail["alerts"] = j.alerts
		}
		if len(j.decisions) > 0 {
			detail["decisions"] = j.decisions
		}
		ch.Notes = append(ch.Notes, engine.AuditNote{Time: j.inc.LastSeen, Actor: ActorEngine, Action: "incident.updated", Subject: j.inc.ID, Detail: detail})
	}
	return ch
}

// install makes saved incidents the ones in memory.
func (m *Manager) install(incs []engine.Incident) {
	for i := range incs {
		inc := incs[i]
		if inc.IsOpen() {
			m.open[inc.ID] = &inc
		} else {
			delete(m.open, inc.ID)
		}
	}
}

// get returns a copy of incident id, from memory or the store.
func (m *Manager) get(id string) (engine.Incident, error) {
	if inc, ok := m.open[id]; ok {
		return clone(inc), nil
	}
	inc, err := m.st.Incident(id)
	if err != nil {
		return inc, fmt.Errorf("incident %s: %w", id, err)
	}
	return inc, nil
}

func clone(inc *engine.Incident) engine.Incident {
	c := *inc
	c.Tags = slices.Clone(inc.Tags)
	c.Alerts = slices.Clone(inc.Alerts)
	c.Decisions = slices.Clone(inc.Decisions)
	c.Sources = slices.Clone(inc.Sources)
	c.Assets = slices.Clone(inc.Assets)
	c.Campaigns = slices.Clone(inc.Campaigns)
	c.History = slices.Clone(inc.History)
	return c
}

// editable is a copy of inc that an edit may change without changing inc:
// its lists share inc's items but are clipped, so an append copies them
// first. Copying a busy incident's thousands of alerts for every playbook
// step was most of what the step cost. Tags are copied: edits delete
// from them in place.
func editable(inc *engine.Incident) engine.Incident {
	c := *inc
	c.Tags = slices.Clone(inc.Tags)
	c.Alerts = slices.Clip(inc.Alerts)
	c.Decisions = slices.Clip(inc.Decisions)
	c.Sources = slices.Clip(inc.Sources)
	c.Assets = slices.Clip(inc.Assets)
	c.Campaigns = slices.Clip(inc.Campaigns)
	c.History = slices.Clip(inc.History)
	return c
}

// Get returns incident id.
func (m *Manager) Get(id string) (engine.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(id)
}

// Brief is what a playbook reads of an incident: no lists, which an
// incident on a busy gateway makes long, only how many alerts it holds.
type Brief struct {
	ID, State, Owner string
	Risk             float64
	Tags             []string
	Alerts           int
}

// BriefOf returns the brief of the open incident alertID is in, if it is
// in memory.
func (m *Manager) BriefOf(alertID string) (Brief, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inc, ok := m.open[m.byAlert[alertID]]
	if !ok {
		return Brief{}, false
	}
	return briefOf(inc), true
}

// Brief returns the brief of incident id, from memory or the store.
func (m *Manager) Brief(id string) (Brief, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if inc, ok := m.open[id]; ok {
		return briefOf(inc), nil
	}
	inc, err := m.get(id)
	if err != nil {
		return Brief{}, err
	}
	return briefOf(&inc), nil
}

func briefOf(inc *engine.Incident) Brief {
	return Brief{ID: inc.ID, State: inc.State, Owner: inc.Owner, Risk: inc.Risk, Tags: slices.Clone(inc.Tags), Alerts: len(inc.Alerts)}
}

// IncidentOf returns the open incident alertID is in, if it is in memory.
func (m *Manager) IncidentOf(alertID string) (engine.Incident, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inc, ok := m.open[m.byAlert[alertID]]
	if !ok {
		return engine.Incident{}, false
	}
	return clone(inc), true
}

// edit loads the incidents ids, lets fn change the copies, and saves them
// in one transaction; memory changes only once they are durable.
// fn may return incidents it created, saved with the rest.
func (m *Manager) edit(ctx context.Context, ids []string, fn func(incs []*engine.Incident) ([]engine.Incident, error)) ([]engine.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// What Observe kept goes first, so an edit neither loses it nor is
	// overwritten by it.
	m.flush(ctx)
	incs := make([]engine.Incident, len(ids))
	ptrs := make([]*engine.Incident, len(ids))
	before := make([]engine.Incident, len(ids)) // fn changes copies only
	for i, id := range ids {
		if inc, ok := m.open[id]; ok {
			incs[i], before[i] = editable(inc), *inc
		} else {
			var err error
			if incs[i], err = m.get(id); err != nil {
				return nil, err
			}
			before[i] = clone(&incs[i])
		}
		ptrs[i] = &incs[i]
	}
	created, err := fn(ptrs)
	if err != nil {
		return nil, err
	}
	ch := engine.IncidentChange{Grown: map[string]bool{}}
	// Most edits (a state, an owner, a tag) leave an incident's members
	// as they were: its member sets and the merge index stay valid, and
	// rebuilding them for every open incident made each playbook step on
	// a busy gateway cost as much as the gateway's whole history.
	same := len(created) == 0
	for i, p := range ptrs {
		ch.Incidents = append(ch.Incidents, *p)
		if grownFrom(&before[i], p) {
			ch.Grown[p.ID] = true
		}
		same = same && sameMembers(&before[i], p) && p.IsOpen()
	}
	ch.Incidents = append(ch.Incidents, created...)
	if err := m.st.SaveIncidents(ctx, &ch); err != nil {
		return nil, err
	}
	m.install(ch.Incidents)
	if !same {
		for i := range ch.Incidents {
			delete(m.members, ch.Incidents[i].ID) // edited: its lists changed
		}
		m.reindex()
	}
	return ch.Incidents, nil
}

// grownFrom reports whether after's lists are before's with items
// appended, so the store may write only the new ones.
func grownFrom(before, after *engine.Incident) bool {
	prefix := func(old, cur []string) bool { return len(cur) >= len(old) && slices.Equal(old, cur[:len(old)]) }
	return prefix(before.Alerts, after.Alerts) && prefix(before.Decisions, after.Decisions) &&
		prefix(before.Sources, after.Sources) && prefix(before.Assets, after.Assets) &&
		prefix(before.Campaigns, after.Campaigns) && len(after.History) >= len(before.History) &&
		slices.Equal(before.History, after.History[:len(before.History)])
}

// sameMembers reports whether an edit left what the manager indexes as it
// was.
func sameMembers(before, after *engine.Incident) bool {
	return len(before.Alerts) == len(after.Alerts) && len(before.Decisions) == len(after.Decisions) &&
		len(before.Sources) == len(after.Sources) && len(before.Assets) == len(after.Assets) &&
		len(before.Campaigns) == len(after.Campaigns) && grownFrom(before, after)
}

// errUnchanged stops an edit that has nothing to save.
var errUnchanged = errors.New("unchanged")

// Approved records that an analyst's approval (op: who, when) put decision
// d in force: the incident holding d is contained from then, unless an
// earlier action contained it already. A decision in no incident changes
// nothing.
func (m *Manager) Approved(ctx context.Context, op Op, d *engine.Decision) error {
	id, err := m.incidentOfDecision(d)
	if err != nil || id == "" {
		return err
	}
	_, err = m.edit(ctx, []string{id}, func(incs []*engine.Incident) ([]engine.Incident, error) {
		inc := incs[0]
		if !inc.Contained.IsZero() && !op.Time.Before(inc.Contained) {
			return nil, errUnchanged
		}
		inc.Contained = op.Time
		inc.History = append(inc.History, engine.IncidentEntry{Time: op.Time, Actor: op.Actor, Action: "approved",
			Detail: d.ID + " (" + d.Action + " " + d.TargetString() + ") approved: contained from now"})
		return nil, nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// incidentOfDecision returns the incident holding d or its alert: an open
// one in memory, else one the store still has open (an approval may come
// long after the incident left memory), else "".
func (m *Manager) incidentOfDecision(d *engine.Decision) (string, error) {
	m.mu.Lock()
	id, ok := m.byAlert[d.AlertID]
	if !ok {
		for oid, ms := range m.members {
			if _, has := ms.decisions[d.ID]; has {
				id, ok = oid, true
				break
			}
		}
	}
	m.mu.Unlock()
	if ok {
		return id, nil
	}
	open, _, err := m.st.LoadIncidents()
	if err != nil {
		return "", fmt.Errorf("find the incident of decision %s: %w", d.ID, err)
	}
	for i := range open {
		inc := &open[i]
		if slices.Contains(inc.Decisions, d.ID) || d.AlertID != "" && slices.Contains(inc.Alerts, d.AlertID) {
			return inc.ID, nil
		}
	}
	return "", nil
}

// Op is an analyst's (or a playbook's) action on one incident.
type Op struct {
	ID    string
	Actor string
	// Time is the wall clock for an analyst, the run's clock for a
	// playbook.
	Time time.Time
}

// Transition moves an incident to state to (see the package function).
func (m *Manager) Transition(ctx context.Context, op Op, to, reason string) (engine.Incident, error) {
	out, err := m.edit(ctx, []string{op.ID}, func(incs []*engine.Incident) ([]engine.Incident, error) {
		return nil, Transition(incs[0], to, op.Time, op.Actor, reason)
	})
	return first(out, err)
}

// Assign sets the owner.
func (m *Manager) Assign(ctx context.Context, op Op, owner string) (engine.Incident, error) {
	out, err := m.edit(ctx, []string{op.ID}, func(incs []*engine.Incident) ([]engine.Incident, error) {
		inc := incs[0]
		if inc.Owner == owner {
			return nil, fmt.Errorf("incident %s: already owned by %q", inc.ID, owner)
		}
		detail := fmt.Sprintf("%q → %q", inc.Owner, owner)
		inc.Owner = owner
		inc.History = append(inc.History, engine.IncidentEntry{Time: op.Time, Actor: op.Actor, Action: "assigned", Detail: detail})
		return nil, nil
	})
	return first(out, err)
}

// Update changes tags (add, then remove), raises the risk, and records a
// note; zero values change nothing.
func (m *Manager) Update(ctx context.Context, op Op, add, remove []string, risk float64, note string) (engine.Incident, error) {
	out, err := m.edit(ctx, []string{op.ID}, func(incs []*engine.Incident) ([]engine.Incident, error) {
		inc := incs[0]
		var what []string
		for _, t := range add {
			if t != "" && !slices.Contains(inc.Tags, t) {
				inc.Tags = append(inc.Tags, t)
				what = append(what, "+"+t)
			}
		}
		for _, t := range remove {
			if i := slices.Index(inc.Tags, t); i >= 0 {
				inc.Tags = slices.Delete(inc.Tags, i, i+1)
				what = append(what, "-"+t)
			}
		}
		if risk > inc.Risk {
			what = append(what, fmt.Sprintf("risk %.1f → %.1f", inc.Risk, risk))
			inc.Risk, inc.Severity = risk, engine.SeverityOf(risk)
		}
		if note != "" {
			what = append(what, note)
		}
		if len(what) == 0 {
			return nil, nil
		}
		inc.History = append(inc.History, engine.IncidentEntry{Time: op.Time, Actor: op.Actor, Action: "updated", Detail: strings.Join(what, "; ")})
		return nil, nil
	})
	return first(out, err)
}

// Merge folds incident from into op.ID; from is closed as merged. Both
// must be open.
func (m *Manager) Merge(ctx context.Context, op Op, from string) (engine.Incident, error) {
	if from == op.ID {
		return engine.Incident{}, fmt.Errorf("incident %s: cannot merge an incident into itself", from)
	}
	out, err := m.edit(ctx, []string{op.ID, from}, func(incs []*engine.Incident) ([]engine.Incident, error) {
		into, src := incs[0], incs[1]
		for _, inc := range incs {
			if !inc.IsOpen() {
				return nil, fmt.Errorf("incident %s: %w: it is closed; merge open incidents", inc.ID, ErrTransition)
			}
		}
		moved := fmt.Sprintf("%d alerts, %d decisions", len(src.Alerts), len(src.Decisions))
		mergeInto(into, src)
		into.History = append(into.History, engine.IncidentEntry{Time: op.Time, Actor: op.Actor, Action: "merged", Detail: src.ID + " merged in: " + moved})
		src.Alerts, src.Decisions = []string{}, []string{}
		src.MergedInto = into.ID
		return nil, Transition(src, engine.IncidentClosed, op.Time, op.Actor, "merged into "+into.ID+" ("+moved+")")
	})
	return first(out, err)
}

// Split moves alertIDs (and the decisions made of them) out of incident
// op.ID into a new incident, and returns the new one. Both incidents'
// risk, times and merge values are recomputed from their alerts.
func (m *Manager) Split(ctx context.Context, op Op, alertIDs []string) (engine.Incident, error) {
	if m.rec == nil {
		return engine.Incident{}, errors.New("split: no alert reader wired")
	}
	if len(alertIDs) == 0 {
		return engine.Incident{}, errors.New("split: name the alerts to move")
	}
	out, err := m.edit(ctx, []string{op.ID}, func(incs []*engine.Incident) ([]engine.Incident, error) {
		old := incs[0]
		if !old.IsOpen() {
			return nil, fmt.Errorf("incident %s: %w: it is closed", old.ID, ErrTransition)
		}
		for _, id := range alertIDs {
			if !slices.Contains(old.Alerts, id) {
				return nil, fmt.Errorf("incident %s: %w: %s", old.ID, ErrNoAlert, id)
			}
		}
		if len(alertIDs) >= len(old.Alerts) {
			return nil, fmt.Errorf("incident %s: split would leave it without alerts", old.ID)
		}
		keep, moved, err := m.rebuild(old, alertIDs)
		if err != nil {
			return nil, err
		}
		moved.ID = m.nextID()
		moved.History = []engine.IncidentEntry{{Time: op.Time, Actor: op.Actor, Action: "opened", Detail: "split from " + old.ID + ": " + strings.Join(alertIDs, ", ")}}
		keep.History = append(keep.History, engine.IncidentEntry{Time: op.Time, Actor: op.Actor, Action: "split", Detail: strings.Join(alertIDs, ", ") + " moved to " + moved.ID})
		*old = keep
		return []engine.Incident{moved}, nil
	})
	if err != nil {
		return engine.Incident{}, err
	}
	return out[len(out)-1], nil
}

// rebuild recomputes inc without and with only the alerts in move.
func (m *Manager) rebuild(inc *engine.Incident, move []string) (keep, moved engine.Incident, err error) {
	keep = engine.Incident{ID: inc.ID, Title: inc.Title, State: inc.State, Owner: inc.Owner, Tags: inc.Tags,
		Acknowledged: inc.Acknowledged, Contained: inc.Contained, Resolved: inc.Resolved, History: inc.History}
	moved = engine.Incident{State: engine.IncidentNew}
	byAlert := map[string]*engine.Incident{}
	for _, id := range inc.Alerts {
		a, err := m.rec.Alert(id)
		if err != nil {
			return keep, moved, fmt.Errorf("split %s: alert %s: %w", inc.ID, id, err)
		}
		dst := &keep
		if slices.Contains(move, id) {
			dst = &moved
			if moved.Title == "" {
				moved.Title = title(&a)
			}
		}
		addAlert(dst, &a, nil)
		byAlert[id] = dst
	}
	for _, id := range inc.Decisions {
		d, err := m.rec.Decision(id)
		if err != nil {
			return keep, moved, fmt.Errorf("split %s: decision %s: %w", inc.ID, id, err)
		}
		dst := byAlert[d.AlertID]
		if dst == nil {
			dst = &keep
		}
		addDecision(dst, &d, nil, m.inForce(&d))
	}
	for _, x := range []*engine.Incident{&keep, &moved} {
		if x.Decisions == nil {
			x.Decisions = []string{}
		}
	}
	return keep, moved, nil
}

func first(out []engine.Incident, err error) (engine.Incident, error) {
	if err != nil {
		return engine.Incident{}, err
	}
	return out[0], nil
}

// Open opens an incident for a, unless a is in an open incident already:
// a playbook's incident step. title overrides the default.
func (m *Manager) Open(ctx context.Context, op Op, a *engine.Alert, title string) (engine.Incident, error) {
	if inc, ok := m.IncidentOf(a.ID); ok {
		return inc, nil
	}
	out, err := m.edit(ctx, nil, func([]*engine.Incident) ([]engine.Incident, error) {
		inc := newIncident(m.nextID(), a, op, title)
		addAlert(&inc, a, nil)
		return []engine.Incident{inc}, nil
	})
	return first(out, err)
}

// newIncident is an incident about to take a as its first alert.
func newIncident(id string, a *engine.Alert, op Op, name string) engine.Incident {
	if name == "" {
		name = title(a)
	}
	// Empty lists, not nil, as the store reads them back: an incident
	// shows the same JSON from memory and from the file.
	return engine.Incident{ID: id, Title: name, State: engine.IncidentNew, Severity: engine.SeverityOf(a.Risk),
		Alerts: []string{}, Decisions: []string{}, Sources: []string{}, Assets: []string{},
		History: []engine.IncidentEntry{{Time: op.Time, Actor: op.Actor, Action: "opened", Detail: a.ID + " " + name}}}
}

// Backfill applies the merge rules to stored alerts that are in no
// incident yet (a database older than incidents, a replay made without
// them), oldest first, as the sink would have. decisions are keyed by
// alert ID. It returns how many incidents it opened.
func (m *Manager) Backfill(ctx context.Context, alerts []engine.Alert, decisions map[string][]engine.Decision, batch int) (int, error) {
	m.mu.Lock()
	before := m.seq
	m.mu.Unlock()
	for len(alerts) > 0 {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n := min(batch, len(alerts))
		c := &engine.Commit{Alerts: alerts[:n]}
		for i := range c.Alerts {
			c.Decisions = append(c.Decisions, decisions[c.Alerts[i].ID]...)
		}
		m.mu.Lock()
		ch := m.observe(c)
		ch.Grown = make(map[string]bool, len(ch.Incidents))
		for i := range ch.Incidents {
			ch.Grown[ch.Incidents[i].ID] = true
		}
		err := m.st.SaveIncidents(ctx, &ch)
		if err == nil {
			m.install(ch.Incidents)
		} else if lerr := m.load(); lerr != nil {
			err = errors.Join(err, lerr)
		}
		m.mu.Unlock()
		if err != nil {
			return 0, err
		}
		alerts = alerts[n:]
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return int(m.seq - before), nil
}

package main

import (
	"cmp"
	"context"
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/route"
	"github.com/phantomsoc/phantomsoc/store"
	"github.com/phantomsoc/phantomsoc/tui"
)

// consoleSource is the console's view of a running engine: the store and
// the Enforcer of this process, or of the daemon through its control
// socket. Both modes read through the same two interfaces, so the console
// behaves the same attached or in-process.
type consoleSource struct {
	mode, source string
	dryRun       bool
	actor        string
	db           reader
	enf          enforcer
	stats        func(ctx context.Context) (engine.Stats, []engine.Queue, error)
	events       func(ctx context.Context, after uint64) ([]tui.LiveEvent, error)
	// router serves silences and acknowledgements; nil without routing.
	router routerOps
	// deliveries counts notifications per receiver (receiverDeliveries,
	// here or in the daemon).
	deliveries func(ctx context.Context) ([]tui.Delivery, error)
	// incidents lists, shows and changes incidents (localIncidents here,
	// remoteIncidents in the daemon); nil when nothing serves them.
	incidents incidentOps
	now       func() time.Time

	mu sync.Mutex
	// rate keeps the lines/s history the overview draws.
	lastLines uint64
	lastAt    time.Time
	rates     []float64
	// verified caches the audit chain check, which reads every record.
	verified   bool
	verifiedAt time.Time
	// delivered caches the outbox counts, which read every notification.
	delivered   []tui.Delivery
	deliveredAt time.Time
	// drops caches the element counters, which read every gateway's
	// table back, by decision.
	drops    map[string][]tui.Drops
	dropsAt  time.Time
	previews map[string]string
}

var _ tui.Console = (*consoleSource)(nil)

// Limits of one snapshot: what an 80×24 to 132×40 screen can show, with
// room to scroll.
const (
	snapAlerts    = 200
	snapDecisions = 500
	snapAudit     = 100
	snapSources   = 10
	snapIncidents = 200
	rateHistory   = 60
	verifyEvery   = 30 * time.Second
	deliverEvery  = 5 * time.Second
	dropsEvery    = 5 * time.Second
)

// Snapshot reads the current state.
func (c *consoleSource) Snapshot(ctx context.Context) (tui.Snapshot, error) {
	now := c.now()
	s := tui.Snapshot{Taken: now, Mode: c.mode, Source: c.source, DryRun: c.dryRun, Actor: c.actor}
	var err error
	if s.Stats, s.Queues, err = c.stats(ctx); err != nil {
		return s, err
	}
	if s.Alerts, err = c.db.Alerts(store.AlertQuery{Limit: snapAlerts}); err != nil {
		return s, err
	}
	decs, err := c.db.Decisions(store.DecisionQuery{Limit: snapDecisions, Now: now})
	if err != nil {
		return s, err
	}
	var ids []string
	for i := range decs {
		decs[i].State = decs[i].StateAt(now)
		if decs[i].State == engine.StateActive || decs[i].State == engine.StatePending {
			ids = append(ids, decs[i].ID)
		}
	}
	enf := map[string][]engine.Enforcement{}
	if len(ids) > 0 {
		if enf, err = c.db.Enforcements(ids); err != nil {
			return s, err
		}
	}
	drops := c.dropCounts(ctx, now)
	for _, d := range decs {
		switch d.State {
		case engine.StatePending:
			s.Pending = append(s.Pending, tui.Pending{Decision: d, Script: c.preview(ctx, d.ID), Wide: wide(&d)})
		case engine.StateActive:
			s.Active = append(s.Active, tui.Active{Decision: d, Enforcements: enf[d.ID], Drops: drops[d.ID]})
		}
	}
	slices.SortFunc(s.Pending, func(a, b tui.Pending) int { return a.Decision.Time.Compare(b.Decision.Time) })
	slices.SortFunc(s.Active, func(a, b tui.Active) int {
		// Permanent decisions (zero expiry) last.
		ae, be := a.Decision.Expires, b.Decision.Expires
		return cmp.Or(cmp.Compare(boolInt(ae.IsZero()), boolInt(be.IsZero())), ae.Compare(be))
	})
	totals := map[string]uint64{}
	for _, d := range drops[""] { // per gateway, every element once
		totals[d.Gateway] = d.Packets
	}
	for _, h := range c.enf.Health() {
		s.Gateways = append(s.Gateways, tui.Gateway{Name: h.Name, Up: h.Up, Intact: h.Up, Elements: h.Elements, Error: h.Error, Drops: totals[h.Name]})
	}
	recs, err := c.db.AuditTail(snapAudit)
	if err != nil {
		return s, err
	}
	for _, r := range recs {
		s.Audit = append(s.Audit, tui.AuditLine{Seq: r.Seq, Time: r.Time, Actor: r.Actor, Action: r.Action, Subject: r.Subject})
	}
	srcs, err := c.db.Sources(snapSources)
	if err != nil {
		return s, err
	}
	for _, src := range srcs {
		name := src.Host
		if src.Source.IsValid() {
			name = src.Source.String()
		}
		s.TopSources = append(s.TopSources, tui.SourceCount{Source: name, Count: int(src.Count)})
	}
	s.AuditOK, err = c.auditOK(now)
	if err != nil {
		return s, err
	}
	s.Rates = []tui.Rate{{Source: "all inputs", PerSecond: c.rate(now, s.Stats.Lines)}}
	s.Deliveries = c.delivery(ctx, now)
	if c.incidents != nil {
		// Like deliveries, a daemon that cannot say (one older than the
		// call) shows none: the rest of the snapshot is still good.
		if incs, err := c.incidents.List(ctx, store.IncidentQuery{Open: true, Limit: snapIncidents}); err == nil {
			if incs == nil {
				incs = []engine.Incident{} // reported: none open
			}
			s.Incidents = incs
		}
	}
	return s, nil
}

// delivery is the outbox per receiver, read at most every deliverEvery. A
// daemon that cannot say (one older than the call) shows none: the rest
// of the snapshot is still good.
func (c *consoleSource) delivery(ctx context.Context, now time.Time) []tui.Delivery {
	if c.deliveries == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deliveredAt.IsZero() || now.Sub(c.deliveredAt) >= deliverEvery || now.Before(c.deliveredAt) {
		ds, err := c.deliveries(ctx)
		if err != nil {
			ds = nil
		}
		c.delivered, c.deliveredAt = ds, now
	}
	return slices.Clone(c.delivered)
}

// dropCounts is what each active decision dropped per gateway, read at
// most every dropsEvery: reading counters reads every gateway's table
// back. A dry run enforces nothing, so it reads nothing (the console shows
// "—"); a gateway that cannot be read is missing from the counts, and its
// health says why.
func (c *consoleSource) dropCounts(ctx context.Context, now time.Time) map[string][]tui.Drops {
	if c.dryRun {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dropsAt.IsZero() && now.Sub(c.dropsAt) < dropsEvery && !now.Before(c.dropsAt) {
		return c.drops
	}
	ds, _ := c.enf.Drops(ctx)
	m := make(map[string][]tui.Drops, len(ds))
	for _, d := range ds {
		m[d.Decision] = append(m[d.Decision], tui.Drops{Gateway: d.Gateway, Packets: d.Packets, Bytes: d.Bytes, Shared: d.Shared, Missing: d.Missing})
	}
	c.drops, c.dropsAt = m, now
	return m
}

// receiverDeliveries counts the outbox per receiver and delivery state —
// the notifications `status` counts by state — with each receiver's newest
// delivery error.
func receiverDeliveries(db *store.DB) ([]tui.Delivery, error) {
	ns, err := db.Notifications()
	if err != nil {
		return nil, err
	}
	byName := map[string]*tui.Delivery{}
	var out []*tui.Delivery
	for _, n := range ns { // oldest first: the last error seen is the newest
		d := byName[n.Receiver]
		if d == nil {
			d = &tui.Delivery{Receiver: n.Receiver}
			byName[n.Receiver] = d
			out = append(out, d)
		}
		switch n.State {
		case store.NoteSent:
			d.Sent++
		case store.NoteFailed:
			d.Failed++
		case store.NoteSuppressed:
			d.Suppressed++
		default:
			d.Waiting++
		}
		if n.LastError != "" && n.State != store.NoteSent {
			d.LastError = n.LastError
		}
	}
	slices.SortFunc(out, func(a, b *tui.Delivery) int { return strings.Compare(a.Receiver, b.Receiver) })
	ds := make([]tui.Delivery, len(out))
	for i, d := range out {
		ds[i] = *d
	}
	return ds, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// wide marks what needs a typed confirmation: isolating or quarantining a
// host, a range wider than /24 (/64 for IPv6), or more than one gateway.
func wide(d *engine.Decision) bool {
	if d.Action == engine.ActionIsolate || d.Action == engine.ActionQuarantine || len(d.Gateways) > 1 {
		return true
	}
	t := d.Target
	if !t.IsValid() {
		return true // a firewall rule for everyone
	}
	limit := 24
	if t.Addr().Is6() {
		limit = 64
	}
	return t.Bits() < limit
}

// preview renders, once per decision, what approving it would apply.
func (c *consoleSource) preview(ctx context.Context, id string) string {
	c.mu.Lock()
	p, ok := c.previews[id]
	c.mu.Unlock()
	if ok {
		return p
	}
	p, err := c.enf.Preview(ctx, id)
	if err != nil {
		// Not cached: the engine may not have handed the decision to
		// enforcement yet.
		return "# preview unavailable: " + err.Error()
	}
	c.mu.Lock()
	if c.previews == nil {
		c.previews = map[string]string{}
	}
	c.previews[id] = p
	c.mu.Unlock()
	return p
}

func (c *consoleSource) auditOK(now time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.verifiedAt.IsZero() && now.Sub(c.verifiedAt) < verifyEvery {
		return c.verified, nil
	}
	rep, err := c.db.VerifyAudit()
	if err != nil {
		return false, err
	}
	c.verified, c.verifiedAt = rep.OK, now
	return rep.OK, nil
}

// rate appends the lines/s since the previous snapshot to the history.
func (c *consoleSource) rate(now time.Time, lines uint64) []float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.lastAt.IsZero() && now.After(c.lastAt) && lines >= c.lastLines {
		c.rates = append(c.rates, float64(lines-c.lastLines)/now.Sub(c.lastAt).Seconds())
		if len(c.rates) > rateHistory {
			c.rates = c.rates[len(c.rates)-rateHistory:]
		}
	}
	c.lastLines, c.lastAt = lines, now
	return slices.Clone(c.rates)
}

// Approve applies a pending decision as the console's actor.
func (c *consoleSource) Approve(ctx context.Context, id string) error {
	_, err := c.enf.Approve(ctx, id, c.actor)
	return err
}

// ApproveEdited applies a pending decision with the analyst's changes.
func (c *consoleSource) ApproveEdited(ctx context.Context, id string, ttl time.Duration, gateways []string) error {
	_, err := c.enf.ApproveEdited(ctx, id, actions.Edit{TTL: ttl, Gateways: gateways}, c.actor)
	return err
}

// Extend lengthens an active decision.
func (c *consoleSource) Extend(ctx context.Context, id string, d time.Duration) error {
	_, err := c.enf.Extend(ctx, id, d, c.actor)
	return err
}

// errNoRouting answers silence and ack requests when no routing is set up.
var errNoRouting = errors.New("no routing: section in the config: nothing is notified, so nothing to silence or acknowledge")

// Silence mutes notifications for matching alerts.
func (c *consoleSource) Silence(ctx context.Context, matchers []string, d time.Duration, comment string) (string, error) {
	if c.router == nil {
		return "", errNoRouting
	}
	now := c.now()
	return c.router.AddSilence(ctx, route.Silence{Matchers: matchers, StartsAt: now, EndsAt: now.Add(d), CreatedBy: c.actor, Comment: comment})
}

// Ack acknowledges an alert.
func (c *consoleSource) Ack(ctx context.Context, alertID string) error {
	if c.router == nil {
		return errNoRouting
	}
	_, err := c.router.Ack(ctx, alertID, c.actor)
	return err
}

// Reject refuses a pending decision with the analyst's reason.
func (c *consoleSource) Reject(ctx context.Context, id, reason string) error {
	_, err := c.enf.Reject(ctx, id, reason, c.actor)
	return err
}

// Events returns the live view's new events.
func (c *consoleSource) Events(ctx context.Context, after uint64) ([]tui.LiveEvent, error) {
	return c.events(ctx, after)
}

// Rollback removes an active decision now.
func (c *consoleSource) Rollback(ctx context.Context, id string) error {
	_, err := c.enf.Rollback(ctx, id, c.actor)
	return err
}

// errNoIncidents answers incident calls when nothing serves incidents.
var errNoIncidents = errors.New("incidents are not served here")

// Incidents lists incidents, newest first.
func (c *consoleSource) Incidents(ctx context.Context, open bool) ([]engine.Incident, error) {
	if c.incidents == nil {
		return nil, errNoIncidents
	}
	return c.incidents.List(ctx, store.IncidentQuery{Open: open, Limit: snapIncidents})
}

// Incident reads one incident with its timeline and response times, as
// `incidents show` does.
func (c *consoleSource) Incident(ctx context.Context, id string) (tui.IncidentDetail, error) {
	if c.incidents == nil {
		return tui.IncidentDetail{}, errNoIncidents
	}
	v, err := c.incidents.Show(ctx, id)
	if err != nil {
		return tui.IncidentDetail{}, err
	}
	return v.detail(), nil
}

// IncidentAct changes an incident as the console's actor; assigning to
// nobody in particular assigns to the console's user.
func (c *consoleSource) IncidentAct(ctx context.Context, op tui.IncidentOp) (engine.Incident, error) {
	if c.incidents == nil {
		return engine.Incident{}, errNoIncidents
	}
	call := incidentCall{Op: op.Op, ID: op.ID, Actor: c.actor, Time: c.now(), State: op.State, Reason: op.Reason,
		Owner: op.Owner, Add: op.Add, Remove: op.Remove, From: op.From, Alerts: op.Alerts}
	if call.Op == tui.IncidentOpAssign && call.Owner == "" {
		call.Owner = strings.TrimPrefix(c.actor, "console:")
	}
	return c.incidents.Change(ctx, call)
}

// consoleActor names the analyst in audit records: the OS user, or the SSH
// user and client when the console runs in an SSH session.
func consoleActor() string {
	return sessionActor(os.Getenv, strings.Replace(actor(), "cli:", "console:", 1))
}

// sessionActor is the actor in an SSH session: the name the analyst logged
// in with (USER, else LOGNAME, as sshd sets them) at the client address of
// SSH_CONNECTION. Several logins may share one uid (a shared "admin" and a
// personal alias), so the login name says who acted where the uid's first
// name would not. Outside SSH it is local, unchanged.
func sessionActor(getenv func(string) string, local string) string {
	conn := strings.Fields(getenv("SSH_CONNECTION"))
	if len(conn) == 0 {
		return local
	}
	name := cmp.Or(getenv("USER"), getenv("LOGNAME"))
	if name == "" {
		return local
	}
	return "console:" + name + "@" + conn[0]
}

// eventRing keeps the most recent events for the console's live view. The
// engine's process goroutine adds to it; it never blocks for long and never
// holds the engine back.
type eventRing struct {
	// feeds, on the engine's goroutine like Add, has what each event fed;
	// nil records none.
	feeds *feedRecorder

	mu   sync.Mutex
	buf  []tui.LiveEvent
	next uint64 // sequence of the next event
}

// ringSize is how many recent events the live view can scroll back over.
const ringSize = 2000

func newEventRing(feeds *feedRecorder) *eventRing {
	return &eventRing{feeds: feeds, buf: make([]tui.LiveEvent, ringSize), next: 1}
}

// Add copies ev in, with what it fed; it is engine.Options.Tap.
func (r *eventRing) Add(ev *engine.Event) {
	feeds := r.feeds.take(ev)
	r.mu.Lock()
	slot := &r.buf[r.next%ringSize]
	// The slot's feed slice is reused: After copies what it hands out.
	slot.Seq, slot.Event, slot.Feeds = r.next, *ev, append(slot.Feeds[:0], feeds...)
	r.next++
	r.mu.Unlock()
}

// After returns the retained events numbered above after, oldest first.
func (r *eventRing) After(after uint64) []tui.LiveEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := after + 1
	if after >= r.next {
		// The caller saw a previous process's numbers: start it over.
		first = 1
	}
	if r.next > ringSize && first < r.next-ringSize {
		first = r.next - ringSize
	}
	var out []tui.LiveEvent
	for s := first; s < r.next; s++ {
		le := r.buf[s%ringSize]
		if len(le.Feeds) == 0 {
			le.Feeds = nil
		} else {
			le.Feeds = slices.Clone(le.Feeds)
		}
		out = append(out, le)
	}
	return out
}

// detail is the console's reading of what `incidents show` answers: the
// incident, its timeline and its response times.
func (v *incidentView) detail() tui.IncidentDetail {
	at := func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	}
	dur := func(s *float64) *time.Duration {
		if s == nil {
			return nil
		}
		d := time.Duration(math.Round(*s * float64(time.Second)))
		return &d
	}
	return tui.IncidentDetail{
		Incident: engine.Incident{ID: v.ID, Title: v.Title, State: v.State, Severity: v.Severity, Risk: v.Risk, Owner: v.Owner, Tags: v.Tags,
			Detected: v.Detected, Opened: v.Opened, Acknowledged: at(v.Acknowledged), Contained: at(v.Contained), Resolved: at(v.Resolved),
			Closed: at(v.Closed), CloseReason: v.CloseReason, MergedInto: v.MergedInto,
			Alerts: v.Alerts, Decisions: v.Decisions, Sources: v.Sources, Assets: v.Assets},
		Timeline: v.Timeline,
		Metrics:  tui.IncidentMetrics{TTD: dur(v.Metrics.TTD), TTA: dur(v.Metrics.TTA), TTC: dur(v.Metrics.TTC), TTR: dur(v.Metrics.TTR)},
	}
}

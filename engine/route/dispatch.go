package route

import (
	"cmp"
	"container/heap"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Status is whether a notification or an alert in it is firing or
// resolved.
type Status string

// The statuses.
const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Notification is one message for one receiver.
type Notification struct {
	// Key identifies the change being notified: GroupKey + "/" + Seq. The
	// notifications of one flush share it, so (Key, Receiver) is the
	// idempotency key of a send; see ID.
	Key      string `json:"key"`
	GroupKey string `json:"group_key"`
	Seq      int    `json:"seq"`
	Route    string `json:"route"`
	Receiver string `json:"receiver"`
	// Status is firing while any alert in the notification fires.
	Status Status `json:"status"`
	// Level is the escalation level the receiver belongs to (1 first).
	Level int `json:"level"`
	// Silenced marks a record, not a message: the resolution of alerts
	// that were never notified as firing (silenced, inhibited, muted by a
	// time interval, or resolved within group_wait). Store it; do not send
	// it.
	Silenced    bool              `json:"silenced,omitempty"`
	At          time.Time         `json:"at"`
	GroupLabels map[string]string `json:"group_labels"`
	// GroupLabels and Alerts are shared with the dispatcher and the other
	// notifications of the flush: read only.
	Alerts []AlertEntry `json:"alerts"`
}

// ID is Key + ":" + Receiver: unique per message, stable across restarts.
func (n *Notification) ID() string { return n.Key + ":" + n.Receiver }

// ParseID splits a notification's ID (as ID returns it, and as it comes
// back from a receiver that keeps it, such as PagerDuty's dedup key) into
// its group key, sequence and receiver.
func ParseID(id string) (groupKey string, seq int, receiver string, ok bool) {
	// A receiver name holds no ':' and a sequence no '/'; a group key may
	// hold both, in its label values.
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return "", 0, "", false
	}
	key, receiver := id[:i], id[i+1:]
	j := strings.LastIndexByte(key, '/')
	if j <= 0 || receiver == "" {
		return "", 0, "", false
	}
	seq, err := strconv.Atoi(key[j+1:])
	if err != nil || seq < 1 || strconv.Itoa(seq) != key[j+1:] {
		return "", 0, "", false
	}
	return key[:j], seq, receiver, true
}

// AlertEntry is one alert in a notification.
type AlertEntry struct {
	Fingerprint string            `json:"fingerprint"`
	Status      Status            `json:"status"`
	Alert       engine.Alert      `json:"alert"`
	Labels      map[string]string `json:"labels"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at,omitzero"`
}

// Options are the Dispatcher's dependencies.
type Options struct {
	// Now is the clock Add reads; time.Now when nil. Tick takes its time
	// explicitly.
	Now    func() time.Time
	Logger *slog.Logger
	// SilenceRetention keeps expired silences listed this long; 24h when
	// zero.
	SilenceRetention time.Duration
	// ResolveTimeout resolves an alert that has not been raised again for
	// this long (the engine raises an alert again while its attack goes
	// on); zero never resolves by time.
	ResolveTimeout time.Duration
	// TrackChanges makes the dispatcher remember what changed, so that
	// Changes returns only that: for a caller that saves the state after
	// every change.
	TrackChanges bool
}

// Dispatcher groups routed alerts and decides when to notify whom. It is
// not safe for concurrent use: the caller serialises Add, Resolve, Ack,
// silences and Tick (one goroutine, or a mutex).
//
// Memory is bounded by the active alerts and groups: an alert is dropped
// once every group it is in has notified its resolution, a group once it
// holds no alert.
type Dispatcher struct {
	r                *Router
	now              func() time.Time
	log              *slog.Logger
	silenceRetention time.Duration
	resolveTimeout   time.Duration

	alerts     map[string]*tracked
	groups     map[string]*group // by base key (route and group labels)
	queue      groupQueue
	silences   map[string]*Silence
	silenceSeq uint64
	groupSeq   uint64
	// inhibit[i][equal-label values] holds the fingerprints of firing
	// alerts matching rule i's source matchers.
	inhibit []map[string]map[string]struct{}
	// dirty is nil unless Options.TrackChanges.
	dirty *dirty

	scratch []*node
}

type tracked struct {
	fp        string
	alert     engine.Alert // without Evidence: labels keep what routing needs
	labels    map[string]string
	startsAt  time.Time
	updatedAt time.Time
	endsAt    time.Time // zero while firing
	groups    []*group
	srcKeys   []string // per inhibit rule: the equal key it is indexed under, "" when not a source
}

func (t *tracked) resolvedAt(now time.Time) bool {
	return !t.endsAt.IsZero() && !t.endsAt.After(now)
}

type group struct {
	base   string // route id + group labels
	key    string // base + "#" + serial: unique across the group's lifetimes
	node   *node
	labels map[string]string
	// entries in arrival order; a resolved entry leaves once its
	// resolution is notified or recorded.
	entries []*entry

	nextFlush     time.Time // group_wait, then every group_interval
	firstNotified time.Time
	lastNotified  time.Time
	level         int // escalation levels notified so far
	acked         bool
	ackedBy       string
	ackedAt       time.Time
	seq           int

	due  time.Time
	hidx int
}

type entry struct {
	t *tracked
	// notified: notified as firing, so its resolution is owed.
	notified bool
}

// NewDispatcher returns an empty dispatcher routing through r.
func NewDispatcher(r *Router, opt Options) (*Dispatcher, error) {
	if r == nil {
		return nil, fmt.Errorf("new dispatcher: nil router")
	}
	d := &Dispatcher{r: r, now: opt.Now, log: opt.Logger, silenceRetention: opt.SilenceRetention, resolveTimeout: opt.ResolveTimeout}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("component", "route")
	if d.silenceRetention <= 0 {
		d.silenceRetention = 24 * time.Hour
	}
	d.reset()
	if opt.TrackChanges {
		d.dirty = newDirty()
	}
	return d, nil
}

// reset empties the state, keeping the router and options.
func (d *Dispatcher) reset() {
	d.alerts = map[string]*tracked{}
	d.groups = map[string]*group{}
	d.queue = nil
	d.silences = map[string]*Silence{}
	d.silenceSeq, d.groupSeq = 0, 0
	d.inhibit = make([]map[string]map[string]struct{}, len(d.r.inhibit))
	for i := range d.inhibit {
		d.inhibit[i] = map[string]map[string]struct{}{}
	}
}

// baseOf strips the "#serial" a group key ends with; a label value may
// itself hold '#'.
func baseOf(key string) string {
	if i := strings.LastIndexByte(key, '#'); i >= 0 {
		return key[:i]
	}
	return key
}

// Add routes a firing alert at Now() and returns its fingerprint. An alert
// already active (same fingerprint) is updated in place: its groups show
// the new data at their next notification but nothing is sent early —
// a repeat pages again only after repeat_interval. An alert whose labels
// now reach more routes joins those groups too; it leaves a group only by
// resolving, so a resolution is never lost.
//
// Add keeps a shallow copy of a without its Evidence: the caller must not
// modify a's slices or maps afterwards.
func (d *Dispatcher) Add(a *engine.Alert) string {
	now := d.now()
	fp := Fingerprint(a)
	labels := Labels(a)
	t := d.alerts[fp]
	if t == nil {
		t = &tracked{fp: fp, startsAt: now}
		d.alerts[fp] = t
	} else if !t.endsAt.IsZero() {
		t.endsAt = time.Time{}
		if len(t.groups) == 0 {
			t.startsAt = now
		}
	}
	d.unindexInhibit(t)
	t.alert = *a
	t.alert.Evidence = nil
	t.labels = labels
	t.updatedAt = now
	d.indexInhibit(t)
	d.markAlert(fp)
	d.route(t, now)
	return fp
}

// reroute places an alert whose groups were dropped (an imported group
// whose route left the tree) as if it had just been added.
func (d *Dispatcher) reroute(t *tracked) { d.route(t, d.now()) }

// route puts t into the group of every route its labels reach, creating
// the groups that do not exist yet.
func (d *Dispatcher) route(t *tracked, now time.Time) {
	fp, labels := t.fp, t.labels
	d.scratch = d.r.match(labels, d.scratch[:0])
	for _, n := range d.scratch {
		base := groupBase(n, labels, fp)
		g := d.groups[base]
		if g == nil {
			d.groupSeq++
			g = &group{
				base: base, key: base + "#" + strconv.FormatUint(d.groupSeq, 10),
				node: n, labels: groupLabels(n, labels), nextFlush: now.Add(n.wait), hidx: -1,
			}
			d.groups[base] = g
			d.markGroup(g)
			d.schedule(g, now)
			d.log.Debug("group created", "group", g.key, "fingerprint", fp)
		}
		if !slices.ContainsFunc(g.entries, func(e *entry) bool { return e.t == t }) {
			g.entries = append(g.entries, &entry{t: t})
			t.groups = append(t.groups, g)
			d.markGroup(g)
		}
	}
}

// groupBase is the route id and the group_by values: a route with
// group_by [...] has one group per alert.
func groupBase(n *node, labels map[string]string, fp string) string {
	var b strings.Builder
	b.Grow(len(n.id) + 32)
	b.WriteString(n.id)
	b.WriteByte('{')
	if n.groupAll {
		b.WriteString(`fingerprint="` + fp + `"`)
	}
	for i, l := range n.groupBy {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[l]))
	}
	b.WriteByte('}')
	return b.String()
}

func groupLabels(n *node, labels map[string]string) map[string]string {
	if n.groupAll {
		return labels
	}
	out := make(map[string]string, len(n.groupBy))
	for _, l := range n.groupBy {
		if v, ok := labels[l]; ok {
			out[l] = v
		}
	}
	return out
}

// Resolve marks the alert with fingerprint fp resolved at at. Each of its
// groups notifies (or, if it was never notified, records) the resolution
// at its next flush. Resolving twice is harmless.
func (d *Dispatcher) Resolve(fp string, at time.Time) error {
	t := d.alerts[fp]
	if t == nil {
		return fmt.Errorf("resolve %s: %w", fp, ErrNotFound)
	}
	if t.endsAt.IsZero() {
		t.endsAt = at
		d.unindexInhibit(t)
		d.markAlert(fp)
	}
	return nil
}

// Ack acknowledges the group with key ref, or every group holding the
// alert with fingerprint ref, by whom at at: escalation stops there
// (notifications about changes and repeats continue to the levels
// already reached). It returns the keys of the groups acknowledged.
func (d *Dispatcher) Ack(ref, by string, at time.Time) ([]string, error) {
	var gs []*group
	if t := d.alerts[ref]; t != nil {
		gs = t.groups
	} else if g := d.groups[baseOf(ref)]; g != nil && g.key == ref {
		gs = []*group{g}
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("ack %s: %w", ref, ErrNotFound)
	}
	keys := make([]string, 0, len(gs))
	for _, g := range gs {
		if !g.acked {
			g.acked, g.ackedBy, g.ackedAt = true, by, at
			d.markGroup(g)
			d.schedule(g, at)
			d.log.Info("group acknowledged", "group", g.key, "by", by, "level", g.level)
		}
		keys = append(keys, g.key)
	}
	slices.Sort(keys)
	return keys, nil
}

// GroupKeys lists the keys of the open groups, sorted.
func (d *Dispatcher) GroupKeys() []string {
	keys := make([]string, 0, len(d.groups))
	for _, g := range d.groups {
		keys = append(keys, g.key)
	}
	slices.Sort(keys)
	return keys
}

// Next is when Tick next has work: the earliest group flush or escalation;
// zero when there is nothing to do.
func (d *Dispatcher) Next() time.Time {
	if len(d.queue) == 0 {
		return time.Time{}
	}
	return d.queue[0].due
}

// Tick runs every group flush and escalation due at now and returns the
// notifications, ordered by due time, then group key, then level, with a
// level's receivers in config order.
func (d *Dispatcher) Tick(now time.Time) []Notification {
	if rt := d.resolveTimeout; rt > 0 {
		for fp, t := range d.alerts {
			if t.endsAt.IsZero() && !t.updatedAt.Add(rt).After(now) {
				_ = d.Resolve(fp, t.updatedAt.Add(rt)) // fp is tracked: cannot fail
			}
		}
	}
	var out []Notification
	for len(d.queue) > 0 && !d.queue[0].due.After(now) {
		g := d.queue[0]
		out = d.flush(g, now, out)
	}
	d.pruneSilences(now)
	return out
}

// flush evaluates g at now: the full flush at group_wait/group_interval,
// or only escalation between them.
func (d *Dispatcher) flush(g *group, now time.Time, out []Notification) []Notification {
	n := g.node
	d.markGroup(g)
	full := !now.Before(g.nextFlush)
	var firing, resolved, unnotified []*entry
	for _, e := range g.entries {
		switch {
		case e.t.resolvedAt(now) && e.notified:
			resolved = append(resolved, e)
		case e.t.resolvedAt(now):
			unnotified = append(unnotified, e)
		case d.muteReason(e.t, now) == "":
			firing = append(firing, e)
		}
	}
	if !full {
		out = d.escalate(g, now, firing, out)
		d.schedule(g, now)
		return out
	}
	g.nextFlush = now.Add(n.interval)

	if len(unnotified) > 0 {
		receivers := n.levels[0].Receivers
		level := 1
		if g.level > 0 {
			receivers, level = g.reached(), g.level
		}
		g.seq++
		alerts := entries(unnotified, now)
		for _, r := range receivers {
			out = append(out, g.notification(r, StatusResolved, level, true, now, alerts))
		}
		d.drop(g, unnotified)
	}

	why, timeMuted := n.muted(now)
	if timeMuted {
		d.log.Debug("group muted", "group", g.key, "why", why)
	} else {
		changed := len(resolved) > 0 || slices.ContainsFunc(firing, func(e *entry) bool { return !e.notified })
		repeat := len(firing) > 0 && !g.lastNotified.IsZero() && !now.Before(g.lastNotified.Add(n.repeat))
		if changed || repeat {
			if g.level == 0 {
				g.level, g.firstNotified = 1, now
			}
			status := StatusResolved
			if len(firing) > 0 {
				status = StatusFiring
			}
			g.seq++
			alerts := entries(append(slices.Clone(firing), resolved...), now)
			var sent []string
			for lvl := 1; lvl <= g.level; lvl++ {
				for _, r := range n.levels[lvl-1].Receivers {
					if !slices.Contains(sent, r) {
						sent = append(sent, r)
						out = append(out, g.notification(r, status, lvl, false, now, alerts))
					}
				}
			}
			for _, e := range firing {
				e.notified = true
			}
			g.lastNotified = now
			d.drop(g, resolved)
		}
		out = d.escalate(g, now, firing, out)
	}
	if len(g.entries) == 0 {
		d.remove(g)
		return out
	}
	d.schedule(g, now)
	return out
}

// reached lists the receivers of the levels notified so far, each once.
func (g *group) reached() []string {
	var out []string
	for _, l := range g.node.levels[:g.level] {
		for _, r := range l.Receivers {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// escalate notifies each next level whose time has come while the group
// fires unacknowledged, with the alerts already notified.
func (d *Dispatcher) escalate(g *group, now time.Time, firing []*entry, out []Notification) []Notification {
	levels := g.node.levels
	for !g.acked && g.level >= 1 && g.level < len(levels) && !now.Before(g.firstNotified.Add(time.Duration(levels[g.level].After))) {
		var paged []*entry
		for _, e := range firing {
			if e.notified {
				paged = append(paged, e)
			}
		}
		if len(paged) == 0 {
			return out // nothing paged still fires unmuted; resume at a later flush
		}
		g.level++
		g.seq++
		d.log.Info("group escalated", "group", g.key, "level", g.level)
		alerts := entries(paged, now)
		for _, r := range levels[g.level-1].Receivers {
			out = append(out, g.notification(r, StatusFiring, g.level, false, now, alerts))
		}
	}
	return out
}

func (g *group) notification(receiver string, status Status, level int, silenced bool, now time.Time, alerts []AlertEntry) Notification {
	return Notification{
		Key: g.key + "/" + strconv.Itoa(g.seq), GroupKey: g.key, Seq: g.seq, Route: g.node.id,
		Receiver: receiver, Status: status, Level: level, Silenced: silenced, At: now,
		GroupLabels: g.labels, Alerts: alerts,
	}
}

func entries(es []*entry, now time.Time) []AlertEntry {
	out := make([]AlertEntry, len(es))
	for i, e := range es {
		st := StatusFiring
		var ends time.Time
		if e.t.resolvedAt(now) {
			st, ends = StatusResolved, e.t.endsAt
		}
		out[i] = AlertEntry{Fingerprint: e.t.fp, Status: st, Alert: e.t.alert, Labels: e.t.labels, StartsAt: e.t.startsAt, EndsAt: ends}
	}
	slices.SortStableFunc(out, func(a, b AlertEntry) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), strings.Compare(a.Fingerprint, b.Fingerprint))
	})
	return out
}

// drop removes resolved entries from g, and forgets an alert no group
// holds any more.
func (d *Dispatcher) drop(g *group, es []*entry) {
	if len(es) == 0 {
		return
	}
	g.entries = slices.DeleteFunc(g.entries, func(e *entry) bool { return slices.Contains(es, e) })
	for _, e := range es {
		t := e.t
		d.markAlert(t.fp)
		t.groups = slices.DeleteFunc(t.groups, func(x *group) bool { return x == g })
		if len(t.groups) == 0 {
			d.unindexInhibit(t)
			delete(d.alerts, t.fp)
		}
	}
}

func (d *Dispatcher) remove(g *group) {
	if g.hidx >= 0 {
		heap.Remove(&d.queue, g.hidx)
	}
	delete(d.groups, g.base)
	d.log.Debug("group closed", "group", g.key)
}

package route

import (
	"container/heap"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// StateVersion is the layout of State; Import refuses others.
const StateVersion = 1

// State is everything a Dispatcher knows, as plain data (JSON-ready) for
// the caller to persist after each Tick, Add, Resolve, Ack or silence
// change. Importing it into a Dispatcher built from the same config
// resumes exactly: the same later calls produce the same notifications,
// and nothing already notified is notified again.
//
// It holds: the active alerts (their data without evidence, their labels,
// start, last update and resolution times); the groups (key, route, group
// labels, the fingerprints they hold and whether each was notified as
// firing, next flush, first and last notification, escalation level,
// acknowledgement and notification sequence); the silences; and the
// counters that name new groups and silences.
type State struct {
	Version    int          `json:"version"`
	Alerts     []AlertState `json:"alerts"`
	Groups     []GroupState `json:"groups"`
	Silences   []Silence    `json:"silences"`
	SilenceSeq uint64       `json:"silence_seq"`
	GroupSeq   uint64       `json:"group_seq"`
}

// AlertState is one active (or not yet fully resolved) alert.
type AlertState struct {
	Fingerprint string            `json:"fingerprint"`
	Alert       engine.Alert      `json:"alert"`
	Labels      map[string]string `json:"labels"`
	StartsAt    time.Time         `json:"starts_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	EndsAt      time.Time         `json:"ends_at,omitzero"`
}

// GroupState is one aggregation group.
type GroupState struct {
	Key           string            `json:"key"`
	Route         string            `json:"route"`
	Labels        map[string]string `json:"labels"`
	Entries       []EntryState      `json:"entries"`
	NextFlush     time.Time         `json:"next_flush"`
	FirstNotified time.Time         `json:"first_notified,omitzero"`
	LastNotified  time.Time         `json:"last_notified,omitzero"`
	Level         int               `json:"level"`
	Acked         bool              `json:"acked,omitempty"`
	AckedBy       string            `json:"acked_by,omitempty"`
	AckedAt       time.Time         `json:"acked_at,omitzero"`
	Seq           int               `json:"seq"`
}

// EntryState is an alert's membership of a group.
type EntryState struct {
	Fingerprint string `json:"fingerprint"`
	// Notified: notified as firing, so its resolution is owed.
	Notified bool `json:"notified,omitempty"`
}

// Export returns the dispatcher's state in a deterministic order. It
// shares nothing mutable with the dispatcher.
func (d *Dispatcher) Export() State {
	st := State{Version: StateVersion, SilenceSeq: d.silenceSeq, GroupSeq: d.groupSeq, Silences: d.Silences()}
	for _, t := range d.alerts {
		st.Alerts = append(st.Alerts, t.export())
	}
	slices.SortFunc(st.Alerts, func(a, b AlertState) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	for _, g := range d.groups {
		st.Groups = append(st.Groups, g.export())
	}
	slices.SortFunc(st.Groups, func(a, b GroupState) int { return strings.Compare(a.Key, b.Key) })
	return st
}

// Import replaces the dispatcher's state with st. A group whose route is
// no longer in the tree (the config changed) is dropped and its alerts
// are routed again, as new, at their next Tick.
func (d *Dispatcher) Import(st State) error {
	if st.Version != StateVersion {
		return fmt.Errorf("import routing state: version %d, want %d", st.Version, StateVersion)
	}
	nd := &Dispatcher{r: d.r, now: d.now, log: d.log, silenceRetention: d.silenceRetention, resolveTimeout: d.resolveTimeout}
	nd.reset()
	if d.dirty != nil {
		nd.dirty = newDirty()
		nd.dirty.full = true
	}
	nd.silenceSeq, nd.groupSeq = st.SilenceSeq, st.GroupSeq
	for _, s := range st.Silences {
		s.Matchers = slices.Clone(s.Matchers)
		if err := s.compile(); err != nil {
			return fmt.Errorf("import routing state: silence %s: %w", s.ID, err)
		}
		nd.silences[s.ID] = &s
	}
	for _, as := range st.Alerts {
		t := &tracked{fp: as.Fingerprint, alert: as.Alert, labels: maps.Clone(as.Labels),
			startsAt: as.StartsAt, updatedAt: as.UpdatedAt, endsAt: as.EndsAt}
		if t.labels == nil {
			t.labels = map[string]string{}
		}
		nd.alerts[t.fp] = t
		nd.indexInhibit(t)
	}
	var orphans []*tracked
	for _, gs := range st.Groups {
		n := d.r.nodes[gs.Route]
		if n == nil {
			for _, es := range gs.Entries {
				if t := nd.alerts[es.Fingerprint]; t != nil {
					orphans = append(orphans, t)
				}
			}
			continue
		}
		base := baseOf(gs.Key)
		g := &group{
			base: base, key: gs.Key, node: n, labels: maps.Clone(gs.Labels), nextFlush: gs.NextFlush,
			firstNotified: gs.FirstNotified, lastNotified: gs.LastNotified, level: min(gs.Level, len(n.levels)),
			acked: gs.Acked, ackedBy: gs.AckedBy, ackedAt: gs.AckedAt, seq: gs.Seq, hidx: -1,
		}
		if g.labels == nil {
			g.labels = map[string]string{}
		}
		for _, es := range gs.Entries {
			t := nd.alerts[es.Fingerprint]
			if t == nil {
				return fmt.Errorf("import routing state: group %s holds unknown alert %s", gs.Key, es.Fingerprint)
			}
			g.entries = append(g.entries, &entry{t: t, notified: es.Notified})
			t.groups = append(t.groups, g)
		}
		if len(g.entries) == 0 {
			continue
		}
		nd.groups[base] = g
		g.due = g.nextFlush
		nd.queue = append(nd.queue, g)
	}
	for i, g := range nd.queue {
		g.hidx = i
	}
	heap.Init(&nd.queue)
	for _, g := range nd.queue {
		nd.schedule(g, time.Time{})
	}
	for fp, t := range nd.alerts {
		if len(t.groups) == 0 && !slices.Contains(orphans, t) {
			nd.unindexInhibit(t)
			delete(nd.alerts, fp)
		}
	}
	*d = *nd
	for _, t := range orphans {
		if !t.endsAt.IsZero() {
			if len(t.groups) == 0 {
				d.unindexInhibit(t)
				delete(d.alerts, t.fp)
			}
			continue
		}
		d.reroute(t)
	}
	return nil
}

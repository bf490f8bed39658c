package route

import (
	"maps"
	"slices"
	"strings"
)

// Changes is what changed in a Dispatcher's state since the previous
// Changes: the records to save, each under its own key (an alert by
// fingerprint, a group by key, a silence by ID), and the keys whose
// record is gone. Saving every Changes in order, in the same transaction
// as the notifications produced meanwhile, keeps a copy of the state that
// reads back as what Export returns, while each save costs what changed,
// not the whole state.
type Changes struct {
	// Full: the records are the whole state (after Import); delete
	// everything saved before.
	Full bool `json:"full,omitempty"`
	// Version, SilenceSeq and GroupSeq are the State's counters, always
	// set.
	Version    int          `json:"version"`
	SilenceSeq uint64       `json:"silence_seq"`
	GroupSeq   uint64       `json:"group_seq"`
	Alerts     []AlertState `json:"alerts,omitempty"`
	Groups     []GroupState `json:"groups,omitempty"`
	Silences   []Silence    `json:"silences,omitempty"`
	// GoneAlerts, GoneGroups and GoneSilences are fingerprints, group
	// keys and silence IDs to delete.
	GoneAlerts   []string `json:"gone_alerts,omitempty"`
	GoneGroups   []string `json:"gone_groups,omitempty"`
	GoneSilences []string `json:"gone_silences,omitempty"`
}

// Empty reports whether nothing changed.
func (c *Changes) Empty() bool {
	return !c.Full && len(c.Alerts)+len(c.Groups)+len(c.Silences)+len(c.GoneAlerts)+len(c.GoneGroups)+len(c.GoneSilences) == 0
}

// State assembles records read back into a State, in Export's order.
// The slices are sorted in place.
func (c *Changes) State() State {
	slices.SortFunc(c.Alerts, func(a, b AlertState) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	slices.SortFunc(c.Groups, func(a, b GroupState) int { return strings.Compare(a.Key, b.Key) })
	if c.Silences == nil {
		c.Silences = []Silence{} // as Export
	}
	sortSilences(c.Silences)
	return State{Version: c.Version, SilenceSeq: c.SilenceSeq, GroupSeq: c.GroupSeq,
		Alerts: c.Alerts, Groups: c.Groups, Silences: c.Silences}
}

// dirty is what changed since the last Changes, when tracking is on. A
// group is held by pointer: one that closed is still known by its key,
// and a later group with the same labels has another.
type dirty struct {
	full     bool
	alerts   map[string]struct{}
	groups   map[*group]struct{}
	silences map[string]struct{}
}

func newDirty() *dirty {
	return &dirty{alerts: map[string]struct{}{}, groups: map[*group]struct{}{}, silences: map[string]struct{}{}}
}

func (d *Dispatcher) markAlert(fp string) {
	if d.dirty != nil {
		d.dirty.alerts[fp] = struct{}{}
	}
}

func (d *Dispatcher) markGroup(g *group) {
	if d.dirty != nil {
		d.dirty.groups[g] = struct{}{}
	}
}

func (d *Dispatcher) markSilence(id string) {
	if d.dirty != nil {
		d.dirty.silences[id] = struct{}{}
	}
}

// Changes returns what changed since the previous call (since
// NewDispatcher, the first time: nothing, or everything after an Import)
// and starts over. It needs Options.TrackChanges; without it, it returns
// the whole state, as after an Import. Nothing returned is shared with
// the dispatcher.
func (d *Dispatcher) Changes() Changes {
	c := Changes{Version: StateVersion, SilenceSeq: d.silenceSeq, GroupSeq: d.groupSeq}
	if d.dirty == nil || d.dirty.full {
		st := d.Export()
		c.Full, c.Alerts, c.Groups, c.Silences = true, st.Alerts, st.Groups, st.Silences
		if d.dirty != nil {
			d.dirty = newDirty()
		}
		return c
	}
	for fp := range d.dirty.alerts {
		if t := d.alerts[fp]; t != nil {
			c.Alerts = append(c.Alerts, t.export())
		} else {
			c.GoneAlerts = append(c.GoneAlerts, fp)
		}
	}
	for g := range d.dirty.groups {
		if d.groups[g.base] == g {
			c.Groups = append(c.Groups, g.export())
		} else {
			c.GoneGroups = append(c.GoneGroups, g.key)
		}
	}
	for id := range d.dirty.silences {
		if s := d.silences[id]; s != nil {
			c.Silences = append(c.Silences, s.export())
		} else {
			c.GoneSilences = append(c.GoneSilences, id)
		}
	}
	clear(d.dirty.alerts)
	clear(d.dirty.groups)
	clear(d.dirty.silences)
	slices.SortFunc(c.Alerts, func(a, b AlertState) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	slices.SortFunc(c.Groups, func(a, b GroupState) int { return strings.Compare(a.Key, b.Key) })
	sortSilences(c.Silences)
	slices.Sort(c.GoneAlerts)
	slices.Sort(c.GoneGroups)
	slices.Sort(c.GoneSilences)
	return c
}

// export copies an alert's record.
func (t *tracked) export() AlertState {
	return AlertState{
		Fingerprint: t.fp, Alert: t.alert, Labels: maps.Clone(t.labels),
		StartsAt: t.startsAt, UpdatedAt: t.updatedAt, EndsAt: t.endsAt,
	}
}

// export copies a group's record.
func (g *group) export() GroupState {
	gs := GroupState{
		Key: g.key, Route: g.node.id, Labels: maps.Clone(g.labels), NextFlush: g.nextFlush,
		FirstNotified: g.firstNotified, LastNotified: g.lastNotified, Level: g.level,
		Acked: g.acked, AckedBy: g.ackedBy, AckedAt: g.ackedAt, Seq: g.seq,
		Entries: make([]EntryState, 0, len(g.entries)),
	}
	for _, e := range g.entries {
		gs.Entries = append(gs.Entries, EntryState{Fingerprint: e.t.fp, Notified: e.notified})
	}
	return gs
}

// export copies a silence without its compiled matchers.
func (s *Silence) export() Silence {
	c := *s
	c.Matchers = slices.Clone(s.Matchers)
	c.matchers = nil
	return c
}

// Resave is for a caller that could not save the last Changes: the next
// Changes returns the whole state, to be saved in place of everything.
func (d *Dispatcher) Resave() {
	if d.dirty != nil {
		d.dirty.full = true
	}
}

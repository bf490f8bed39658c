package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// topN is how many sources, targets and users a summary ranks.
const topN = 10

// maxDays caps the daily trend: a longer period is shown by its last
// maxDays days.
const maxDays = 400

// Activity is what a summary is made of: what happened between Since and
// Until, as the store holds it.
type Activity struct {
	// Since (inclusive) and Until (exclusive) bound the period; a zero
	// Since means from the first record.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Generated is when the report is made.
	Generated time.Time `json:"generated"`
	// Alerts and Decisions are those of the period.
	Alerts    []engine.Alert    `json:"alerts"`
	Decisions []engine.Decision `json:"decisions"`
	// Incidents are the incidents opened in the period, with their
	// metrics.
	Incidents []IncidentMetrics `json:"incidents"`
	// Response is the response times over Incidents.
	Response Response `json:"response"`
	// Notifications are the outbox's notifications created in the period.
	Notifications []Notification `json:"notifications"`
	// Audit counts the audit records of the period per action.
	Audit map[string]int `json:"audit"`
}

// IncidentMetrics is an incident with its response times.
type IncidentMetrics struct {
	Incident engine.Incident `json:"incident"`
	Metrics  Metrics         `json:"metrics"`
}

// Response is the mean and median of each response time over many
// incidents.
type Response struct {
	TTD Stat `json:"ttd"`
	TTA Stat `json:"tta"`
	TTC Stat `json:"ttc"`
	TTR Stat `json:"ttr"`
}

// Stat is one response time over the incidents that have it.
type Stat struct {
	N      int           `json:"n"`
	Mean   time.Duration `json:"mean"`
	Median time.Duration `json:"median"`
}

// Notification is one message of the outbox.
type Notification struct {
	Receiver string    `json:"receiver"`
	State    string    `json:"state"`
	Created  time.Time `json:"created"`
}

// Summary is the rendered account of a period: an executive view (counts,
// trends, top sources and targets, response times) and a technical one
// (per scenario, per action, incidents, receivers, audit).
type Summary struct {
	Generated time.Time `json:"generated"`
	Since     time.Time `json:"since,omitzero"`
	Until     time.Time `json:"until"`

	Counts     []Count    `json:"counts"`
	Days       []Day      `json:"days"`
	TopSources []Top      `json:"top_sources"`
	TopTargets []Top      `json:"top_targets"`
	TopUsers   []Top      `json:"top_users"`
	Times      []TimeStat `json:"response_times"`

	Scenarios []ScenarioRow `json:"scenarios"`
	Actions   []ActionRow   `json:"actions"`
	Incidents []IncidentRow `json:"incidents"`
	Receivers []ReceiverRow `json:"receivers"`
	Audit     []Count       `json:"audit"`
}

// Count is one named number.
type Count struct {
	Name  string `json:"name"`
	Value int    `json:"value"`
}

// Day is one day of the trend (UTC).
type Day struct {
	Date      string `json:"date"`
	Alerts    int    `json:"alerts"`
	Events    int    `json:"events"`
	Decisions int    `json:"decisions"`
	Incidents int    `json:"incidents"`
}

// Top is one ranked source, target or user.
type Top struct {
	Name    string  `json:"name"`
	Alerts  int     `json:"alerts"`
	Events  int     `json:"events"`
	MaxRisk float64 `json:"max_risk"`
}

// TimeStat is one response time over the period's incidents.
type TimeStat struct {
	Name string `json:"name"`
	// N is how many incidents got there.
	N             int     `json:"n"`
	MeanSeconds   float64 `json:"mean_seconds"`
	MedianSeconds float64 `json:"median_seconds"`
}

// ScenarioRow is one scenario's activity.
type ScenarioRow struct {
	Scenario  string  `json:"scenario"`
	Alerts    int     `json:"alerts"`
	Events    int     `json:"events"`
	Sources   int     `json:"sources"`
	Decisions int     `json:"decisions"`
	MeanRisk  float64 `json:"mean_risk"`
	MaxRisk   float64 `json:"max_risk"`
}

// ActionRow counts one action type's decisions by how they went.
type ActionRow struct {
	Action     string `json:"action"`
	Total      int    `json:"total"`
	Auto       int    `json:"auto"`
	Active     int    `json:"active"`
	Pending    int    `json:"pending"`
	Expired    int    `json:"expired"`
	RolledBack int    `json:"rolled_back"`
	Refused    int    `json:"refused"`
}

// IncidentRow is one incident of the period.
type IncidentRow struct {
	ID        string    `json:"id"`
	Opened    time.Time `json:"opened"`
	State     string    `json:"state"`
	Severity  string    `json:"severity"`
	Risk      float64   `json:"risk"`
	Alerts    int       `json:"alerts"`
	Decisions int       `json:"decisions"`
	Title     string    `json:"title"`
	// TTD and TTR are in seconds, nil until the incident got there.
	TTD *float64 `json:"ttd_seconds"`
	TTR *float64 `json:"ttr_seconds"`
}

// ReceiverRow counts one receiver's notifications by delivery state.
type ReceiverRow struct {
	Receiver string `json:"receiver"`
	Total    int    `json:"total"`
	Sent     int    `json:"sent"`
	Failed   int    `json:"failed"`
	Pending  int    `json:"pending"`
}

// NewSummary builds the summary of a.
func NewSummary(a *Activity) *Summary {
	s := &Summary{Generated: a.Generated.UTC(), Since: utc(a.Since), Until: a.Until.UTC()}
	s.Days = days(a)
	s.TopSources = top(a.Alerts, func(al *engine.Alert) []string { return []string{alertSource(al)} })
	s.TopTargets = top(a.Alerts, func(al *engine.Alert) []string {
		return sorted(append([]string{alertTarget(al)}, al.Blast.Assets...))
	})
	s.TopUsers = top(a.Alerts, func(al *engine.Alert) []string { return sorted(append(slices.Clone(al.Users), al.Blast.Users...)) })
	s.Times = []TimeStat{timeStat("time to detect", a.Response.TTD), timeStat("time to acknowledge", a.Response.TTA),
		timeStat("time to contain", a.Response.TTC), timeStat("time to resolve", a.Response.TTR)}
	s.Scenarios = scenarioRows(a)
	s.Actions = actionRows(a)
	s.Incidents = incidentRows(a)
	s.Receivers = receiverRows(a.Notifications)
	for _, k := range slices.Sorted(maps.Keys(a.Audit)) {
		s.Audit = append(s.Audit, Count{k, a.Audit[k]})
	}
	s.Audit = nonNil(s.Audit)
	s.Counts = counts(a, s)
	return s
}

func counts(a *Activity, s *Summary) []Count {
	events, sources := 0, map[string]bool{}
	for i := range a.Alerts {
		events += a.Alerts[i].Count
		sources[alertSource(&a.Alerts[i])] = true
	}
	open, closed := 0, 0
	for i := range a.Incidents {
		if a.Incidents[i].Incident.IsOpen() {
			open++
		} else {
			closed++
		}
	}
	auto, pending := 0, 0
	for _, r := range s.Actions {
		auto += r.Auto
		pending += r.Pending
	}
	sent, failed := 0, 0
	for _, r := range s.Receivers {
		sent += r.Sent
		failed += r.Failed
	}
	return []Count{
		{"alerts", len(a.Alerts)}, {"events behind alerts", events}, {"distinct sources", len(sources)},
		{"decisions", len(a.Decisions)}, {"decisions by policy", auto}, {"decisions awaiting approval", pending},
		{"incidents opened", len(a.Incidents)}, {"incidents open", open}, {"incidents closed", closed},
		{"notifications sent", sent}, {"notifications failed", failed},
	}
}

// days is the daily trend over the period, every day present.
func days(a *Activity) []Day {
	from, to := a.Since, a.Until
	if from.IsZero() {
		for i := range a.Alerts {
			if t := a.Alerts[i].Time; from.IsZero() || t.Before(from) {
				from = t
			}
		}
	}
	if from.IsZero() || !to.After(from) {
		return []Day{}
	}
	day := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	first, last := day(from), day(to.Add(-time.Nanosecond))
	if n := int(last.Sub(first)/(24*time.Hour)) + 1; n > maxDays {
		first = last.AddDate(0, 0, -(maxDays - 1))
	}
	var out []Day
	idx := map[string]int{}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		idx[d.Format(time.DateOnly)] = len(out)
		out = append(out, Day{Date: d.Format(time.DateOnly)})
	}
	at := func(t time.Time) *Day {
		if i, ok := idx[t.UTC().Format(time.DateOnly)]; ok {
			return &out[i]
		}
		return nil
	}
	for i := range a.Alerts {
		if d := at(a.Alerts[i].Time); d != nil {
			d.Alerts++
			d.Events += a.Alerts[i].Count
		}
	}
	for i := range a.Decisions {
		if d := at(a.Decisions[i].Time); d != nil {
			d.Decisions++
		}
	}
	for i := range a.Incidents {
		if d := at(a.Incidents[i].Incident.Opened); d != nil {
			d.Incidents++
		}
	}
	return out
}

// top ranks what names returns for each alert by alerts, then events,
// then name.
func top(alerts []engine.Alert, names func(a *engine.Alert) []string) []Top {
	byName := newTally(func(n string) *Top { return &Top{Name: n} })
	for i := range alerts {
		a := &alerts[i]
		for _, n := range names(a) {
			if n == "" {
				continue
			}
			t := byName.get(n)
			t.Alerts++
			t.Events += a.Count
			t.MaxRisk = max(t.MaxRisk, a.Risk)
		}
	}
	out := byName.sorted(func(x, y Top) int {
		return cmp.Or(cmp.Compare(y.Alerts, x.Alerts), cmp.Compare(y.Events, x.Events), cmp.Compare(x.Name, y.Name))
	})
	return out[:min(len(out), topN)]
}

func timeStat(name string, st Stat) TimeStat {
	return TimeStat{Name: name, N: st.N, MeanSeconds: st.Mean.Seconds(), MedianSeconds: st.Median.Seconds()}
}

func scenarioRows(a *Activity) []ScenarioRow {
	sources := map[string]map[string]bool{}
	rows := newTally(func(name string) *ScenarioRow {
		sources[name] = map[string]bool{}
		return &ScenarioRow{Scenario: name}
	})
	for i := range a.Alerts {
		al := &a.Alerts[i]
		r := rows.get(al.Scenario)
		r.Alerts++
		r.Events += al.Count
		r.MeanRisk += al.Risk
		r.MaxRisk = max(r.MaxRisk, al.Risk)
		sources[al.Scenario][alertSource(al)] = true
	}
	for i := range a.Decisions {
		rows.get(a.Decisions[i].Scenario).Decisions++
	}
	for name, r := range rows.rows {
		if r.Alerts > 0 {
			r.MeanRisk /= float64(r.Alerts)
		}
		r.Sources = len(sources[name])
	}
	return rows.sorted(func(x, y ScenarioRow) int {
		return cmp.Or(cmp.Compare(y.Alerts, x.Alerts), cmp.Compare(x.Scenario, y.Scenario))
	})
}

func actionRows(a *Activity) []ActionRow {
	rows := newTally(func(action string) *ActionRow { return &ActionRow{Action: action} })
	for i := range a.Decisions {
		d := &a.Decisions[i]
		r := rows.get(d.Action)
		r.Total++
		if d.Auto {
			r.Auto++
		}
		switch d.StateAt(a.Until) {
		case engine.StateActive:
			r.Active++
		case engine.StatePending:
			r.Pending++
		case engine.StateExpired:
			r.Expired++
		case engine.StateRolledBack:
			r.RolledBack++
		case engine.StateRefused:
			r.Refused++
		}
	}
	return rows.sorted(func(x, y ActionRow) int {
		return cmp.Or(cmp.Compare(y.Total, x.Total), cmp.Compare(x.Action, y.Action))
	})
}

func incidentRows(a *Activity) []IncidentRow {
	out := make([]IncidentRow, 0, len(a.Incidents))
	for i := range a.Incidents {
		inc, m := &a.Incidents[i].Incident, &a.Incidents[i].Metrics
		out = append(out, IncidentRow{ID: inc.ID, Opened: inc.Opened.UTC(), State: inc.State, Severity: inc.Severity, Risk: inc.Risk,
			Alerts: len(inc.Alerts), Decisions: len(inc.Decisions), Title: inc.Title, TTD: seconds(m.TTD), TTR: seconds(m.TTR)})
	}
	slices.SortFunc(out, func(x, y IncidentRow) int { return cmp.Or(x.Opened.Compare(y.Opened), cmp.Compare(x.ID, y.ID)) })
	return out
}

// Notification delivery states, as the outbox names them.
const (
	noteSent       = "sent"
	noteFailed     = "failed"
	noteQueued     = "queued"
	noteSending    = "sending"
	noteSuppressed = "suppressed"
)

func receiverRows(ns []Notification) []ReceiverRow {
	rows := newTally(func(receiver string) *ReceiverRow { return &ReceiverRow{Receiver: receiver} })
	for _, n := range ns {
		r := rows.get(n.Receiver)
		r.Total++
		switch n.State {
		case noteSent:
			r.Sent++
		case noteFailed:
			r.Failed++
		case noteQueued, noteSending:
			r.Pending++
		case noteSuppressed:
		}
	}
	return rows.sorted(func(x, y ReceiverRow) int { return cmp.Compare(x.Receiver, y.Receiver) })
}

// tally keeps one row per name and hands them out sorted.
type tally[T any] struct {
	rows  map[string]*T
	fresh func(name string) *T
}

func newTally[T any](fresh func(name string) *T) *tally[T] {
	return &tally[T]{rows: map[string]*T{}, fresh: fresh}
}

// get returns name's row, made by fresh the first time.
func (t *tally[T]) get(name string) *T {
	r := t.rows[name]
	if r == nil {
		r = t.fresh(name)
		t.rows[name] = r
	}
	return r
}

// sorted returns copies of the rows in the order of by, which must be
// total: map order must not show.
func (t *tally[T]) sorted(by func(a, b T) int) []T {
	out := make([]T, 0, len(t.rows))
	for _, r := range t.rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, by)
	return out
}

// Period says which period the summary covers, in words.
func (s *Summary) Period() string {
	if s.Since.IsZero() {
		return "until " + fmtTime(s.Until)
	}
	return fmt.Sprintf("%s to %s (%s)", fmtTime(s.Since), fmtTime(s.Until), fmtDuration(s.Until.Sub(s.Since)))
}

package incident

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

func newTestManager(t *testing.T, st *memStore, cfg Config) *Manager {
	t.Helper()
	m, err := New(cfg, st, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// feed commits each alert on its own, as a live engine would.
func feed(m *Manager, st *memStore, alerts ...engine.Alert) {
	for _, a := range alerts {
		st.alerts[a.ID] = a
		m.Committed(&engine.Commit{Alerts: []engine.Alert{a}})
	}
}

// grouping returns the incident of each alert, by alert ID.
func grouping(st *memStore) map[string]string {
	out := map[string]string{}
	for id, inc := range st.incs {
		for _, a := range inc.Alerts {
			out[a] = id
		}
	}
	return out
}

func TestMergeRules(t *testing.T) {
	only := func(rules ...string) Config { return Config{Window: time.Hour, MergeBy: rules} }
	tests := []struct {
		name   string
		cfg    Config
		alerts []engine.Alert
		// closeFirst closes in-00000001 after the first alert.
		closeFirst bool
		want       map[string]string
	}{
		{"same source joins", Defaults(), []engine.Alert{
			alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5),
			alert("al-2", 10*time.Minute, "ssh-invalid-users", "198.51.100.7", "db1", 6),
		}, false, map[string]string{"al-1": "in-00000001", "al-2": "in-00000001"}},
		{"different source, asset rule off, opens another", only(BySource, ByCampaign), []engine.Alert{
			alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5),
			alert("al-2", time.Minute, "ssh-bruteforce", "203.0.113.9", "web1", 5),
		}, false, map[string]string{"al-1": "in-00000001", "al-2": "in-00000002"}},
		{"same asset within the window joins", Defaults(), []engine.Alert{
			alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5),
			alert("al-2", 59*time.Minute, "ssh-bruteforce", "203.0.113.9", "web1", 5),
		}, false, map[string]string{"al-1": "in-00000001", "al-2": "in-00000001"}},
		{"same asset after the window opens another", Defaults(), []engine.Alert{
			alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5),
			alert("al-2", 61*time.Minute, "ssh-bruteforce", "203.0.113.9", "web1", 5),
		}, false, map[string]string{"al-1": "in-00000001", "al-2": "in-00000002"}},
		{"window runs from the latest alert", Defaults(), []engine.Alert{
			alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5),
			alert("al-2", 50*time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 5),
			alert("al-3", 100*time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 5),
		}, false, map[string]string{"al-1": "in-00000001", "al-2": "in-00000001", "al-3": "in-00000001"}},
		{"same campaign joins", only(ByCampaign), []engine.Alert{
			alert("al-1", 0, "ssh-distributed", "", "gw1", 7),
			alert("al-2", 30*time.Minute, "ssh-distributed", "", "gw1", 8),
			alert("al-3", 31*time.Minute, "ssh-distributed", "", "gw2", 8),
		}, false, map[string]string{"al-1": "in-00000001", "al-2": "in-00000001", "al-3": "in-00000002"}},
		{"closed incident is not reopened", Defaults(), []engine.Alert{
			alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5),
			alert("al-2", 5*time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 5),
		}, true, map[string]string{"al-1": "in-00000001", "al-2": "in-00000002"}},
		{"source rule wins over asset: oldest candidate of the first rule", Defaults(), []engine.Alert{
			alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5),
			alert("al-2", time.Minute, "ssh-bruteforce", "203.0.113.9", "db1", 5),
			alert("al-3", 2*time.Minute, "ssh-bruteforce", "203.0.113.9", "web1", 5),
		}, false, map[string]string{"al-1": "in-00000001", "al-2": "in-00000002", "al-3": "in-00000002"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			m := newTestManager(t, st, tc.cfg)
			feed(m, st, tc.alerts[0])
			if tc.closeFirst {
				if _, err := m.Transition(t.Context(), Op{ID: "in-00000001", Actor: "alice", Time: t0}, engine.IncidentClosed, "false positive"); err != nil {
					t.Fatal(err)
				}
			}
			feed(m, st, tc.alerts[1:]...)
			if got := grouping(st); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("grouping = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIncidentFields(t *testing.T) {
	st := newMemStore()
	m := newTestManager(t, st, Defaults())
	a1 := alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5)
	a2 := alert("al-2", 10*time.Minute, "ssh-compromise-suspected", "198.51.100.7", "web1", 9.5)
	st.alerts["al-1"], st.alerts["al-2"] = a1, a2
	d := engine.Decision{ID: "dc-1", AlertID: "al-2", Time: a2.Time, Action: engine.ActionBlock, State: engine.StateActive, Auto: true}
	m.Committed(&engine.Commit{Alerts: []engine.Alert{a1}})
	m.Committed(&engine.Commit{Alerts: []engine.Alert{a2}, Decisions: []engine.Decision{d}})
	inc := st.incs["in-00000001"]
	if inc.Risk != 9.5 || inc.Severity != "critical" || !inc.Detected.Equal(a1.First) || !inc.Opened.Equal(a1.Time) ||
		!inc.LastSeen.Equal(a2.Time) || !inc.Contained.Equal(d.Time) || !reflect.DeepEqual(inc.Decisions, []string{"dc-1"}) ||
		!reflect.DeepEqual(inc.Sources, []string{"198.51.100.7"}) || !reflect.DeepEqual(inc.Assets, []string{"web1"}) {
		t.Errorf("incident = %+v", inc)
	}
	if inc.History[0].Action != "opened" || inc.History[0].Audit == 0 {
		t.Errorf("history = %+v, want an audited opening", inc.History)
	}
	if n := len(st.audit); n != 3 { // opened + one update note per commit
		t.Errorf("%d audit records, want 3: %+v", n, st.audit)
	}
}

func TestLifecycle(t *testing.T) {
	tests := []struct {
		from, to, reason string
		err              string
	}{
		{engine.IncidentNew, engine.IncidentAcknowledged, "", ""},
		{engine.IncidentNew, engine.IncidentContained, "", ""},
		{engine.IncidentAcknowledged, engine.IncidentContained, "", ""},
		{engine.IncidentContained, engine.IncidentEradicated, "", ""},
		{engine.IncidentEradicated, engine.IncidentRecovered, "", ""},
		{engine.IncidentRecovered, engine.IncidentClosed, "done", ""},
		{engine.IncidentNew, engine.IncidentClosed, "false positive", ""},
		{engine.IncidentNew, engine.IncidentClosed, "", "closing needs a reason"},
		{engine.IncidentAcknowledged, engine.IncidentAcknowledged, "", "already acknowledged"},
		{engine.IncidentContained, engine.IncidentAcknowledged, "", "cannot go back from contained to acknowledged"},
		{engine.IncidentClosed, engine.IncidentRecovered, "", "closed incidents are never reopened"},
		{engine.IncidentNew, "resolved", "", `unknown state "resolved"`},
	}
	for _, tc := range tests {
		t.Run(tc.from+"→"+tc.to, func(t *testing.T) {
			inc := engine.Incident{ID: "in-00000001", State: tc.from}
			err := Transition(&inc, tc.to, t0, "alice", tc.reason)
			if tc.err == "" {
				if err != nil || inc.State != tc.to || inc.Acknowledged.IsZero() || len(inc.History) != 1 {
					t.Errorf("Transition(%s → %s) = %v, incident %+v", tc.from, tc.to, err, inc)
				}
				return
			}
			if !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Transition(%s → %s) = %v, want ErrTransition saying %q", tc.from, tc.to, err, tc.err)
			}
			if inc.State != tc.from || len(inc.History) != 0 {
				t.Errorf("refused transition changed the incident: %+v", inc)
			}
		})
	}
}

func TestTimestampsAndMetrics(t *testing.T) {
	inc := engine.Incident{ID: "in-00000001", State: engine.IncidentNew, Detected: t0, Opened: t0.Add(2 * time.Minute)}
	steps := []struct {
		to string
		at time.Duration
	}{{engine.IncidentAcknowledged, 5 * time.Minute}, {engine.IncidentContained, 20 * time.Minute}, {engine.IncidentClosed, time.Hour}}
	for _, s := range steps {
		if err := Transition(&inc, s.to, t0.Add(s.at), "alice", "fixed"); err != nil {
			t.Fatal(err)
		}
	}
	m := MetricsOf(&inc, nil)
	want := []time.Duration{2 * time.Minute, 3 * time.Minute, 18 * time.Minute, 58 * time.Minute}
	for i, got := range []*time.Duration{m.TTD, m.TTA, m.TTC, m.TTR} {
		if got == nil || *got != want[i] {
			t.Errorf("metric %d = %v, want %v", i, got, want[i])
		}
	}
	s := Summarize([]Metrics{m, MetricsOf(&engine.Incident{Detected: t0, Opened: t0.Add(4 * time.Minute)}, nil)})
	if s.Incidents != 2 || s.TTD.N != 2 || s.TTD.Mean != 3*time.Minute || s.TTD.Median != 3*time.Minute || s.TTA.N != 1 {
		t.Errorf("Summarize = %+v", s)
	}
}

func TestMergeAndSplit(t *testing.T) {
	st := newMemStore()
	m := newTestManager(t, st, Config{Window: time.Hour, MergeBy: []string{BySource}})
	feed(m, st,
		alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5),
		alert("al-2", time.Minute, "ssh-bruteforce", "203.0.113.9", "web1", 8),
		alert("al-3", 2*time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 4),
	)
	ctx := context.Background()
	op := Op{ID: "in-00000001", Actor: "alice", Time: t0.Add(time.Hour)}
	inc, err := m.Merge(ctx, op, "in-00000002")
	if err != nil {
		t.Fatal(err)
	}
	if len(inc.Alerts) != 3 || inc.Risk != 8 {
		t.Errorf("merged = %+v", inc)
	}
	if src := st.incs["in-00000002"]; src.State != engine.IncidentClosed || src.MergedInto != "in-00000001" || len(src.Alerts) != 0 {
		t.Errorf("absorbed incident = %+v", src)
	}
	if _, err := m.Merge(ctx, op, "in-00000002"); !errors.Is(err, ErrTransition) {
		t.Errorf("merging a closed incident = %v, want ErrTransition", err)
	}
	moved, err := m.Split(ctx, op, []string{"al-2"})
	if err != nil {
		t.Fatal(err)
	}
	if moved.ID != "in-00000003" || !reflect.DeepEqual(moved.Alerts, []string{"al-2"}) || moved.Risk != 8 {
		t.Errorf("split off = %+v", moved)
	}
	if kept := st.incs["in-00000001"]; !reflect.DeepEqual(kept.Alerts, []string{"al-1", "al-3"}) || kept.Risk != 5 {
		t.Errorf("kept = %+v", kept)
	}
	if _, err := m.Split(ctx, op, []string{"al-9"}); !errors.Is(err, ErrNoAlert) {
		t.Errorf("split of a foreign alert = %v, want ErrNoAlert", err)
	}
	// A later alert from the split-off source joins the split-off incident.
	feed(m, st, alert("al-4", 3*time.Minute, "ssh-bruteforce", "203.0.113.9", "web1", 5))
	if got := grouping(st)["al-4"]; got != "in-00000003" {
		t.Errorf("al-4 joined %s, want in-00000003", got)
	}
}

// TestObserveThenFlush folds alerts without saving, edits an incident in
// between (which saves what was folded first), and flushes: the store ends
// with every alert and the edit, and a flush with nothing kept writes
// nothing.
func TestObserveThenFlush(t *testing.T) {
	st := newMemStore()
	m := newTestManager(t, st, Config{Window: time.Hour, MergeBy: []string{BySource}})
	a1 := alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5)
	a2 := alert("al-2", time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 6)
	a3 := alert("al-3", 2*time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 7)
	for _, a := range []engine.Alert{a1, a2, a3} {
		st.alerts[a.ID] = a
	}
	m.Observe(&engine.Commit{Alerts: []engine.Alert{a1}})
	if len(st.incs) != 0 {
		t.Fatalf("Observe saved %d incidents, want none before Flush", len(st.incs))
	}
	if b, ok := m.BriefOf("al-1"); !ok || b.ID != "in-00000001" || b.Alerts != 1 {
		t.Fatalf("BriefOf(al-1) = %+v, %v; want in-00000001 with one alert", b, ok)
	}
	m.Observe(&engine.Commit{Alerts: []engine.Alert{a2}})
	op := Op{ID: "in-00000001", Actor: "alice", Time: t0.Add(3 * time.Minute)}
	if _, err := m.Transition(context.Background(), op, engine.IncidentAcknowledged, ""); err != nil {
		t.Fatal(err)
	}
	m.Flush(context.Background()) // must not put back the copy from before the edit
	if inc := st.incs["in-00000001"]; inc.State != engine.IncidentAcknowledged || len(inc.Alerts) != 2 {
		t.Fatalf("after the edit and a flush: state %s, alerts %v; want acknowledged with al-1 and al-2", inc.State, inc.Alerts)
	}
	m.Observe(&engine.Commit{Alerts: []engine.Alert{a3}})
	m.Flush(context.Background())
	inc := st.incs["in-00000001"]
	if !reflect.DeepEqual(inc.Alerts, []string{"al-1", "al-2", "al-3"}) || inc.State != engine.IncidentAcknowledged {
		t.Errorf("saved = alerts %v state %s, want all three and acknowledged", inc.Alerts, inc.State)
	}
	saves := st.saves
	m.Flush(context.Background())
	if st.saves != saves {
		t.Errorf("an empty Flush saved")
	}
}

// TestMembersAfterEdits re-commits alerts and a decision already in an
// incident, before and after a hand edit (a split) replaced its lists:
// nothing is listed twice, and an alert split off comes back only to its
// new incident.
func TestMembersAfterEdits(t *testing.T) {
	st := newMemStore()
	m := newTestManager(t, st, Config{Window: time.Hour, MergeBy: []string{BySource}})
	a1 := alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5)
	a2 := alert("al-2", time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 6)
	feed(m, st, a1, a2, a1) // al-1 again: an updated alert
	d := engine.Decision{ID: "de-1", AlertID: "al-1", Time: t0, State: engine.StateActive, Auto: true}
	st.decisions[d.ID] = d
	m.Committed(&engine.Commit{Decisions: []engine.Decision{d}})
	m.Committed(&engine.Commit{Decisions: []engine.Decision{d}})
	inc := st.incs["in-00000001"]
	if !reflect.DeepEqual(inc.Alerts, []string{"al-1", "al-2"}) || !reflect.DeepEqual(inc.Decisions, []string{"de-1"}) ||
		!reflect.DeepEqual(inc.Sources, []string{"198.51.100.7"}) {
		t.Fatalf("after repeats: alerts %v decisions %v sources %v", inc.Alerts, inc.Decisions, inc.Sources)
	}
	op := Op{ID: "in-00000001", Actor: "alice", Time: t0.Add(2 * time.Minute)}
	if _, err := m.Split(context.Background(), op, []string{"al-2"}); err != nil {
		t.Fatal(err)
	}
	feed(m, st, a2, a1)
	if kept := st.incs["in-00000001"]; !reflect.DeepEqual(kept.Alerts, []string{"al-1"}) {
		t.Errorf("kept after the split and repeats = %v, want [al-1]", kept.Alerts)
	}
	if moved := st.incs["in-00000002"]; !reflect.DeepEqual(moved.Alerts, []string{"al-2"}) {
		t.Errorf("split off after repeats = %v, want [al-2]", moved.Alerts)
	}
}

// TestReplayDeterministic feeds the same alerts in one commit and in many,
// and through a restart: the incidents are the same.
func TestReplayDeterministic(t *testing.T) {
	alerts := []engine.Alert{
		alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5),
		alert("al-2", 30*time.Minute, "ssh-distributed", "", "gw1", 7),
		alert("al-3", 2*time.Hour, "ssh-bruteforce", "203.0.113.9", "web1", 5),
		alert("al-4", 2*time.Hour+time.Minute, "ssh-distributed", "", "gw1", 7),
		alert("al-5", 5*time.Hour, "ssh-bruteforce", "198.51.100.7", "db1", 6),
	}
	run := func(split int) map[string]string {
		st := newMemStore()
		m := newTestManager(t, st, Defaults())
		for _, a := range alerts[:split] {
			st.alerts[a.ID] = a
		}
		m.Committed(&engine.Commit{Alerts: alerts[:split]})
		m = newTestManager(t, st, Defaults()) // a restart
		feed(m, st, alerts[split:]...)
		return grouping(st)
	}
	want := run(len(alerts))
	for split := range len(alerts) {
		if got := run(split); !reflect.DeepEqual(got, want) {
			t.Errorf("restart after %d alerts: %v, want %v", split, got, want)
		}
	}
}

func TestSaveFailureReloads(t *testing.T) {
	st := newMemStore()
	m := newTestManager(t, st, Defaults())
	st.fail = errors.New("disk full")
	feed(m, st, alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5))
	st.fail = nil
	feed(m, st, alert("al-2", time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 5))
	if got := grouping(st); !reflect.DeepEqual(got, map[string]string{"al-2": "in-00000001"}) {
		t.Errorf("after a failed save: %v, want al-2 alone in in-00000001", got)
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{Window: 0, MergeBy: []string{"source", "colour", "source"}}
	err := c.Validate()
	for _, want := range []string{"window", `merge_by[1]: "colour"`, `merge_by[2]: "source" given twice`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to mention %q", err, want)
		}
	}
}

// TestEditsKeepTheMergeIndex edits an incident in ways that leave its
// members alone (the manager then keeps its index and member sets) and one
// that closes it: later alerts from the same source join the edited
// incident, and after the close a new one.
func TestEditsKeepTheMergeIndex(t *testing.T) {
	st := newMemStore()
	m := newTestManager(t, st, Config{Window: time.Hour, MergeBy: []string{BySource}})
	feed(m, st, alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5))
	ctx := context.Background()
	op := Op{ID: "in-00000001", Actor: "alice", Time: t0.Add(time.Minute)}
	if _, err := m.Update(ctx, op, []string{"triage"}, nil, 9, "looked at"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Assign(ctx, op, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Transition(ctx, op, engine.IncidentAcknowledged, ""); err != nil {
		t.Fatal(err)
	}
	feed(m, st, alert("al-2", 2*time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 5), alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5))
	inc := st.incs["in-00000001"]
	if !reflect.DeepEqual(inc.Alerts, []string{"al-1", "al-2"}) || inc.Risk != 9 || inc.Owner != "alice" || len(inc.History) != 4 {
		t.Fatalf("after edits and alerts: %+v", inc)
	}
	if _, err := m.Transition(ctx, op, engine.IncidentClosed, "false positive"); err != nil {
		t.Fatal(err)
	}
	feed(m, st, alert("al-3", 3*time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 5))
	if got := grouping(st)["al-3"]; got != "in-00000002" {
		t.Errorf("al-3 after the close joined %s, want a new in-00000002", got)
	}
	if inc := st.incs["in-00000001"]; len(inc.Alerts) != 2 {
		t.Errorf("the closed incident gained alerts: %v", inc.Alerts)
	}
}

// TestApprovalContains approves a decision that waited for an analyst: its
// incident is contained from the approval, once, and an approval later
// than an earlier containment changes nothing; so does a decision in no
// incident.
func TestApprovalContains(t *testing.T) {
	st := newMemStore()
	m := newTestManager(t, st, Config{Window: time.Hour, MergeBy: []string{BySource}})
	feed(m, st, alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5))
	d := engine.Decision{ID: "de-1", AlertID: "al-1", Time: t0, State: engine.StatePending, Action: engine.ActionBlock, Target: netip.MustParsePrefix("198.51.100.7/32")}
	m.Committed(&engine.Commit{Decisions: []engine.Decision{d}})
	if inc := st.incs["in-00000001"]; !inc.Contained.IsZero() {
		t.Fatalf("a pending decision contained the incident at %v", inc.Contained)
	}
	ctx := context.Background()
	approved := t0.Add(10 * time.Minute)
	d.State = engine.StateActive
	if err := m.Approved(ctx, Op{Actor: "cli:alice", Time: approved}, &d); err != nil {
		t.Fatal(err)
	}
	inc := st.incs["in-00000001"]
	if !inc.Contained.Equal(approved) || inc.History[len(inc.History)-1].Action != "approved" || inc.History[len(inc.History)-1].Actor != "cli:alice" {
		t.Fatalf("after the approval: contained %v, history %+v", inc.Contained, inc.History)
	}
	saves := st.saves
	if err := m.Approved(ctx, Op{Actor: "cli:bob", Time: approved.Add(time.Minute)}, &d); err != nil || st.saves != saves {
		t.Errorf("a later approval = %v with %d saves; want nothing saved", err, st.saves-saves)
	}
	stray := engine.Decision{ID: "de-9", AlertID: "al-9", Action: engine.ActionBlock}
	if err := m.Approved(ctx, Op{Actor: "cli:bob", Time: approved}, &stray); err != nil || st.saves != saves {
		t.Errorf("approving a decision of no incident = %v with %d saves", err, st.saves-saves)
	}
	// Hours of alerts later the incident has left memory: it is found
	// through the store.
	feed(m, st, alert("al-2", 5*time.Hour, "ssh-bruteforce", "203.0.113.9", "web1", 5))
	if _, ok := m.BriefOf("al-1"); ok {
		t.Fatal("in-00000001 still in memory; the test needs it swept")
	}
	earlier := approved.Add(-5 * time.Minute)
	if err := m.Approved(ctx, Op{Actor: "cli:carol", Time: earlier}, &d); err != nil {
		t.Fatal(err)
	}
	if inc := st.incs["in-00000001"]; !inc.Contained.Equal(earlier) {
		t.Errorf("contained after an earlier approval = %v, want %v", inc.Contained, earlier)
	}
}

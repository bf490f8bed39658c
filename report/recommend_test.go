package report

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// quietIncident is a brute force handled well: blocked by policy in
// seconds, acknowledged in minutes, evidence kept. No rule fires on it.
func quietIncident() *Incident {
	src := netip.MustParseAddr("203.0.113.9")
	evs := bruteEvents("203.0.113.9", "db1", "admin", t0, 6, false)
	for i := range evs {
		evs[i].Method, evs[i].Asset = "", nil
	}
	return &Incident{
		Incident: engine.Incident{ID: "in-00000007", Title: "SSH brute force against db1", State: engine.IncidentAcknowledged, Severity: "high", Risk: 7.4,
			Detected: t0, Opened: at(5 * time.Second), LastSeen: at(5 * time.Second), Acknowledged: at(2 * time.Minute), Contained: at(6 * time.Second),
			Alerts: []string{"al-00000010"}, Decisions: []string{"d-00000010"}, Sources: []string{"203.0.113.9"}, Assets: []string{"db1"}},
		Alerts: []engine.Alert{{ID: "al-00000010", Time: at(5 * time.Second), First: t0, Scenario: "ssh-bruteforce", Key: "203.0.113.9", Source: src,
			Host: "db1", Users: []string{"admin"}, Count: 6, Evidence: evs, Risk: 7.4}},
		Decisions: []engine.Decision{{ID: "d-00000010", Time: at(5 * time.Second), AlertID: "al-00000010", Scenario: "ssh-bruteforce", Action: engine.ActionBlock,
			Target: netip.PrefixFrom(src, 32), TTL: 4 * time.Hour, Expires: at(4*time.Hour + 5*time.Second), Auto: true, State: engine.StateActive, Offense: 1}},
		Timeline:  []engine.TimelineEntry{{Time: at(6 * time.Second), Kind: engine.TimelineAudit, Subject: "d-00000010", Actor: "policy", What: auditApplied, Gateway: "gw1", Audit: 4}},
		Evidence:  []engine.EvidenceItem{{ID: strings.Repeat("ab", 32), Type: engine.EvidenceLogs, Source: "/var/log/auth.log", Collected: at(7 * time.Second), Collector: "playbook:ssh-brute-force", Size: 10, AuditSeq: 5}},
		Metrics:   Metrics{TTD: dur(5 * time.Second), TTA: dur(115 * time.Second), TTC: dur(time.Second)},
		Generated: at(time.Hour),
	}
}

// TestRecommend runs every rule on the quiet incident changed just
// enough to fire it, or just short of firing it.
func TestRecommend(t *testing.T) {
	compromise := func(method string) func(in *Incident) {
		return func(in *Incident) {
			evs := bruteEvents("203.0.113.9", "db1", "admin", t0, 6, true)
			for i := range evs {
				evs[i].Method, evs[i].Asset = method, nil
			}
			in.Alerts = append(in.Alerts, engine.Alert{ID: "al-00000011", Time: at(6 * time.Second), Scenario: compromiseScenario,
				Source: netip.MustParseAddr("203.0.113.9"), Host: "db1", Users: []string{"admin"}, Count: 7, Evidence: evs, Risk: 9.6})
		}
	}
	needsApproval := func(approvedAfter time.Duration) func(in *Incident) {
		return func(in *Incident) {
			d := &in.Decisions[0]
			d.Auto, d.Action = false, engine.ActionIsolate
			in.Timeline = []engine.TimelineEntry{}
			if approvedAfter > 0 {
				in.Timeline = append(in.Timeline,
					engine.TimelineEntry{Time: d.Time.Add(approvedAfter), Kind: engine.TimelineAudit, Subject: d.ID, Actor: "cli:bob", What: auditApproved, Audit: 6},
					engine.TimelineEntry{Time: d.Time.Add(approvedAfter + time.Second), Kind: engine.TimelineAudit, Subject: d.ID, Actor: "cli:bob", What: auditApplied, Gateway: "gw1", Audit: 7})
			} else {
				d.State, in.Incident.Contained = engine.StatePending, time.Time{}
			}
		}
	}
	prior := func(expired time.Duration) func(in *Incident) {
		return func(in *Incident) {
			in.Prior = []engine.Decision{{ID: "d-00000003", Time: t0.Add(-expired - 4*time.Hour), Scenario: "ssh-bruteforce", Action: engine.ActionBlock,
				Target: netip.MustParsePrefix("203.0.113.9/32"), TTL: 4 * time.Hour, Expires: t0.Add(-expired), State: engine.StateExpired, Offense: 1}}
		}
	}
	tests := []struct {
		name   string
		change func(in *Incident)
		want   []string
		// because must appear in the first recommendation's Because.
		because string
	}{
		{name: "quiet", change: func(*Incident) {}, want: nil},
		{name: "password auth on a compromised host", change: compromise("password"), want: []string{"password-auth", "compromise-review"}, because: "7 logged attempts tried a password on db1"},
		{name: "compromise with keys", change: compromise("publickey"), want: []string{"compromise-review"}, because: "A login to db1 succeeded"},
		{name: "password auth without a compromise", change: func(in *Incident) { in.Alerts[0].Evidence[0].Method = "password" }, want: nil},
		{name: "not contained", change: func(in *Incident) { in.Timeline, in.Incident.Contained = nil, time.Time{} }, want: []string{"not-contained"}, because: "none of its 1 decision was enforced"},
		{name: "not contained, low risk", change: func(in *Incident) {
			in.Timeline, in.Incident.Contained, in.Incident.Risk = nil, time.Time{}, 5
		}, want: nil},
		{name: "dry run", change: func(in *Incident) {
			in.Timeline[0].What, in.Incident.Contained = auditDryRun, time.Time{}
		}, want: []string{"not-contained", "dry-run"}, because: "none of its 1 decision was enforced"},
		{name: "enforcement failed", change: func(in *Incident) {
			in.Timeline = append(in.Timeline, engine.TimelineEntry{Time: at(6 * time.Second), Kind: engine.TimelineAudit, Subject: "d-00000010", What: auditFailed, Summary: "gw2: connection refused"})
		}, want: []string{"enforcement-failed"}, because: "gw2: connection refused"},
		{name: "slow approval", change: needsApproval(11 * time.Minute), want: []string{"slow-approval"}, because: "approved by cli:bob after 11m00s"},
		{name: "approval in time", change: needsApproval(9 * time.Minute), want: nil},
		{name: "still pending", change: needsApproval(0), want: []string{"not-contained", "slow-approval"}, because: "none of its 1 decision"},
		{name: "returned after the block expired", change: prior(2 * time.Hour), want: []string{"repeat-offender"}, because: "203.0.113.9 returned 2h00m after its 4h00m block d-00000003"},
		{name: "prior block still running", change: func(in *Incident) { prior(-time.Hour)(in) }, want: nil},
		{name: "offense without history", change: func(in *Incident) { in.Decisions[0].Offense = 3 }, want: []string{"repeat-offender"}, because: "offense 3"},
		{name: "slow acknowledgement", change: func(in *Incident) { in.Metrics.TTA = dur(45 * time.Minute) }, want: []string{"slow-acknowledge"}, because: "was acknowledged 45m00s after"},
		{name: "never acknowledged", change: func(in *Incident) {
			in.Incident.State, in.Incident.Acknowledged, in.Metrics.TTA = engine.IncidentNew, time.Time{}, nil
		}, want: []string{"slow-acknowledge"}, because: "has not been acknowledged 59m55s after"},
		{name: "slow detection", change: func(in *Incident) { in.Metrics.TTD = dur(20 * time.Minute) }, want: []string{"slow-detection"}, because: "20m00s after the first evidence"},
		{name: "critical asset", change: func(in *Incident) {
			in.Alerts[0].Evidence[0].Asset = &engine.Asset{Name: "db1", Criticality: 4, Exposure: "internal"}
		}, want: []string{"critical-exposed"}, because: "db1 (criticality 4, internal)"},
		{name: "no evidence", change: func(in *Incident) { in.Evidence = nil }, want: []string{"no-evidence"}, because: "No evidence item"},
		{name: "refused by the allowlist", change: func(in *Incident) {
			in.Decisions = append(in.Decisions, engine.Decision{ID: "d-00000011", Action: engine.ActionBlock, Target: netip.MustParsePrefix("192.0.2.0/24"), State: engine.StateRefused})
		}, want: []string{"refused"}, because: "192.0.2.0/24"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := quietIncident()
			tc.change(in)
			recs := NewPostMortem(in).Recommendations
			var got []string
			for _, r := range recs {
				got = append(got, r.Rule)
				if r.Text == "" || r.Because == "" || !slices.Contains([]string{PriorityHigh, PriorityMedium, PriorityLow}, r.Priority) {
					t.Errorf("recommendation %+v is incomplete", r)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("rules = %v, want %v\n%+v", got, tc.want, recs)
			}
			if tc.because != "" && !strings.Contains(recs[0].Because, tc.because) {
				t.Errorf("because = %q, want it to say %q", recs[0].Because, tc.because)
			}
		})
	}
}

// TestEveryRuleTested keeps TestRecommend covering every rule.
func TestEveryRuleTested(t *testing.T) {
	tested := map[string]bool{"password-auth": true, "compromise-review": true, "not-contained": true, "dry-run": true, "enforcement-failed": true,
		"slow-approval": true, "repeat-offender": true, "slow-acknowledge": true, "slow-detection": true, "critical-exposed": true, "no-evidence": true, "refused": true}
	for _, r := range rules() {
		if !tested[r.name] {
			t.Errorf("rule %s has no case in TestRecommend", r.name)
		}
	}
}

// TestActions follows decisions through their audit records.
func TestActions(t *testing.T) {
	pm := NewPostMortem(fixtureIncident())
	got := pm.Actions
	if len(got) != 2 {
		t.Fatalf("actions = %+v", got)
	}
	if a := got[0]; a.ApprovedBy != "policy" || a.Wait != 0 || !a.Applied.Equal(at(9*time.Second)) || !slices.Equal(a.Gateways, []string{"gw1"}) {
		t.Errorf("block = %+v, want applied by policy at +9s on gw1", a)
	}
	if a := got[1]; a.ApprovedBy != "cli:alice" || a.Wait != 42*time.Minute || !a.Applied.Equal(at(42*time.Minute+11*time.Second)) {
		t.Errorf("isolate = %+v, want approved by cli:alice after 42m", a)
	}
}

package incident

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/phantomsoc/phantomsoc/engine"
)

// TestTimeline reconstructs a small incident: evidence shared by two
// alerts appears once, alert and decision audit records fold into their
// entries, the incident's own audited history is not repeated, and
// same-time entries put cause before effect.
func TestTimeline(t *testing.T) {
	src := netip.MustParseAddr("198.51.100.7")
	ev := func(line int64, at time.Duration, typ string) engine.Event {
		return engine.Event{Time: t0.Add(at), Type: typ, Source: src, User: "root", Origin: "/var/log/auth.log", Line: line,
			Raw: "Mar  1 10:00:00 web1 sshd[1]: Failed password for root from 198.51.100.7 port 4242 ssh2"}
	}
	a1 := engine.Alert{ID: "al-00000001", Time: t0.Add(2 * time.Second), Scenario: "ssh-bruteforce", Source: src, Risk: 6, Confidence: 0.9, Count: 3,
		Evidence: []engine.Event{ev(10, 0, engine.TypeSSHAuthFailure), ev(11, time.Second, engine.TypeSSHAuthFailure), ev(12, 2*time.Second, engine.TypeSSHAuthFailure)}}
	a2 := engine.Alert{ID: "al-00000002", Time: t0.Add(3 * time.Second), Scenario: "ssh-compromise-suspected", Source: src, Risk: 9, Confidence: 0.8, Count: 2,
		Evidence: []engine.Event{ev(12, 2*time.Second, engine.TypeSSHAuthFailure), ev(13, 3*time.Second, engine.TypeSSHAuthSuccess)}}
	d := engine.Decision{ID: "dc-00000001", AlertID: "al-00000002", Time: a2.Time, Action: engine.ActionBlock, Target: netip.PrefixFrom(src, 32),
		TTL: 4 * time.Hour, State: engine.StateActive, Auto: true, Reason: "compromise suspected", Gateways: []string{"edge1"}}
	inc := engine.Incident{ID: "in-00000001", Alerts: []string{a1.ID, a2.ID}, Decisions: []string{d.ID}, Opened: a1.Time, Detected: t0,
		History: []engine.IncidentEntry{
			{Time: a1.Time, Actor: ActorEngine, Action: "opened", Detail: "al-00000001 ssh-bruteforce from 198.51.100.7", Audit: 3},
			{Time: t0.Add(10 * time.Minute), Actor: "cli:alice", Action: engine.IncidentAcknowledged, Detail: "new → acknowledged", Audit: 9},
		}}
	recs := []engine.TimelineEntry{
		{Time: a1.Time, Kind: engine.TimelineAudit, Subject: a1.ID, Actor: "engine", What: "alert.raised", Audit: 1},
		{Time: a2.Time, Kind: engine.TimelineAudit, Subject: a2.ID, Actor: "engine", What: "alert.raised", Audit: 4},
		{Time: a2.Time, Kind: engine.TimelineAudit, Subject: d.ID, Actor: "engine", What: "decision.created", Audit: 5},
		{Time: a1.Time, Kind: engine.TimelineAudit, Subject: inc.ID, Actor: "engine", What: "incident.opened", Audit: 3},
		{Time: t0.Add(5 * time.Second), Kind: engine.TimelineAudit, Subject: d.ID, Actor: "enforcer", What: AuditApplied, Gateway: "edge1", Audit: 7, Summary: `{"gateway":"edge1"}`},
		{Time: t0.Add(4 * time.Second), Kind: engine.TimelineNotification, Subject: "grp/1", What: "notification.queued", Receiver: "oncall", Summary: "firing to oncall"},
		{Time: t0.Add(6 * time.Second), Kind: engine.TimelineNotification, Subject: "grp/1", Actor: "notify", What: "notification.sent", Receiver: "oncall", Audit: 8},
	}
	tl := Timeline(&Sources{Incident: &inc, Alerts: []engine.Alert{a1, a2}, Decisions: []engine.Decision{d}, Records: recs})
	got, err := json.MarshalIndent(tl, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.RequireEqual(t, got)
	if c := ContainedAt(&inc, tl); !c.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("ContainedAt = %v, want the enforcement's time", c)
	}
}

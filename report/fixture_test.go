package report

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// t0 is the fixtures' clock: every time is an offset from it.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func dur(d time.Duration) *time.Duration { return &d }

// bruteEvents are n failed password attempts on host from src, one a
// second from start, then a successful login when login is set.
func bruteEvents(src, host, user string, start time.Time, n int, login bool) []engine.Event {
	var evs []engine.Event
	for i := range n {
		evs = append(evs, engine.Event{Time: start.Add(time.Duration(i) * time.Second), Type: engine.TypeSSHAuthFailure, Indicator: true,
			Source: netip.MustParseAddr(src), Host: host, User: user, Method: "password", Origin: "/var/log/auth.log", Line: int64(i + 1),
			Raw:   fmt.Sprintf("Mar  1 10:00:%02d %s sshd[%d]: Failed password for %s from %s port %d ssh2", i%60, host, 100+i, user, src, 40000+i),
			Asset: &engine.Asset{Name: host, Role: "web", Criticality: 5, Exposure: "internet", Gateways: []string{"gw1"}}})
	}
	if login {
		evs = append(evs, engine.Event{Time: start.Add(time.Duration(n) * time.Second), Type: engine.TypeSSHAuthSuccess,
			Source: netip.MustParseAddr(src), Host: host, User: user, Method: "password", Origin: "/var/log/auth.log", Line: int64(n + 1),
			Raw: fmt.Sprintf("Mar  1 10:00:%02d %s sshd[999]: Accepted password for %s from %s port 41999 ssh2", n%60, host, user, src)})
	}
	return evs
}

// fixtureIncident is a suspected compromise of web1 from 198.51.100.7: a
// brute force, then a login; the source was blocked by policy, web1's
// isolation waited 42 minutes for alice, two evidence items were
// collected, and the same source had been blocked for 4h a day before.
func fixtureIncident() *Incident {
	src := netip.MustParseAddr("198.51.100.7")
	brute := bruteEvents("198.51.100.7", "web1", "root", t0, 8, true)
	alerts := []engine.Alert{
		{ID: "al-00000001", Time: at(5 * time.Second), First: t0, Scenario: "ssh-bruteforce", Description: "SSH brute force", Severity: 6,
			Key: "198.51.100.7", Source: src, Sources: 1, Host: "web1", Users: []string{"root"}, Count: 6, Evidence: brute[:6], Propose: "block",
			Risk: 7.4, Confidence: 0.9, Factors: []engine.Factor{{Name: "scenario", Value: 6, Why: "ssh-bruteforce base severity"}, {Name: "asset", Value: 1.4, Why: "web1 criticality 5, internet"}},
			Blast: engine.BlastRadius{Assets: []string{"web1"}, Users: []string{"root"}, Gateways: []string{"gw1"}, Addresses: 1}},
		{ID: "al-00000002", Time: at(8 * time.Second), First: t0, Scenario: "ssh-compromise-suspected", Description: "SSH login after failures", Severity: 9.5,
			Key: "198.51.100.7", Source: src, Sources: 1, Host: "web1", Users: []string{"root"}, Count: 9, Evidence: brute, Propose: "block",
			Risk: 9.6, Confidence: 0.95, Factors: []engine.Factor{{Name: "scenario", Value: 9.5, Why: "login after failures"}, {Name: "asset", Value: 0.1, Why: "web1 criticality 5"}},
			Blast: engine.BlastRadius{Assets: []string{"web1"}, Users: []string{"root"}, Gateways: []string{"gw1"}, Addresses: 1}},
	}
	decisions := []engine.Decision{
		{ID: "d-00000001", Time: at(8 * time.Second), AlertID: "al-00000002", Scenario: "ssh-compromise-suspected", Action: engine.ActionBlock,
			Target: netip.PrefixFrom(src, 32), TTL: 24 * time.Hour, Expires: at(24*time.Hour + 8*time.Second), Auto: true, State: engine.StateActive,
			Offense: 2, Risk: 9.6, Reason: "policy rule 1: block ssh-compromise-suspected", Gateways: []string{"gw1"}},
		{ID: "d-00000002", Time: at(10 * time.Second), AlertID: "al-00000002", Scenario: "ssh-compromise-suspected", Action: engine.ActionIsolate,
			Target: netip.MustParsePrefix("192.0.2.10/32"), TTL: 4 * time.Hour, Expires: at(4*time.Hour + 10*time.Second), State: engine.StateActive,
			Risk: 9.6, Reason: "playbook compromise-suspected: isolate web1", Gateways: []string{"gw1"}},
	}
	inc := engine.Incident{ID: "in-00000001", Title: "Suspected SSH compromise of web1 from 198.51.100.7", State: engine.IncidentContained,
		Severity: "critical", Risk: 9.6, Owner: "alice", Tags: []string{"compromise", "ssh"},
		Detected: t0, Opened: at(5 * time.Second), LastSeen: at(8 * time.Second), Acknowledged: at(3 * time.Minute), Contained: at(9 * time.Second),
		Alerts: []string{"al-00000001", "al-00000002"}, Decisions: []string{"d-00000001", "d-00000002"},
		Sources: []string{"198.51.100.7"}, Assets: []string{"web1"},
		History: []engine.IncidentEntry{
			{Time: at(5 * time.Second), Actor: "engine", Action: "opened", Detail: "ssh-bruteforce from 198.51.100.7", Audit: 3},
			{Time: at(3 * time.Minute), Actor: "cli:alice", Action: "acknowledged", Audit: 9},
		}}
	var tl []engine.TimelineEntry
	for _, ev := range brute {
		tl = append(tl, engine.TimelineEntry{Time: ev.Time, Kind: engine.TimelineEvent, What: ev.Type, Summary: ev.Raw, Origin: ev.Origin, Line: ev.Line})
	}
	tl = append(tl,
		engine.TimelineEntry{Time: at(5 * time.Second), Kind: engine.TimelineAlert, Subject: "al-00000001", Actor: "engine", What: "ssh-bruteforce", Summary: "risk 7.4, confidence 0.90: SSH brute force (6 events)", Audit: 1},
		engine.TimelineEntry{Time: at(5 * time.Second), Kind: engine.TimelineAction, Subject: "in-00000001", Actor: "engine", What: "incident.opened", Summary: "ssh-bruteforce from 198.51.100.7", Audit: 3},
		engine.TimelineEntry{Time: at(8 * time.Second), Kind: engine.TimelineAlert, Subject: "al-00000002", Actor: "engine", What: "ssh-compromise-suspected", Summary: "risk 9.6, confidence 0.95: SSH login after failures (9 events)", Audit: 4},
		engine.TimelineEntry{Time: at(8 * time.Second), Kind: engine.TimelineDecision, Subject: "d-00000001", Actor: "engine", What: "block", Summary: "block 198.51.100.7 ttl 24h0m0s (active, auto) for al-00000002: policy rule 1", Gateway: "gw1", Audit: 5},
		engine.TimelineEntry{Time: at(9 * time.Second), Kind: engine.TimelineAudit, Subject: "d-00000001", Actor: "policy", What: "enforcement.applied", Summary: `{"action":"block","gateway":"gw1","target":"198.51.100.7"}`, Gateway: "gw1", Audit: 6},
		engine.TimelineEntry{Time: at(10 * time.Second), Kind: engine.TimelineDecision, Subject: "d-00000002", Actor: "playbook:compromise-suspected", What: "isolate", Summary: "isolate 192.0.2.10 ttl 4h0m0s (pending, needs approval) for al-00000002", Gateway: "gw1", Audit: 7},
		engine.TimelineEntry{Time: at(11 * time.Second), Kind: engine.TimelineNotification, Subject: "n-1", What: "notification.sent", Summary: "firing to pager (now sent after 1 attempts)", Receiver: "pager", Audit: 8},
		engine.TimelineEntry{Time: at(3 * time.Minute), Kind: engine.TimelineAction, Subject: "in-00000001", Actor: "cli:alice", What: "incident.acknowledged", Audit: 9},
		engine.TimelineEntry{Time: at(42*time.Minute + 10*time.Second), Kind: engine.TimelineAudit, Subject: "d-00000002", Actor: "cli:alice", What: "decision.approved", Summary: `{"action":"isolate"}`, Audit: 10},
		engine.TimelineEntry{Time: at(42*time.Minute + 11*time.Second), Kind: engine.TimelineAudit, Subject: "d-00000002", Actor: "cli:alice", What: "enforcement.applied", Summary: `{"action":"isolate","gateway":"gw1","target":"192.0.2.10"}`, Gateway: "gw1", Audit: 11},
	)
	evidence := []engine.EvidenceItem{
		{ID: "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef", Type: engine.EvidenceLogs, Incident: "in-00000001", Source: "/var/log/auth.log",
			Collected: at(12 * time.Second), Collector: "playbook:compromise-suspected", Size: 1432, AuditSeq: 12},
		{ID: "0a4d55a8d778e5022fab701977c5d840bbc486d0e2f6a2b5b8c6c0e4f1e2d3c4", Type: engine.EvidenceConnections, Incident: "in-00000001", Source: "gw1",
			Collected: at(13 * time.Second), Collector: "playbook:compromise-suspected", Size: 311, AuditSeq: 13},
	}
	prior := []engine.Decision{
		{ID: "d-00000000", Time: at(-28 * time.Hour), AlertID: "al-00000000", Scenario: "ssh-bruteforce", Action: engine.ActionBlock,
			Target: netip.PrefixFrom(src, 32), TTL: 4 * time.Hour, Expires: at(-24 * time.Hour), Auto: true, State: engine.StateExpired, Offense: 1, Risk: 6.2},
	}
	return &Incident{Incident: inc, Alerts: alerts, Decisions: decisions, Timeline: tl, Evidence: evidence, Prior: prior,
		Metrics:   Metrics{TTD: dur(5 * time.Second), TTA: dur(3*time.Minute - 5*time.Second), TTC: dur(4 * time.Second)},
		Generated: at(2 * time.Hour)}
}

// fixtureActivity is three days of activity: the fixture incident's
// alerts and decisions, a distributed campaign, and a quiet day.
func fixtureActivity() *Activity {
	in := fixtureIncident()
	campaign := engine.Alert{ID: "al-00000003", Time: at(26 * time.Hour), First: at(25 * time.Hour), Scenario: "ssh-distributed-bruteforce",
		Key: "ssh-distributed-bruteforce", Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, Sources: 40, Host: "db1",
		Users: []string{"admin", "oracle"}, Count: 160, Propose: "block", Risk: 6.8, Confidence: 0.7,
		Blast: engine.BlastRadius{Assets: []string{"db1"}, Users: []string{"admin", "oracle"}, Addresses: 256}}
	scan := engine.Alert{ID: "al-00000004", Time: at(27 * time.Hour), First: at(27 * time.Hour), Scenario: "ssh-bruteforce",
		Key: "198.51.100.7", Source: netip.MustParseAddr("198.51.100.7"), Sources: 1, Host: "web1", Users: []string{"root"}, Count: 7, Risk: 7.1, Confidence: 0.85}
	pending := engine.Decision{ID: "d-00000003", Time: at(26 * time.Hour), AlertID: "al-00000003", Scenario: "ssh-distributed-bruteforce", Action: engine.ActionBlock,
		Target: netip.MustParsePrefix("203.0.113.0/24"), TTL: 12 * time.Hour, Expires: at(38 * time.Hour), State: engine.StatePending, Risk: 6.8}
	inc2 := engine.Incident{ID: "in-00000002", Title: "Distributed SSH brute force against db1", State: engine.IncidentNew, Severity: "medium", Risk: 6.8,
		Detected: at(25 * time.Hour), Opened: at(26 * time.Hour), LastSeen: at(26 * time.Hour), Alerts: []string{"al-00000003"}, Decisions: []string{"d-00000003"}}
	return &Activity{
		Since: t0.Add(-10 * time.Hour), Until: at(62 * time.Hour), Generated: at(62 * time.Hour),
		Alerts:    append(in.Alerts, campaign, scan),
		Decisions: append(in.Decisions, pending),
		Incidents: []IncidentMetrics{
			{Incident: in.Incident, Metrics: in.Metrics},
			{Incident: inc2, Metrics: Metrics{TTD: dur(time.Hour)}},
		},
		Response: Response{TTD: Stat{N: 2, Mean: 1802*time.Second + 500*time.Millisecond, Median: 1802*time.Second + 500*time.Millisecond},
			TTA: Stat{N: 1, Mean: 175 * time.Second, Median: 175 * time.Second}, TTC: Stat{N: 1, Mean: 4 * time.Second, Median: 4 * time.Second}},
		Notifications: []Notification{{Receiver: "pager", State: "sent", Created: at(11 * time.Second)}, {Receiver: "slack", State: "failed", Created: at(26 * time.Hour)},
			{Receiver: "slack", State: "sent", Created: at(12 * time.Second)}},
		Audit: map[string]int{"alert.raised": 4, "decision.created": 3, "decision.approved": 1, "enforcement.applied": 2, "incident.opened": 2},
	}
}

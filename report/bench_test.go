package report

import (
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// bigIncident is an incident of n evidence events: n/100 brute-force
// alerts of 100 events each from as many sources, a decision per alert,
// its audit trail, and the timeline of it all.
func bigIncident(n int) *Incident {
	in := fixtureIncident()
	in.Alerts, in.Decisions, in.Timeline = nil, nil, nil
	in.Incident.Alerts, in.Incident.Decisions, in.Incident.Sources = nil, nil, nil
	for a := range n / 100 {
		src := fmt.Sprintf("198.51.100.%d", a+1)
		start := t0.Add(time.Duration(a) * 2 * time.Minute)
		evs := bruteEvents(src, "web1", "root", start, 100, false)
		id, did := fmt.Sprintf("al-%08d", a+1), fmt.Sprintf("d-%08d", a+1)
		al := engine.Alert{ID: id, Time: evs[99].Time, First: start, Scenario: "ssh-bruteforce", Key: src, Source: netip.MustParseAddr(src),
			Host: "web1", Users: []string{"root"}, Count: 100, Evidence: evs, Risk: 7.4, Confidence: 0.9,
			Factors: []engine.Factor{{Name: "scenario", Value: 6, Why: "base severity"}}}
		d := engine.Decision{ID: did, Time: al.Time, AlertID: id, Scenario: al.Scenario, Action: engine.ActionBlock,
			Target: netip.PrefixFrom(al.Source, 32), TTL: 4 * time.Hour, Expires: al.Time.Add(4 * time.Hour), Auto: true, State: engine.StateActive, Offense: 1}
		in.Alerts, in.Decisions = append(in.Alerts, al), append(in.Decisions, d)
		in.Incident.Alerts, in.Incident.Decisions = append(in.Incident.Alerts, id), append(in.Incident.Decisions, did)
		in.Incident.Sources = append(in.Incident.Sources, src)
		for _, ev := range evs {
			in.Timeline = append(in.Timeline, engine.TimelineEntry{Time: ev.Time, Kind: engine.TimelineEvent, What: ev.Type, Summary: ev.Raw, Origin: ev.Origin, Line: ev.Line})
		}
		in.Timeline = append(in.Timeline,
			engine.TimelineEntry{Time: al.Time, Kind: engine.TimelineAlert, Subject: id, Actor: "engine", What: al.Scenario, Summary: "risk 7.4", Audit: uint64(3*a + 1)},
			engine.TimelineEntry{Time: d.Time, Kind: engine.TimelineDecision, Subject: did, Actor: "engine", What: d.Action, Summary: "block " + src, Audit: uint64(3*a + 2)},
			engine.TimelineEntry{Time: d.Time.Add(time.Second), Kind: engine.TimelineAudit, Subject: did, Actor: "policy", What: auditApplied, Gateway: "gw1", Audit: uint64(3*a + 3)})
	}
	return in
}

// BenchmarkIncidentHTML is a 1,000-event incident's post-mortem, from the
// input model to HTML (target: under 200 ms).
func BenchmarkIncidentHTML(b *testing.B) {
	in := bigIncident(1000)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteIncident(io.Discard, NewPostMortem(in), FormatHTML); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIncidentPDF is the same incident as PDF, for comparison.
func BenchmarkIncidentPDF(b *testing.B) {
	in := bigIncident(1000)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteIncident(io.Discard, NewPostMortem(in), FormatPDF); err != nil {
			b.Fatal(err)
		}
	}
}

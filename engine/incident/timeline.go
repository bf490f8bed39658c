package incident

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Audit actions the timeline folds into the entry they record rather than
// showing twice.
const (
	auditAlertRaised     = "alert.raised"
	auditAlertUpdated    = "alert.updated"
	auditDecisionCreated = "decision.created"
	auditDecisionRefused = "decision.refused"
	// AuditApplied is the enforcer's record of a decision in a gateway's
	// kernel: the incident's containment.
	AuditApplied = "enforcement.applied"
)

// Sources is what a timeline is built from: the incident, its alerts
// (with their evidence) and decisions, and entries the caller read
// elsewhere: audit records (Kind audit, Audit set) and notifications.
type Sources struct {
	Incident  *engine.Incident
	Alerts    []engine.Alert
	Decisions []engine.Decision
	Records   []engine.TimelineEntry
}

// kindRank orders entries of the same time: cause before effect.
func kindRank(k string) int {
	switch k {
	case engine.TimelineEvent:
		return 0
	case engine.TimelineAlert:
		return 1
	case engine.TimelineDecision:
		return 2
	case engine.TimelineAudit:
		return 3
	case engine.TimelineNotification:
		return 4
	}
	return 5
}

// Timeline returns every evidence event, alert, decision, audit record,
// notification and incident action of s in event order. Evidence shared
// by several alerts appears once; the audit records of alerts and
// decisions are folded into their entries as references.
func Timeline(s *Sources) []engine.TimelineEntry {
	var out []engine.TimelineEntry
	seen := map[string]bool{}
	at := map[string]int{} // alert or decision ID → index in out
	for i := range s.Alerts {
		a := &s.Alerts[i]
		for j := range a.Evidence {
			ev := &a.Evidence[j]
			k := fmt.Sprintf("%s\x00%d\x00%d\x00%s\x00%s", ev.Origin, ev.Line, ev.Time.UnixNano(), ev.Type, ev.Raw)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, engine.TimelineEntry{Time: ev.Time, Kind: engine.TimelineEvent, What: ev.Type, Summary: eventSummary(ev), Origin: ev.Origin, Line: ev.Line})
		}
		at[a.ID] = len(out)
		out = append(out, engine.TimelineEntry{Time: a.Time, Kind: engine.TimelineAlert, Subject: a.ID, What: a.Scenario,
			Summary: fmt.Sprintf("risk %.1f, confidence %.2f: %s (%d events)", a.Risk, a.Confidence, title(a), a.Count)})
	}
	for i := range s.Decisions {
		d := &s.Decisions[i]
		target := d.TargetString()
		if target == "" {
			target = "everyone"
		}
		how := "needs approval"
		if d.Auto {
			how = "auto"
		}
		at[d.ID] = len(out)
		out = append(out, engine.TimelineEntry{Time: d.Time, Kind: engine.TimelineDecision, Subject: d.ID, What: d.Action,
			Summary: fmt.Sprintf("%s %s ttl %s (%s, %s) for %s: %s", d.Action, target, d.TTL, d.State, how, d.AlertID, d.Reason),
			Gateway: strings.Join(d.Gateways, ",")})
	}
	inc := s.Incident
	audited := map[uint64]bool{}
	for _, h := range inc.History {
		audited[h.Audit] = true
		out = append(out, engine.TimelineEntry{Time: h.Time, Kind: engine.TimelineAction, Subject: inc.ID, Actor: h.Actor,
			What: "incident." + h.Action, Summary: h.Detail, Audit: h.Audit})
	}
	for _, r := range s.Records {
		if r.Kind == engine.TimelineAudit {
			if r.Subject == inc.ID && audited[r.Audit] {
				continue
			}
			switch r.What {
			case auditAlertRaised, auditAlertUpdated, auditDecisionCreated, auditDecisionRefused:
				if i, ok := at[r.Subject]; ok {
					if out[i].Audit == 0 {
						out[i].Audit = r.Audit
						out[i].Actor = r.Actor
					}
					continue
				}
			}
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b engine.TimelineEntry) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
			cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Audit, b.Audit), cmp.Compare(a.Subject, b.Subject))
	})
	return out
}

func eventSummary(ev *engine.Event) string {
	if ev.Raw != "" {
		return ev.Raw
	}
	var b strings.Builder
	b.WriteString(ev.Type)
	if ev.Source.IsValid() {
		b.WriteString(" from " + ev.Source.String())
	}
	if ev.User != "" {
		b.WriteString(" user " + ev.User)
	}
	if ev.Signature != "" {
		b.WriteString(": " + ev.Signature)
	}
	return b.String()
}

// Metrics are an incident's response times; nil when the incident has not
// got there yet.
type Metrics struct {
	// TTD is from the first evidence to the incident opening (detection).
	TTD *time.Duration
	// TTA, TTC and TTR run from the incident opening to its
	// acknowledgement, its containment and its resolution.
	TTA, TTC, TTR *time.Duration
}

// MetricsOf computes inc's metrics. tl, when given, may show an earlier
// containment than the incident recorded: the first decision the enforcer
// applied.
func MetricsOf(inc *engine.Incident, tl []engine.TimelineEntry) Metrics {
	contained := ContainedAt(inc, tl)
	since := func(from, to time.Time) *time.Duration {
		if from.IsZero() || to.IsZero() {
			return nil
		}
		d := max(to.Sub(from), 0)
		return &d
	}
	return Metrics{
		TTD: since(inc.Detected, inc.Opened),
		TTA: since(inc.Opened, inc.Acknowledged),
		TTC: since(inc.Opened, contained),
		TTR: since(inc.Opened, inc.Resolved),
	}
}

// ContainedAt is when inc was contained: its own record, or the first
// enforcement of one of its decisions in tl, whichever is earlier.
func ContainedAt(inc *engine.Incident, tl []engine.TimelineEntry) time.Time {
	t := inc.Contained
	for _, e := range tl {
		if e.Kind == engine.TimelineAudit && e.What == AuditApplied && slices.Contains(inc.Decisions, e.Subject) {
			if t.IsZero() || e.Time.Before(t) {
				t = e.Time
			}
			break
		}
	}
	return t
}

// Stat is one metric over many incidents.
type Stat struct {
	N      int
	Mean   time.Duration
	Median time.Duration
}

// Summary is the metrics over many incidents.
type Summary struct {
	Incidents          int
	TTD, TTA, TTC, TTR Stat
}

// Summarize aggregates per-incident metrics; each metric counts only the
// incidents that have it.
func Summarize(ms []Metrics) Summary {
	s := Summary{Incidents: len(ms)}
	for _, f := range []struct {
		dst *Stat
		get func(*Metrics) *time.Duration
	}{
		{&s.TTD, func(m *Metrics) *time.Duration { return m.TTD }},
		{&s.TTA, func(m *Metrics) *time.Duration { return m.TTA }},
		{&s.TTC, func(m *Metrics) *time.Duration { return m.TTC }},
		{&s.TTR, func(m *Metrics) *time.Duration { return m.TTR }},
	} {
		var ds []time.Duration
		for i := range ms {
			if d := f.get(&ms[i]); d != nil {
				ds = append(ds, *d)
			}
		}
		*f.dst = stat(ds)
	}
	return s
}

func stat(ds []time.Duration) Stat {
	if len(ds) == 0 {
		return Stat{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	med := ds[len(ds)/2]
	if len(ds)%2 == 0 {
		med = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
	}
	return Stat{N: len(ds), Mean: sum / time.Duration(len(ds)), Median: med}
}

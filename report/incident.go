package report

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Audit actions the post-mortem reads from the timeline. They are the
// enforcer's and the CLI's contract (actions.Audit*), restated here
// because report imports only engine.
const (
	auditApproved   = "decision.approved"
	auditRejected   = "decision.rejected"
	auditApplied    = "enforcement.applied"
	auditDryRun     = "enforcement.dry_run"
	auditFailed     = "enforcement.failed"
	auditRolledBack = "enforcement.rolled_back"
	auditExpired    = "enforcement.expired"
)

// Incident is what a post-mortem is made of: one incident and what it
// links to, as the store holds them.
type Incident struct {
	Incident engine.Incident `json:"incident"`
	// Alerts and Decisions are the incident's, in the order they joined;
	// ones pruned by retention are simply absent.
	Alerts    []engine.Alert    `json:"alerts"`
	Decisions []engine.Decision `json:"decisions"`
	// Timeline is the incident's reconstructed timeline: evidence events,
	// alerts, decisions, audit records (approvals, enforcement),
	// notifications and analyst actions, in order.
	Timeline []engine.TimelineEntry `json:"timeline"`
	Evidence []engine.EvidenceItem  `json:"evidence"`
	// Prior are earlier decisions against the incident's sources that are
	// not the incident's own: what tells a returning source.
	Prior   []engine.Decision `json:"prior,omitempty"`
	Metrics Metrics           `json:"metrics"`
	// Generated is when the report is made: what "still pending" is
	// measured against.
	Generated time.Time `json:"generated"`
}

// Metrics are an incident's response times; nil until it gets there.
type Metrics struct {
	TTD *time.Duration `json:"ttd,omitempty"`
	TTA *time.Duration `json:"tta,omitempty"`
	TTC *time.Duration `json:"ttc,omitempty"`
	TTR *time.Duration `json:"ttr,omitempty"`
}

// PostMortem is the rendered account of one incident: every format writes
// exactly this.
type PostMortem struct {
	Generated   time.Time `json:"generated"`
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	State       string    `json:"state"`
	Severity    string    `json:"severity"`
	Risk        float64   `json:"risk"`
	Owner       string    `json:"owner"`
	Tags        []string  `json:"tags"`
	CloseReason string    `json:"close_reason,omitempty"`
	// Summary is a paragraph saying what happened, in words.
	Summary         string           `json:"summary"`
	Milestones      []Milestone      `json:"milestones"`
	Metrics         []Metric         `json:"metrics"`
	Impact          Impact           `json:"impact"`
	Alerts          []AlertRow       `json:"alerts"`
	Actions         []Action         `json:"actions"`
	Evidence        []EvidenceRow    `json:"evidence"`
	Timeline        []TimelineRow    `json:"timeline"`
	Recommendations []Recommendation `json:"recommendations"`
}

// Milestone is one lifecycle time of the incident; At is zero until it
// got there.
type Milestone struct {
	Name string    `json:"name"`
	At   time.Time `json:"at,omitzero"`
}

// Metric is one response time; Seconds is nil until the incident got
// there.
type Metric struct {
	Name    string   `json:"name"`
	Seconds *float64 `json:"seconds"`
}

// Text renders the metric's value, "-" when there is none.
func (m Metric) Text() string {
	if m.Seconds == nil {
		return "-"
	}
	return fmtDuration(time.Duration(*m.Seconds * float64(time.Second)))
}

// Impact is what the incident touched: the union of its alerts' blast
// radii, and who attacked.
type Impact struct {
	Sources  []string `json:"sources"`
	Assets   []string `json:"assets"`
	Users    []string `json:"users"`
	Gateways []string `json:"gateways"`
	// Addresses is how many addresses the proposed actions cover.
	Addresses uint64 `json:"addresses"`
	// Events is how many events fed the incident's alerts.
	Events int `json:"events"`
	// Critical names the targeted assets of criticality 4 or more, with
	// their exposure.
	Critical []string `json:"critical,omitempty"`
}

// AlertRow is one of the incident's alerts.
type AlertRow struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Scenario   string    `json:"scenario"`
	Source     string    `json:"source"`
	Target     string    `json:"target"`
	Users      []string  `json:"users"`
	Events     int       `json:"events"`
	Risk       float64   `json:"risk"`
	Confidence float64   `json:"confidence"`
	// Factors explain the risk, strongest first.
	Factors []string `json:"factors"`
}

// Action is one decision of the incident and what became of it: who
// approved it, how long that took, where and when it was enforced.
type Action struct {
	Decision string        `json:"decision"`
	Time     time.Time     `json:"time"`
	Action   string        `json:"action"`
	Target   string        `json:"target"`
	TTL      time.Duration `json:"ttl"`
	Offense  int           `json:"offense"`
	// State is the decision's state when the report was made.
	State string `json:"state"`
	// ApprovedBy is "policy" for a decision applied without approval, the
	// analyst who approved it, or "" while nobody has.
	ApprovedBy string    `json:"approved_by"`
	Approved   time.Time `json:"approved,omitzero"`
	// Wait is how long the decision waited for approval (until now when
	// it still waits); zero for policy.
	Wait       time.Duration `json:"wait"`
	RejectedBy string        `json:"rejected_by,omitempty"`
	Applied    time.Time     `json:"applied,omitzero"`
	Gateways   []string      `json:"gateways"`
	// DryRun reports that enforcement only showed the batch.
	DryRun bool `json:"dry_run,omitempty"`
	// Failed is the last enforcement error, when there was one.
	Failed string `json:"failed,omitempty"`
	// Ended is when it was rolled back or expired, EndedBy who did it.
	Ended   time.Time `json:"ended,omitzero"`
	EndedBy string    `json:"ended_by,omitempty"`
	Reason  string    `json:"reason"`
}

// EvidenceRow is one collected item with its chain-of-custody record.
type EvidenceRow struct {
	SHA256    string    `json:"sha256"`
	Type      string    `json:"type"`
	Source    string    `json:"source"`
	Collected time.Time `json:"collected"`
	Collector string    `json:"collector"`
	Size      int64     `json:"size"`
	Audit     uint64    `json:"audit"`
}

// TimelineRow is one timeline entry with its source reference in words.
type TimelineRow struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	What    string    `json:"what"`
	Subject string    `json:"subject,omitempty"`
	// Ref says where the entry comes from: file:line, gateway, receiver,
	// audit record, actor.
	Ref     string `json:"ref"`
	Summary string `json:"summary"`
}

// NewPostMortem builds the post-mortem of in.
func NewPostMortem(in *Incident) *PostMortem {
	inc := &in.Incident
	pm := &PostMortem{
		Generated: in.Generated.UTC(), ID: inc.ID, Title: inc.Title, State: inc.State, Severity: inc.Severity,
		Risk: inc.Risk, Owner: inc.Owner, Tags: nonNil(inc.Tags), CloseReason: inc.CloseReason,
		Milestones: []Milestone{
			{"detected", utc(inc.Detected)}, {"opened", utc(inc.Opened)}, {"acknowledged", utc(inc.Acknowledged)},
			{"contained", utc(inc.Contained)}, {"resolved", utc(inc.Resolved)}, {"closed", utc(inc.Closed)},
		},
		Metrics: []Metric{
			{"time to detect", seconds(in.Metrics.TTD)}, {"time to acknowledge", seconds(in.Metrics.TTA)},
			{"time to contain", seconds(in.Metrics.TTC)}, {"time to resolve", seconds(in.Metrics.TTR)},
		},
		Impact:   impactOf(in),
		Alerts:   alertRows(in.Alerts),
		Actions:  actionsOf(in),
		Evidence: evidenceRows(in.Evidence),
		Timeline: timelineRows(in.Timeline),
	}
	pm.Recommendations = Recommend(in, pm)
	pm.Summary = summaryOf(in, pm)
	return pm
}

func impactOf(in *Incident) Impact {
	im := Impact{Sources: sorted(in.Incident.Sources), Assets: sorted(in.Incident.Assets)}
	var users, gws []string
	critical := map[string]string{}
	most := 0
	for i := range in.Alerts {
		a := &in.Alerts[i]
		im.Assets = append(im.Assets, a.Blast.Assets...)
		users = append(users, a.Users...)
		users = append(users, a.Blast.Users...)
		gws = append(gws, a.Blast.Gateways...)
		im.Addresses = max(im.Addresses, a.Blast.Addresses)
		most = max(most, a.Count)
		for j := range a.Evidence {
			if as := a.Evidence[j].Asset; as != nil && as.Criticality >= 4 {
				critical[as.Name] = fmt.Sprintf("%s (criticality %d, %s)", as.Name, as.Criticality, cmp.Or(as.Exposure, "exposure unknown"))
			}
		}
	}
	// Alerts share evidence and keep only a sample of it: the distinct
	// sampled events, or the biggest alert's count when that is more.
	im.Events = max(len(distinctEvents(in.Alerts, func(*engine.Event) bool { return true })), most)
	targets := map[netip.Prefix]bool{}
	for i := range in.Decisions {
		d := &in.Decisions[i]
		gws = append(gws, d.Gateways...)
		if d.Target.IsValid() && d.State != engine.StateRefused {
			targets[d.Target.Masked()] = true
		}
	}
	if len(targets) > 0 {
		im.Addresses = 0
		for p := range targets {
			im.Addresses += prefixSize(p)
		}
	}
	for _, e := range in.Timeline {
		if e.Gateway != "" && e.Kind == engine.TimelineAudit {
			gws = append(gws, strings.Split(e.Gateway, ",")...)
		}
	}
	im.Assets = sorted(im.Assets)
	im.Users = sorted(users)
	im.Gateways = sorted(gws)
	im.Critical = sortedValues(critical)
	return im
}

// prefixSize is how many addresses p covers, capped at 2^63.
func prefixSize(p netip.Prefix) uint64 {
	host := p.Addr().BitLen() - p.Bits()
	if host >= 63 {
		return 1 << 63
	}
	return 1 << host
}

// distinctEvents returns the evidence events of alerts for which keep is
// true, each once: alerts of one incident share evidence.
func distinctEvents(alerts []engine.Alert, keep func(*engine.Event) bool) []*engine.Event {
	type key struct {
		origin string
		line   int64
		t      time.Time
		typ    string
	}
	seen := map[key]bool{}
	var out []*engine.Event
	for i := range alerts {
		for j := range alerts[i].Evidence {
			ev := &alerts[i].Evidence[j]
			k := key{ev.Origin, ev.Line, ev.Time, ev.Type}
			if seen[k] || !keep(ev) {
				continue
			}
			seen[k] = true
			out = append(out, ev)
		}
	}
	return out
}

func alertRows(alerts []engine.Alert) []AlertRow {
	out := make([]AlertRow, 0, len(alerts))
	for i := range alerts {
		a := &alerts[i]
		fs := slices.Clone(a.Factors)
		slices.SortStableFunc(fs, func(x, y engine.Factor) int { return cmp.Compare(y.Value, x.Value) })
		var why []string
		for _, f := range fs {
			why = append(why, fmt.Sprintf("%s +%.1f: %s", f.Name, f.Value, f.Why))
		}
		out = append(out, AlertRow{ID: a.ID, Time: a.Time.UTC(), Scenario: a.Scenario, Source: alertSource(a), Target: alertTarget(a),
			Users: nonNil(a.Users), Events: a.Count, Risk: a.Risk, Confidence: a.Confidence, Factors: nonNil(why)})
	}
	return out
}

// alertSource names who an alert blames: the address, or a campaign's
// prefixes.
func alertSource(a *engine.Alert) string {
	if a.Source.IsValid() {
		return a.Source.String()
	}
	ps := make([]string, len(a.Prefixes))
	for i, p := range a.Prefixes {
		ps[i] = engine.PrefixString(p)
	}
	return cmp.Or(strings.Join(ps, " "), a.Key)
}

// alertTarget names the attacked side: the host, else the destination.
func alertTarget(a *engine.Alert) string {
	if a.Host != "" {
		return a.Host
	}
	if a.Dest.IsValid() {
		return a.Dest.String()
	}
	return ""
}

// actionsOf follows each decision through the timeline's audit records.
func actionsOf(in *Incident) []Action {
	audits := map[string][]*engine.TimelineEntry{}
	for i := range in.Timeline {
		if e := &in.Timeline[i]; e.Kind == engine.TimelineAudit {
			audits[e.Subject] = append(audits[e.Subject], e)
		}
	}
	out := make([]Action, 0, len(in.Decisions))
	for i := range in.Decisions {
		d := &in.Decisions[i]
		a := Action{Decision: d.ID, Time: d.Time.UTC(), Action: d.Action, Target: cmp.Or(d.TargetString(), "everyone"), TTL: d.TTL,
			Offense: d.Offense, State: d.StateAt(in.Generated), Reason: d.Reason}
		var gws []string
		for _, e := range audits[d.ID] {
			switch e.What {
			case auditApproved:
				if a.Approved.IsZero() {
					a.ApprovedBy, a.Approved = e.Actor, e.Time.UTC()
				}
			case auditRejected:
				a.RejectedBy = e.Actor
			case auditApplied, auditDryRun:
				if a.Applied.IsZero() {
					a.Applied = e.Time.UTC()
				}
				a.DryRun = a.DryRun || e.What == auditDryRun
				gws = append(gws, e.Gateway)
			case auditFailed:
				a.Failed = e.Summary
			case auditRolledBack, auditExpired:
				if a.Ended.IsZero() {
					a.Ended, a.EndedBy = e.Time.UTC(), e.Actor
				}
			}
		}
		switch {
		case d.Auto && a.Approved.IsZero():
			a.ApprovedBy = "policy"
		case !a.Approved.IsZero():
			a.Wait = a.Approved.Sub(d.Time)
		case a.State == engine.StatePending && in.Generated.After(d.Time):
			a.Wait = in.Generated.Sub(d.Time)
		}
		a.Gateways = sorted(append(gws, d.Gateways...))
		out = append(out, a)
	}
	return out
}

func evidenceRows(items []engine.EvidenceItem) []EvidenceRow {
	out := make([]EvidenceRow, 0, len(items))
	for _, it := range items {
		out = append(out, EvidenceRow{SHA256: it.ID, Type: it.Type, Source: it.Source, Collected: it.Collected.UTC(),
			Collector: it.Collector, Size: it.Size, Audit: it.AuditSeq})
	}
	slices.SortStableFunc(out, func(a, b EvidenceRow) int {
		return cmp.Or(a.Collected.Compare(b.Collected), cmp.Compare(a.SHA256, b.SHA256))
	})
	return out
}

// timelineRows renders tl, which should be in order; a stable sort by
// time keeps a hand-built one readable too.
func timelineRows(tl []engine.TimelineEntry) []TimelineRow {
	out := make([]TimelineRow, len(tl))
	for i := range tl {
		e := &tl[i]
		out[i] = TimelineRow{Time: e.Time.UTC(), Kind: e.Kind, What: e.What, Subject: e.Subject, Ref: refOf(e), Summary: e.Summary}
	}
	slices.SortStableFunc(out, func(a, b TimelineRow) int { return a.Time.Compare(b.Time) })
	return out
}

// refOf says where a timeline entry comes from.
func refOf(e *engine.TimelineEntry) string {
	var b strings.Builder
	add := func(s string) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s)
	}
	if e.Origin != "" {
		add(fmt.Sprintf("%s:%d", e.Origin, e.Line))
	}
	if e.Gateway != "" {
		add("gateway " + e.Gateway)
	}
	if e.Receiver != "" {
		add("receiver " + e.Receiver)
	}
	if e.Audit != 0 {
		add(fmt.Sprintf("audit #%d", e.Audit))
	}
	if e.Actor != "" {
		add("by " + e.Actor)
	}
	return b.String()
}

// summaryOf says what happened in one paragraph.
func summaryOf(in *Incident, pm *PostMortem) string {
	inc := &in.Incident
	var b strings.Builder
	fmt.Fprintf(&b, "%s is a %s-severity incident (risk %.1f), now %s", inc.ID, cmp.Or(inc.Severity, "unrated"), inc.Risk, inc.State)
	if inc.CloseReason != "" {
		fmt.Fprintf(&b, " (%s)", inc.CloseReason)
	}
	fmt.Fprintf(&b, ". %s from %s against %s", plural(len(in.Alerts), "alert"), listOr(pm.Impact.Sources, "an unknown source"),
		listOr(pm.Impact.Assets, "unnamed targets"))
	if !inc.Detected.IsZero() {
		last := inc.LastSeen
		fmt.Fprintf(&b, ", first seen %s", inc.Detected.UTC().Format(time.RFC3339))
		if last.After(inc.Detected) {
			fmt.Fprintf(&b, " and last %s", last.UTC().Format(time.RFC3339))
		}
	}
	fmt.Fprintf(&b, ", fed by %s.", plural(pm.Impact.Events, "event"))
	if len(pm.Impact.Users) > 0 {
		fmt.Fprintf(&b, " Accounts named: %s.", strings.Join(pm.Impact.Users, ", "))
	}
	applied := 0
	for _, a := range pm.Actions {
		if !a.Applied.IsZero() && !a.DryRun {
			applied++
		}
	}
	fmt.Fprintf(&b, " %s made, %d enforced", plural(len(pm.Actions), "decision"), applied)
	if c := milestone(pm, "contained"); !c.IsZero() {
		fmt.Fprintf(&b, "; contained %s", c.Format(time.RFC3339))
	}
	fmt.Fprintf(&b, ". %s collected; %s.", plural(len(pm.Evidence), "evidence item"), plural(len(pm.Recommendations), "recommendation"))
	return b.String()
}

func milestone(pm *PostMortem, name string) time.Time {
	for _, m := range pm.Milestones {
		if m.Name == name {
			return m.At
		}
	}
	return time.Time{}
}

package engine

import (
	"slices"
	"time"
)

// Incident states, in lifecycle order. An incident only moves forward;
// closed is final.
const (
	IncidentNew          = "new"
	IncidentAcknowledged = "acknowledged"
	IncidentContained    = "contained"
	IncidentEradicated   = "eradicated"
	IncidentRecovered    = "recovered"
	IncidentClosed       = "closed"
)

// IncidentStates returns the lifecycle states in order.
func IncidentStates() []string {
	return []string{IncidentNew, IncidentAcknowledged, IncidentContained, IncidentEradicated, IncidentRecovered, IncidentClosed}
}

// IncidentStateRank is a state's position in the lifecycle, -1 when s is
// not a state.
func IncidentStateRank(s string) int {
	return slices.Index(IncidentStates(), s)
}

// Incident groups the alerts, and the decisions made of them, that are one
// attack: same source, same campaign or same target asset within a window.
type Incident struct {
	// ID is "in-" and an 8-digit sequence, in the order incidents opened.
	ID    string `json:"id"`
	Title string `json:"title"`
	State string `json:"state"`
	// Severity is the label of Risk: low, medium, high, critical.
	Severity string `json:"severity"`
	// Risk is the highest risk of its alerts, unless an analyst or a
	// playbook raised it.
	Risk  float64  `json:"risk"`
	Owner string   `json:"owner,omitempty"`
	Tags  []string `json:"tags,omitempty"`

	// Detected is the event time of the first evidence of its first alert;
	// Opened is that alert's time. LastSeen is the latest alert's time:
	// the merge window runs from it.
	Detected time.Time `json:"detected"`
	Opened   time.Time `json:"opened"`
	LastSeen time.Time `json:"last_seen"`
	// Acknowledged, Contained, Resolved and Closed are set the first time
	// the incident gets there. Contained is also set by the first decision
	// applied by policy; Resolved by recovered or closed, whichever is
	// first.
	Acknowledged time.Time `json:"acknowledged,omitzero"`
	Contained    time.Time `json:"contained,omitzero"`
	Resolved     time.Time `json:"resolved,omitzero"`
	Closed       time.Time `json:"closed,omitzero"`
	CloseReason  string    `json:"close_reason,omitempty"`
	// MergedInto names the incident that absorbed this one.
	MergedInto string `json:"merged_into,omitempty"`

	// Alerts and Decisions are IDs, in the order they joined.
	Alerts    []string `json:"alerts"`
	Decisions []string `json:"decisions"`
	// Sources are blamed addresses and campaign prefixes; Assets the hosts,
	// destinations and inventory names attacked; Campaigns the
	// "scenario|key" of campaign alerts. They are what later alerts merge
	// on.
	Sources   []string `json:"sources"`
	Assets    []string `json:"assets"`
	Campaigns []string `json:"campaigns,omitempty"`

	// History is the incident's own record: opening, analyst actions,
	// state changes, merges and splits. The store fills each entry's Audit
	// with the sequence of the audit record it writes for it.
	History []IncidentEntry `json:"history,omitempty"`
}

// IncidentEntry is one change made to an incident.
type IncidentEntry struct {
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Detail string    `json:"detail,omitempty"`
	// Audit is the sequence number of the entry's audit record; 0 until
	// stored.
	Audit uint64 `json:"audit,omitempty"`
}

// IsOpen reports whether alerts may still join the incident.
func (i *Incident) IsOpen() bool { return i.State != IncidentClosed }

// SeverityOf labels a 0–10 risk.
func SeverityOf(risk float64) string {
	switch {
	case risk >= 9:
		return "critical"
	case risk >= 7:
		return "high"
	case risk >= 4:
		return "medium"
	}
	return "low"
}

// IncidentChange is one durable unit of incident work: the new state of
// every incident it touched, with audit records, in one transaction. Each
// History entry without an Audit sequence gets an audit record (Subject:
// the incident's ID, Action "incident."+Action); Notes are further
// records (alerts joining) that are not part of any History.
type IncidentChange struct {
	Incidents []Incident
	Notes     []AuditNote
	// Grown names the incidents whose lists (alerts, decisions, sources,
	// assets, campaigns, history) are what was last saved with items
	// appended: the store writes only the new items, so an incident on a
	// busy gateway costs the same to update at its thousandth alert as at
	// its first. The lists of every other incident are rewritten whole.
	Grown map[string]bool
}

// Timeline entry kinds, in the order same-time entries sort.
const (
	TimelineEvent        = "event"
	TimelineAlert        = "alert"
	TimelineDecision     = "decision"
	TimelineAudit        = "audit"
	TimelineNotification = "notification"
	TimelineAction       = "action"
)

// TimelineEntry is one line of an incident's reconstructed timeline, with
// where it comes from.
type TimelineEntry struct {
	Time time.Time `json:"time"`
	// Kind is one of the Timeline* constants.
	Kind string `json:"kind"`
	// Subject is the ID the entry is about: an alert, a decision, the
	// incident, a notification key; empty for a raw event.
	Subject string `json:"subject,omitempty"`
	Actor   string `json:"actor,omitempty"`
	// What is the action or type ("ssh.auth.failure", "alert.raised",
	// "enforcement.applied", "notification.sent", "incident.acknowledged").
	What    string `json:"what"`
	Summary string `json:"summary"`
	// Source references: the log file and line (events), the gateway, the
	// audit record, the notification receiver.
	Origin   string `json:"origin,omitempty"`
	Line     int64  `json:"line,omitempty"`
	Gateway  string `json:"gateway,omitempty"`
	Audit    uint64 `json:"audit,omitempty"`
	Receiver string `json:"receiver,omitempty"`
}

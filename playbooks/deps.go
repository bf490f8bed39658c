package playbooks

import (
	"context"
	"net/netip"
	"time"
)

// Remediator applies and reverts remediations. cmd/phantomsoc adapts the
// enforcer to it; a replay passes a recorder. Apply returns a reference
// Revert understands, so a rollback undoes exactly what this run applied.
type Remediator interface {
	Apply(ctx context.Context, r Remediation) (ref string, err error)
	Revert(ctx context.Context, ref string) error
}

// Notifier delivers a playbook's message to a named receiver.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Collector gathers one evidence item and returns its reference (a content
// hash, once the evidence store exists).
type Collector interface {
	Collect(ctx context.Context, r EvidenceRequest) (ref string, err error)
}

// Incidents opens, updates and closes incidents, and reads one back so a
// wait can see an analyst's acknowledgement.
type Incidents interface {
	Change(ctx context.Context, c IncidentChange) (Incident, error)
	Get(ctx context.Context, id string) (Incident, error)
}

// Clock is the run's time. Live runs use the wall clock; a replay uses a
// VirtualClock set to event time, where Sleep advances time instead of
// waiting, so the same input gives the same trace.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// Approver answers a remediate step's approval request.
type Approver interface {
	Approve(ctx context.Context, r ApprovalRequest) (bool, error)
}

// Remediation is what a remediate step asks for.
type Remediation struct {
	Playbook string         `json:"playbook"`
	Step     string         `json:"step"`
	AlertID  string         `json:"alert_id,omitempty"`
	Time     time.Time      `json:"time"`
	Action   string         `json:"action"`
	Targets  []netip.Prefix `json:"targets"`
	TTL      time.Duration  `json:"ttl,omitempty"`
	Gateways []string       `json:"gateways,omitempty"`
	Proto    string         `json:"proto,omitempty"`
	Port     int            `json:"port,omitempty"`
	Reason   string         `json:"reason,omitempty"`
	Risk     float64        `json:"risk"`
	// Approval is the step's approval mode, already answered yes by the
	// Approver: a live remediator makes a required one a decision pending
	// an analyst rather than an active one.
	Approval string `json:"approval,omitempty"`
}

// Notification is what notify, escalate and on_failure: notify send.
type Notification struct {
	Playbook   string    `json:"playbook"`
	Step       string    `json:"step"`
	AlertID    string    `json:"alert_id,omitempty"`
	IncidentID string    `json:"incident_id,omitempty"`
	Time       time.Time `json:"time"`
	Receiver   string    `json:"receiver"`
	Message    string    `json:"message"`
	// Escalation marks an escalate step (or a failure report): receivers
	// page on it rather than post.
	Escalation bool `json:"escalation,omitempty"`
}

// EvidenceRequest is what a collect step asks for.
type EvidenceRequest struct {
	Playbook   string         `json:"playbook"`
	Step       string         `json:"step"`
	AlertID    string         `json:"alert_id,omitempty"`
	IncidentID string         `json:"incident_id,omitempty"`
	Time       time.Time      `json:"time"`
	Type       string         `json:"type"`
	Targets    []netip.Prefix `json:"targets"`
	Duration   time.Duration  `json:"duration,omitempty"`
	Gateway    string         `json:"gateway,omitempty"`
}

// Incident is the part of an incident a playbook reads. The incident model
// itself lives with the engine; this is what the run needs of it.
type Incident struct {
	ID       string   `json:"id"`
	State    string   `json:"state"`
	Severity float64  `json:"severity"`
	Owner    string   `json:"owner,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Alerts   int      `json:"alerts"`
}

// IncidentChange is what an incident step asks for. ID is empty for open.
type IncidentChange struct {
	Op       string    `json:"op"`
	ID       string    `json:"id,omitempty"`
	AlertID  string    `json:"alert_id,omitempty"`
	Playbook string    `json:"playbook"`
	Time     time.Time `json:"time"`
	Title    string    `json:"title,omitempty"`
	State    string    `json:"state,omitempty"`
	Severity float64   `json:"severity,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	Note     string    `json:"note,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// ApprovalRequest is a remediate step waiting for a yes.
type ApprovalRequest struct {
	Playbook string         `json:"playbook"`
	Step     string         `json:"step"`
	AlertID  string         `json:"alert_id,omitempty"`
	Mode     string         `json:"mode"`
	Action   string         `json:"action"`
	Targets  []netip.Prefix `json:"targets"`
	Risk     float64        `json:"risk"`
}

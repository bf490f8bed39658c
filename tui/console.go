// Package tui is phantomsoc's console: a bubbletea v2 program that shows the
// engine live and acts on it with single keys. It talks to the engine only
// through Console, so the same program hosts the engine in-process or
// attaches to a daemon over the control socket.
package tui

import (
	"context"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Console is everything the TUI reads and does. Implementations live where
// the concrete parts are wired (cmd/phantomsoc): one over the in-process
// store and enforcer, one over the control socket. Every method may block
// on I/O, so the TUI calls them only from tea.Cmds, never from Update.
type Console interface {
	// Snapshot is the current state, cheap enough to ask for a few times a
	// second: the console polls it, so a slow terminal skips snapshots and
	// the engine never waits for the screen.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Approve applies a pending decision.
	Approve(ctx context.Context, id string) error
	// ApproveEdited applies a pending decision after the analyst changed
	// it: ttl counts from now (0 keeps the proposed one), gateways names
	// where it applies (nil keeps them).
	ApproveEdited(ctx context.Context, id string, ttl time.Duration, gateways []string) error
	// Extend lengthens an active decision by d from its current expiry.
	Extend(ctx context.Context, id string, d time.Duration) error
	// Silence mutes notifications for alerts matching every matcher
	// ("scenario=ssh-bruteforce", "source=~203\.0\.113\..*") for d; it
	// returns the silence's ID. Alerts are still recorded and resolve.
	Silence(ctx context.Context, matchers []string, d time.Duration, comment string) (string, error)
	// Ack acknowledges an alert: its notification groups stop escalating.
	Ack(ctx context.Context, alertID string) error
	// Reject refuses a pending decision, with the analyst's reason.
	Reject(ctx context.Context, id, reason string) error
	// Rollback removes an active decision from every gateway now.
	Rollback(ctx context.Context, id string) error
	// Events returns the retained recent events numbered above after,
	// oldest first: the live view asks for what is new since its last
	// call (0 before the first). Numbering starts at 1. Events older than
	// the retained window (a few thousand) are gone from the live view,
	// never from the pipeline. When after is beyond the newest number the
	// engine has restarted and counts from 1 again: it answers from its
	// oldest retained event, and the view starts over from there.
	Events(ctx context.Context, after uint64) ([]LiveEvent, error)
	// Incidents lists incidents newest first: only those not closed when
	// open is set, else all (a few hundred at most).
	Incidents(ctx context.Context, open bool) ([]engine.Incident, error)
	// Incident is one incident with its reconstructed timeline and its
	// response times.
	Incident(ctx context.Context, id string) (IncidentDetail, error)
	// IncidentAct changes an incident as the console's actor, recorded in
	// the audit trail, and returns it as it is now (a split returns the
	// new incident).
	IncidentAct(ctx context.Context, op IncidentOp) (engine.Incident, error)
}

// Incident operations, IncidentOp.Op.
const (
	IncidentOpState  = "state"
	IncidentOpAssign = "assign"
	IncidentOpUpdate = "update"
	IncidentOpMerge  = "merge"
	IncidentOpSplit  = "split"
)

// IncidentOp is one change an analyst makes to incident ID.
type IncidentOp struct {
	ID string
	// Op is one of the IncidentOp* constants; each uses the fields
	// named after it.
	Op string
	// State (state) is where the incident moves; Reason is required to
	// close it.
	State, Reason string
	// Owner (assign) is the new owner; empty assigns the console's own
	// user.
	Owner string
	// Add and Remove (update) change the tags.
	Add, Remove []string
	// From (merge) is the incident folded into ID and closed as merged.
	From string
	// Alerts (split) move out of ID into a new incident.
	Alerts []string
}

// IncidentDetail is an incident as its detail shows it.
type IncidentDetail struct {
	Incident engine.Incident
	// Timeline is every event, alert, decision, notification and analyst
	// action in order, with where each comes from.
	Timeline []engine.TimelineEntry
	Metrics  IncidentMetrics
}

// IncidentMetrics are an incident's response times; nil until it gets
// there.
type IncidentMetrics struct {
	// TTD runs from the first evidence to the incident opening; TTA, TTC
	// and TTR from the opening to acknowledgement, containment and
	// resolution.
	TTD, TTA, TTC, TTR *time.Duration
}

// LiveEvent is one event of the live stream, numbered in arrival order.
type LiveEvent struct {
	Seq   uint64
	Event engine.Event
	// Feeds are the scenarios the event fed, each with its bucket level
	// right after it: what `phantomsoc parse --explain` shows for a line.
	// Empty when the event reached no scenario.
	Feeds []engine.Feed `json:",omitempty"`
}

// Snapshot is one consistent-enough view of the engine for the screen.
type Snapshot struct {
	// Taken is when the snapshot was made (the console's "now").
	Taken time.Time
	// Mode is "in-process" or "attached"; Source names the database or
	// socket.
	Mode   string
	Source string
	DryRun bool
	// Actor is who the console acts as in the audit trail.
	Actor string
	Stats engine.Stats
	// Queues are the pipeline stages' input queues (backpressure shows as a
	// queue that stays full; the engine never drops).
	Queues []engine.Queue
	// Rates are events per second per input over the last minutes, oldest
	// first, for sparklines.
	Rates []Rate
	// Alerts are the most recent alerts, newest first.
	Alerts []engine.Alert
	// Pending are decisions waiting for an analyst, oldest first.
	Pending []Pending
	// Active are decisions in force, soonest to expire first.
	Active   []Active
	Gateways []Gateway
	// Audit is the tail of the audit trail, newest first; AuditOK is the
	// chain's verification result.
	Audit   []AuditLine
	AuditOK bool
	// TopSources are the most active attacking sources.
	TopSources []SourceCount
	// Deliveries are the notifications per receiver by delivery state,
	// in receiver order; empty without routing.
	Deliveries []Delivery
	// Incidents are the incidents not closed, newest first (a few hundred
	// at most); nil when the engine cannot say.
	Incidents []engine.Incident
}

// Delivery is one receiver's notifications by delivery state.
type Delivery struct {
	Receiver string `json:"receiver"`
	Sent     int    `json:"sent"`
	// Waiting are queued or being sent (retries included).
	Waiting    int `json:"waiting"`
	Failed     int `json:"failed"`
	Suppressed int `json:"suppressed"`
	// LastError is the newest failed or retried notification's error.
	LastError string `json:"last_error,omitempty"`
}

// Rate is one input's event rate history.
type Rate struct {
	Source string
	// PerSecond holds one value per interval, oldest first.
	PerSecond []float64
}

// Pending is a decision waiting for approval, with exactly what approving
// it would change.
type Pending struct {
	Decision engine.Decision
	// Script is the nft batch per gateway approving would apply.
	Script string
	// Wide marks a high-blast-radius action (isolate, quarantine, a range
	// wider than /24, more than one gateway) that needs a typed
	// confirmation.
	Wide bool
}

// Active is a decision in force and where it is enforced.
type Active struct {
	Decision     engine.Decision
	Enforcements []engine.Enforcement
	// Drops are what its elements matched, per gateway, from nftables'
	// element counters; nil when not read (a dry run enforces nothing).
	Drops []Drops
}

// Drops is what one decision's elements matched on one gateway.
type Drops struct {
	Gateway string
	Packets uint64
	Bytes   uint64
	// Shared: a wider range merged over this decision counts for both.
	Shared bool
	// Missing: the gateway holds none of its elements.
	Missing bool
}

// Gateway is one gateway's health.
type Gateway struct {
	Name     string
	Up       bool
	Intact   bool
	Elements int
	// Drops are packets dropped by phantomsoc's rules.
	Drops uint64
	Error string
}

// AuditLine is one audit record, short.
type AuditLine struct {
	Seq     uint64
	Time    time.Time
	Actor   string
	Action  string
	Subject string
}

// SourceCount is an attacking source and how many indicators it sent.
type SourceCount struct {
	Source string
	Count  int
}

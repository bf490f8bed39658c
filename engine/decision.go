package engine

import (
	"net/netip"
	"time"
)

// Action types. Enforcement implements them; here they are data.
const (
	ActionBlock      = "block"
	ActionRateLimit  = "rate-limit"
	ActionFirewall   = "firewall-rule"
	ActionIsolate    = "isolate"
	ActionQuarantine = "quarantine"
	ActionTunnel     = "tunnel"
	// ActionAlert means notify only; no decision is made.
	ActionAlert = "alert"
)

// Decision states.
const (
	// StatePending waits for an analyst's approval.
	StatePending = "pending"
	// StateActive is approved (by policy or analyst) and should be enforced.
	StateActive = "active"
	// StateRefused was refused by a safety rule (allowlist); it is kept and
	// audited, never enforced.
	StateRefused = "refused"
	// StateExpired passed its TTL.
	StateExpired = "expired"
	// StateRolledBack was removed by an analyst before its TTL ran out.
	StateRolledBack = "rolled-back"
)

// Decision is what policy made of an alert: an action on a target for a TTL.
type Decision struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	AlertID  string    `json:"alert_id"`
	Scenario string    `json:"scenario"`
	Action   string    `json:"action"`
	// Target is an address (as a single-address prefix) or a CIDR; for a
	// firewall rule that applies to everyone it is the zero prefix.
	Target netip.Prefix `json:"target"`
	// Proto ("tcp", "udp") and Port narrow a firewall rule; Iface names a
	// tunnel action's interface. Detection-made decisions leave them empty.
	Proto string        `json:"proto,omitempty"`
	Port  uint16        `json:"port,omitempty"`
	Iface string        `json:"iface,omitempty"`
	TTL   time.Duration `json:"ttl"`
	// Expires is Time+TTL; zero for a permanent decision.
	Expires time.Time `json:"expires"`
	// Auto reports whether policy applies it without approval.
	Auto  bool   `json:"auto"`
	State string `json:"state"`
	// Offense is how many times this target has been decided against,
	// including this one; it drives escalating TTLs.
	Offense int     `json:"offense"`
	Risk    float64 `json:"risk"`
	Reason  string  `json:"reason"`
	// Gateways the action applies to; empty means all.
	Gateways []string `json:"gateways,omitempty"`
}

// StateAt is the decision's state at now: an active or pending decision
// whose TTL has run out is expired, whatever was stored when it was made.
func (d *Decision) StateAt(now time.Time) string {
	if (d.State == StateActive || d.State == StatePending) && !d.Expires.IsZero() && !d.Expires.After(now) {
		return StateExpired
	}
	return d.State
}

// TargetString renders the target as an address when it covers exactly one,
// else as a CIDR.
func (d *Decision) TargetString() string {
	return PrefixString(d.Target)
}

// PrefixString renders a single-address prefix as the bare address.
func PrefixString(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// Enforcement states: one decision on one gateway.
const (
	// EnforcePending waits: for approval, for the gateway to come back,
	// or for a retry after a failed plan.
	EnforcePending = "pending"
	// EnforceApplied is in the gateway's kernel.
	EnforceApplied = "applied"
	// EnforceRemoved was taken out (rollback, expiry, or superseded).
	EnforceRemoved = "removed"
	// EnforceDryRun was shown, never applied.
	EnforceDryRun = "dry-run"
)

// Enforcement is one decision's state on one gateway.
type Enforcement struct {
	DecisionID string    `json:"decision_id"`
	Gateway    string    `json:"gateway"`
	State      string    `json:"state"`
	Updated    time.Time `json:"updated"`
	Error      string    `json:"error,omitempty"`
}

// AuditNote is an audit record made outside the pipeline: by an analyst, by
// enforcement or by a repair.
type AuditNote struct {
	Time    time.Time
	Actor   string
	Action  string
	Subject string
	// Detail is encoded as JSON.
	Detail any
}

// Change is one durable unit of work made outside the pipeline: decisions
// created or updated, enforcement states, and their audit records, written
// in one transaction.
type Change struct {
	Decisions    []Decision
	Enforcements []Enforcement
	Notes        []AuditNote
}

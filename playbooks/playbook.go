package playbooks

import (
	"regexp"
	"time"
)

// Step kinds: each step has exactly one of these keys.
const (
	KindAssess    = "assess"
	KindNotify    = "notify"
	KindRemediate = "remediate"
	KindCollect   = "collect"
	KindWait      = "wait"
	KindEscalate  = "escalate"
	KindIncident  = "incident"
	KindRollback  = "rollback"
)

// Kinds lists the step kinds in the order the documentation gives them.
func Kinds() []string {
	return []string{KindAssess, KindNotify, KindRemediate, KindCollect, KindWait, KindEscalate, KindIncident, KindRollback}
}

// What a step does when it fails or times out (on_failure).
const (
	// OnFailureStop ends the run; later steps are recorded as skipped.
	OnFailureStop = "stop"
	// OnFailureContinue goes on with the next step.
	OnFailureContinue = "continue"
	// OnFailureNotify tells the playbook's failure receiver, then stops.
	OnFailureNotify = "notify"
	// OnFailureRollback reverts what the run applied, newest first, then
	// stops.
	OnFailureRollback = "rollback"
)

// Approval modes of a remediate step.
const (
	// ApprovalRequired always waits for a yes.
	ApprovalRequired = "required"
	// ApprovalAuto needs no one; only an approval policy of "none" stops it.
	ApprovalAuto = "auto"
	// ApprovalPolicy defers to the enforcement policy for the action type
	// and risk.
	ApprovalPolicy = "policy"
)

// RemediationActions lists the action types a remediate step may ask for.
func RemediationActions() []string {
	return []string{"block", "rate-limit", "firewall", "isolate", "quarantine", "tunnel-peer"}
}

// EvidenceTypes lists the evidence a collect step may ask for.
func EvidenceTypes() []string {
	return []string{"logs", "ruleset", "connections", "auth-history", "pcap", "enrichment"}
}

// IncidentStates lists the incident lifecycle states; "none" (in a trigger
// or an expression) means the alert has no incident yet.
func IncidentStates() []string {
	return []string{"none", "new", "acknowledged", "contained", "eradicated", "recovered", "closed"}
}

// Defaults applied at load when a step leaves them out.
const (
	// DefaultTimeout bounds one attempt of a step that calls out (a gateway
	// over SSH can hang); a wait step is bounded by its own duration.
	DefaultTimeout = time.Minute
	// DefaultRetryDelay separates attempts; it passes on the run's clock,
	// so a replay shows it without sleeping.
	DefaultRetryDelay = 5 * time.Second
	// DefaultWaitEvery is how often a wait-until condition is checked.
	DefaultWaitEvery = time.Minute
	// DefaultWaitTimeout ends a wait-until that never comes true.
	DefaultWaitTimeout = time.Hour
	// maxRetries keeps a typo (retries: 1000) from hammering a gateway.
	maxRetries = 10
	// maxPcap caps a packet capture: size and time are bounded by design.
	maxPcap = 10 * time.Minute
)

// Pos is a 1-based line and column in a playbook file.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Playbook is one loaded, compiled playbook. Expressions are compiled and
// durations parsed, so running it cannot fail on its own text.
type Playbook struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	File        string    `json:"file"`
	Pos         Pos       `json:"pos"`
	Triggers    []Trigger `json:"triggers"`
	// FailureReceiver hears about a step that fails with on_failure:
	// notify.
	FailureReceiver string `json:"failure_receiver,omitempty"`
	Steps           []Step `json:"steps"`

	// refs are the receiver and gateway names the playbook uses, checked by
	// Validate against the configuration.
	refs []ref
}

// ref is a name that must exist in the configuration.
type ref struct {
	kind  string // "receiver" or "gateway"
	name  string
	field string
	pos   Pos
}

// Trigger says when a playbook fires. All of its conditions must hold; a
// playbook fires when any of its triggers does.
type Trigger struct {
	// Scenario is a glob (path.Match) over the alert's scenario; empty
	// matches every scenario.
	Scenario string         `json:"scenario,omitempty"`
	Labels   []LabelMatcher `json:"labels,omitempty"`
	// MinRisk is the lowest risk that fires (risk ≥ MinRisk).
	MinRisk float64 `json:"min_risk,omitempty"`
	// Incident lists the incident states that fire; empty means any.
	Incident []string `json:"incident,omitempty"`
}

// LabelMatcher tests one alert label: "=" equal, "!=" not equal, "=~" and
// "!~" a fully anchored regular expression.
type LabelMatcher struct {
	Name  string `json:"name"`
	Op    string `json:"op"`
	Value string `json:"value"`
	re    *regexp.Regexp
}

// Step is one ordered step: common controls plus exactly one kind's
// settings.
type Step struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Pos  Pos    `json:"pos"`
	// If and Unless guard the step: it runs when If is true and Unless is
	// false, otherwise it is recorded as skipped.
	If     *Expr `json:"if,omitempty"`
	Unless *Expr `json:"unless,omitempty"`
	// Timeout bounds one attempt; Retries more attempts follow a failure,
	// RetryDelay apart.
	Timeout    time.Duration `json:"timeout"`
	Retries    int           `json:"retries,omitempty"`
	RetryDelay time.Duration `json:"retry_delay,omitempty"`
	OnFailure  string        `json:"on_failure"`

	Assess    *AssessStep    `json:"assess,omitempty"`
	Notify    *NotifyStep    `json:"notify,omitempty"`
	Remediate *RemediateStep `json:"remediate,omitempty"`
	Collect   *CollectStep   `json:"collect,omitempty"`
	Wait      *WaitStep      `json:"wait,omitempty"`
	Escalate  *NotifyStep    `json:"escalate,omitempty"`
	Incident  *IncidentStep  `json:"incident,omitempty"`
	Rollback  *RollbackStep  `json:"rollback,omitempty"`
}

// AssessStep re-scores the alert and stops the run when the risk is below
// MinRisk (0: never stops).
type AssessStep struct {
	MinRisk float64 `json:"min_risk,omitempty"`
}

// NotifyStep sends Message to Receiver (notify and escalate).
type NotifyStep struct {
	Receiver string `json:"receiver"`
	Message  *Text  `json:"message,omitempty"`
}

// RemediateStep asks for an action against the targets Target evaluates to.
type RemediateStep struct {
	Action string `json:"action"`
	// Target evaluates to an address, a CIDR, or a list of them.
	Target   *Expr         `json:"target"`
	TTL      time.Duration `json:"ttl,omitempty"`
	Gateways []string      `json:"gateways,omitempty"`
	Approval string        `json:"approval"`
	// Proto and Port narrow a firewall action.
	Proto  string `json:"proto,omitempty"`
	Port   int    `json:"port,omitempty"`
	Reason *Text  `json:"reason,omitempty"`
}

// CollectStep asks for one evidence item about Target.
type CollectStep struct {
	Evidence string `json:"evidence"`
	Target   *Expr  `json:"target"`
	// Duration is the capture length (pcap) or the window around the alert
	// (logs, auth-history).
	Duration time.Duration `json:"duration,omitempty"`
	Gateway  string        `json:"gateway,omitempty"`
}

// WaitStep lets time pass: For a fixed duration, or until Until is true,
// checked Every, for at most the step's Timeout.
type WaitStep struct {
	For   time.Duration `json:"for,omitempty"`
	Until *Expr         `json:"until,omitempty"`
	Every time.Duration `json:"every,omitempty"`
}

// IncidentStep opens, updates or closes the alert's incident.
type IncidentStep struct {
	Op       string   `json:"op"`
	Title    *Text    `json:"title,omitempty"`
	State    string   `json:"state,omitempty"`
	Severity float64  `json:"severity,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Note     *Text    `json:"note,omitempty"`
	Reason   *Text    `json:"reason,omitempty"`
}

// RollbackStep reverts what the run applied: one earlier remediate step's
// actions, or all of them, newest first.
type RollbackStep struct {
	Step string `json:"step,omitempty"`
}

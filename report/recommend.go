package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Recommendation priorities, most urgent first.
const (
	PriorityHigh   = "high"
	PriorityMedium = "medium"
	PriorityLow    = "low"
)

// Thresholds of the recommendation rules.
const (
	// slowApproval is how long a decision may wait for an analyst.
	slowApproval = 10 * time.Minute
	// slowAck is how long a high-risk incident may wait to be
	// acknowledged.
	slowAck = 30 * time.Minute
	// slowDetect is how long detection may lag the first evidence.
	slowDetect = 15 * time.Minute
	// highRisk is the risk from which an incident needs containment.
	highRisk = 7
)

// compromiseScenario is the bundled scenario of a login after a run of
// failures.
const compromiseScenario = "ssh-compromise-suspected"

// Recommendation is one lesson drawn from what happened, with the facts
// that triggered it.
type Recommendation struct {
	// Rule names the rule that made it ("password-auth").
	Rule     string `json:"rule"`
	Priority string `json:"priority"`
	Text     string `json:"text"`
	Because  string `json:"because"`
}

// rule looks at the incident (and the actions derived from it) and says
// what should change, if anything.
type rule struct {
	name string
	fn   func(in *Incident, pm *PostMortem) []Recommendation
}

// rules are every recommendation rule, in the order their
// recommendations are listed within one priority.
func rules() []rule {
	return []rule{
		{"password-auth", passwordAuth},
		{"compromise-review", compromiseReview},
		{"not-contained", notContained},
		{"dry-run", dryRun},
		{"enforcement-failed", enforcementFailed},
		{"slow-approval", slowApprovals},
		{"repeat-offender", repeatOffender},
		{"slow-acknowledge", slowAcknowledge},
		{"slow-detection", slowDetection},
		{"critical-exposed", criticalExposed},
		{"no-evidence", noEvidence},
		{"refused", refused},
	}
}

// Recommend applies every rule to the incident; pm holds the actions
// and impact NewPostMortem derived. The result is ordered by priority,
// then rule, then the order the rule found them.
func Recommend(in *Incident, pm *PostMortem) []Recommendation {
	out := []Recommendation{}
	for _, r := range rules() {
		for _, rec := range r.fn(in, pm) {
			rec.Rule = r.name
			out = append(out, rec)
		}
	}
	rank := func(p string) int { return slices.Index([]string{PriorityHigh, PriorityMedium, PriorityLow}, p) }
	slices.SortStableFunc(out, func(a, b Recommendation) int { return cmp.Compare(rank(a.Priority), rank(b.Priority)) })
	return out
}

// compromisedHosts maps the hosts of compromise-suspected alerts to the
// accounts that logged in, sorted.
func compromisedHosts(in *Incident) map[string][]string {
	hosts := map[string][]string{}
	for i := range in.Alerts {
		a := &in.Alerts[i]
		if a.Scenario != compromiseScenario {
			continue
		}
		h := cmp.Or(alertTarget(a), "the attacked host")
		hosts[h] = sorted(append(hosts[h], a.Users...))
	}
	return hosts
}

// passwordAuth: a host that saw a suspected compromise accepted
// password authentication.
func passwordAuth(in *Incident, _ *PostMortem) []Recommendation {
	hosts := compromisedHosts(in)
	var out []Recommendation
	for _, h := range slices.Sorted(maps.Keys(hosts)) {
		n := len(distinctEvents(in.Alerts, func(ev *engine.Event) bool {
			return ev.Method == "password" && (ev.Host == h || (ev.Dest.IsValid() && ev.Dest.String() == h))
		}))
		if n == 0 {
			continue
		}
		out = append(out, Recommendation{Priority: PriorityHigh,
			Text:    fmt.Sprintf("Disable password authentication on %s (sshd_config: PasswordAuthentication no, KbdInteractiveAuthentication no) and require keys.", h),
			Because: fmt.Sprintf("%s tried a password on %s, which saw a %s alert.", plural(n, "logged attempt"), h, compromiseScenario)})
	}
	return out
}

// compromiseReview: a login succeeded after failures; the account needs
// checking whatever the authentication method.
func compromiseReview(in *Incident, _ *PostMortem) []Recommendation {
	hosts := compromisedHosts(in)
	var out []Recommendation
	for _, h := range slices.Sorted(maps.Keys(hosts)) {
		who := listOr(hosts[h], "the account that logged in")
		out = append(out, Recommendation{Priority: PriorityHigh,
			Text:    fmt.Sprintf("Treat %s on %s as compromised: rotate its credentials, review authorized_keys, cron, new accounts and sessions since the login.", who, h),
			Because: fmt.Sprintf("A login to %s succeeded right after a run of failures from the same source (%s).", h, compromiseScenario)})
	}
	return out
}

// notContained: a high-risk incident with no action in force anywhere.
func notContained(in *Incident, pm *PostMortem) []Recommendation {
	if in.Incident.Risk < highRisk || !milestone(pm, "contained").IsZero() {
		return nil
	}
	for _, a := range pm.Actions {
		if !a.Applied.IsZero() && !a.DryRun {
			return nil
		}
	}
	why := "no decision was made"
	if len(pm.Actions) > 0 {
		why = fmt.Sprintf("none of its %s was enforced", plural(len(pm.Actions), "decision"))
	}
	return []Recommendation{{Priority: PriorityHigh,
		Text:    "Contain the source: approve the pending decision or block it by hand (phantomsoc block), and add a policy rule that acts on this scenario automatically.",
		Because: fmt.Sprintf("The incident reached risk %.1f and %s.", in.Incident.Risk, why)}}
}

// dryRun: enforcement only showed what it would have done.
func dryRun(_ *Incident, pm *PostMortem) []Recommendation {
	var targets []string
	for _, a := range pm.Actions {
		if a.DryRun {
			targets = append(targets, a.Action+" "+a.Target)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	return []Recommendation{{Priority: PriorityMedium,
		Text:    "Turn dry_run off once the gateways are verified (phantomsoc gateways check): decisions are only being shown, not applied.",
		Because: fmt.Sprintf("Enforcement ran in dry-run for %s.", listOr(targets, ""))}}
}

// enforcementFailed: a gateway refused or failed a plan.
func enforcementFailed(_ *Incident, pm *PostMortem) []Recommendation {
	var out []Recommendation
	for _, a := range pm.Actions {
		if a.Failed == "" {
			continue
		}
		out = append(out, Recommendation{Priority: PriorityHigh,
			Text:    fmt.Sprintf("Check the gateways of %s (phantomsoc gateways check) and repair what made its enforcement fail.", a.Decision),
			Because: fmt.Sprintf("Enforcing %s %s failed: %s", a.Action, a.Target, a.Failed)})
	}
	return out
}

// slowApprovals: a decision waited long for an analyst.
func slowApprovals(in *Incident, pm *PostMortem) []Recommendation {
	var out []Recommendation
	for _, a := range pm.Actions {
		if a.Wait < slowApproval {
			continue
		}
		how := fmt.Sprintf("was approved by %s after %s", a.ApprovedBy, fmtDuration(a.Wait))
		if a.Approved.IsZero() {
			how = fmt.Sprintf("has waited %s and is still %s", fmtDuration(a.Wait), a.State)
		}
		out = append(out, Recommendation{Priority: PriorityMedium,
			Text: fmt.Sprintf("Shorten approvals for %s: route pending approvals to the on-call pager with an escalation, or let policy apply %s automatically from risk %.1f (enforcement.approval.%s.auto_min_risk).",
				a.Action, a.Action, in.Incident.Risk, a.Action),
			Because: fmt.Sprintf("The %s of %s (%s) %s.", a.Action, a.Target, a.Decision, how)})
	}
	return out
}

// repeatOffender: a source came back after an earlier decision against
// it ended.
func repeatOffender(in *Incident, pm *PostMortem) []Recommendation {
	first := in.Incident.Detected
	for i := range in.Alerts {
		if t := in.Alerts[i].First; first.IsZero() || (!t.IsZero() && t.Before(first)) {
			first = t
		}
	}
	var out []Recommendation
	seen := map[string]bool{}
	for i := range in.Prior {
		p := &in.Prior[i]
		target := p.TargetString()
		if seen[target] || p.Expires.IsZero() || p.Expires.After(first) || slices.Contains(in.Incident.Decisions, p.ID) {
			continue
		}
		seen[target] = true
		out = append(out, Recommendation{Priority: PriorityMedium,
			Text: fmt.Sprintf("Raise policy.escalation.multiplier (or the base TTL of %s): %s outlasted its %s.", p.Scenario, target, p.Action),
			Because: fmt.Sprintf("%s returned %s after its %s %s %s (%s, offense %d) expired.", target, fmtDuration(first.Sub(p.Expires)),
				fmtDuration(p.TTL), p.Action, p.ID, p.Scenario, p.Offense)})
	}
	if len(out) > 0 {
		return out
	}
	for _, a := range pm.Actions {
		if a.Offense > 1 && !seen[a.Target] {
			seen[a.Target] = true
			out = append(out, Recommendation{Priority: PriorityLow,
				Text:    fmt.Sprintf("Consider a longer base TTL or a higher escalation multiplier for repeat offenders like %s.", a.Target),
				Because: fmt.Sprintf("%s is offense %d against %s; the earlier decisions are no longer stored.", a.Decision, a.Offense, a.Target)})
		}
	}
	return out
}

// slowAcknowledge: a high-risk incident waited for a person.
func slowAcknowledge(in *Incident, _ *PostMortem) []Recommendation {
	inc := &in.Incident
	if inc.Risk < highRisk || inc.Opened.IsZero() {
		return nil
	}
	var wait time.Duration
	how := ""
	switch {
	case in.Metrics.TTA != nil:
		wait, how = *in.Metrics.TTA, "was acknowledged"
	case in.Generated.After(inc.Opened) && inc.Acknowledged.IsZero() && inc.IsOpen():
		wait, how = in.Generated.Sub(inc.Opened), "has not been acknowledged"
	}
	if wait < slowAck {
		return nil
	}
	return []Recommendation{{Priority: PriorityMedium,
		Text:    fmt.Sprintf("Page a person for %s incidents: add a route with a pager receiver and an escalation timer for this scenario.", inc.Severity),
		Because: fmt.Sprintf("The incident (risk %.1f) %s %s after it opened.", inc.Risk, how, fmtDuration(wait))}}
}

// slowDetection: detection lagged the first evidence.
func slowDetection(in *Incident, _ *PostMortem) []Recommendation {
	if in.Metrics.TTD == nil || *in.Metrics.TTD < slowDetect {
		return nil
	}
	var scenarios []string
	for i := range in.Alerts {
		scenarios = append(scenarios, in.Alerts[i].Scenario)
	}
	return []Recommendation{{Priority: PriorityLow,
		Text: fmt.Sprintf("Tune %s to fire earlier (lower thresholds, a shorter leak), or add a scenario for the slow pattern seen here.",
			listOr(sorted(scenarios), "the scenario")),
		Because: fmt.Sprintf("Detection came %s after the first evidence.", fmtDuration(*in.Metrics.TTD))}}
}

// criticalExposed: a crown-jewel asset was reachable by the attacker.
func criticalExposed(_ *Incident, pm *PostMortem) []Recommendation {
	if len(pm.Impact.Critical) == 0 {
		return nil
	}
	return []Recommendation{{Priority: PriorityMedium,
		Text:    "Restrict who can reach critical assets: allow SSH only from the management network or a VPN, and review their exposure in the inventory.",
		Because: fmt.Sprintf("Critical assets were targeted: %s.", strings.Join(pm.Impact.Critical, "; "))}}
}

// noEvidence: nothing was kept for later.
func noEvidence(in *Incident, pm *PostMortem) []Recommendation {
	if len(pm.Evidence) > 0 {
		return nil
	}
	var scenarios []string
	for i := range in.Alerts {
		scenarios = append(scenarios, in.Alerts[i].Scenario)
	}
	return []Recommendation{{Priority: PriorityMedium,
		Text: fmt.Sprintf("Collect evidence for %s: add collect steps (logs, connections, enrichment) to its playbook, or run phantomsoc evidence collect %s.",
			listOr(sorted(scenarios), "this scenario"), in.Incident.ID),
		Because: "No evidence item is recorded for the incident: nothing with a hash backs its timeline."}}
}

// refused: a safety rule stopped a decision against an attacker.
func refused(in *Incident, _ *PostMortem) []Recommendation {
	var targets []string
	for i := range in.Decisions {
		if d := &in.Decisions[i]; d.State == engine.StateRefused {
			targets = append(targets, cmp.Or(d.TargetString(), "everyone"))
		}
	}
	if len(targets) == 0 {
		return nil
	}
	return []Recommendation{{Priority: PriorityLow,
		Text:    "Review the allowlist and management addresses: an address on them attacked, or the list is wider than it should be.",
		Because: fmt.Sprintf("Decisions against %s were refused by a safety rule.", strings.Join(sorted(targets), ", "))}}
}

package playbooks

import (
	"context"
	"fmt"
)

// Answers a PolicyApprover gives without asking anyone.
const (
	// ApproveAll says yes to every remediation.
	ApproveAll = "all"
	// ApproveNone says no to every remediation, auto ones included: a
	// replay that shows what would have been asked, touching nothing.
	ApproveNone = "none"
	// ApproveAutoOnly says yes to approval: auto, and to approval: policy
	// when the enforcement policy would apply it unasked; no to required.
	ApproveAutoOnly = "auto-only"
)

// PolicyApprover answers approval requests by rule: a replay's --approve,
// or a daemon with nobody at the console.
type PolicyApprover struct {
	Answer string
	// PolicyAuto reports whether enforcement policy applies action at this
	// risk without an analyst; it decides approval: policy steps under
	// auto-only. Nil treats them as required: the safe side.
	PolicyAuto func(action string, risk float64) bool
}

// ParsePolicyApprover checks an --approve value.
func ParsePolicyApprover(answer string) (PolicyApprover, error) {
	switch answer {
	case ApproveAll, ApproveNone, ApproveAutoOnly:
		return PolicyApprover{Answer: answer}, nil
	}
	return PolicyApprover{}, fmt.Errorf("approval policy %q: want all, none or auto-only", answer)
}

// Approve answers r by the policy.
func (p PolicyApprover) Approve(_ context.Context, r ApprovalRequest) (bool, error) {
	switch p.Answer {
	case ApproveAll:
		return true, nil
	case ApproveNone:
		return false, nil
	case ApproveAutoOnly:
		switch r.Mode {
		case ApprovalAuto:
			return true, nil
		case ApprovalPolicy:
			return p.PolicyAuto != nil && p.PolicyAuto(r.Action, r.Risk), nil
		}
		return false, nil
	}
	return false, fmt.Errorf("approval policy %q: want all, none or auto-only", p.Answer)
}

package playbooks

import (
	"context"
	"testing"
)

// BenchmarkStep measures one step decision in-process: guards evaluated,
// the target expression evaluated and parsed, approval asked, the
// remediation handed to the (in-memory) remediator and the trace record
// made. Issue 7's target is under 1 ms.
func BenchmarkStep(b *testing.B) {
	pb := mustParse(b, `name: bench
triggers: [{scenario: ssh-bruteforce}]
steps:
  - name: block
    remediate:
      action: block
      target: alert.source
      ttl: 4h
      approval: policy
      reason: "{{ alert.scenario }}: {{ alert.count }} failures from {{ alert.source }}"
    if: alert.risk >= 5 && alert.labels.service == "ssh"
    unless: incident.state == "closed"
`)
	ex, err := NewExecutor(Options{Remediator: nopWorld{}, Approver: PolicyApprover{Answer: ApproveAutoOnly, PolicyAuto: func(string, float64) bool { return true }}, Clock: NewVirtualClock(t0)})
	if err != nil {
		b.Fatal(err)
	}
	a := testAlert()
	b.ReportAllocs()
	for b.Loop() {
		recs, err := ex.Run(b.Context(), pb, Input{Alert: a})
		if err != nil || recs[0].Outcome != OutcomeOK {
			b.Fatalf("Run = %v, %v", recs, err)
		}
	}
}

// BenchmarkMatch measures picking the starter playbooks for one alert.
func BenchmarkMatch(b *testing.B) {
	s, err := LoadFS(Starter(), "starter")
	if err != nil {
		b.Fatal(err)
	}
	a := testAlert()
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Match(a, nil)) == 0 {
			b.Fatal("no match")
		}
	}
}

// nopWorld applies everything at no cost, so the benchmark sees only the
// executor.
type nopWorld struct{}

func (nopWorld) Apply(context.Context, Remediation) (string, error) { return "r", nil }
func (nopWorld) Revert(context.Context, string) error               { return nil }

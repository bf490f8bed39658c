package playbooks

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/phantomsoc/phantomsoc/engine"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func testAlert() *engine.Alert {
	return &engine.Alert{
		ID: "a1", Time: t0, Scenario: "ssh-bruteforce", Key: "198.51.100.7",
		Source: netip.MustParseAddr("198.51.100.7"), Dest: netip.MustParseAddr("192.0.2.10"),
		Host: "gw1", Users: []string{"root"}, Count: 40, Risk: 7.5, Confidence: 0.9,
		Labels: map[string]string{"service": "ssh"},
	}
}

func mustParse(t testing.TB, src string) *Playbook {
	t.Helper()
	pbs, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return pbs[0]
}

// runWith runs pb against a fresh world on a virtual clock at t0.
func runWith(t testing.TB, pb *Playbook, w *world, approve string, in Input) []Record {
	t.Helper()
	ap, err := ParsePolicyApprover(approve)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := NewExecutor(Options{Remediator: w, Notifier: w, Collector: w, Incidents: w, Approver: ap, Clock: NewVirtualClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if in.Alert == nil {
		in.Alert = testAlert()
	}
	if in.Incident != nil && w.inc.ID == "" {
		w.inc = *in.Incident
	}
	recs, err := ex.Run(t.Context(), pb, in)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	return recs
}

// outcomes renders "name:outcome" per record, the shape most tests check.
func outcomes(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Name + ":" + r.Kind + ":" + r.Outcome
	}
	return out
}

func wantOutcomes(t *testing.T, recs []Record, want ...string) {
	t.Helper()
	if got := outcomes(recs); !slices.Equal(got, want) {
		t.Errorf("outcomes =\n  %s\nwant\n  %s\ndetails: %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "), details(recs))
	}
}

func details(recs []Record) string {
	var b strings.Builder
	for _, r := range recs {
		b.WriteString("\n  " + r.Name + ": " + r.Detail)
	}
	return b.String()
}

func TestApprovalPolicy(t *testing.T) {
	tests := []struct {
		policy     string
		mode       string
		policyAuto bool
		want       string
	}{
		{ApproveAll, ApprovalRequired, false, OutcomeOK},
		{ApproveAll, ApprovalAuto, false, OutcomeOK},
		{ApproveAll, ApprovalPolicy, false, OutcomeOK},
		{ApproveNone, ApprovalAuto, true, OutcomeDenied},
		{ApproveNone, ApprovalRequired, true, OutcomeDenied},
		{ApproveAutoOnly, ApprovalAuto, false, OutcomeOK},
		{ApproveAutoOnly, ApprovalRequired, true, OutcomeDenied},
		{ApproveAutoOnly, ApprovalPolicy, true, OutcomeOK},
		{ApproveAutoOnly, ApprovalPolicy, false, OutcomeDenied},
	}
	for _, tc := range tests {
		t.Run(tc.policy+"/"+tc.mode, func(t *testing.T) {
			pb := mustParse(t, "name: p\ntriggers: [{scenario: x}]\nsteps:\n  - name: block\n    remediate: {action: isolate, approval: "+tc.mode+"}\n  - name: after\n    notify: {receiver: soc}\n")
			ap, err := ParsePolicyApprover(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			ap.PolicyAuto = func(action string, risk float64) bool { return tc.policyAuto && action == "isolate" && risk == 7.5 }
			w := newWorld()
			ex, err := NewExecutor(Options{Remediator: w, Notifier: w, Approver: ap, Clock: NewVirtualClock(t0)})
			if err != nil {
				t.Fatal(err)
			}
			recs, err := ex.Run(t.Context(), pb, Input{Alert: testAlert()})
			if err != nil {
				t.Fatal(err)
			}
			if recs[0].Outcome != tc.want {
				t.Errorf("approve %s, mode %s: outcome %s (%s), want %s", tc.policy, tc.mode, recs[0].Outcome, recs[0].Detail, tc.want)
			}
			applied := slices.ContainsFunc(w.log(), func(c string) bool { return strings.HasPrefix(c, "apply") })
			if applied != (tc.want == OutcomeOK) {
				t.Errorf("applied = %v with outcome %s", applied, tc.want)
			}
			// A denial is not a failure: the run goes on.
			if recs[1].Outcome != OutcomeOK {
				t.Errorf("step after a %s remediation: %s", recs[0].Outcome, recs[1].Outcome)
			}
		})
	}
	if _, err := ParsePolicyApprover("sometimes"); err == nil {
		t.Error("ParsePolicyApprover(sometimes) accepted")
	}
}

func TestGuards(t *testing.T) {
	tests := []struct {
		name  string
		guard string
		want  string
	}{
		{"if true", `if: alert.risk >= 7`, OutcomeOK},
		{"if false", `if: alert.risk >= 8`, OutcomeSkipped},
		{"unless true", `unless: "'root' in alert.users"`, OutcomeSkipped},
		{"unless false", `unless: alert.labels.service == "ids"`, OutcomeOK},
		{"both", "if: alert.source startsWith \"198.51.100.\"\n    unless: incident.state != \"none\"", OutcomeOK},
		{"label index", `if: alert.labels["service"] == "ssh" && alert.count > 10`, OutcomeOK},
		{"event time", `if: now == alert.time`, OutcomeOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pb := mustParse(t, "name: p\ntriggers: [{scenario: x}]\nsteps:\n  - notify: {receiver: soc}\n    "+tc.guard+"\n")
			w := newWorld()
			recs := runWith(t, pb, w, ApproveAll, Input{})
			if recs[0].Outcome != tc.want {
				t.Errorf("%s: outcome %s (%s), want %s", tc.guard, recs[0].Outcome, recs[0].Detail, tc.want)
			}
			if called := len(w.log()) > 0; called != (tc.want == OutcomeOK) {
				t.Errorf("%s: notifier called = %v", tc.guard, called)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		retries  int
		failures int
		want     string
		attempts int
	}{
		{"first try", 2, 0, OutcomeOK, 1},
		{"succeeds on the last retry", 2, 2, OutcomeOK, 3},
		{"runs out of retries", 1, 2, OutcomeFailed, 2},
		{"no retries", 0, 1, OutcomeFailed, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pb := mustParse(t, "name: p\ntriggers: [{scenario: x}]\nsteps:\n  - name: block\n    remediate: {action: block, approval: auto}\n    retry_delay: 10s\n    retries: "+strconv.Itoa(tc.retries)+"\n    on_failure: continue\n  - name: next\n    wait: 1m\n")
			w := newWorld()
			w.fail["block"] = tc.failures
			recs := runWith(t, pb, w, ApproveAll, Input{})
			if recs[0].Outcome != tc.want || recs[0].Attempts != tc.attempts {
				t.Errorf("outcome %s after %d attempts (%s), want %s after %d", recs[0].Outcome, recs[0].Attempts, recs[0].Detail, tc.want, tc.attempts)
			}
			// Retry delays pass on the run's clock: the next step starts
			// that much later.
			if got, want := recs[1].Time.Sub(t0), time.Duration(tc.attempts-1)*10*time.Second; got != want {
				t.Errorf("next step at +%v, want +%v", got, want)
			}
		})
	}
}

// TestTimeout hangs a gateway; the step's timeout ends each attempt. The
// synctest bubble's clock makes the 30 s pass at once.
func TestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pb := mustParse(t, `name: p
triggers: [{scenario: x}]
steps:
  - name: block
    remediate: {action: block, approval: auto}
    timeout: 30s
    retries: 1
    on_failure: continue
  - name: tell
    notify: {receiver: soc}
`)
		w := newWorld()
		w.hang["block"] = true
		start := time.Now()
		recs := runWith(t, pb, w, ApproveAll, Input{})
		wantOutcomes(t, recs, "block:remediate:timeout", "tell:notify:ok")
		if recs[0].Attempts != 2 || recs[0].Detail != "no answer within 30s" {
			t.Errorf("timeout record = %+v", recs[0])
		}
		if got := time.Since(start); got != 60*time.Second {
			t.Errorf("two 30s attempts took %v", got)
		}
	})
}

func TestOnFailure(t *testing.T) {
	const steps = `name: p
failure_receiver: oncall
triggers: [{scenario: x}]
steps:
  - name: block-a
    remediate: {action: block, approval: auto}
  - name: rate-b
    remediate: {action: rate-limit, target: '"203.0.113.0/24"', approval: auto}
  - name: denied
    remediate: {action: isolate, target: alert.dest, approval: required}
  - name: pcap
    collect: {evidence: pcap, duration: 1m}
    on_failure: %s
  - name: tell
    notify: {receiver: soc}
`
	tests := []struct {
		onFailure string
		want      []string
		calls     []string
	}{
		{OnFailureRollback,
			[]string{"block-a:remediate:ok", "rate-b:remediate:ok", "denied:remediate:denied", "pcap:collect:failed", "rate-b:revert:ok", "block-a:revert:ok", "tell:notify:skipped"},
			[]string{"apply block-a block 198.51.100.7", "apply rate-b rate-limit 203.0.113.0/24", "collect pcap pcap 198.51.100.7", "revert r2", "revert r1"}},
		{OnFailureStop,
			[]string{"block-a:remediate:ok", "rate-b:remediate:ok", "denied:remediate:denied", "pcap:collect:failed", "tell:notify:skipped"},
			[]string{"apply block-a block 198.51.100.7", "apply rate-b rate-limit 203.0.113.0/24", "collect pcap pcap 198.51.100.7"}},
		{OnFailureContinue,
			[]string{"block-a:remediate:ok", "rate-b:remediate:ok", "denied:remediate:denied", "pcap:collect:failed", "tell:notify:ok"},
			[]string{"apply block-a block 198.51.100.7", "apply rate-b rate-limit 203.0.113.0/24", "collect pcap pcap 198.51.100.7", "notify tell soc: p: ssh-bruteforce from 198.51.100.7 (risk 7.5)"}},
		{OnFailureNotify,
			[]string{"block-a:remediate:ok", "rate-b:remediate:ok", "denied:remediate:denied", "pcap:collect:failed", "on-failure:failure-notice:ok", "tell:notify:skipped"},
			[]string{"apply block-a block 198.51.100.7", "apply rate-b rate-limit 203.0.113.0/24", "collect pcap pcap 198.51.100.7", "page pcap oncall: playbook p: step pcap (collect) failed: collect pcap: gateway unreachable; the run stopped"}},
	}
	for _, tc := range tests {
		t.Run(tc.onFailure, func(t *testing.T) {
			pb := mustParse(t, strings.Replace(steps, "%s", tc.onFailure, 1))
			w := newWorld()
			w.fail["pcap"] = 1
			recs := runWith(t, pb, w, ApproveAutoOnly, Input{})
			wantOutcomes(t, recs, tc.want...)
			if got := w.log(); !slices.Equal(got, tc.calls) {
				t.Errorf("calls =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.calls, "\n  "))
			}
		})
	}
}

func TestRollbackStep(t *testing.T) {
	pb := mustParse(t, `name: p
triggers: [{scenario: x}]
steps:
  - name: a
    remediate: {action: block, approval: auto}
  - name: b
    remediate: {action: rate-limit, approval: auto}
  - name: undo-a
    rollback: {step: a}
  - name: undo-rest
    rollback:
  - name: nothing-left
    rollback: {}
`)
	w := newWorld()
	recs := runWith(t, pb, w, ApproveAll, Input{})
	wantOutcomes(t, recs,
		"a:remediate:ok", "b:remediate:ok",
		"undo-a:rollback:ok", "a:revert:ok",
		"undo-rest:rollback:ok", "b:revert:ok",
		"nothing-left:rollback:ok")
	if got, want := w.log(), []string{"apply a block 198.51.100.7", "apply b rate-limit 198.51.100.7", "revert r1", "revert r2"}; !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
	if recs[6].Detail != "reverted 0 remediation(s)" {
		t.Errorf("second rollback detail = %q", recs[6].Detail)
	}
}

func TestWait(t *testing.T) {
	t.Run("for advances the virtual clock", func(t *testing.T) {
		pb := mustParse(t, "name: p\ntriggers: [{scenario: x}]\nsteps:\n  - wait: 10m\n  - notify: {receiver: soc}\n")
		recs := runWith(t, pb, newWorld(), ApproveAll, Input{})
		if got := recs[1].Time.Sub(t0); got != 10*time.Minute {
			t.Errorf("step after wait 10m at +%v", got)
		}
	})
	const untilPB = `name: p
triggers: [{scenario: x}]
steps:
  - name: ack
    wait: {until: 'incident.state == "acknowledged"', every: 2m}
    timeout: 10m
    on_failure: continue
  - name: escalate
    escalate: {receiver: oncall, message: "{{ incident.id }} is {{ incident.state }}"}
    unless: incident.state == "acknowledged"
`
	t.Run("until comes true", func(t *testing.T) {
		w := newWorld()
		w.inc = Incident{ID: "inc-9", State: "new"}
		w.states = []string{"new", "new", "acknowledged"}
		recs := runWith(t, mustParse(t, untilPB), w, ApproveAll, Input{Incident: &w.inc})
		wantOutcomes(t, recs, "ack:wait:ok", "escalate:escalate:skipped")
		if recs[0].Detail != "until true after 4m0s" || recs[1].Time.Sub(t0) != 4*time.Minute {
			t.Errorf("wait = %q, next at +%v", recs[0].Detail, recs[1].Time.Sub(t0))
		}
	})
	t.Run("until times out", func(t *testing.T) {
		w := newWorld()
		w.inc = Incident{ID: "inc-9", State: "new"}
		recs := runWith(t, mustParse(t, untilPB), w, ApproveAll, Input{Incident: &w.inc})
		wantOutcomes(t, recs, "ack:wait:timeout", "escalate:escalate:ok")
		if got := recs[1].Time.Sub(t0); got != 10*time.Minute {
			t.Errorf("escalation at +%v, want +10m", got)
		}
		if log := w.log(); log[len(log)-1] != "page escalate oncall: inc-9 is new" {
			t.Errorf("last call = %q", log[len(log)-1])
		}
	})
}

// fixedAssessor scores every alert the same.
type fixedAssessor float64

func (f fixedAssessor) Assess(a *engine.Alert) { a.Risk, a.Confidence = float64(f), 0.5 }

func TestAssess(t *testing.T) {
	pb := mustParse(t, "name: p\ntriggers: [{scenario: x}]\nsteps:\n  - assess: {min_risk: 5}\n  - notify: {receiver: soc, message: 'risk {{ alert.risk }}'}\n")
	for _, tc := range []struct {
		risk float64
		want []string
		msg  string
	}{
		{4, []string{"assess-1:assess:ok", "notify-2:notify:skipped"}, ""},
		{6, []string{"assess-1:assess:ok", "notify-2:notify:ok"}, "notify notify-2 soc: risk 6"},
	} {
		w := newWorld()
		ex, err := NewExecutor(Options{Notifier: w, Assessor: fixedAssessor(tc.risk), Approver: PolicyApprover{Answer: ApproveAll}, Clock: NewVirtualClock(t0)})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := ex.Run(t.Context(), pb, Input{Alert: testAlert()})
		if err != nil {
			t.Fatal(err)
		}
		wantOutcomes(t, recs, tc.want...)
		if tc.msg != "" && (len(w.log()) != 1 || w.log()[0] != tc.msg) {
			t.Errorf("risk %v: calls = %v, want %q", tc.risk, w.log(), tc.msg)
		}
	}
}

func TestIncidentSteps(t *testing.T) {
	pb := mustParse(t, `name: p
triggers: [{scenario: x}]
steps:
  - name: open
    incident: {op: open, title: "{{ alert.scenario }} on {{ alert.host }}"}
  - name: again
    incident: {op: open}
  - name: contain
    incident: {op: update, state: contained}
  - name: tell
    notify: {receiver: soc, message: "{{ incident.id }} {{ incident.state }}"}
  - name: close
    incident: {op: close, reason: done}
`)
	w := newWorld()
	recs := runWith(t, pb, w, ApproveAll, Input{})
	wantOutcomes(t, recs, "open:incident:ok", "again:incident:skipped", "contain:incident:ok", "tell:notify:ok", "close:incident:ok")
	if recs[0].Ref != "inc-1" {
		t.Errorf("open ref = %q", recs[0].Ref)
	}
	if got := w.log()[2]; got != "notify tell soc: inc-1 contained" {
		t.Errorf("notification = %q", got)
	}
	// Without an incident, update fails (and stops by default).
	pb2 := mustParse(t, "name: p\ntriggers: [{scenario: x}]\nsteps:\n  - incident: {op: update, note: hi}\n  - wait: 1m\n")
	wantOutcomes(t, runWith(t, pb2, newWorld(), ApproveAll, Input{}), "incident-1:incident:failed", "wait-2:wait:skipped")
}

func TestMissingDependencyFailsTheStep(t *testing.T) {
	pb := mustParse(t, "name: p\ntriggers: [{scenario: x}]\nsteps:\n  - notify: {receiver: soc}\n    on_failure: continue\n  - remediate: {action: block, approval: auto}\n")
	ex, err := NewExecutor(Options{Approver: PolicyApprover{Answer: ApproveAll}, Clock: NewVirtualClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ex.Run(t.Context(), pb, Input{Alert: testAlert()})
	if err != nil {
		t.Fatal(err)
	}
	wantOutcomes(t, recs, "notify-1:notify:failed", "remediate-2:remediate:failed")
	if _, err := NewExecutor(Options{}); err == nil || !strings.Contains(err.Error(), "no clock") || !strings.Contains(err.Error(), "no approver") {
		t.Errorf("NewExecutor(no clock, no approver) = %v", err)
	}
}

func TestTargets(t *testing.T) {
	campaign := testAlert()
	campaign.Source = netip.Addr{}
	campaign.Prefixes = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.0/25")}
	tests := []struct {
		name   string
		target string
		alert  *engine.Alert
		want   string
	}{
		{"default single", "", testAlert(), "apply s block 198.51.100.7"},
		{"default campaign", "", campaign, "apply s block 203.0.113.0/24,198.51.100.0/25"},
		{"literal cidr masked", `target: '"203.0.113.9/24"'`, testAlert(), "apply s block 203.0.113.0/24"},
		{"list", `target: '[alert.source, "192.0.2.1"]'`, testAlert(), "apply s block 198.51.100.7,192.0.2.1"},
		{"empty source fails", `target: alert.source`, campaign, ""},
		{"garbage fails", `target: alert.host`, testAlert(), ""},
		{"number fails", `target: alert.count`, testAlert(), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pb := mustParse(t, "name: p\ntriggers: [{scenario: x}]\nsteps:\n  - name: s\n    remediate:\n      action: block\n      approval: auto\n      "+tc.target+"\n")
			w := newWorld()
			recs := runWith(t, pb, w, ApproveAll, Input{Alert: tc.alert})
			if tc.want == "" {
				if recs[0].Outcome != OutcomeFailed || len(w.log()) != 0 {
					t.Errorf("outcome %s, calls %v; want failed before any call", recs[0].Outcome, w.log())
				}
				return
			}
			if got := w.log(); len(got) != 1 || got[0] != tc.want {
				t.Errorf("calls = %v, want %q", got, tc.want)
			}
		})
	}
}

func TestCancelledRun(t *testing.T) {
	pb := mustParse(t, "name: p\ntriggers: [{scenario: x}]\nsteps:\n  - wait: 1m\n")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ex, err := NewExecutor(Options{Approver: PolicyApprover{Answer: ApproveAll}, Clock: NewVirtualClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Run(ctx, pb, Input{Alert: testAlert()}); err == nil {
		t.Error("Run on a cancelled context returned no error")
	}
}

// starterAlerts are one triggering alert per starter playbook.
func starterAlerts() map[string]Input {
	compromise := testAlert()
	compromise.Scenario, compromise.Risk = "ssh-compromise-suspected", 9.5
	campaign := testAlert()
	campaign.Scenario, campaign.Source, campaign.Sources, campaign.Key = "ssh-distributed-bruteforce", netip.Addr{}, 120, "host=gw1"
	campaign.Prefixes = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	ids := testAlert()
	ids.Scenario, ids.Description, ids.Labels = "ids-alert-critical", "ET EXPLOIT attempt", map[string]string{"service": "ids"}
	repeat := testAlert()
	return map[string]Input{
		"ssh-brute-force":      {Alert: testAlert()},
		"compromise-suspected": {Alert: compromise},
		"distributed-campaign": {Alert: campaign},
		"suricata-sev1":        {Alert: ids},
		"repeat-offender":      {Alert: repeat, Incident: &Incident{ID: "inc-7", State: "closed"}},
	}
}

// traceJSON renders a trace the way replay --playbooks prints it.
func traceJSON(t testing.TB, recs []Record) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestStarterTraces runs each starter playbook for its alert under
// auto-only approval and keeps the trace as a golden file; a second run
// must print the same bytes.
func TestStarterTraces(t *testing.T) {
	s, err := LoadFS(Starter(), "starter")
	if err != nil {
		t.Fatal(err)
	}
	inputs := starterAlerts()
	for _, pb := range s.Playbooks {
		t.Run(pb.Name, func(t *testing.T) {
			in, ok := inputs[pb.Name]
			if !ok {
				t.Fatalf("no alert for %s", pb.Name)
			}
			if !pb.Fires(in.Alert, in.Incident) {
				t.Fatalf("%s does not fire on its alert", pb.Name)
			}
			first := traceJSON(t, runWith(t, pb, newWorld(), ApproveAutoOnly, in))
			second := traceJSON(t, runWith(t, pb, newWorld(), ApproveAutoOnly, in))
			if first != second {
				t.Fatalf("same input, different trace:\n%s\n---\n%s", first, second)
			}
			golden.RequireEqual(t, first)
		})
	}
}

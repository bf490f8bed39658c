package playbooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Step outcomes in a trace.
const (
	OutcomeOK      = "ok"
	OutcomeFailed  = "failed"
	OutcomeSkipped = "skipped"
	OutcomeDenied  = "denied"
	OutcomeTimeout = "timeout"
)

// Trace record kinds besides the step kinds: a revert done by a rollback
// step or by on_failure: rollback, and the notification on_failure: notify
// sends.
const (
	KindRevert        = "revert"
	KindFailureNotice = "failure-notice"
)

// Record is one line of a run's trace: `phantomsoc replay --playbooks`
// prints them as JSON lines, so the fields and their order are part of the
// output format.
type Record struct {
	Playbook string    `json:"playbook"`
	AlertID  string    `json:"alert_id,omitempty"`
	Step     int       `json:"step"`
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Time     time.Time `json:"time"`
	Outcome  string    `json:"outcome"`
	Attempts int       `json:"attempts,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	// Ref is what the step produced: a remediation or evidence reference,
	// an incident ID.
	Ref string `json:"ref,omitempty"`
}

// Options are an Executor's dependencies. Clock and Approver are required;
// a step whose dependency is nil fails with a detail that says so.
type Options struct {
	Remediator Remediator
	Notifier   Notifier
	Collector  Collector
	Incidents  Incidents
	// Assessor re-scores the alert for assess steps; nil keeps the
	// alert's own scores.
	Assessor engine.Assessor
	Approver Approver
	Clock    Clock
	Logger   *slog.Logger
	// Observe, when set, is called with each trace record as the run makes
	// it, from the run's goroutine: a live run's steps reach the audit
	// trail while a wait is still waiting, not when the run ends.
	Observe func(Record)
}

// Executor runs playbooks. It keeps no state between runs, so one
// Executor serves concurrent runs if its dependencies do.
type Executor struct {
	o   Options
	log *slog.Logger
}

// NewExecutor checks o.
func NewExecutor(o Options) (*Executor, error) {
	var errs []error
	if o.Clock == nil {
		errs = append(errs, errors.New("playbook executor: no clock"))
	}
	if o.Approver == nil {
		errs = append(errs, errors.New("playbook executor: no approver"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Executor{o: o, log: log.With("component", "playbooks")}, nil
}

// Input is what a run acts on: the triggering alert and, when the alert
// belongs to one, its incident.
type Input struct {
	Alert    *engine.Alert
	Incident *Incident
}

// Run executes pb's steps in order for in and returns the trace: one
// record per step (skipped ones included), plus reverts and failure
// notices. Step failures are in the trace, not the error; the error is
// only ctx ending the run early.
func (e *Executor) Run(ctx context.Context, pb *Playbook, in Input) ([]Record, error) {
	if in.Alert == nil {
		return nil, fmt.Errorf("run playbook %s: no alert", pb.Name)
	}
	r := &run{e: e, pb: pb, alert: *in.Alert}
	r.env = Env{Alert: newAlertEnv(in.Alert), Incident: newIncidentEnv(in.Incident), Playbook: pb.Name}
	if in.Incident != nil {
		inc := *in.Incident
		r.incident = &inc
	}
	for i := range pb.Steps {
		if err := ctx.Err(); err != nil {
			return r.records, fmt.Errorf("run playbook %s at step %s: %w", pb.Name, pb.Steps[i].Name, err)
		}
		if stop := r.step(ctx, i); stop != "" {
			r.skipRest(i+1, stop)
			break
		}
	}
	return r.records, nil
}

// run is the state of one playbook run.
type run struct {
	e        *Executor
	pb       *Playbook
	alert    engine.Alert
	env      Env
	incident *Incident
	applied  []applied
	records  []Record
}

// applied is a remediation this run made, for rollback.
type applied struct {
	step    string
	ref     string
	timeout time.Duration
}

// result is what one step did.
type result struct {
	outcome string
	detail  string
	ref     string
	// stop ends the run after a successful step (assess below min_risk).
	stop string
	// extra records (reverts) follow the step's own.
	extra []Record
}

func ok(detail, ref string) result { return result{outcome: OutcomeOK, detail: detail, ref: ref} }

func failed(format string, args ...any) result {
	return result{outcome: OutcomeFailed, detail: fmt.Sprintf(format, args...)}
}

func (r *run) record(i int, name, kind string) Record {
	return Record{Playbook: r.pb.Name, AlertID: r.alert.ID, Step: i, Name: name, Kind: kind, Time: r.e.o.Clock.Now()}
}

// step runs pb.Steps[i] and returns why the run stops, or "".
func (r *run) step(ctx context.Context, i int) string {
	st := &r.pb.Steps[i]
	rec := r.record(i, st.Name, st.Kind)
	r.env.Now = rec.Time
	res := r.guard(st)
	if res.outcome == "" {
		res = r.do(ctx, st, &rec)
	}
	rec.Outcome, rec.Detail, rec.Ref = res.outcome, res.detail, res.ref
	r.add(rec)
	r.add(res.extra...)
	r.e.log.Debug("playbook step", "playbook", r.pb.Name, "alert_id", r.alert.ID, "step", st.Name, "kind", st.Kind, "outcome", rec.Outcome, "detail", rec.Detail)
	if res.stop != "" {
		return res.stop
	}
	if rec.Outcome != OutcomeFailed && rec.Outcome != OutcomeTimeout {
		return ""
	}
	return r.onFailure(ctx, i, st, rec)
}

// guard evaluates if and unless; an empty outcome means run the step.
func (r *run) guard(st *Step) result {
	if st.If != nil {
		v, err := st.If.bool(&r.env)
		if err != nil {
			return failed("if: %v", err)
		}
		if !v {
			return result{outcome: OutcomeSkipped, detail: "if is false: " + st.If.Source}
		}
	}
	if st.Unless != nil {
		v, err := st.Unless.bool(&r.env)
		if err != nil {
			return failed("unless: %v", err)
		}
		if v {
			return result{outcome: OutcomeSkipped, detail: "unless is true: " + st.Unless.Source}
		}
	}
	return result{}
}

// onFailure applies st's on_failure after a failed or timed-out step.
func (r *run) onFailure(ctx context.Context, i int, st *Step, rec Record) string {
	why := fmt.Sprintf("stopped: step %s %s", st.Name, rec.Outcome)
	switch st.OnFailure {
	case OnFailureContinue:
		return ""
	case OnFailureNotify:
		n := r.record(i, "on-failure", KindFailureNotice)
		msg := fmt.Sprintf("playbook %s: step %s (%s) %s: %s; the run stopped", r.pb.Name, st.Name, st.Kind, rec.Outcome, rec.Detail)
		res := r.attempts(ctx, st, &n, func(ctx context.Context) (string, string, error) {
			return r.notify(ctx, st.Name, r.pb.FailureReceiver, msg, true)
		})
		n.Outcome, n.Detail = res.outcome, res.detail
		r.add(n)
	case OnFailureRollback:
		r.add(r.revert(ctx, i, "")...)
		why += ", rolled back"
	}
	return why
}

// skipRest records the steps a stopped run never reached.
func (r *run) skipRest(from int, why string) {
	for i := from; i < len(r.pb.Steps); i++ {
		st := &r.pb.Steps[i]
		rec := r.record(i, st.Name, st.Kind)
		rec.Outcome, rec.Detail = OutcomeSkipped, why
		r.add(rec)
	}
}

// add appends recs to the trace and shows them to the observer.
func (r *run) add(recs ...Record) {
	r.records = append(r.records, recs...)
	if r.e.o.Observe != nil {
		for i := range recs {
			r.e.o.Observe(recs[i])
		}
	}
}

// attempts calls call up to 1+Retries times, each bounded by the step's
// timeout on ctx, with RetryDelay on the run's clock between them. The
// timeout is wall time on purpose: it guards against a gateway that hangs,
// which virtual time cannot see.
func (r *run) attempts(ctx context.Context, st *Step, rec *Record, call func(context.Context) (detail, ref string, err error)) result {
	var res result
	for attempt := 1; ; attempt++ {
		rec.Attempts = attempt
		actx, cancel := context.WithTimeout(ctx, st.Timeout)
		detail, ref, err := call(actx)
		cancel()
		switch {
		case err == nil:
			return ok(detail, ref)
		case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
			res = result{outcome: OutcomeTimeout, detail: fmt.Sprintf("no answer within %v", st.Timeout)}
		default:
			res = failed("%v", err)
		}
		if attempt > st.Retries || ctx.Err() != nil {
			return res
		}
		if err := r.e.o.Clock.Sleep(ctx, st.RetryDelay); err != nil {
			return res
		}
	}
}

// do runs the step's kind.
func (r *run) do(ctx context.Context, st *Step, rec *Record) result {
	switch st.Kind {
	case KindAssess:
		return r.assess(st.Assess)
	case KindNotify, KindEscalate:
		n := st.Notify
		if st.Kind == KindEscalate {
			n = st.Escalate
		}
		msg, err := n.Message.render(&r.env)
		if err != nil {
			return failed("message: %v", err)
		}
		if msg == "" {
			msg = r.defaultMessage()
		}
		return r.attempts(ctx, st, rec, func(ctx context.Context) (string, string, error) {
			return r.notify(ctx, st.Name, n.Receiver, msg, st.Kind == KindEscalate)
		})
	case KindRemediate:
		return r.remediate(ctx, st, rec)
	case KindCollect:
		return r.collect(ctx, st, rec)
	case KindWait:
		return r.wait(ctx, st)
	case KindIncident:
		return r.changeIncident(ctx, st, rec)
	case KindRollback:
		extra := r.revert(ctx, rec.Step, st.Rollback.Step)
		res := ok(fmt.Sprintf("reverted %d remediation(s)", len(extra)), "")
		for _, x := range extra {
			if x.Outcome != OutcomeOK {
				res = failed("%s of %s: %s", x.Outcome, x.Name, x.Detail)
			}
		}
		res.extra = extra
		return res
	}
	return failed("unknown step kind %q", st.Kind)
}

func (r *run) defaultMessage() string {
	target := strings.Join(r.env.Alert.Targets, ", ")
	if target == "" {
		target = r.env.Alert.Key
	}
	return fmt.Sprintf("%s: %s from %s (risk %.1f)", r.pb.Name, r.env.Alert.Scenario, target, r.env.Alert.Risk)
}

func (r *run) assess(a *AssessStep) result {
	if r.e.o.Assessor != nil {
		r.e.o.Assessor.Assess(&r.alert)
		r.env.Alert.Risk, r.env.Alert.Confidence = r.alert.Risk, r.alert.Confidence
	}
	res := ok(fmt.Sprintf("risk %.1f confidence %.2f", r.alert.Risk, r.alert.Confidence), "")
	if a.MinRisk > 0 && r.alert.Risk < a.MinRisk {
		res.detail += fmt.Sprintf(", below min_risk %.1f", a.MinRisk)
		res.stop = fmt.Sprintf("stopped: risk %.1f below min_risk %.1f", r.alert.Risk, a.MinRisk)
	}
	return res
}

func (r *run) notify(ctx context.Context, step, receiver, msg string, escalation bool) (string, string, error) {
	if r.e.o.Notifier == nil {
		return "", "", errors.New("no notifier wired")
	}
	n := Notification{
		Playbook: r.pb.Name, Step: step, AlertID: r.alert.ID, IncidentID: r.env.Incident.ID,
		Time: r.e.o.Clock.Now(), Receiver: receiver, Message: msg, Escalation: escalation,
	}
	if err := r.e.o.Notifier.Notify(ctx, n); err != nil {
		return "", "", fmt.Errorf("notify %s: %w", receiver, err)
	}
	return "to " + receiver + ": " + msg, "", nil
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = engine.PrefixString(p)
	}
	return strings.Join(s, ",")
}

func (r *run) remediate(ctx context.Context, st *Step, rec *Record) result {
	rs := st.Remediate
	targets, err := rs.Target.prefixes(&r.env)
	if err != nil {
		return failed("%v", err)
	}
	reason, err := rs.Reason.render(&r.env)
	if err != nil {
		return failed("reason: %v", err)
	}
	req := ApprovalRequest{Playbook: r.pb.Name, Step: st.Name, AlertID: r.alert.ID, Mode: rs.Approval, Action: rs.Action, Targets: targets, Risk: r.alert.Risk}
	yes, err := r.e.o.Approver.Approve(ctx, req)
	what := fmt.Sprintf("%s %s", rs.Action, prefixList(targets))
	if err != nil {
		return failed("approval of %s: %v", what, err)
	}
	if !yes {
		return result{outcome: OutcomeDenied, detail: fmt.Sprintf("%s not approved (approval: %s)", what, rs.Approval)}
	}
	if r.e.o.Remediator == nil {
		return failed("%s: no remediator wired", what)
	}
	rem := Remediation{
		Playbook: r.pb.Name, Step: st.Name, AlertID: r.alert.ID, Action: rs.Action, Targets: targets,
		TTL: rs.TTL, Gateways: rs.Gateways, Proto: rs.Proto, Port: rs.Port, Reason: reason, Risk: r.alert.Risk, Approval: rs.Approval,
	}
	res := r.attempts(ctx, st, rec, func(ctx context.Context) (string, string, error) {
		rem.Time = r.e.o.Clock.Now()
		ref, err := r.e.o.Remediator.Apply(ctx, rem)
		if err != nil {
			return "", "", fmt.Errorf("apply %s: %w", what, err)
		}
		return describeRemediation(what, rs), ref, nil
	})
	if res.outcome == OutcomeOK {
		r.applied = append(r.applied, applied{step: st.Name, ref: res.ref, timeout: st.Timeout})
	}
	return res
}

func describeRemediation(what string, rs *RemediateStep) string {
	var b strings.Builder
	b.WriteString(what)
	if len(rs.Gateways) > 0 {
		b.WriteString(" on " + strings.Join(rs.Gateways, ","))
	} else {
		b.WriteString(" on all gateways")
	}
	if rs.TTL > 0 {
		fmt.Fprintf(&b, " for %v", rs.TTL)
	}
	fmt.Fprintf(&b, " (approval: %s)", rs.Approval)
	return b.String()
}

// revert undoes this run's remediations, newest first (all of them, or
// one step's), and forgets them so nothing is reverted twice.
func (r *run) revert(ctx context.Context, i int, step string) []Record {
	var out []Record
	keep := r.applied[:0:0]
	for j := len(r.applied) - 1; j >= 0; j-- {
		a := r.applied[j]
		if step != "" && a.step != step {
			keep = append(keep, a)
			continue
		}
		rec := r.record(i, a.step, KindRevert)
		rec.Ref, rec.Attempts = a.ref, 1
		if r.e.o.Remediator == nil {
			rec.Outcome, rec.Detail = OutcomeFailed, "no remediator wired"
			out = append(out, rec)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, a.timeout)
		err := r.e.o.Remediator.Revert(rctx, a.ref)
		cancel()
		switch {
		case err == nil:
			rec.Outcome, rec.Detail = OutcomeOK, "reverted "+a.ref
		case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
			rec.Outcome, rec.Detail = OutcomeTimeout, fmt.Sprintf("no answer within %v", a.timeout)
		default:
			rec.Outcome, rec.Detail = OutcomeFailed, fmt.Sprintf("revert %s: %v", a.ref, err)
		}
		out = append(out, rec)
	}
	// keep was filled newest first; restore application order.
	for a, b := 0, len(keep)-1; a < b; a, b = a+1, b-1 {
		keep[a], keep[b] = keep[b], keep[a]
	}
	r.applied = keep
	return out
}

func (r *run) collect(ctx context.Context, st *Step, rec *Record) result {
	c := st.Collect
	targets, err := c.Target.prefixes(&r.env)
	if err != nil {
		return failed("%v", err)
	}
	if r.e.o.Collector == nil {
		return failed("%s: no collector wired", c.Evidence)
	}
	req := EvidenceRequest{
		Playbook: r.pb.Name, Step: st.Name, AlertID: r.alert.ID, IncidentID: r.env.Incident.ID,
		Type: c.Evidence, Targets: targets, Duration: c.Duration, Gateway: c.Gateway,
	}
	return r.attempts(ctx, st, rec, func(ctx context.Context) (string, string, error) {
		req.Time = r.e.o.Clock.Now()
		ref, err := r.e.o.Collector.Collect(ctx, req)
		if err != nil {
			return "", "", fmt.Errorf("collect %s: %w", c.Evidence, err)
		}
		return fmt.Sprintf("%s of %s", c.Evidence, prefixList(targets)), ref, nil
	})
}

// wait lets time pass on the run's clock: at once in a replay.
func (r *run) wait(ctx context.Context, st *Step) result {
	w := st.Wait
	clk := r.e.o.Clock
	if w.Until == nil {
		if err := clk.Sleep(ctx, w.For); err != nil {
			return failed("wait %v: %v", w.For, err)
		}
		return ok(fmt.Sprintf("waited %v", w.For), "")
	}
	start := clk.Now()
	for {
		if err := r.refreshIncident(ctx, st.Timeout); err != nil {
			return failed("%v", err)
		}
		r.env.Now = clk.Now()
		v, err := w.Until.bool(&r.env)
		if err != nil {
			return failed("until: %v", err)
		}
		waited := clk.Now().Sub(start)
		if v {
			return ok(fmt.Sprintf("until true after %v", waited), "")
		}
		if waited >= st.Timeout {
			return result{outcome: OutcomeTimeout, detail: fmt.Sprintf("until still false after %v: %s", waited, w.Until.Source)}
		}
		if err := clk.Sleep(ctx, min(w.Every, st.Timeout-waited)); err != nil {
			return failed("wait: %v", err)
		}
	}
}

// refreshIncident rereads the run's incident, so a wait sees an analyst's
// acknowledgement.
func (r *run) refreshIncident(ctx context.Context, timeout time.Duration) error {
	if r.incident == nil || r.e.o.Incidents == nil {
		return nil
	}
	gctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	inc, err := r.e.o.Incidents.Get(gctx, r.incident.ID)
	if err != nil {
		return fmt.Errorf("read incident %s: %w", r.incident.ID, err)
	}
	r.setIncident(inc)
	return nil
}

func (r *run) setIncident(inc Incident) {
	r.incident = &inc
	r.env.Incident = newIncidentEnv(&inc)
}

func (r *run) changeIncident(ctx context.Context, st *Step, rec *Record) result {
	s := st.Incident
	if s.Op == "open" && r.incident != nil {
		return result{outcome: OutcomeSkipped, detail: "incident " + r.incident.ID + " already open", ref: r.incident.ID}
	}
	if s.Op != "open" && r.incident == nil {
		return failed("%s: the alert has no incident", s.Op)
	}
	if r.e.o.Incidents == nil {
		return failed("incident %s: no incident store wired", s.Op)
	}
	c := IncidentChange{Op: s.Op, AlertID: r.alert.ID, Playbook: r.pb.Name, State: s.State, Severity: s.Severity, Tags: s.Tags}
	if r.incident != nil {
		c.ID = r.incident.ID
	}
	var err error
	for _, t := range []struct {
		dst *string
		src *Text
		f   string
	}{{&c.Title, s.Title, "title"}, {&c.Note, s.Note, "note"}, {&c.Reason, s.Reason, "reason"}} {
		if *t.dst, err = t.src.render(&r.env); err != nil {
			return failed("%s: %v", t.f, err)
		}
	}
	if s.Op == "open" && c.Title == "" {
		c.Title = r.defaultMessage()
	}
	if s.Op == "open" && c.Severity == 0 {
		c.Severity = r.alert.Risk
	}
	return r.attempts(ctx, st, rec, func(ctx context.Context) (string, string, error) {
		c.Time = r.e.o.Clock.Now()
		inc, err := r.e.o.Incidents.Change(ctx, c)
		if err != nil {
			return "", "", fmt.Errorf("incident %s: %w", s.Op, err)
		}
		r.setIncident(inc)
		return fmt.Sprintf("incident %s: %s (%s)", s.Op, inc.ID, inc.State), inc.ID, nil
	})
}

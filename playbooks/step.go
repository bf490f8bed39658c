package playbooks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// stepFields are the controls every step may carry, besides its kind.
func stepFields() []string {
	return []string{"name", "if", "unless", "timeout", "retries", "retry_delay", "on_failure"}
}

func onFailureValues() []string {
	return []string{OnFailureStop, OnFailureContinue, OnFailureNotify, OnFailureRollback}
}

// step decodes steps[i]; earlier steps are pb.Steps so far, which a
// rollback may name.
func (d *decoder) step(n ast.Node, field string, i int, pb *Playbook) (Step, bool) {
	known := append(stepFields(), Kinds()...)
	before := len(d.errs)
	fs, ok := d.fields(n, field, known)
	if !ok {
		return Step{}, false
	}
	st := Step{Pos: nodePos(n), OnFailure: OnFailureStop, RetryDelay: DefaultRetryDelay}
	var kinds []string
	for _, k := range Kinds() {
		if _, ok := fs[k]; ok {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 1:
		st.Kind = kinds[0]
	case len(kinds) > 1:
		d.add(fs[kinds[1]].keyPos, join(field, kinds[1]), "a step has one kind; this one also has %q", kinds[0])
	case len(d.errs) == before:
		// With an unknown key already reported (a misspelt kind), this
		// would say the same thing twice.
		d.add(st.Pos, field, "a step needs one of %s", strings.Join(Kinds(), ", "))
	}
	if e, ok := fs["name"]; ok {
		st.Name = d.name(e.val, join(field, "name"))
	}
	if st.Name == "" {
		st.Name = fmt.Sprintf("%s-%d", st.Kind, i+1)
	}
	if e, ok := fs["if"]; ok {
		st.If = d.expr(e.val, join(field, "if"), true)
	}
	if e, ok := fs["unless"]; ok {
		st.Unless = d.expr(e.val, join(field, "unless"), true)
	}
	if e, ok := fs["retries"]; ok {
		st.Retries = int(d.number(e.val, join(field, "retries"), 0, maxRetries))
	}
	if e, ok := fs["retry_delay"]; ok {
		st.RetryDelay = d.duration(e.val, join(field, "retry_delay"))
	}
	if e, ok := fs["on_failure"]; ok {
		f := join(field, "on_failure")
		if v := d.oneOf(e.val, f, onFailureValues()); v != "" {
			st.OnFailure = v
		}
		if st.OnFailure == OnFailureNotify && pb.FailureReceiver == "" {
			d.add(nodePos(e.val), f, "on_failure: notify needs the playbook's failure_receiver")
		}
	}
	timeout, hasTimeout := fs["timeout"]
	if hasTimeout {
		st.Timeout = d.duration(timeout.val, join(field, "timeout"))
	}
	if st.Kind == "" {
		return st, false
	}
	kf := join(field, st.Kind)
	kv := fs[st.Kind].val
	switch st.Kind {
	case KindAssess:
		st.Assess = d.assess(kv, kf)
	case KindNotify:
		st.Notify = d.notify(kv, kf, pb)
	case KindEscalate:
		st.Escalate = d.notify(kv, kf, pb)
	case KindRemediate:
		st.Remediate = d.remediate(kv, kf, pb)
	case KindCollect:
		st.Collect = d.collect(kv, kf, pb)
	case KindWait:
		st.Wait = d.wait(kv, kf)
		switch {
		case st.Wait != nil && st.Wait.For > 0 && hasTimeout:
			d.add(timeout.keyPos, join(field, "timeout"), "a wait for a fixed duration takes no timeout")
		case st.Wait != nil && st.Wait.Until != nil && st.Timeout == 0:
			st.Timeout = DefaultWaitTimeout
		}
	case KindIncident:
		st.Incident = d.incident(kv, kf)
	case KindRollback:
		st.Rollback = d.rollback(kv, kf, pb.Steps)
	}
	if st.Timeout == 0 && st.Kind != KindWait {
		st.Timeout = DefaultTimeout
	}
	return st, len(d.errs) == before
}

// body reads a kind's settings; null (`rollback:`) is an empty mapping.
func (d *decoder) body(n ast.Node, field string, known []string) (map[string]entry, bool) {
	if isNull(n) {
		return map[string]entry{}, true
	}
	return d.fields(n, field, known)
}

func (d *decoder) assess(n ast.Node, field string) *AssessStep {
	fs, ok := d.body(n, field, []string{"min_risk"})
	if !ok {
		return nil
	}
	return &AssessStep{MinRisk: d.number(fs["min_risk"].val, join(field, "min_risk"), 0, 10)}
}

func (d *decoder) receiver(fs map[string]entry, field string, pb *Playbook) string {
	e, ok := fs["receiver"]
	f := join(field, "receiver")
	if !ok {
		d.add(Pos{}, f, "required")
		return ""
	}
	name := d.str(e.val, f)
	if name == "" {
		d.add(nodePos(e.val), f, "required")
		return ""
	}
	pb.refs = append(pb.refs, ref{kind: "receiver", name: name, field: f, pos: nodePos(e.val)})
	return name
}

func (d *decoder) notify(n ast.Node, field string, pb *Playbook) *NotifyStep {
	fs, ok := d.fields(n, field, []string{"receiver", "message"})
	if !ok {
		return nil
	}
	if _, ok := fs["receiver"]; !ok {
		d.add(nodePos(n), join(field, "receiver"), "required")
		return nil
	}
	return &NotifyStep{Receiver: d.receiver(fs, field, pb), Message: d.text(fs["message"].val, join(field, "message"))}
}

// defaultTarget is what remediate and collect act on unless told: the
// campaign's prefixes or the single source.
const defaultTarget = "alert.targets"

func (d *decoder) target(fs map[string]entry, field string) *Expr {
	if e, ok := fs["target"]; ok {
		return d.expr(e.val, join(field, "target"), false)
	}
	e, _, _, err := compileExpr(defaultTarget, false)
	if err != nil { // the default is ours; a failure here is a bug in Env
		d.add(Pos{}, join(field, "target"), "default target: %v", err)
	}
	return e
}

func (d *decoder) remediate(n ast.Node, field string, pb *Playbook) *RemediateStep {
	fs, ok := d.fields(n, field, []string{"action", "target", "ttl", "gateways", "approval", "proto", "port", "reason"})
	if !ok {
		return nil
	}
	r := &RemediateStep{Approval: ApprovalRequired}
	r.Action = d.requiredOneOf(fs, n, field, "action", RemediationActions())
	r.Target = d.target(fs, field)
	if e, ok := fs["ttl"]; ok {
		r.TTL = d.duration(e.val, join(field, "ttl"))
	}
	if e, ok := fs["gateways"]; ok {
		f := join(field, "gateways")
		names, pos := d.list(e.val, f)
		for i, g := range names {
			pb.refs = append(pb.refs, ref{kind: "gateway", name: g, field: fmt.Sprintf("%s[%d]", f, i), pos: pos[i]})
		}
		r.Gateways = names
	}
	if e, ok := fs["approval"]; ok {
		if v := d.oneOf(e.val, join(field, "approval"), []string{ApprovalRequired, ApprovalAuto, ApprovalPolicy}); v != "" {
			r.Approval = v
		}
	}
	for _, k := range []string{"proto", "port"} {
		if e, ok := fs[k]; ok && r.Action != "" && r.Action != "firewall" {
			d.add(e.keyPos, join(field, k), "only a firewall action takes %s", k)
		}
	}
	if e, ok := fs["proto"]; ok {
		r.Proto = d.oneOf(e.val, join(field, "proto"), []string{"tcp", "udp"})
	}
	if e, ok := fs["port"]; ok {
		r.Port = int(d.number(e.val, join(field, "port"), 1, 65535))
	}
	r.Reason = d.text(fs["reason"].val, join(field, "reason"))
	return r
}

func (d *decoder) collect(n ast.Node, field string, pb *Playbook) *CollectStep {
	fs, ok := d.fields(n, field, []string{"evidence", "target", "duration", "gateway"})
	if !ok {
		return nil
	}
	c := &CollectStep{}
	c.Evidence = d.requiredOneOf(fs, n, field, "evidence", EvidenceTypes())
	c.Target = d.target(fs, field)
	if e, ok := fs["duration"]; ok {
		f := join(field, "duration")
		c.Duration = d.duration(e.val, f)
		switch {
		case c.Evidence != "" && !slices.Contains([]string{"pcap", "logs", "auth-history"}, c.Evidence):
			d.add(e.keyPos, f, "only pcap, logs and auth-history take a duration")
		case c.Evidence == "pcap" && c.Duration > maxPcap:
			d.add(nodePos(e.val), f, "a capture is capped at %v", maxPcap)
		}
	} else if c.Evidence == "pcap" {
		d.add(nodePos(n), join(field, "duration"), "required for pcap (at most %v)", maxPcap)
	}
	if e, ok := fs["gateway"]; ok {
		f := join(field, "gateway")
		c.Gateway = d.str(e.val, f)
		if c.Gateway != "" {
			pb.refs = append(pb.refs, ref{kind: "gateway", name: c.Gateway, field: f, pos: nodePos(e.val)})
		}
	}
	return c
}

func (d *decoder) wait(n ast.Node, field string) *WaitStep {
	if u, ok := d.unwrap(n, field); ok {
		if _, isScalar := scalar(u); isScalar {
			// wait: 5m is short for wait: {for: 5m}.
			return &WaitStep{For: d.duration(u, field)}
		}
	}
	fs, ok := d.fields(n, field, []string{"for", "until", "every"})
	if !ok {
		return nil
	}
	w := &WaitStep{}
	_, hasFor := fs["for"]
	_, hasUntil := fs["until"]
	switch {
	case hasFor && hasUntil:
		d.add(fs["until"].keyPos, join(field, "until"), "a wait has for or until, not both")
	case !hasFor && !hasUntil:
		d.add(nodePos(n), field, "a wait needs for (a duration) or until (a condition)")
	}
	if e, ok := fs["for"]; ok {
		w.For = d.duration(e.val, join(field, "for"))
	}
	if e, ok := fs["until"]; ok {
		w.Until = d.expr(e.val, join(field, "until"), true)
		w.Every = DefaultWaitEvery
	}
	if e, ok := fs["every"]; ok {
		if !hasUntil {
			d.add(e.keyPos, join(field, "every"), "every goes with until")
		}
		w.Every = d.duration(e.val, join(field, "every"))
	}
	return w
}

func (d *decoder) incident(n ast.Node, field string) *IncidentStep {
	fs, ok := d.fields(n, field, []string{"op", "title", "state", "severity", "tags", "note", "reason"})
	if !ok {
		return nil
	}
	s := &IncidentStep{}
	s.Op = d.requiredOneOf(fs, n, field, "op", []string{"open", "update", "close"})
	s.Title = d.text(fs["title"].val, join(field, "title"))
	if e, ok := fs["state"]; ok {
		f := join(field, "state")
		s.State = d.oneOf(e.val, f, IncidentStates())
		switch {
		case s.Op != "" && s.Op != "update":
			d.add(e.keyPos, f, "only op: update sets a state")
		case s.State == "none" || s.State == "new":
			d.add(nodePos(e.val), f, "an update cannot move an incident back to %q", s.State)
		case s.State == "closed":
			d.add(nodePos(e.val), f, "use op: close with a reason")
		}
	}
	if e, ok := fs["severity"]; ok {
		s.Severity = d.number(e.val, join(field, "severity"), 0, 10)
	}
	s.Tags, _ = d.list(fs["tags"].val, join(field, "tags"))
	s.Note = d.text(fs["note"].val, join(field, "note"))
	s.Reason = d.text(fs["reason"].val, join(field, "reason"))
	if e, ok := fs["title"]; ok && s.Op != "" && s.Op != "open" {
		d.add(e.keyPos, join(field, "title"), "only op: open takes a title")
	}
	if s.Op == "close" && s.Reason == nil {
		d.add(nodePos(n), join(field, "reason"), "closing needs a reason")
	}
	if s.Op == "update" && s.State == "" && s.Severity == 0 && len(s.Tags) == 0 && s.Note == nil {
		d.add(nodePos(n), field, "an update needs state, severity, tags or note")
	}
	return s
}

func (d *decoder) rollback(n ast.Node, field string, earlier []Step) *RollbackStep {
	fs, ok := d.body(n, field, []string{"step"})
	if !ok {
		return nil
	}
	r := &RollbackStep{}
	if e, ok := fs["step"]; ok {
		f := join(field, "step")
		r.Step = d.str(e.val, f)
		found := false
		for _, s := range earlier {
			if s.Name == r.Step && s.Kind == KindRemediate {
				found = true
			}
		}
		if !found {
			d.add(nodePos(e.val), f, "no earlier remediate step named %q", r.Step)
		}
	}
	return r
}

// requiredOneOf reads key of the mapping n, which must be present and one
// of want.
func (d *decoder) requiredOneOf(fs map[string]entry, n ast.Node, field, key string, want []string) string {
	e, ok := fs[key]
	if !ok {
		d.add(nodePos(n), join(field, key), "required (one of %s)", strings.Join(want, ", "))
		return ""
	}
	return d.oneOf(e.val, join(field, key), want)
}

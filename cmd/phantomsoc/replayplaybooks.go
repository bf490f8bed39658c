package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/incident"
	"github.com/phantomsoc/phantomsoc/playbooks"
	"github.com/phantomsoc/phantomsoc/store"
)

// replayPlaybooks runs the playbooks an alert triggers, as a replay would
// have: on a virtual clock at the alert's event time, with approvals
// answered by --approve, and nothing applied, sent or collected — each
// action is recorded in the trace instead. The printer calls it right after
// an alert and its decisions, so the trace interleaves with them in event
// order whatever the commit boundaries were.
type replayPlaybooks struct {
	set   *playbooks.Set
	exec  *playbooks.Executor
	clock *playbooks.VirtualClock
	// inc is the replay's incident manager: playbooks see and change the
	// incidents the replay builds, as live runs do.
	inc *incident.Manager
	// outcomes counts step records by outcome, runs the playbooks run.
	outcomes map[string]int
	runs     int
}

// newReplayPlaybooks loads dirs. With checkNames (a --config was given),
// the receivers and gateways the playbooks name must be configured, as
// `playbooks lint` checks them; the embedded defaults configure none.
func newReplayPlaybooks(cfg *Config, dirs []string, approve string, checkNames bool, inc *incident.Manager, db *store.DB) (*replayPlaybooks, error) {
	set, err := loadPlaybooks(dirs)
	if err != nil {
		return nil, fmt.Errorf("--playbooks: %w", err)
	}
	if checkNames {
		if err := set.Validate(configuredNames(cfg)); err != nil {
			return nil, fmt.Errorf("--playbooks: %w", err)
		}
	}
	ap, err := playbooks.ParsePolicyApprover(approve)
	if err != nil {
		return nil, fmt.Errorf("--approve: %w", err)
	}
	policy := cfg.Enforcement.Options().Approval
	ap.PolicyAuto = func(action string, risk float64) bool { return actions.NeedsApproval(policy, action, risk) == "" }
	r := &replayPlaybooks{set: set, clock: playbooks.NewVirtualClock(time.Time{}), inc: inc, outcomes: map[string]int{}}
	rec := replayRecorder{}
	r.exec, err = playbooks.NewExecutor(playbooks.Options{
		Remediator: rec, Notifier: rec, Collector: rec, Incidents: playbookIncidents{m: inc, db: db}, Approver: ap, Clock: r.clock,
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// configuredNames are the receivers and gateways of cfg, which replayed
// playbooks may name.
func configuredNames(cfg *Config) playbooks.Known {
	k := playbooks.Known{Receivers: []string{}, Gateways: []string{}}
	for _, rc := range cfg.Receivers {
		k.Receivers = append(k.Receivers, rc.Name)
	}
	for _, gc := range cfg.Enforcement.Gateways {
		k.Gateways = append(k.Gateways, gc.Name)
	}
	return k
}

// run folds a and its decisions into the incidents, then runs a's
// playbooks and writes their trace to w. Alert by alert, not commit by
// commit: a playbook must see the incident as it was when its alert came,
// whatever else the same commit held, or the trace would depend on how
// commits were grouped.
func (r *replayPlaybooks) run(ctx context.Context, a *engine.Alert, ds []*engine.Decision, w io.Writer, asJSON bool) error {
	c := &engine.Commit{Alerts: []engine.Alert{*a}}
	for _, d := range ds {
		c.Decisions = append(c.Decisions, *d)
	}
	r.inc.Observe(c) // saved once per commit, by flush
	inc := r.incidentOf(a.ID)
	for _, pb := range r.set.Match(a, inc) {
		r.clock.Set(a.Time)
		recs, err := r.exec.Run(ctx, pb, playbooks.Input{Alert: a, Incident: inc})
		if err != nil {
			return err
		}
		r.runs++
		for i := range recs {
			r.outcomes[recs[i].Outcome]++
			if err := writeStep(w, &recs[i], asJSON); err != nil {
				return err
			}
		}
		inc = r.incidentOf(a.ID) // a step may have changed it
	}
	return nil
}

// flush saves the incidents of the commit the printer just wrote.
func (r *replayPlaybooks) flush(ctx context.Context) { r.inc.Flush(ctx) }

// incidentOf is the incident alertID is in, as playbooks see it; nil when
// it is in none.
func (r *replayPlaybooks) incidentOf(alertID string) *playbooks.Incident {
	return playbookIncidentOf(r.inc, alertID)
}

// stepRecord is a playbook step in `replay --playbooks --output json`: the
// playbooks trace record under "kind": "step", its own kind as step_kind.
type stepRecord struct {
	Kind     string `json:"kind"`
	Playbook string `json:"playbook"`
	AlertID  string `json:"alert_id,omitempty"`
	Step     int    `json:"step"`
	Name     string `json:"name"`
	StepKind string `json:"step_kind"`
	Time     string `json:"time"`
	Outcome  string `json:"outcome"`
	Attempts int    `json:"attempts,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Ref      string `json:"ref,omitempty"`
}

func writeStep(w io.Writer, rec *playbooks.Record, asJSON bool) error {
	if asJSON {
		return writeJSON(w, stepRecord{Kind: "step", Playbook: rec.Playbook, AlertID: rec.AlertID, Step: rec.Step, Name: rec.Name,
			StepKind: rec.Kind, Time: fmtTime(rec.Time), Outcome: rec.Outcome, Attempts: rec.Attempts, Detail: rec.Detail, Ref: rec.Ref})
	}
	_, err := fmt.Fprintf(w, "%s STEP     %s %-28s %-9s %-8s %s\n",
		rec.Time.UTC().Format(time.RFC3339), rec.AlertID, rec.Playbook+"/"+rec.Name, rec.Kind, rec.Outcome, rec.Detail)
	return err
}

// summary is one line on what the playbooks did.
func (r *replayPlaybooks) summary() string {
	var parts []string
	for _, o := range slices.Sorted(maps.Keys(r.outcomes)) {
		parts = append(parts, fmt.Sprintf("%d %s", r.outcomes[o], o))
	}
	if len(parts) == 0 {
		parts = []string{"no steps"}
	}
	return fmt.Sprintf("playbooks: %d runs; steps: %s", r.runs, strings.Join(parts, ", "))
}

// replayRecorder stands in for the enforcer, the notifiers and the evidence
// collector: a replay acts on nothing, and its trace says what would have
// been done. References are derived from the request, so the same input
// gives the same trace.
type replayRecorder struct{}

func (replayRecorder) Apply(_ context.Context, r playbooks.Remediation) (string, error) {
	return "replay:" + r.Playbook + "/" + r.Step + "/" + r.AlertID, nil
}

func (replayRecorder) Revert(context.Context, string) error { return nil }

func (replayRecorder) Notify(context.Context, playbooks.Notification) error { return nil }

func (replayRecorder) Collect(_ context.Context, r playbooks.EvidenceRequest) (string, error) {
	return "replay:" + r.Type + "/" + r.AlertID, nil
}

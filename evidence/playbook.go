package evidence

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/playbooks"
)

// Playbook adapts a Collector to playbooks.Collector: a collect step's
// targets, duration and gateway become one request per target.
type Playbook struct {
	C *Collector
}

var _ playbooks.Collector = Playbook{}

// Collect gathers the step's evidence about each target and returns the
// items' hashes, comma-separated.
func (p Playbook) Collect(ctx context.Context, r playbooks.EvidenceRequest) (string, error) {
	base := Request{
		Type: r.Type, Incident: r.IncidentID, Collector: "playbook:" + r.Playbook,
		Gateway: r.Gateway, Duration: r.Duration,
	}
	switch r.Type {
	case engine.EvidenceLogs, engine.EvidenceAuthHistory:
		// The duration is the window before the step, up to its time.
		if r.Duration > 0 {
			base.From = r.Time.Add(-r.Duration)
		}
		base.To, base.Duration = r.Time, 0
	case engine.EvidenceRuleset:
		base.Duration = 0
	}
	if r.Type == engine.EvidenceAuthHistory {
		users, err := p.alertUsers(r.AlertID)
		if err != nil {
			return "", err
		}
		base.Users = users
	}
	// Logs, auth history and the ruleset are about the gateway or the
	// file, not one target: one item.
	if len(r.Targets) == 0 || r.Type == engine.EvidenceLogs || r.Type == engine.EvidenceAuthHistory || r.Type == engine.EvidenceRuleset {
		it, err := p.C.Collect(ctx, base)
		if err != nil {
			return "", err
		}
		return it.ID, nil
	}
	var refs []string
	var errs []error
	for _, t := range r.Targets {
		req := base
		req.Target = t
		it, err := p.C.Collect(ctx, req)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t, err))
			continue
		}
		refs = append(refs, it.ID)
	}
	return strings.Join(refs, ","), errors.Join(errs...)
}

// alertUsers are the users the alert names: whose history to take.
func (p Playbook) alertUsers(id string) ([]string, error) {
	if p.C.o.History == nil || id == "" {
		return nil, invalid("auth-history: no alert to take the users from")
	}
	a, err := p.C.o.History.Alert(id)
	if err != nil {
		return nil, fmt.Errorf("auth-history: alert %s: %w", id, err)
	}
	users := append(append([]string(nil), a.Users...), a.Blast.Users...)
	if len(users) == 0 {
		return nil, invalid("auth-history: alert %s names no user", id)
	}
	return users, nil
}

package main

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/incident"
	"github.com/phantomsoc/phantomsoc/evidence"
)

// rulesetEvidence records a gateway's table before and after every
// enforcement apply (enforcement.ruleset_evidence), as evidence of the
// incidents of the decisions applied. The collector arrives after the
// enforcer is built, since it reads gateways through the enforcer's SSH
// connections; until then applies run unrecorded.
type rulesetEvidence struct {
	col atomic.Pointer[evidence.Collector]
	inc atomic.Pointer[incident.Manager]
	log *slog.Logger
}

// Bracket implements actions.Snapshotter.
func (r *rulesetEvidence) Bracket(ctx context.Context, gateway, actor string, ds []*engine.Decision, apply func(context.Context) error) error {
	col := r.col.Load()
	if col == nil || len(ds) == 0 {
		return apply(ctx)
	}
	// A decision without an alert (a manual block) or whose alert is in
	// no incident gives items of no incident: still in the audit trail.
	var incs []string
	for _, d := range ds {
		id := ""
		if m := r.inc.Load(); m != nil && d.AlertID != "" {
			if b, ok := m.BriefOf(d.AlertID); ok {
				id = b.ID
			}
		}
		if !slices.Contains(incs, id) {
			incs = append(incs, id)
		}
	}
	req := evidence.Request{Gateway: gateway, Incident: incs[0], Collector: actor, Ref: ds[0].ID}
	_, _, applyErr, err := col.Bracket(ctx, req, incs[1:], apply)
	if err != nil {
		r.log.Warn("ruleset evidence around an action", "gateway", gateway, "decision", ds[0].ID, "err", err)
	}
	return applyErr
}

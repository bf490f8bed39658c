package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/actions/netlink"
	"github.com/phantomsoc/phantomsoc/actions/sshgw"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/incident"
	"github.com/phantomsoc/phantomsoc/evidence"
	"github.com/phantomsoc/phantomsoc/store"
)

// enforcement is the Enforcer with the gateways it drives and the
// connection loops of the SSH ones.
type enforcement struct {
	enf     *actions.Enforcer
	ssh     []*sshgw.Gateway
	closers []io.Closer
	// rulesets is set when enforcement.ruleset_evidence asks for the
	// table around every action; recordRulesets completes it.
	rulesets *rulesetEvidence
	journal  *approvalJournal
	// approval is the enforcer's approval policy (nil: the default).
	approval map[string]actions.Approval
}

// approvalJournal is the store as the enforcer's journal. Once an incident
// manager follows it, an approval it records also contains the approved
// decision's incident.
type approvalJournal struct {
	*store.DB
	inc atomic.Pointer[incident.Manager]
	log *slog.Logger
}

func (j *approvalJournal) Record(ctx context.Context, ch *engine.Change) error {
	if err := j.DB.Record(ctx, ch); err != nil {
		return err
	}
	m := j.inc.Load()
	if m == nil {
		return nil
	}
	for _, n := range ch.Notes {
		if n.Action != actions.AuditApproved {
			continue
		}
		for i := range ch.Decisions {
			d := &ch.Decisions[i]
			if d.ID != n.Subject || d.State != engine.StateActive {
				continue
			}
			if err := m.Approved(ctx, incident.Op{Actor: n.Actor, Time: n.Time}, d); err != nil {
				// The approval is durable; only the incident's contained
				// time is missing, which an analyst can still set.
				j.log.Error("mark the incident of an approved decision contained", "decision", d.ID, "err", err)
			}
		}
	}
	return nil
}

var _ actions.Journal = (*store.DB)(nil)

// buildEnforcement wires the gateways of cfg to an Enforcer over db.
func buildEnforcement(cfg *Config, db *store.DB, dryRun bool, dryOut io.Writer, logger *slog.Logger) (*enforcement, error) {
	ec := &cfg.Enforcement
	layout, err := ec.Layout()
	if err != nil {
		return nil, fmt.Errorf("enforcement: %w", err)
	}
	opts := ec.Options()
	opts.DryRun, opts.DryRunOut, opts.Logger = dryRun, dryOut, logger
	for _, p := range cfg.Policy.Allowlist {
		pr, err := actions.ParseTarget(p)
		if err != nil {
			return nil, fmt.Errorf("policy.allowlist: %w", err)
		}
		opts.Guard.Protected = append(opts.Guard.Protected, actions.Protected{Prefix: pr, Why: "allowlist"})
	}
	for _, p := range protectedRanges() {
		opts.Guard.Protected = append(opts.Guard.Protected, actions.Protected{Prefix: p.Prefix, Why: p.Why})
	}
	out := &enforcement{journal: &approvalJournal{DB: db, log: logger.With("component", "enforce")}, approval: opts.Approval}
	if ec.RulesetEvidence && !dryRun {
		out.rulesets = &rulesetEvidence{log: logger.With("component", "enforce")}
		opts.Snapshots = out.rulesets
	}
	var gws []actions.Gateway
	for _, gc := range ec.Gateways {
		gw := actions.Gateway{Name: gc.Name, Shield: ec.ManagementShield(gc)}
		switch gc.Type {
		case actions.GatewayLocal:
			ns := ""
			if gc.NetNS != "" {
				ns = "/var/run/netns/" + gc.NetNS
			}
			b, err := netlink.New(layout, ns)
			if err != nil {
				out.Close()
				return nil, fmt.Errorf("gateway %s: %w", gc.Name, err)
			}
			gw.Backend = b
			out.closers = append(out.closers, b)
		case actions.GatewaySSH:
			g, err := sshgw.New(sshgw.Config{Name: gc.Name, Addr: gc.Address, User: gc.User, KnownHosts: gc.KnownHosts, KeyFile: gc.KeyFile, Sudo: gc.Sudo}, layout, logger)
			if err != nil {
				out.Close()
				return nil, fmt.Errorf("gateway %s: %w", gc.Name, err)
			}
			gw.Backend, gw.Session = g, g.RemoteClient
			if port := sshPort(gc.Address); port != 0 {
				gw.Shield.SSHPort = port
			}
			out.ssh = append(out.ssh, g)
			out.closers = append(out.closers, g)
		}
		gws = append(gws, gw)
	}
	out.enf, err = actions.New(opts, gws, out.journal)
	if err != nil {
		out.Close()
		return nil, err
	}
	return out, nil
}

// followIncidents tells m what enforcement does to its incidents: the
// approvals that contain them, and the incident of each decision whose
// rulesets are kept.
func (e *enforcement) followIncidents(m *incident.Manager) {
	approval := e.approval
	m.WaitsForApproval(func(d *engine.Decision) bool { return actions.NeedsApproval(approval, d.Action, d.Risk) != "" })
	e.journal.inc.Store(m)
	if e.rulesets != nil {
		e.rulesets.inc.Store(m)
	}
}

// recordRulesets starts the ruleset snapshots around actions, when the
// config asks for them: col reads the gateways.
func (e *enforcement) recordRulesets(col *evidence.Collector) {
	if e.rulesets != nil {
		e.rulesets.col.Store(col)
	}
}

func sshPort(addr string) uint16 {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Port()
	}
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			n, err := strconv.ParseUint(addr[i+1:], 10, 16)
			if err == nil {
				return uint16(n)
			}
			break
		}
	}
	return 22
}

// run starts the SSH connection loops and the Enforcer, and returns when
// ctx ends and all of them have stopped.
func (e *enforcement) run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(e.ssh)+1)
	for i, g := range e.ssh {
		wg.Go(func() { errs[i] = g.Run(ctx) })
	}
	wg.Go(func() { errs[len(e.ssh)] = e.enf.Run(ctx) })
	for _, g := range e.ssh {
		// A gateway coming back gets its pending actions at once, not at
		// the next reconcile interval.
		wg.Go(func() {
			for {
				ch := g.Changed()
				select {
				case <-ctx.Done():
					return
				case <-ch:
					if g.Up() {
						e.enf.Reconcile(ctx)
					}
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close releases every gateway.
func (e *enforcement) Close() error {
	var errs []error
	for _, c := range e.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// logWriter turns dry-run batches into log records, one per batch.
type logWriter struct{ log *slog.Logger }

func (l *logWriter) Write(p []byte) (int, error) {
	l.log.Info("dry run: nft batch not applied", "batch", string(p))
	return len(p), nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/store"
)

// reader is what the listing commands read: the store itself, or the
// process that owns it, over the control socket.
type reader interface {
	Alerts(q store.AlertQuery) ([]engine.Alert, error)
	Alert(id string) (engine.Alert, error)
	Decisions(q store.DecisionQuery) ([]engine.Decision, error)
	AuditList(from uint64, limit int) ([]store.AuditRecord, error)
	VerifyAudit() (store.VerifyReport, error)
	Info() (store.Info, error)
	Stats() (engine.Stats, error)
	Rejects(limit int) ([]engine.Reject, error)
	Enforcements(ids []string) (map[string][]engine.Enforcement, error)
	AuditTail(n int) ([]store.AuditRecord, error)
	Sources(limit int) ([]store.SourceSummary, error)
}

var _ reader = (*store.DB)(nil)

// pruneCut is the prune call's arguments.
type pruneCut struct {
	Before          time.Time `json:"before"`
	OffendersBefore time.Time `json:"offenders_before"`
}

// pruneCutFor is what a prune with retention deletes at now: escalation
// memory is kept for the policy's forget_after when that is longer.
func pruneCutFor(cfg *Config, now time.Time, retention time.Duration) pruneCut {
	c := pruneCut{Before: now.Add(-retention), OffendersBefore: now.Add(-retention)}
	if f := now.Add(-cfg.Policy.Escalation.ForgetAfter); f.Before(c.OffendersBefore) {
		c.OffendersBefore = f
	}
	return c
}

// auditPage is the audit-list call's arguments.
type auditPage struct {
	From  uint64 `json:"from"`
	Limit int    `json:"limit"`
}

// serveReader exposes db's reads on the control socket, so commands work
// while this process owns the database.
func serveReader(srv *control.Server, db *store.DB) {
	handle := func(name string, fn func(args []byte) (any, error)) {
		srv.Handle(name, func(args []byte) (any, error) {
			res, err := fn(args)
			if errors.Is(err, store.ErrNotFound) {
				err = fmt.Errorf("%w: %v", control.ErrNotFound, err)
			}
			return res, err
		})
	}
	handle("alerts", func(args []byte) (any, error) {
		var q store.AlertQuery
		if err := json.Unmarshal(args, &q); err != nil {
			return nil, err
		}
		return db.Alerts(q)
	})
	handle("alert", func(args []byte) (any, error) {
		var id string
		if err := json.Unmarshal(args, &id); err != nil {
			return nil, err
		}
		return db.Alert(id)
	})
	handle("decisions", func(args []byte) (any, error) {
		var q store.DecisionQuery
		if err := json.Unmarshal(args, &q); err != nil {
			return nil, err
		}
		return db.Decisions(q)
	})
	handle("audit", func(args []byte) (any, error) {
		var p auditPage
		if err := json.Unmarshal(args, &p); err != nil {
			return nil, err
		}
		return db.AuditList(p.From, p.Limit)
	})
	handle("audit-verify", func([]byte) (any, error) { return db.VerifyAudit() })
	handle("prune", func(args []byte) (any, error) {
		var c pruneCut
		if err := json.Unmarshal(args, &c); err != nil {
			return nil, err
		}
		return db.Prune(context.Background(), c.Before, c.OffendersBefore)
	})
	handle("info", func([]byte) (any, error) { return db.Info() })
	handle("rejects", func(args []byte) (any, error) {
		var limit int
		if err := json.Unmarshal(args, &limit); err != nil {
			return nil, err
		}
		return db.Rejects(limit)
	})
	handle("stats", func([]byte) (any, error) { return db.Stats() })
	handle("outbox", func([]byte) (any, error) { return outboxCounts(db) })
	handle("deliveries", func([]byte) (any, error) { return receiverDeliveries(db) })
	handle("audit-tail", func(args []byte) (any, error) {
		var n int
		if err := json.Unmarshal(args, &n); err != nil {
			return nil, err
		}
		return db.AuditTail(n)
	})
	handle("sources", func(args []byte) (any, error) {
		var n int
		if err := json.Unmarshal(args, &n); err != nil {
			return nil, err
		}
		return db.Sources(n)
	})
	handle("enforcements", func(args []byte) (any, error) {
		var ids []string
		if err := json.Unmarshal(args, &ids); err != nil {
			return nil, err
		}
		return db.Enforcements(ids)
	})
}

// remote reads through the control socket of the owning process.
type remote struct {
	ctx context.Context
	c   *control.Client
}

func (r remote) call(name string, args, result any) error {
	return r.callCtx(r.ctx, name, args, result)
}

// callCtx is call bounded by ctx: a console's calls each have their own
// deadline.
func (r remote) callCtx(ctx context.Context, name string, args, result any) error {
	err := r.c.Call(ctx, name, args, result)
	if errors.Is(err, control.ErrNotFound) {
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}

func (r remote) Alerts(q store.AlertQuery) (out []engine.Alert, err error) {
	return out, r.call("alerts", q, &out)
}
func (r remote) Alert(id string) (out engine.Alert, err error) {
	return out, r.call("alert", id, &out)
}
func (r remote) Decisions(q store.DecisionQuery) (out []engine.Decision, err error) {
	return out, r.call("decisions", q, &out)
}
func (r remote) AuditList(from uint64, limit int) (out []store.AuditRecord, err error) {
	return out, r.call("audit", auditPage{From: from, Limit: limit}, &out)
}
func (r remote) VerifyAudit() (out store.VerifyReport, err error) {
	return out, r.call("audit-verify", nil, &out)
}
func (r remote) Rejects(limit int) (out []engine.Reject, err error) {
	return out, r.call("rejects", limit, &out)
}
func (r remote) AuditTail(n int) (out []store.AuditRecord, err error) {
	return out, r.call("audit-tail", n, &out)
}
func (r remote) Sources(n int) (out []store.SourceSummary, err error) {
	return out, r.call("sources", n, &out)
}
func (r remote) Enforcements(ids []string) (out map[string][]engine.Enforcement, err error) {
	return out, r.call("enforcements", ids, &out)
}
func (r remote) Info() (out store.Info, err error)    { return out, r.call("info", nil, &out) }
func (r remote) Stats() (out engine.Stats, err error) { return out, r.call("stats", nil, &out) }

// withReader runs fn against the process that owns the database when one
// answers on its control socket, else against the file opened read-only.
func withReader(ctx context.Context, g *globals, fn func(r reader) error) error {
	path, c, err := owner(ctx, g)
	if err != nil {
		return err
	}
	if c != nil {
		return fn(remote{ctx: ctx, c: c})
	}
	db, err := openExisting(path, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}

// owner returns the database's path and, when a process owns the
// database and answers on its control socket, a client for it (else nil).
func owner(ctx context.Context, g *globals) (path string, c *control.Client, err error) {
	if path, err = g.resolveDB(); err != nil {
		return "", nil, err
	}
	c = control.NewClient(socketPath(path))
	if _, err := c.Status(ctx); err == nil {
		return path, c, nil
	} else if !errors.Is(err, control.ErrNotRunning) {
		return path, nil, err
	}
	return path, nil, nil
}

// openExisting opens the database at path, which a daemon or a replay
// must have made: commands that only read or change it never create one.
func openExisting(path string, o store.Options) (*store.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("database %s: %w (run the daemon or a replay with --db first)", path, err)
	}
	return openStore(path, o)
}

// outboxCounts counts the notifications per delivery state.
func outboxCounts(db *store.DB) (map[string]int, error) {
	ns, err := db.Notifications()
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, n := range ns {
		out[n.State]++
	}
	return out, nil
}

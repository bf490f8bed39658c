package sshgw

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
)

// Rebuild replaces phantomsoc's table on the gateway, in one nft
// transaction, with the layout holding elems.
func (g *Gateway) Rebuild(ctx context.Context, elems []actions.Element) error {
	if err := checkElements("element", elems); err != nil {
		return fmt.Errorf("gateway %s: rebuild: %w", g.cfg.Name, err)
	}
	start := time.Now()
	if _, err := g.exec(ctx, "rebuild", cmdApply, actions.RenderTable(g.layout, elems), 64<<10); err != nil {
		return err
	}
	g.log.Debug("table rebuilt", "elements", len(elems), "duration", time.Since(start))
	return nil
}

// Apply runs b as one nft transaction: every element is checked before
// anything is sent, and a batch with one bad element sends nothing.
func (g *Gateway) Apply(ctx context.Context, b actions.Batch) error {
	if err := errors.Join(checkElements("add", b.Add), checkElements("delete", b.Delete)); err != nil {
		return fmt.Errorf("gateway %s: apply: %w", g.cfg.Name, err)
	}
	if b.Empty() {
		return nil
	}
	start := time.Now()
	if overlapping(b) {
		// nft 1.0.6 checks an added interval against the set as it was
		// before the batch, ignoring the batch's own deletes, so replacing
		// a range by its parts must be two transactions. Between them the
		// parts are briefly unenforced; a failure of the second leaves
		// the gateway short, which the enforcer's reconcile repairs.
		if _, err := g.exec(ctx, "apply", cmdApply, actions.RenderBatch(actions.Batch{Delete: b.Delete}), 64<<10); err != nil {
			return err
		}
		b.Delete = nil
	}
	if _, err := g.exec(ctx, "apply", cmdApply, actions.RenderBatch(b), 64<<10); err != nil {
		return err
	}
	g.log.Debug("batch applied", "added", len(b.Add), "deleted", len(b.Delete), "duration", time.Since(start))
	return nil
}

// List reads phantomsoc's table back. A missing table is a state
// (Present false), not an error: the enforcer rebuilds it.
func (g *Gateway) List(ctx context.Context) (*actions.State, error) {
	client, version, err := g.current()
	if err != nil {
		return nil, fmt.Errorf("gateway %s: list: %w", g.cfg.Name, err)
	}
	out, err := runCmd(ctx, client, g.command(cmdList), nil, maxListOutput)
	if _, ok := errors.AsType[*exitError](err); ok {
		// nft says "No such file or directory" for a missing table, in
		// the gateway's locale; asking which tables exist is the
		// locale-proof way to tell that from a failing nft.
		tables, terr := runCmd(ctx, client, g.command(cmdTables), nil, 1<<20)
		if terr != nil {
			return nil, fmt.Errorf("gateway %s: list: %w (and listing tables: %w)", g.cfg.Name, err, terr)
		}
		present, perr := hasTable(tables)
		if perr != nil {
			return nil, fmt.Errorf("gateway %s: list: %w (and listing tables: %w)", g.cfg.Name, err, perr)
		}
		if present {
			return nil, fmt.Errorf("gateway %s: list: %w", g.cfg.Name, err)
		}
		return &actions.State{
			Missing:  []string{"table " + actions.TableFamily + " " + actions.TableName},
			Counters: map[string]actions.Counter{},
			Version:  version,
		}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gateway %s: list: %w", g.cfg.Name, err)
	}
	st, err := parseState(out, g.layout)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: list: %w", g.cfg.Name, err)
	}
	st.Version = version
	return st, nil
}

// exec runs one of the constant commands with script on stdin on the current
// connection.
func (g *Gateway) exec(ctx context.Context, op, cmd, script string, maxOut int) ([]byte, error) {
	client, _, err := g.current()
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %s: %w", g.cfg.Name, op, err)
	}
	out, err := runCmd(ctx, client, g.command(cmd), strings.NewReader(script), maxOut)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %s: %w", g.cfg.Name, op, err)
	}
	return out, nil
}

// overlapping reports whether an element b deletes overlaps one it adds in
// the same set, other than the same element (a timeout refresh).
func overlapping(b actions.Batch) bool {
	for _, d := range b.Delete {
		for _, a := range b.Add {
			if a.Set == d.Set && a.Proto == d.Proto && a.Port == d.Port && a.Iface == d.Iface &&
				a.Prefix != d.Prefix && a.Prefix.Overlaps(d.Prefix) {
				return true
			}
		}
	}
	return false
}

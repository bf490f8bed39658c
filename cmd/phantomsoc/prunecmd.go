package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/store"
)

func newPruneCmd(g *globals) *cobra.Command {
	var olderThan time.Duration
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete alerts, spent decisions and source history older than a cutoff (never the audit trail)",
		Long: `prune deletes alerts older than the cutoff, decisions older than it that are
no longer in force (an active or pending decision is kept, since a restart
re-applies it) and the source index entries last seen before it. Offenders
— the memory behind escalating TTLs — are kept for the policy's
forget_after when that is longer. The audit trail is never pruned, so it
stays verifiable end to end; the prune itself is an audit record.

A running daemon prunes by itself every hour with the config's retention;
this command does it now, through the daemon when one runs.`,
		Example: "  phantomsoc prune --older-than 720h",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if olderThan <= 0 {
				return errors.New("--older-than: give a positive duration, e.g. 720h")
			}
			cfg, err := loadConfig(g.config)
			if err != nil {
				return err
			}
			return runPrune(cmd.Context(), cmd.OutOrStdout(), g, pruneCutFor(&cfg, time.Now(), olderThan))
		},
	}
	cmd.Flags().DurationVar(&olderThan, "older-than", 0, "prune what is older than this (e.g. 720h)")
	return cmd
}

func runPrune(ctx context.Context, w io.Writer, g *globals, cut pruneCut) error {
	path, err := g.resolveDB()
	if err != nil {
		return err
	}
	var rep store.PruneReport
	c := control.NewClient(socketPath(path))
	err = c.Call(ctx, "prune", cut, &rep)
	if errors.Is(err, control.ErrNotRunning) {
		if _, serr := os.Stat(path); serr != nil {
			return fmt.Errorf("database %s: %w", path, serr)
		}
		db, oerr := openStore(path, store.Options{})
		if oerr != nil {
			return oerr
		}
		rep, err = db.Prune(ctx, cut.Before, cut.OffendersBefore)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		return writeJSON(w, rep)
	}
	_, err = fmt.Fprintf(w, "pruned before %s: %d alerts, %d decisions, %d sources, %d offenders (audit record %d)\n",
		rep.Before.Format(time.RFC3339), rep.Alerts, rep.Decisions, rep.Sources, rep.Offenders, rep.AuditSeq)
	return err
}

package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/engine/route"
)

func newSilencesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "silences",
		Short: "Mute notifications for matching alerts for a while (alerts are still recorded and still resolve)",
	}
	var matchers []string
	var dur time.Duration
	var comment string
	add := &cobra.Command{
		Use:   "add --matcher k=v … --duration 2h --comment TEXT",
		Short: "Silence alerts matching every matcher (=, !=, =~, !~, >=, >, <=, <)",
		Example: "  phantomsoc silences add --matcher scenario=ssh-preauth-scanner --matcher 'source=~203\\.0\\.113\\..*' \\\n" +
			"      --duration 4h --comment 'scanner test by the red team'",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(matchers) == 0 {
				return fmt.Errorf("give at least one --matcher: a silence of everything is a mistake")
			}
			if comment == "" {
				return fmt.Errorf("--comment: say why, for whoever finds the silence later")
			}
			now := time.Now()
			s := route.Silence{Matchers: matchers, StartsAt: now, EndsAt: now.Add(dur), CreatedBy: actor(), Comment: comment}
			ctx, w := cmd.Context(), cmd.OutOrStdout()
			return withRouter(ctx, g, func(r routerOps) error {
				id, err := r.AddSilence(ctx, s)
				if err != nil {
					return err
				}
				if g.output == outputJSON {
					s.ID = id
					return writeJSON(w, s)
				}
				fmt.Fprintf(w, "silence %s until %s\n", id, s.EndsAt.UTC().Format(time.RFC3339))
				return nil
			})
		},
	}
	add.Flags().StringArrayVar(&matchers, "matcher", nil, "a label matcher, e.g. scenario=ssh-bruteforce (repeatable; all must match)")
	add.Flags().DurationVar(&dur, "duration", 2*time.Hour, "how long the silence lasts")
	add.Flags().StringVar(&comment, "comment", "", "why (required)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List silences, active and recently expired",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, w := cmd.Context(), cmd.OutOrStdout()
			return withRouter(ctx, g, func(r routerOps) error { return listSilences(ctx, w, g, r) })
		},
	}
	expire := &cobra.Command{
		Use:   "expire ID",
		Short: "End a silence now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return withRouter(ctx, g, func(r routerOps) error { return r.ExpireSilence(ctx, args[0]) })
		},
	}
	cmd.AddCommand(add, list, expire)
	return cmd
}

func listSilences(ctx context.Context, w io.Writer, g *globals, r routerOps) error {
	ss, err := r.Silences(ctx)
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		for _, s := range ss {
			if err := writeJSON(w, s); err != nil {
				return err
			}
		}
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tENDS\tBY\tMATCHERS\tCOMMENT")
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.EndsAt.UTC().Format(time.RFC3339), s.CreatedBy, strings.Join(s.Matchers, ", "), s.Comment)
	}
	return tw.Flush()
}

func newAlertsAckCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "ack ID",
		Short:   "Acknowledge an alert: its notification groups stop escalating",
		Example: "  phantomsoc alerts ack al-00000042",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, w := cmd.Context(), cmd.OutOrStdout()
			return withRouter(ctx, g, func(r routerOps) error {
				groups, err := r.Ack(ctx, args[0], actor())
				if err != nil {
					return err
				}
				if g.output == outputJSON {
					return writeJSON(w, map[string]any{"alert": args[0], "groups": groups})
				}
				fmt.Fprintf(w, "acknowledged %s in %d notification group(s)\n", args[0], len(groups))
				return nil
			})
		},
	}
}

package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
)

func newRejectsCmd(g *globals) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "rejects",
		Short: "List dead-lettered input: lines that could not be accepted, and why",
		Long: `rejects lists the input that was not accepted — truncated JSON, lines cut at
1 MiB, broken syslog frames — newest first, with where it came from, why,
and the first bytes of it. Nothing rejected is dropped silently: it is
counted in status and kept here (the newest 10,000).`,
		Example: "  phantomsoc rejects --limit 20 --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withReader(cmd.Context(), g, func(db reader) error { return listRejects(cmd.OutOrStdout(), g, db, limit) })
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many (0: all kept)")
	return cmd
}

func listRejects(w io.Writer, g *globals, db reader, limit int) error {
	rs, err := db.Rejects(limit)
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		for _, r := range rs {
			if err := writeJSON(w, r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ORIGIN:LINE\tREASON\tINPUT")
	for _, r := range rs {
		raw := r.Raw
		if len(raw) > 60 {
			raw = raw[:60] + "…"
		}
		fmt.Fprintf(tw, "%s:%d\t%s\t%s\n", r.Origin, r.Line, r.Reason, strconv.Quote(raw))
	}
	return tw.Flush()
}

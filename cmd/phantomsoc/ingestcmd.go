package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newIngestCmd(g *globals) *cobra.Command {
	var in inputOptions
	cmd := &cobra.Command{
		Use:   "ingest [FILE|-]...",
		Short: "Feed events (JSON lines by default) into the database through the full pipeline",
		Long: `ingest reads events — by default JSON lines, one object per line, from stdin
when FILE is - — and runs them through the full pipeline into the database
(--db or the config's), printing the alerts and decisions it makes. Objects
may be phantomsoc events ({"time","type","source","user","host",…}),
Suricata EVE records, or journalctl -o json records; --type auto also
accepts syslog lines.

Use a daemon with a stdin or file source for a stream that never ends;
ingest stops at end of input.`,
		Example: `  my-exporter | phantomsoc ingest -
  journalctl -u ssh -o json --since today | phantomsoc ingest -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"-"}
			}
			path, err := g.resolveDB()
			if err != nil {
				return err
			}
			res, err := replay(cmd.Context(), cmd.OutOrStdout(), cmd.InOrStdin(), g, &in, args, path)
			if err != nil {
				return err
			}
			if g.output != outputJSON {
				s := res.Stats
				fmt.Fprintf(cmd.ErrOrStderr(), "ingested %d lines in %v into %s: %d events, %d rejected, %d alerts, %d decisions\n",
					s.Lines, res.Elapsed.Round(time.Millisecond), path, s.Events, s.Rejected, s.Alerts, s.Decisions)
			}
			return nil
		},
	}
	in.addFlags(cmd, "json")
	return cmd
}
